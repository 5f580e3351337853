//! `kiln synth` through real yosys: every PE maps, the shift PEs use no DSP;
//! whole designs report their resources and whether they fit the board.

mod common;

use common::{kiln_error, kiln_json};

#[test]
fn synth_all_json_reports_five_pes_and_shift_pes_use_no_dsp() {
    let report = kiln_json(&["synth", "--all", "--json"], 0);
    let pes = report["pes"].as_array().unwrap();
    assert_eq!(pes.len(), 5);
    for pe in pes {
        let name = pe["pe"].as_str().unwrap();
        let (lut, dsp) = (pe["lut"].as_u64().unwrap(), pe["dsp"].as_u64().unwrap());
        assert_eq!(pe["part"], "xc7z020clg400-1");
        if name.starts_with("shift_") || name == "mac_lut" {
            assert_eq!(dsp, 0, "{name} must not use a DSP48E1");
            assert!(lut > 10, "{name} must be built from LUTs, got {lut}");
        } else {
            assert!(dsp >= 1, "{name} is the DSP baseline");
        }
    }
}

#[test]
fn unknown_part_and_missing_yosys_are_clear_errors() {
    let err = kiln_error(["synth", "--pe", "shift_pot", "--part", "xc7a35t"]);
    assert!(err.contains("xc7a35t") && err.contains("xc7z020"), "{err}");
    let err = kiln_error([
        "synth",
        "--pe",
        "shift_pot",
        "--yosys",
        "/nonexistent/yosys",
    ]);
    assert!(err.contains("apt-get install yosys"), "{err}");
}

/// Two whole designs (about a minute each, run side by side): the DSP
/// baseline needs a DSP slice per PE on top of what the shift design uses
/// (the requantiser's multiplier maps to DSPs in both).
#[test]
fn synth_designs_report_resources_and_a_fit_verdict() {
    let runs: Vec<_> = ["gemm-pot-8x8", "gemm-mac-dsp-8x8"]
        .into_iter()
        .map(|design| {
            std::thread::spawn(move || {
                let report = kiln_json(&["synth", "--design", design, "--json"], 0);
                assert_eq!(report["board"], "pynq-z1");
                let designs = report["designs"].as_array().unwrap();
                assert_eq!(designs.len(), 1);
                assert!(report.get("pes").is_none());
                designs[0].clone()
            })
        })
        .collect();
    let reports: Vec<serde_json::Value> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    let (pot, dsp) = (&reports[0], &reports[1]);
    for r in &reports {
        let name = r["design"].as_str().unwrap();
        let lut = r["lut"].as_u64().unwrap();
        assert!(lut > 1000, "{name}: lut {lut}");
        assert_eq!(
            lut,
            r["lut_logic"].as_u64().unwrap() + r["lutram"].as_u64().unwrap(),
            "{name}"
        );
        assert!(r["ff"].as_u64().unwrap() > 1000, "{name}");
        assert!(
            r["bram36"].as_f64().unwrap() >= 1.0,
            "{name}: operand buffers"
        );
        assert_eq!(r["part"], "xc7z020clg400-1");
        let fit = &r["fit"];
        let verdict = fit["verdict"].as_str().unwrap();
        assert!(["fits", "does not fit"].contains(&verdict), "{verdict}");
        let resources = fit["resources"].as_array().unwrap();
        let names: Vec<_> = resources
            .iter()
            .map(|f| f["resource"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["LUT", "FF", "DSP", "BRAM36"]);
        assert_eq!(
            fit["fits"].as_bool().unwrap(),
            resources.iter().all(|f| f["fits"].as_bool().unwrap())
        );
        assert_eq!(resources[0]["used"].as_f64().unwrap(), lut as f64);
        assert_eq!(resources[0]["available"], 53_200);
    }
    let (pot_dsp, dsp_dsp) = (pot["dsp"].as_u64().unwrap(), dsp["dsp"].as_u64().unwrap());
    assert!(
        dsp_dsp >= pot_dsp + 64,
        "gemm-mac-dsp-8x8 uses {dsp_dsp} DSPs, gemm-pot-8x8 {pot_dsp}: expected one per PE more"
    );
}

/// A BFP design synthesises whole too: its lanes' int8 multipliers map to
/// DSP slices (one per multiplier), and the report names its format.
#[test]
fn a_bfp_design_synthesises_with_a_dsp_per_multiplier() {
    let report = kiln_json(&["synth", "--design", "bfp-mxint8-b16", "--json"], 0);
    let r = &report["designs"][0];
    assert_eq!(r["engine"], "bfp");
    assert_eq!(r["compute"], "mxint8/b16");
    assert_eq!(r["array"], "3 lanes");
    // 3 lanes x 8 int8 x int8 multipliers.
    let dsp = r["dsp"].as_u64().unwrap();
    assert!(dsp >= 24, "{dsp} DSPs for 24 multipliers");
    assert!(r["lut"].as_u64().unwrap() > 1000);
    assert_eq!(r["fit"]["verdict"], "fits");
}
