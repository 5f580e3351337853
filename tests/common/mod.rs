//! Running the `kiln` binary the way a user does, for the CLI tests.

use std::ffi::OsStr;
use std::process::{Command, Output};

/// Runs `kiln` with `args` and returns everything it produced.
pub fn kiln<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .output()
        .expect("the kiln binary runs")
}

/// Runs `kiln ... --json`, requires the exit code `code`, and parses stdout.
pub fn kiln_json(args: &[&str], code: i32) -> serde_json::Value {
    let out = kiln(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "kiln {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Runs `kiln`, requires the error exit code 2, and returns stderr.
pub fn kiln_error<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = kiln(args);
    assert_eq!(out.status.code(), Some(2), "errors exit 2");
    String::from_utf8_lossy(&out.stderr).into_owned()
}
