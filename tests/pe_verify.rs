//! `kiln pe verify` as a user runs it: every library PE passes, and a
//! deliberately wrong PE is caught and its first mismatching inputs named.

mod common;

use common::{kiln, kiln_error, kiln_json};
use kiln::formats::Codebook;
use kiln::pe_check::{check_pe, CheckOptions, Signal};
use kiln_spec::PeLibrary;

#[test]
fn verify_all_json_covers_five_pes_with_zero_mismatches() {
    let report = kiln_json(&["pe", "verify", "--all", "--json"], 0);
    assert_eq!(report["passed"], true);
    assert_eq!(report["mismatches"], 0);
    let pes = report["pes"].as_array().unwrap();
    let cases: Vec<(&str, u64, u64)> = pes
        .iter()
        .map(|p| {
            (
                p["pe"].as_str().unwrap(),
                p["exhaustive"]["cases"].as_u64().unwrap(),
                p["chain"]["cases"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cases,
        [
            ("mac_dsp", 65_536, 10_000),
            ("mac_lut", 4_096, 10_000),
            ("shift_pot", 4_096, 10_000),
            ("shift_msq", 4_096, 10_000),
            ("shift_apot", 4_096, 10_000),
        ]
    );
}

#[test]
fn a_wrong_pe_is_reported_with_its_first_mismatching_inputs() {
    // Mismatches exit 1.
    let report = kiln_json(&["pe", "verify", "--pe", "shift_pot_faulty", "--json"], 1);
    assert_eq!(report["passed"], false);
    let pe = &report["pes"][0];
    assert_eq!(pe["golden"], "shift_pot");
    let first = &pe["first_mismatches"][0];
    // Exhaustive order is act ascending from -128, then code: the first pair
    // whose |act << e| exceeds the faulty 12-bit intermediate is act = -128,
    // e = 5 (code 0b0101): -128 << 5 = -4096 wraps to 0 in 12 bits.
    assert_eq!(first["phase"], "exhaustive");
    assert_eq!(first["act"], -128);
    assert_eq!(first["wcode"], 5);
    assert_eq!(first["expected"], -4096);
    assert_eq!(first["got"], 0);

    // The table names the same inputs for a person.
    let out = kiln(["pe", "verify", "--pe", "shift_pot_faulty"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("MISMATCH"), "{text}");
    assert!(text.contains("act=-128 wcode=0b101"), "{text}");
}

#[test]
fn the_faulty_pe_fails_every_pair_the_golden_model_predicts() {
    // Independent count: every pair where |act * 2^e| > 2047, or where the
    // 12-bit intermediate is exactly -2048 shifted out of range, differs.
    let library = PeLibrary::builtin().unwrap();
    let spec = library.get("shift_pot_faulty").unwrap();
    let report = check_pe(&library, spec, &CheckOptions::default()).unwrap();
    let golden = Codebook::named("shift_pot").unwrap();
    let mut predicted = 0;
    for act in i8::MIN..=i8::MAX {
        for code in 0..16u32 {
            let magnitude = (i32::from(act) << (code & 7)) as i64;
            let narrow = ((magnitude << 52) >> 52) as i32; // 12-bit wrap
            let got = if code & 8 != 0 { -narrow } else { narrow };
            if got != golden.product(act, code).unwrap() {
                predicted += 1;
            }
        }
    }
    assert!(predicted > 0);
    assert_eq!(report.exhaustive.mismatches, predicted);
    assert!(report.chain.mismatches > 0);
    assert!(report
        .first_mismatches
        .iter()
        .all(|m| m.signal == Signal::Product || m.phase == "chain"));
}

#[test]
fn bad_requests_get_clear_errors() {
    let err = kiln_error(["pe", "verify", "--pe", "shift_foo"]);
    assert!(
        err.contains("shift_foo") && err.contains("shift_pot"),
        "{err}"
    );
    let err = kiln_error(["pe", "verify", "--all", "--trace", "x.fst"]);
    assert!(err.contains("exactly one PE"), "{err}");
    let err = kiln_error([
        "pe",
        "verify",
        "--pe",
        "mac_lut",
        "--trace",
        "/nonexistent-dir/x.fst",
    ]);
    assert!(err.contains("/nonexistent-dir/x.fst"), "{err}");
}

#[test]
fn verify_writes_a_waveform_on_request() {
    let dir = std::env::temp_dir().join(format!("kiln-wave-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for ext in ["fst", "vcd"] {
        let path = dir.join(format!("shift_apot.{ext}"));
        let args = [
            "pe",
            "verify",
            "--pe",
            "shift_apot",
            "--chain-steps",
            "50",
            "--trace",
        ];
        let out = kiln(
            args.iter()
                .map(std::ffi::OsStr::new)
                .chain([path.as_os_str()]),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            bytes.len() > 1000,
            "{ext} waveform is {} bytes",
            bytes.len()
        );
        if ext == "vcd" {
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                text.contains("$var") && text.contains("prod_o"),
                "VCD lacks signals"
            );
        }
        let mut partial = path.clone().into_os_string();
        partial.push(".partial");
        assert!(
            !std::path::Path::new(&partial).exists(),
            "partial file left behind"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
