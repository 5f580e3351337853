//! The files generated from hw/regs/kiln.toml, hw/regs/shell.toml and the
//! engines' hw/ip/<engine>/engine.toml must match them, and `kiln regs
//! generate` must find, report and rewrite stale ones.

mod common;

use std::path::Path;
use std::process::Command;

use common::{kiln_error, kiln_json};
use kiln_spec::regs::generated_files;
use kiln_spec::RegisterMap;

// The driver's generated module, compiled here as well so that its values
// are checked against the parsed map whatever the driver exports.
#[allow(dead_code)]
#[path = "../driver/src/regs.rs"]
mod driver_regs;

#[test]
fn committed_register_files_match_the_map() {
    let map = RegisterMap::builtin().unwrap();
    let root = kiln_spec::repo_root();
    let files = generated_files(&map).unwrap();
    // The register map's three, the shell's three, and each engine's.
    assert!(files.len() > 6, "{}", files.len());
    for file in files {
        let path = root.join(&file.path);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == file.text,
            "{} is stale: run `make regs` (kiln regs generate) and commit it",
            path.display()
        );
    }
}

#[test]
fn the_driver_module_agrees_with_the_map() {
    use driver_regs::SwAccess;
    let map = RegisterMap::builtin().unwrap();
    assert_eq!(driver_regs::REG_VERSION, map.version);
    assert_eq!(driver_regs::MAGIC_VALUE, map.magic);
    assert_eq!(driver_regs::WINDOW_BYTES, map.window_bytes);
    assert_eq!(driver_regs::ALL.len(), map.registers.len());
    for (generated, spec) in driver_regs::ALL.iter().zip(&map.registers) {
        assert_eq!(generated.name, spec.name);
        assert_eq!(generated.offset, spec.offset, "{}", spec.name);
        assert_eq!(generated.reset, spec.reset(), "{}", spec.name);
        assert_eq!(generated.fields.len(), spec.fields.len(), "{}", spec.name);
        for (g, s) in generated.fields.iter().zip(&spec.fields) {
            assert_eq!((g.name, g.lsb, g.width), (s.name.as_str(), s.lsb, s.width));
            assert_eq!(g.mask(), s.mask(), "{}.{}", spec.name, s.name);
            assert_eq!(format!("{:?}", g.sw), s.sw.variant());
        }
        assert_eq!(driver_regs::by_offset(spec.offset), Some(*generated));
        assert_eq!(driver_regs::by_name(&spec.name), Some(*generated));
    }
    assert_eq!(driver_regs::by_offset(0xFC), None);
    assert_eq!(driver_regs::MAGIC.reset, driver_regs::MAGIC_VALUE);
    assert_eq!(driver_regs::VERSION.reset, driver_regs::REG_VERSION);

    let restart = driver_regs::CTRL.field("AUTO_RESTART").unwrap();
    assert_eq!(restart, driver_regs::ctrl::AUTO_RESTART.field());
    assert_eq!(restart.mask(), 0x80);
    let restart = driver_regs::ctrl::AUTO_RESTART;
    assert_eq!(restart.set(0xFFFF_FFFF, 0), 0xFFFF_FF7F);
    // The value is truncated to the field's width.
    assert_eq!(restart.set(0, 3), 0x80);
    assert_eq!(restart.get(0x0000_0080), 1);
    let whole = driver_regs::m::VALUE;
    assert_eq!(whole.mask(), u32::MAX);
    assert_eq!(whole.set(7, 0xDEAD_BEEF), 0xDEAD_BEEF);
    // Read-only fields are `Field`s, which have no setter; what software
    // writes is an `RwField`.
    let idle: driver_regs::Field = driver_regs::ctrl::AP_IDLE;
    assert_eq!(idle.get(driver_regs::CTRL.reset), 1);
    assert_eq!(idle.sw, SwAccess::ReadOnly);
    let _: driver_regs::Field = driver_regs::array::ROWS;
    let _: driver_regs::RwField = driver_regs::mode::VALUE;
    assert_eq!(driver_regs::ctrl::AP_START.field().sw, SwAccess::ReadWrite);
    assert_eq!(driver_regs::ctrl::AP_DONE.sw, SwAccess::ReadClear);
    assert_eq!(driver_regs::isr::DONE.field().sw, SwAccess::ToggleOnWrite);
}

#[test]
fn generate_check_passes_on_the_committed_tree() {
    let report = kiln_json(&["regs", "generate", "--check", "--json"], 0);
    assert_eq!(report["fresh"], true, "{report}");
    let files = report["files"].as_array().unwrap();
    let map = RegisterMap::builtin().unwrap();
    assert_eq!(files.len(), generated_files(&map).unwrap().len());
    assert!(files.iter().all(|f| f["written"] == false));
}

/// Runs `kiln` with `$KILN_ROOT` pointing at `root`.
fn kiln_in(root: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .env("KILN_ROOT", root)
        .output()
        .expect("the kiln binary runs")
}

#[test]
fn generate_writes_stale_files_and_check_names_them() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("regs_generate");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();

    // Nothing there yet: every file is stale, and --check writes nothing.
    let out = kiln_in(&root, &["regs", "generate", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for path in [
        "hw/ip/common/rtl/kiln_reg_pkg.sv",
        "driver/src/regs.rs",
        "docs/registers.md",
        "hw/ip/common/rtl/kiln_shell_ports.svh",
        "hw/ip/common/rtl/kiln_core_ports.svh",
        "hw/lint/kiln_core.sv",
    ] {
        assert!(stdout.contains(path), "{stdout}");
        assert!(!root.join(path).exists(), "--check must not write {path}");
    }
    assert!(stdout.contains("make regs"), "{stdout}");

    let out = kiln_in(&root, &["regs", "generate", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["written"] == true));

    // Now fresh; a second run writes nothing.
    assert_eq!(
        kiln_in(&root, &["regs", "generate", "--check"])
            .status
            .code(),
        Some(0)
    );
    let out = kiln_in(&root, &["regs", "generate", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["written"] == false && f["stale"] == false));

    // A hand edit makes exactly that file stale.
    let doc = root.join("docs/registers.md");
    let mut text = std::fs::read_to_string(&doc).unwrap();
    text.push_str("hand edit\n");
    std::fs::write(&doc, text).unwrap();
    let out = kiln_in(&root, &["regs", "generate", "--check", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["fresh"], false);
    let stale: Vec<_> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["stale"] == true)
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stale, ["docs/registers.md"]);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn list_json_has_every_register_with_its_reset() {
    let report = kiln_json(&["regs", "list", "--json"], 0);
    let map = RegisterMap::builtin().unwrap();
    let registers = report["registers"].as_array().unwrap();
    assert_eq!(registers.len(), map.registers.len());
    assert_eq!(registers[0]["name"], "CTRL");
    assert_eq!(registers[0]["reset"], 4);
    let magic = registers.iter().find(|r| r["name"] == "MAGIC").unwrap();
    assert_eq!(magic["offset"], 0x80);
    assert_eq!(magic["reset"], u64::from(map.magic));
}

#[test]
fn regs_without_a_command_lists_the_commands() {
    let err = kiln_error(["regs"]);
    assert!(err.contains("generate") && err.contains("list"), "{err}");
}
