//! `kiln synth` through real yosys: every PE maps, the shift PEs use no DSP.

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
