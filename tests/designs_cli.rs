//! `kiln designs`, `kiln boards` and `kiln synth --design` argument errors:
//! quick, no yosys run.

mod common;

use common::{kiln_error, kiln_json};

/// The designs users see, from the library itself: the CLI must list
/// exactly these, sorted by name.
fn listed() -> Vec<String> {
    kiln_spec::Design::listed()
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect()
}

#[test]
fn designs_json_lists_the_designs_and_no_test_ones() {
    let designs = kiln_json(&["designs", "--json"], 0);
    let names: Vec<&str> = designs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        listed(),
        "sorted by name, test-only designs left out"
    );
    for wanted in [
        "gemm-pot-8x8",
        "gemm-mac-dsp-8x8",
        "bfp-mxint8",
        "bfp-mxint4",
    ] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    assert!(names
        .iter()
        .all(|n| !n.contains("hold") && !n.contains("3x5")));
    for d in designs.as_array().unwrap() {
        let name = d["name"].as_str().unwrap();
        let id = d["id"].as_str().unwrap();
        assert!(id.starts_with("0x") && id.len() == 10, "{id}");
        assert!(d["clock_mhz"].as_f64().unwrap() > 0.0);
        assert!(d["weight_bits"].as_u64().unwrap() > 0, "{name}");
        // The engine's own fields sit beside the common ones.
        match d["engine"].as_str().unwrap() {
            "bfp" => {
                assert_eq!(d["lanes"], 8, "{name}");
                assert_eq!(d["block"], 32, "{name}");
                assert_eq!(d["weight_bits"], if name == "bfp-mxint4" { 4 } else { 8 });
                assert!(d.get("rows").is_none() && d.get("pe").is_none());
            }
            "gemm" => {
                let rows = d["rows"].as_u64().unwrap();
                assert_eq!(rows, if name.ends_with("16x16") { 16 } else { 8 });
                assert!(d["m_tiles"].as_u64().unwrap() > 0);
            }
            _ => {}
        }
    }
    let pot = designs
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "gemm-pot-8x8")
        .unwrap();
    assert_eq!(
        (pot["pe"].as_str(), pot["k_depth"].as_u64()),
        (Some("shift_pot"), Some(256))
    );
}

#[test]
fn designs_show_gives_parameters_and_sources() {
    let d = kiln_json(&["designs", "show", "gemm-mac-dsp-8x8", "--json"], 0);
    assert_eq!(d["top_module"], "kiln_shell");
    assert_eq!(d["core_module"], "gemm_core");
    assert_eq!(
        d["generated_sources"],
        serde_json::json!(["kiln_pe.sv", "kiln_core.sv"])
    );
    assert_eq!(d["weight_bits"], 8);
    let params = d["parameters"].as_array().unwrap();
    assert_eq!(params[0][0], "DesignId");
    assert_eq!(
        params[0][1],
        format!("32'h{}", &d["id"].as_str().unwrap()[2..])
    );
    let sources = d["rtl_sources"].as_array().unwrap();
    assert!(sources.iter().any(|s| s == "hw/ip/pe/rtl/mac_dsp.sv"));
    assert_eq!(sources.last().unwrap(), "hw/ip/gemm/rtl/gemm_core.sv");
    assert!(sources
        .iter()
        .any(|s| s == "hw/ip/common/rtl/kiln_shell.sv"));
    let err = kiln_error(["designs", "show", "gemm-nope"]);
    assert!(err.contains("gemm-pot-8x8"), "{err}");

    let d = kiln_json(&["designs", "show", "bfp-mxint4", "--json"], 0);
    assert_eq!(d["top_module"], "kiln_shell");
    assert_eq!(d["core_module"], "bfp_core");
    assert_eq!(d["generated_sources"], serde_json::json!(["kiln_core.sv"]));
    assert_eq!(d["format"], "mxint4");
    let sources = d["rtl_sources"].as_array().unwrap();
    assert!(sources
        .iter()
        .all(|s| !s.as_str().unwrap().contains("/pe/")));
    assert_eq!(sources.last().unwrap(), "hw/ip/bfp/rtl/bfp_core.sv");
}

#[test]
fn boards_json_lists_the_four_boards() {
    let boards = kiln_json(&["boards", "--json"], 0);
    let names: Vec<&str> = boards
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kv260", "pynq-z1", "pynq-z2", "zcu104"]);
    let z1 = &boards[1];
    assert_eq!(z1["part"], "xc7z020clg400-1");
    assert_eq!(z1["family"], "xc7");
    assert_eq!(z1["transport"], "devmem");
    assert_eq!(z1["resources"]["lut"], 53_200);
    assert_eq!(z1["resources"]["bram36"], 140);
    assert!(z1["memory"]["bytes_per_cycle"].as_f64().unwrap() > 0.0);
}

#[test]
fn unknown_design_or_board_exits_2_naming_the_known_ones() {
    let err = kiln_error(["synth", "--design", "gemm-nope"]);
    assert!(err.contains("gemm-nope"), "{err}");
    for name in listed() {
        assert!(err.contains(&name), "{name} missing from: {err}");
    }
    assert!(!err.contains("hold") && !err.contains("3x5"), "{err}");
    let err = kiln_error(["synth", "--design", "gemm-pot-8x8", "--board", "zedboard"]);
    assert!(err.contains("zedboard") && err.contains("pynq-z1"), "{err}");
}
