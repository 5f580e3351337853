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

/// The test PEs of code widths the library does not use (1, 3 and 5 bits,
/// hw/ip/pe/dv) against their own codebooks: every (activation, code) pair
/// and the accumulate chain, with no mismatch. Each codebook is first held
/// to the arithmetic its RTL comment states, written out here, so a wrong
/// table in test_pes.toml cannot pass by agreeing with wrong RTL.
#[test]
fn test_pes_of_1_3_and_5_bits_match_their_own_codebooks_exhaustively() {
    let library = PeLibrary::builtin().unwrap();
    type Rule = fn(i32, u32) -> i32;
    let cases: [(&str, u32, Rule); 3] = [
        // {sign}: +-(act << 6).
        (
            "test_sign1",
            1,
            |a, c| if c & 1 != 0 { -(a << 6) } else { a << 6 },
        ),
        // {sign, e[1:0]}: +-(act << e).
        ("test_pot3", 3, |a, c| {
            let m = a << (c & 3);
            if c & 4 != 0 {
                -m
            } else {
                m
            }
        }),
        // {sign, e[2:0], h}: (act << e if e > 0) + (h ? act << (e - 1), or act at e = 0).
        ("test_log5", 5, |a, c| {
            let (e, h) = ((c >> 1) & 7, c & 1);
            let major = if e == 0 { 0 } else { a << e };
            let minor = match (h, e) {
                (0, _) => 0,
                (_, 0) => a,
                _ => a << (e - 1),
            };
            if c & 16 != 0 {
                -(major + minor)
            } else {
                major + minor
            }
        }),
    ];
    for (name, bits, rule) in cases {
        let spec = library.get(name).unwrap();
        assert!(spec.test_only, "{name}");
        assert_eq!(spec.weight_bits, bits, "{name}");
        let codebook = Codebook::for_pe(&library, spec).unwrap();
        assert_eq!(codebook.pe(), name, "{name} is its own golden model");
        for act in i8::MIN..=i8::MAX {
            for code in 0..1u32 << bits {
                assert_eq!(
                    codebook.product(act, code).unwrap(),
                    rule(i32::from(act), code),
                    "{name}: act {act} code {code:#b}"
                );
            }
        }

        let report = check_pe(&library, spec, &CheckOptions::default()).unwrap();
        assert_eq!(report.golden, name);
        assert_eq!(report.exhaustive.cases, 256 << bits, "{name}");
        assert_eq!(report.chain.cases, 10_000, "{name}");
        assert_eq!(
            report.mismatches, 0,
            "{name}: {:?}",
            report.first_mismatches
        );
        assert!(report.passed, "{name}");
    }

    // The CLI checks a test PE by name, as for the faulty one.
    let report = kiln_json(&["pe", "verify", "--pe", "test_log5", "--json"], 0);
    assert_eq!(report["passed"], true);
    assert_eq!(report["pes"][0]["golden"], "test_log5");
    assert_eq!(report["pes"][0]["exhaustive"]["cases"], 256 * 32);
}
