//! `kiln-regs [--check]`: writes the files generated from hw/regs/kiln.toml,
//! hw/regs/shell.toml and the engines' hw/ip/<engine>/engine.toml (or, with
//! --check, only names the stale ones and exits 1). It is `kiln regs
//! generate` without the runtime: `make regs` runs it, so an engine's MODE
//! package and constants exist before the simulator and the runtime that
//! use them are built.

use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().skip(1).any(|a| a == "--check");
    let result = kiln_spec::RegisterMap::builtin()
        .and_then(|map| kiln_spec::regs::sync_generated(&kiln_spec::repo_root(), &map, !check));
    match result {
        Ok(files) => {
            for f in &files {
                let state = match (f.stale, f.written) {
                    (false, _) => "up to date",
                    (true, true) => "written",
                    (true, false) => "STALE",
                };
                println!("{state:<10}  {}", f.path);
            }
            if check && files.iter().any(|f| f.stale) {
                eprintln!("generated files are out of date: run `make regs` and commit the result");
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kiln-regs: {e}");
            ExitCode::from(2)
        }
    }
}
