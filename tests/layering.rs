//! The seams, checked on the sources themselves:
//!
//! - layers point one way: the runtime's model, backend, engine and report
//!   code never imports the simulator crate (PE verification and `kiln
//!   bench sim` drive a PE harness directly and may), and the CLI never
//!   names a transport (backends are opened in one place,
//!   `kiln::backend::open`);
//! - an engine is its folders: outside them, the engine list
//!   (hw/engines.toml), the design files, the generated files, docs and
//!   tests, no source names an engine's core module, matches on an engine's
//!   name or copies the shell's port list.

use kiln_spec::engines::descs;
use kiln_spec::regs::generated_files;
use kiln_spec::{repo_root, RegisterMap, ShellPorts};

/// Every file under `dir` (relative to the repository root) whose name
/// ends in one of `exts`, as (relative path, text).
fn sources(dir: &str, exts: &[&str]) -> Vec<(String, String)> {
    let root = repo_root();
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if exts.iter().any(|e| path.to_string_lossy().ends_with(e)) {
                let rel = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    assert!(!out.is_empty(), "no sources under {dir}");
    out
}

/// Lines of `text` that are code, not comments.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l))
}

#[test]
fn model_backend_engine_and_report_code_never_import_the_simulator() {
    let mut offenders = Vec::new();
    for dir in [
        "runtime/src/model",
        "runtime/src/backend",
        "runtime/src/engines",
        "runtime/src/report",
    ] {
        for (path, text) in sources(dir, &[".rs"]) {
            for (n, line) in code_lines(&text) {
                if line.contains("kiln_sim") {
                    offenders.push(format!("{path}:{n}: {}", line.trim()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "the simulator crate is the driver's:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_cli_names_no_transport() {
    let transports = [
        "transport::",
        "Transport",
        "DevmemConfig",
        "RegisterSource",
        "PollIsr",
        "SimDevice",
    ];
    let mut offenders = Vec::new();
    for (path, text) in sources("runtime/src/cli", &[".rs"]) {
        for (n, line) in code_lines(&text) {
            if let Some(t) = transports.iter().find(|t| line.contains(*t)) {
                offenders.push(format!("{path}:{n}: `{t}` in {}", line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "the CLI opens backends through kiln::backend::open:\n{}",
        offenders.join("\n")
    );
}

/// The two lists that declare the engines' Rust folders (a test holds each
/// equal to hw/engines.toml).
const REGISTRIES: [&str; 2] = ["hw/spec/src/engines/mod.rs", "runtime/src/engines/mod.rs"];

/// Whether `path` belongs to engine `name`'s folders.
fn in_engine_folder(path: &str, name: &str) -> bool {
    [
        format!("hw/ip/{name}/"),
        format!("hw/spec/src/engines/{name}/"),
        format!("runtime/src/engines/{name}/"),
    ]
    .iter()
    .any(|dir| path.starts_with(dir))
}

#[test]
fn no_engine_is_named_outside_its_folders() {
    let map = RegisterMap::builtin().unwrap();
    let generated: Vec<String> = generated_files(&map)
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    let engines = descs().unwrap();
    let mut offenders = Vec::new();
    for dir in [
        "hw",
        "sim",
        "driver/src",
        "driver/xrt-emu/src",
        "runtime/src",
    ] {
        for (path, text) in sources(dir, &[".rs", ".sv", ".svh", ".tcl"]) {
            // The registries declare each engine's folder by name.
            if generated.contains(&path) || REGISTRIES.contains(&path.as_str()) {
                continue;
            }
            for engine in engines {
                if in_engine_folder(&path, &engine.name) {
                    continue;
                }
                let core = format!("{}_core", engine.name);
                let arm = format!("\"{}\" =>", engine.name);
                let variant = format!("::{}", capitalised(&engine.name));
                for (n, line) in code_lines(&text) {
                    let found = [core.as_str(), arm.as_str()]
                        .into_iter()
                        .find(|p| line.contains(p))
                        .or_else(|| {
                            (line.contains("Engine") && line.contains(&variant))
                                .then_some(variant.as_str())
                        });
                    if let Some(p) = found {
                        offenders.push(format!("{path}:{n}: `{p}` in {}", line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "an engine lives in its folders (docs/architecture.md, \"Adding an engine\"):\n{}",
        offenders.join("\n")
    );
}

fn capitalised(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[test]
fn the_shell_port_list_is_written_once() {
    let shell = ShellPorts::builtin().unwrap();
    let map = RegisterMap::builtin().unwrap();
    let generated: Vec<String> = generated_files(&map)
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    // The table, the shell and the blocks that implement its buses, and the
    // simulator's bus model, which drives every bus signal through the
    // handles generated from the table.
    let allowed = [
        "hw/regs/shell.toml",
        "hw/ip/common/rtl/kiln_shell.sv",
        "hw/ip/common/rtl/kiln_ctrl_regs.sv",
        "hw/ip/common/rtl/kiln_axi_rd_master.sv",
        "hw/ip/common/rtl/kiln_axi_wr_master.sv",
        "sim/src/accel.rs",
    ];
    let names: Vec<&str> = shell.ports.iter().map(|p| p.name.as_str()).collect();
    let mut offenders = Vec::new();
    for dir in ["hw", "sim", "driver", "runtime/src"] {
        for (path, text) in sources(dir, &[".rs", ".sv", ".svh", ".v", ".tcl", ".toml"]) {
            if generated.contains(&path) || allowed.contains(&path.as_str()) {
                continue;
            }
            let named = names.iter().filter(|n| text.contains(*n)).count();
            if named > 8 {
                offenders.push(format!(
                    "{path} names {named} of the shell's {} ports",
                    names.len()
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "the shell's ports come from hw/regs/shell.toml:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_checks_find_what_they_look_for() {
    // The checks above pass by finding nothing; here they must find the
    // forbidden things where they are allowed, or the scans read nothing.
    let gemm = sources("hw/ip/gemm/rtl", &[".sv"]);
    assert!(gemm.iter().any(|(_, t)| t.contains("gemm_core")));
    let accel = std::fs::read_to_string(repo_root().join("sim/src/accel.rs")).unwrap();
    let shell = ShellPorts::builtin().unwrap();
    assert!(
        shell
            .ports
            .iter()
            .filter(|p| accel.contains(&p.name))
            .count()
            > 8
    );
    let pe_check = std::fs::read_to_string(repo_root().join("runtime/src/pe_check.rs")).unwrap();
    assert!(pe_check.contains("kiln_sim"));
    let cli = sources("runtime/src/cli", &[".rs"]);
    assert!(cli.iter().any(|(_, t)| t.contains("backend::open")));
}
