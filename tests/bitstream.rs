//! Bitstream manifests and the hardware backends' refusals, through the
//! CLI as a user runs it: `kiln bitstream manifest` and `check`, a changed
//! bitstream, a manifest from another design version or register map, a
//! wrong board, a missing manifest; and every board-file field documented.

mod common;

use std::path::{Path, PathBuf};

use common::{kiln, kiln_error, kiln_json};

/// A scratch folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("kiln-bitstream-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A stand-in .bit file and its manifest for `design` on `board`.
fn built(dir: &Scratch, design: &str, board: &str) -> (PathBuf, PathBuf) {
    let bit = dir.path(&format!("{design}-{board}.bit"));
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 31 + 7) as u8).collect();
    std::fs::write(&bit, bytes).unwrap();
    let out = kiln_json(
        &[
            "bitstream",
            "manifest",
            "--design",
            design,
            "--board",
            board,
            "--file",
            s(&bit),
            "--tool",
            "vivado=2023.2",
            "--json",
        ],
        0,
    );
    let manifest = PathBuf::from(out["manifest"].as_str().unwrap());
    assert_eq!(manifest, bit.with_extension("toml"));
    (bit, manifest)
}

#[test]
fn a_manifest_round_trips_and_records_what_was_built() {
    let dir = Scratch::new("roundtrip");
    let (_bit, manifest) = built(&dir, "gemm-pot-8x8", "pynq-z1");
    let text = std::fs::read_to_string(&manifest).unwrap();
    for needle in [
        "design = \"gemm-pot-8x8\"",
        "board = \"pynq-z1\"",
        "vivado = \"2023.2\"",
        "register_map_version = ",
        "k_depth = 256",
        "pe = \"shift_pot\"",
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
    assert!(
        !dir.path("gemm-pot-8x8-pynq-z1.toml.partial").exists(),
        "written atomically"
    );
    let check = kiln_json(&["bitstream", "check", s(&manifest), "--json"], 0);
    assert_eq!(check["hash_checked"], true);
    assert_eq!(check["design"], "gemm-pot-8x8");
    // The simulation of the manifest's design reports the manifest's identity.
    let check = kiln_json(
        &[
            "bitstream",
            "check",
            s(&manifest),
            "--backend",
            "sim",
            "--json",
        ],
        0,
    );
    assert_eq!(check["hardware"], "sim");
}

#[test]
fn a_changed_bitstream_is_refused_naming_both_hashes() {
    let dir = Scratch::new("hash");
    let (bit, manifest) = built(&dir, "gemm-mac-dsp-8x8", "pynq-z2");
    let recorded = kiln_json(&["bitstream", "check", s(&manifest), "--json"], 0)["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bytes = std::fs::read(&bit).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&bit, bytes).unwrap();
    let err = kiln_error(["bitstream", "check", s(&manifest)]);
    assert!(err.contains("does not match its manifest"), "{err}");
    assert!(err.contains(&recorded), "{err}");
    // A hardware backend refuses it too, before opening anything.
    let err = kiln_error(["gemm", "--backend", "devmem", "--manifest", s(&manifest)]);
    assert!(err.contains("does not match its manifest"), "{err}");
}

#[test]
fn manifests_from_another_design_version_or_register_map_are_refused() {
    let dir = Scratch::new("stale");
    let (_bit, manifest) = built(&dir, "gemm-pot-8x8", "pynq-z1");
    let text = std::fs::read_to_string(&manifest).unwrap();

    std::fs::write(
        &manifest,
        text.replace("k_depth = 256\nm_tiles", "k_depth = 512\nm_tiles"),
    )
    .unwrap();
    let err = kiln_error(["bitstream", "check", s(&manifest)]);
    assert!(
        err.contains("other parameters")
            && err.contains("k_depth = 512 in the manifest, 256 in this kiln"),
        "{err}"
    );

    let old = text.replace("register_map_version = 2", "register_map_version = 1");
    assert_ne!(old, text, "the test edits the register-map version");
    std::fs::write(&manifest, old).unwrap();
    let err = kiln_error(["bitstream", "check", s(&manifest)]);
    assert!(err.contains("register-map version 1"), "{err}");

    std::fs::write(
        &manifest,
        text.replace("design = \"gemm-pot-8x8\"", "design = \"gemm-pot-9x9\""),
    )
    .unwrap();
    let err = kiln_error(["bitstream", "check", s(&manifest)]);
    assert!(
        err.contains("gemm-pot-9x9") && err.contains("gemm-pot-8x8"),
        "{err}"
    );

    std::fs::write(&manifest, "format = 1\n").unwrap();
    let err = kiln_error(["bitstream", "check", s(&manifest)]);
    assert!(err.contains("not a valid manifest"), "{err}");
}

#[test]
fn hardware_backends_need_a_manifest_for_the_right_board() {
    let dir = Scratch::new("board");
    let (_bit, manifest) = built(&dir, "gemm-pot-8x8", "pynq-z1");
    let err = kiln_error(["gemm", "--backend", "devmem"]);
    assert!(err.contains("needs --manifest"), "{err}");
    let err = kiln_error([
        "gemm",
        "--backend",
        "devmem",
        "--manifest",
        s(&manifest),
        "--board",
        "kv260",
    ]);
    assert!(
        err.contains("wrong board") && err.contains("pynq-z1") && err.contains("kv260"),
        "{err}"
    );
    let err = kiln_error([
        "gemm",
        "--backend",
        "devmem",
        "--manifest",
        s(&manifest),
        "--design",
        "gemm-msq-8x8",
    ]);
    assert!(
        err.contains("gemm-pot-8x8") && err.contains("gemm-msq-8x8"),
        "{err}"
    );
    let err = kiln_error(["gemm", "--backend", "golden", "--manifest", s(&manifest)]);
    assert!(err.contains("devmem or xrt"), "{err}");
}

#[test]
fn devmem_refuses_a_machine_that_is_not_the_board() {
    // This machine has no Zynq device tree: the backend must say so
    // instead of mapping physical memory.
    if Path::new("/proc/device-tree/compatible").exists() {
        let compatible = std::fs::read("/proc/device-tree/compatible").unwrap();
        assert!(
            !compatible.windows(5).any(|w| w == b"xlnx,"),
            "this test expects a machine that is not a Zynq"
        );
    }
    let dir = Scratch::new("machine");
    let (_bit, manifest) = built(&dir, "gemm-pot-8x8", "pynq-z1");
    let err = kiln_error(["gemm", "--backend", "devmem", "--manifest", s(&manifest)]);
    assert!(
        err.contains("wrong board") && err.contains("xlnx,zynq-7000") && err.contains("pynq-z1"),
        "{err}"
    );
}

#[test]
fn golden_and_sim_agree_on_the_output_hash() {
    let args = |backend| {
        [
            "gemm",
            "--backend",
            backend,
            "--m",
            "19",
            "--n",
            "23",
            "--k",
            "40",
            "--seed",
            "9",
            "--json",
        ]
    };
    let golden = kiln_json(&args("golden"), 0);
    let sim = kiln_json(&args("sim"), 0);
    let hash = golden["output_sha256"].as_str().unwrap();
    assert_eq!(hash.len(), 64);
    assert_eq!(sim["output_sha256"], golden["output_sha256"]);
    let other = kiln_json(
        &[
            "gemm",
            "--backend",
            "golden",
            "--m",
            "19",
            "--n",
            "23",
            "--k",
            "40",
            "--seed",
            "10",
            "--json",
        ],
        0,
    );
    assert_ne!(other["output_sha256"], golden["output_sha256"]);
}

/// Every key of a JSON object, dotted for nested objects.
fn keys(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
    if let Some(map) = v.as_object() {
        for (k, x) in map {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if x.is_object() {
                keys(&key, x, out);
            } else {
                out.push(key);
            }
        }
    }
}

#[test]
fn every_board_file_field_is_documented() {
    let boards = kiln_json(&["boards", "--json"], 0);
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/README.md"))
        .unwrap();
    let mut fields = Vec::new();
    for b in boards.as_array().unwrap() {
        keys("", b, &mut fields);
    }
    fields.sort();
    fields.dedup();
    assert!(fields.len() >= 18, "{fields:?}");
    for f in &fields {
        assert!(
            doc.contains(&format!("| `{f}` |")),
            "boards/README.md does not document `{f}`"
        );
    }
    let out = kiln(["boards"]);
    assert!(out.status.success());
}
