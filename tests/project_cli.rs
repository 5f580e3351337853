//! A user's project through the installed `kiln` binary: `kiln new`, PEs
//! and designs of the project by name and by path, and what happens on bad
//! input: broken RTL, a codebook missing a code, a design naming an
//! unknown PE, two processes Verilating the same PE at once. Each test
//! works in its own temporary folder; the tests that inspect the simulator
//! cache give kiln a cache of their own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A folder removed when the test ends.
struct TempDir(tempfile::TempDir);

impl TempDir {
    fn new(tag: &str) -> Self {
        Self(
            tempfile::Builder::new()
                .prefix(&format!("kiln-project-{tag}-"))
                .tempdir()
                .unwrap(),
        )
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

fn kiln_in(dir: &Path, cache: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.current_dir(dir).args(args);
    if let Some(cache) = cache {
        cmd.env("KILN_CACHE", cache);
    }
    cmd.output().expect("kiln runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A new project `demo` in `base`.
fn new_project(base: &Path) -> PathBuf {
    let out = kiln_in(base, None, &["new", "demo"]);
    assert!(out.status.success(), "{}", text(&out));
    base.join("demo")
}

/// Entries of the model cache and any staging folders left in it.
fn cache_entries(cache: &Path) -> (Vec<String>, Vec<String>) {
    let models = cache.join("sim/models");
    let mut entries = Vec::new();
    let mut staging = Vec::new();
    for dir in [models, cache.join("sim")] {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in read.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".tmp-") {
                staging.push(name);
            } else if e.path().join("model.so").is_file() {
                entries.push(name);
            }
        }
    }
    (entries, staging)
}

#[test]
fn a_new_project_lists_and_verifies_its_pe_by_name_and_by_path() {
    let base = TempDir::new("new");
    let project = new_project(base.path());
    let out = kiln_in(&project, None, &["pe", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"pot3") && names.contains(&"shift_pot"),
        "{names:?}"
    );

    for args in [
        vec!["pe", "verify", "--pe", "pot3", "--json"],
        vec!["pe", "verify", "--pe", "pe/pot3", "--json"],
    ] {
        let out = kiln_in(&project, None, &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["passed"], true);
        assert_eq!(report["pes"][0]["exhaustive"]["cases"], 256 * 8);
    }
    // The project's design (3-bit codes) runs on its RTL by name and by path.
    for design in ["gemm-pot3-8x8", "designs/gemm-pot3-8x8.toml"] {
        let out = kiln_in(
            &project,
            None,
            &[
                "gemm", "--design", design, "--m", "16", "--n", "24", "--k", "80", "--json",
            ],
        );
        assert!(out.status.success(), "{design}: {}", text(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["design"], "gemm-pot3-8x8");
        assert_eq!(report["outputs"], 16 * 24);
        assert_eq!(report["mismatches"], 0, "{report}");
    }
    // Its Vivado project reads the project's RTL where it is, and its
    // emulation bitstream's manifest checks against the project.
    let out = kiln_in(
        &project,
        None,
        &[
            "bitstream",
            "vivado",
            "--design",
            "gemm-pot3-8x8",
            "--board",
            "pynq-z1",
            "--out",
            "viv",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let tcl = std::fs::read_to_string(project.join("viv/build_bitstream.tcl")).unwrap();
    let pot3 = std::fs::canonicalize(project.join("pe/pot3/rtl/pot3.sv")).unwrap();
    assert!(tcl.contains(&format!("{{{}}}", pot3.display())), "{tcl}");
    for args in [
        vec![
            "bitstream",
            "emulate",
            "--design",
            "gemm-pot3-8x8",
            "--out",
            "pot3.xclbin",
        ],
        vec!["bitstream", "check", "--manifest", "pot3.toml"],
    ] {
        let out = kiln_in(&project, None, &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
    // kiln doctor names the project and finds the simulator's tools.
    let out = kiln_in(&project, None, &["doctor", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let doctor: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doctor["project"].as_str().unwrap().starts_with("demo ("),
        "{doctor}"
    );
    let tools = doctor["tools"].as_array().unwrap();
    for tool in ["verilator", "c++", "zlib headers", "yosys"] {
        let t = tools.iter().find(|t| t["tool"] == tool).unwrap();
        assert_eq!(t["found"], true, "{t}");
    }
    // From outside the project, --project finds it.
    let out = kiln_in(
        base.path(),
        None,
        &["--project", "demo", "designs", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("gemm-pot3-8x8"));
    // Without it, the project's names are unknown.
    let out = kiln_in(base.path(), None, &["pe", "verify", "--pe", "pot3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no PE named `pot3`"), "{}", text(&out));
}

#[test]
fn broken_rtl_names_file_and_line_and_leaves_nothing_in_the_cache() {
    let base = TempDir::new("broken");
    let cache = base.path().join("cache");
    let project = new_project(base.path());
    let rtl = project.join("pe/pot3/rtl/pot3.sv");
    let good = std::fs::read_to_string(&rtl).unwrap();
    // Line 25 loses its semicolon.
    let broken = good.replacen(
        "assign mag     = act_ext << wcode_i[1:0];",
        "assign mag     = act_ext << wcode_i[1:0]",
        1,
    );
    assert_ne!(broken, good);
    let line = broken
        .lines()
        .position(|l| l.contains("wcode_i[1:0]") && l.contains("assign mag"))
        .unwrap()
        + 1;
    std::fs::write(&rtl, broken).unwrap();
    let out = kiln_in(&project, Some(&cache), &["pe", "verify", "--pe", "pot3"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let message = text(&out);
    assert!(
        message.contains("Verilator rejected the RTL of PE pot3"),
        "{message}"
    );
    // Verilator reports the error where the statement ends: this line or
    // the next.
    let at = |l: usize| format!("pot3.sv:{l}:");
    assert!(
        message.contains(&at(line)) || message.contains(&at(line + 1)),
        "names pot3.sv:{line}: {message}"
    );
    assert!(message.contains("building PE pot3 failed"), "{message}");
    let (entries, staging) = cache_entries(&cache);
    assert!(staging.is_empty(), "staging left behind: {staging:?}");
    assert!(
        entries.iter().all(|e| e.starts_with("runtime-")),
        "no model entry for broken RTL: {entries:?}"
    );
    // A port narrower than the codebook says: Verilator names the port,
    // and kiln says what its harness connects.
    std::fs::write(
        &rtl,
        good.replace("input  logic [2:0]  wcode_i", "input  logic [3:0]  wcode_i"),
    )
    .unwrap();
    let out = kiln_in(&project, Some(&cache), &["pe", "verify", "--pe", "pot3"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let message = text(&out);
    assert!(
        message.contains("WIDTH")
            && message.contains("'wcode_i' expects 4 bits")
            && message.contains("wcode_i[2:0] (weight_bits in the codebook)"),
        "{message}"
    );
    // Mended, the same command builds and passes.
    std::fs::write(&rtl, good).unwrap();
    let out = kiln_in(&project, Some(&cache), &["pe", "verify", "--pe", "pot3"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("built PE pot3 in"), "{}", text(&out));
    // Nothing changed: no build the second time.
    let out = kiln_in(&project, Some(&cache), &["pe", "verify", "--pe", "pot3"]);
    assert!(
        out.status.success() && !text(&out).contains("Verilating"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_codebook_missing_a_code_is_refused_at_load() {
    let base = TempDir::new("codebook");
    let project = new_project(base.path());
    std::fs::write(
        project.join("pe/pot3/codebook.toml"),
        "name = \"pot3\"\nweight_bits = 3\nencoding = \"table\"\nvalues = [1, 2, 4, 8, -1, -2, -4]\n",
    )
    .unwrap();
    let out = kiln_in(&project, None, &["pe", "list"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let message = text(&out);
    assert!(
        message.contains("pe/pot3/codebook.toml")
            && message.contains("a 3-bit code has 8 values, the table lists 7")
            && message.contains("code 0b111 has no value"),
        "{message}"
    );
    // A width the engines cannot carry is refused the same way.
    std::fs::write(
        project.join("pe/pot3/codebook.toml"),
        "name = \"pot3\"\nweight_bits = 9\nencoding = \"twos_complement\"\n",
    )
    .unwrap();
    let message = text(&kiln_in(&project, None, &["pe", "list"]));
    assert!(
        message.contains("weight_bits is 9; the engines carry weight codes of 1 to 8 bits"),
        "{message}"
    );
}

#[test]
fn a_design_naming_an_unknown_pe_is_refused_naming_the_known_ones() {
    let base = TempDir::new("unknown");
    let project = new_project(base.path());
    let file = project.join("designs/gemm-pot3-8x8.toml");
    let text_before = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text_before.replace("pe = \"pot3\"", "pe = \"pot9\"")).unwrap();
    let out = kiln_in(&project, None, &["designs"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let message = text(&out);
    assert!(
        message.contains("gemm-pot3-8x8.toml")
            && message.contains("pot9")
            && message.contains("pot3")
            && message.contains("shift_pot"),
        "{message}"
    );
}

/// Reads `kiln`'s stderr lines until one holds `want`, or fails after
/// `secs` seconds; returns everything read.
fn await_line(lines: &std::sync::mpsc::Receiver<String>, want: &str, secs: u64, seen: &mut String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(want) {
                    return;
                }
            }
            Err(_) => panic!("no line with `{want}` within {secs} s; kiln printed:\n{seen}"),
        }
    }
}

#[test]
fn watch_verifies_again_on_every_save() {
    use std::io::BufRead;
    let base = TempDir::new("watch");
    let project = new_project(base.path());
    let rtl = project.join("pe/pot3/rtl/pot3.sv");
    let good = std::fs::read_to_string(&rtl).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .current_dir(&project)
        .args(["pe", "verify", "--pe", "pot3", "--watch"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    await_line(&rx, "kiln: PASSED", 120, &mut seen);
    // A wrong product: the sign is ignored. The watch finds mismatches.
    std::fs::write(&rtl, good.replace("wcode_i[2] ? 16'd0 - mag : mag", "mag")).unwrap();
    await_line(&rx, "kiln: FAILED", 120, &mut seen);
    // A syntax error: Verilator's message, and the watch goes on.
    std::fs::write(&rtl, good.replace("endmodule", "endmodul")).unwrap();
    await_line(&rx, "kiln: ERROR", 120, &mut seen);
    std::fs::write(&rtl, &good).unwrap();
    await_line(&rx, "kiln: PASSED", 120, &mut seen);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.contains("pot3.sv"),
        "the RTL error names the file:\n{seen}"
    );
}

#[test]
fn two_processes_verilating_one_pe_build_it_once() {
    let base = TempDir::new("race");
    let cache = base.path().join("cache");
    let project = new_project(base.path());
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_kiln"))
            .current_dir(&project)
            .env("KILN_CACHE", &cache)
            .args(["pe", "verify", "--pe", "pot3", "--json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for out in [&a, &b] {
        assert!(out.status.success(), "{}", text(out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["passed"], true);
    }
    let builds = [&a, &b]
        .iter()
        .filter(|o| text(o).contains("built PE pot3"))
        .count();
    assert_eq!(
        builds,
        1,
        "exactly one process builds:\n{}\n{}",
        text(&a),
        text(&b)
    );
    let (entries, staging) = cache_entries(&cache);
    assert!(staging.is_empty(), "{staging:?}");
    assert_eq!(
        entries
            .iter()
            .filter(|e| !e.starts_with("runtime-"))
            .count(),
        1,
        "{entries:?}"
    );
    // `kiln cache` lists that one model; --clean removes it.
    let json = |args: &[&str]| -> serde_json::Value {
        let out = kiln_in(&project, Some(&cache), args);
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let listed = json(&["cache", "--json"]);
    assert_eq!(listed["models"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["models"][0]["model"], "PE pot3");
    let cleaned = json(&["cache", "--clean", "--json"]);
    assert_eq!(cleaned["removed"], 1);
    assert_eq!(cleaned["models"].as_array().unwrap().len(), 0);
}
