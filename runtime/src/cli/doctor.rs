//! `kiln doctor`: which tools kiln finds and which commands need each.

#[cfg(feature = "sim")]
use std::path::Path;
use std::process::Command;

use clap::Args;
use serde::Serialize;

use super::output::print_json;
use super::Outcome;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One tool kiln may use: whether it is there, and what needs it.
#[derive(Debug, Serialize)]
struct Tool {
    tool: &'static str,
    found: bool,
    /// Its version, or why it is unusable.
    detail: String,
    needed_by: &'static str,
}

#[derive(Debug, Serialize)]
struct Doctor {
    tools: Vec<Tool>,
    cache: String,
    project: Option<String>,
}

pub fn run(args: DoctorArgs) -> anyhow::Result<Outcome> {
    const SIM: &str = "pe verify, gemm, matmul, run --backend sim|devmem, bench sim|gemm|bfp";
    let mut tools = simulator_tools(SIM);
    tools.push(version_of("yosys", &["-V"], "synth"));
    tools.push(version_of(
        "vivado",
        &["-version"],
        "bitstream build (a Vivado project is written without it)",
    ));
    let cache = kiln_spec::rtl::cache_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|e| e.to_string());
    let project = super::catalog().ok().and_then(|c| {
        c.project
            .as_ref()
            .map(|p| format!("{} ({})", p.name, p.root.display()))
    });
    let report = Doctor {
        tools,
        cache,
        project,
    };
    if args.json {
        print_json(&report)?;
    } else {
        for t in &report.tools {
            println!(
                "{:<14} {:<8} {}\n{:<14} {:<8} needed by: {}",
                t.tool,
                if t.found { "ok" } else { "MISSING" },
                t.detail,
                "",
                "",
                t.needed_by
            );
        }
        println!("cache          {}", report.cache);
        println!(
            "project        {}",
            report
                .project
                .as_deref()
                .unwrap_or("none (built-in library only)")
        );
    }
    Ok(Outcome::Passed)
}

/// Verilator, the C++ compiler and zlib, as the simulator finds them.
#[cfg(feature = "sim")]
fn simulator_tools(needed_by: &'static str) -> Vec<Tool> {
    match kiln_sim::toolchain() {
        Ok(t) => vec![
            Tool {
                tool: "verilator",
                found: true,
                detail: format!("{} ({})", t.verilator_version, t.verilator.display()),
                needed_by,
            },
            Tool {
                tool: "c++",
                found: true,
                detail: format!("{} ({})", t.cxx_version, t.cxx.display()),
                needed_by,
            },
            zlib(&t.cxx, needed_by),
        ],
        Err(e) => vec![Tool {
            tool: "verilator, c++",
            found: false,
            detail: e.to_string(),
            needed_by,
        }],
    }
}

/// A kiln without the simulator (a board build) says so.
#[cfg(not(feature = "sim"))]
fn simulator_tools(needed_by: &'static str) -> Vec<Tool> {
    vec![Tool {
        tool: "simulator",
        found: false,
        detail: super::NO_SIMULATOR.to_string(),
        needed_by,
    }]
}

/// Whether the C++ compiler finds zlib's header, which Verilator's FST
/// writer includes: checked by compiling that include, not by a path.
#[cfg(feature = "sim")]
fn zlib(cxx: &Path, needed_by: &'static str) -> Tool {
    let out = Command::new(cxx)
        .args(["-fsyntax-only", "-x", "c++", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(b"#include <zlib.h>\n")?;
            }
            child.wait_with_output()
        });
    let found = out.as_ref().is_ok_and(|o| o.status.success());
    Tool {
        tool: "zlib headers",
        found,
        detail: if found {
            "zlib.h compiles".into()
        } else {
            "zlib.h not found: apt-get install zlib1g-dev".into()
        },
        needed_by,
    }
}

fn version_of(tool: &'static str, args: &[&str], needed_by: &'static str) -> Tool {
    match Command::new(tool).args(args).output() {
        Ok(o) if o.status.success() => Tool {
            tool,
            found: true,
            detail: String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
            needed_by,
        },
        Ok(o) => Tool {
            tool,
            found: false,
            detail: String::from_utf8_lossy(&o.stderr).trim().to_string(),
            needed_by,
        },
        Err(e) => Tool {
            tool,
            found: false,
            detail: format!("not found ({e})"),
            needed_by,
        },
    }
}
