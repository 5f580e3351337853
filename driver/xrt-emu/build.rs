//! Compiles xrtRunSetArg (the one C-variadic function, src/run_set_arg.c)
//! and exports it from the library.

use std::env;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    let include = manifest.join("include");
    println!("cargo:rerun-if-changed=src/run_set_arg.c");
    println!("cargo:rerun-if-changed=include");
    cc::Build::new()
        .file("src/run_set_arg.c")
        .include(&include)
        .std("c11")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("kiln_xrt_emu_c");

    // rustc's version script for a cdylib exports only the Rust items
    // marked #[no_mangle] and makes every other symbol local, C ones
    // included. GNU ld merges a second version script into the first, and
    // a named symbol there takes precedence over rustc's `local: *`.
    let script = out.join("exports.map");
    std::fs::write(&script, "{\n  global:\n    xrtRunSetArg;\n};\n").expect("OUT_DIR is writable");
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        script.display()
    );
}
