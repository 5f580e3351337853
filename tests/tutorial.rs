//! docs/tutorial-new-pe.md is a test: every command of its `console`
//! blocks runs, in order, with the release `kiln` binary first on PATH, in
//! a temporary folder (no cargo in the loop). Each must succeed, and every
//! output line the tutorial shows must appear in what the command printed
//! (spaces normalised); a shown line holding `...` stands for output that
//! varies (times) and is not compared.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One `$ command` of the tutorial, with the output shown under it.
#[derive(Debug)]
struct Step {
    command: String,
    shown: Vec<String>,
}

/// The steps of every ```console block, in order. A heredoc (`<<'EOF'`)
/// continues the command to its `EOF` line.
fn steps(markdown: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut in_block = false;
    let mut heredoc: Option<String> = None;
    for line in markdown.lines() {
        if let Some(end) = &heredoc {
            let step = steps.last_mut().unwrap();
            step.command.push('\n');
            step.command.push_str(line);
            if line.trim() == end {
                heredoc = None;
            }
            continue;
        }
        if line.starts_with("```") {
            in_block = !in_block && line.trim() == "```console";
            continue;
        }
        if !in_block {
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            if let Some(pos) = command.find("<<'") {
                let end = command[pos + 3..].split('\'').next().unwrap_or("EOF");
                heredoc = Some(end.to_string());
            }
            steps.push(Step {
                command: command.to_string(),
                shown: Vec::new(),
            });
        } else if let Some(step) = steps.last_mut() {
            if !line.trim().is_empty() {
                step.shown.push(line.to_string());
            }
        }
    }
    steps
}

fn normalise(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_tutorial_runs_as_written() {
    let root = kiln_spec::repo_root();
    let markdown = std::fs::read_to_string(root.join("docs/tutorial-new-pe.md")).unwrap();
    let steps = steps(&markdown);
    assert!(
        steps.len() >= 10,
        "the tutorial has its commands: {steps:?}"
    );

    let base = tempfile::Builder::new()
        .prefix("kiln-tutorial-")
        .tempdir()
        .unwrap();
    let kiln = PathBuf::from(env!("CARGO_BIN_EXE_kiln"));
    let path = format!(
        "{}:{}",
        kiln.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cwd: PathBuf = base.path().to_path_buf();
    for step in &steps {
        if let Some(dir) = step.command.strip_prefix("cd ") {
            cwd = cwd.join(dir.trim());
            assert!(cwd.is_dir(), "`{}`: no such folder", step.command);
            continue;
        }
        let out = Command::new("bash")
            .args(["-c", &step.command])
            .current_dir(&cwd)
            .env("PATH", &path)
            .output()
            .unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "`{}` failed in {}:\n{printed}",
            step.command,
            cwd.display()
        );
        let lines: Vec<String> = printed.lines().map(normalise).collect();
        for shown in step.shown.iter().filter(|l| !l.contains("...")) {
            let want = normalise(shown);
            assert!(
                lines.iter().any(|l| l == &want),
                "`{}` did not print the tutorial's line\n  {want}\nit printed:\n{printed}",
                step.command
            );
        }
    }
    assert_eq!(cwd.file_name(), Some(Path::new("mypes").as_os_str()));
}
