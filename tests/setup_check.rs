//! `make setup`'s tool checks (tests/setup/missing.sh) against staged
//! directory trees: each tree holds exactly the files a machine would, and
//! the script must name the Debian packages that are missing.
//!
//! The first case is the Rust image's own state: libclang-cpp14 but no
//! libclang-dev. A glob such as `libclang*.so*` matches libclang-cpp.so.14
//! and reports nothing missing; bindgen then fails with "Unable to find
//! libclang". The script must look for the file clang-sys loads.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/setup/missing.sh");

/// A fresh staged root under the system's temp dir.
fn stage(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("kiln-setup-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    root
}

fn file(root: &Path, path: &str, text: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
}

/// An executable script at `path` under `root`.
fn exe(root: &Path, path: &str, body: &str) {
    file(root, path, &format!("#!/bin/sh\n{body}\n"));
    let p = root.join(path.trim_start_matches('/'));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The packages the script reports missing for `what` under `root`.
fn missing(root: &Path, what: &str) -> Vec<String> {
    let out = Command::new("bash")
        .arg(SCRIPT)
        .arg(what)
        .arg(root)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env_remove("LIBCLANG_PATH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "missing.sh {what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Everything the native build needs but libclang.
fn stage_native_without_libclang(root: &Path) {
    exe(
        root,
        "/usr/bin/verilator",
        "echo 'Verilator 5.006 2023-01-22 rev (Debian 5.006-3)'",
    );
    exe(root, "/usr/bin/yosys", "true");
    exe(root, "/usr/bin/g++", "true");
    exe(root, "/usr/bin/tclsh", "true");
    exe(root, "/usr/bin/python3", "true");
    file(root, "/usr/include/zlib.h", "");
    file(root, "/usr/lib/python3.11/ensurepip/__init__.py", "");
    file(
        root,
        "/usr/share/python-wheels/pip-23.0.1-py3-none-any.whl",
        "",
    );
}

/// The files libclang-dev brings on bookworm (the library and clang's
/// resource headers).
fn stage_libclang_dev(root: &Path) {
    file(root, "/usr/lib/llvm-14/lib/libclang-14.so.1", "ELF");
    file(root, "/usr/lib/llvm-14/lib/libclang.so", "ELF");
    file(
        root,
        "/usr/lib/llvm-14/lib/clang/14.0.6/include/stddef.h",
        "",
    );
}

#[test]
fn libclang_cpp_alone_is_not_libclang() {
    let root = stage("cpp-only");
    stage_native_without_libclang(&root);
    // What the Rust image ships: libclang-cpp14 (and LLVM), no libclang.
    file(&root, "/usr/lib/llvm-14/lib/libclang-cpp.so.14", "ELF");
    file(&root, "/usr/lib/x86_64-linux-gnu/libclang-cpp.so.14", "ELF");
    file(&root, "/usr/lib/llvm-14/lib/libLLVM-14.so.1", "ELF");
    assert_eq!(missing(&root, "native"), ["libclang-dev"]);
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn libclang_dev_satisfies_the_check() {
    let root = stage("libclang-dev");
    stage_native_without_libclang(&root);
    file(&root, "/usr/lib/llvm-14/lib/libclang-cpp.so.14", "ELF");
    stage_libclang_dev(&root);
    assert_eq!(missing(&root, "native"), Vec::<String>::new());
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn libclang_without_clang_headers_is_incomplete() {
    // libclang1-14 alone: bindgen loads the library but cannot parse a
    // header that includes <stddef.h>.
    let root = stage("no-headers");
    stage_native_without_libclang(&root);
    file(&root, "/usr/lib/x86_64-linux-gnu/libclang-14.so.14", "ELF");
    assert_eq!(missing(&root, "native"), ["libclang-dev"]);
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn an_old_verilator_is_missing_and_an_empty_machine_misses_everything() {
    let root = stage("old-verilator");
    stage_native_without_libclang(&root);
    stage_libclang_dev(&root);
    exe(
        &root,
        "/usr/bin/verilator",
        "echo 'Verilator 4.038 2020-07-11 rev v4.036-114-g0cd4a57ad'",
    );
    assert_eq!(missing(&root, "native"), ["verilator"]);
    // 5.010 is newer than 5.006 (the minor is decimal, not octal).
    exe(
        &root,
        "/usr/bin/verilator",
        "echo 'Verilator 5.010 2023-04-30'",
    );
    assert_eq!(missing(&root, "native"), Vec::<String>::new());
    // A verilator that is not executable is not there.
    std::fs::set_permissions(
        root.join("usr/bin/verilator"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    assert_eq!(missing(&root, "native"), ["verilator"]);

    let empty = stage("empty");
    assert_eq!(
        missing(&empty, "native"),
        [
            "verilator",
            "yosys",
            "zlib1g-dev",
            "g++",
            "libclang-dev",
            "tcl",
            "python3",
            "python3-venv"
        ]
    );
    assert_eq!(
        missing(&empty, "cross"),
        [
            "gcc-arm-linux-gnueabihf",
            "gcc-aarch64-linux-gnu",
            "qemu-user"
        ]
    );
    std::fs::remove_dir_all(&root).ok();
    std::fs::remove_dir_all(&empty).ok();
}

#[test]
fn cross_tools_need_both_qemus() {
    let root = stage("cross");
    exe(&root, "/usr/bin/arm-linux-gnueabihf-gcc", "true");
    exe(&root, "/usr/bin/aarch64-linux-gnu-gcc", "true");
    exe(&root, "/usr/bin/qemu-arm", "true");
    assert_eq!(missing(&root, "cross"), ["qemu-user"]);
    exe(&root, "/usr/bin/qemu-aarch64", "true");
    assert_eq!(missing(&root, "cross"), Vec::<String>::new());
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn the_libclang_path_variable_is_searched_alone() {
    // clang-sys searches only $LIBCLANG_PATH when it is set.
    let root = stage("libclang-path");
    stage_native_without_libclang(&root);
    stage_libclang_dev(&root);
    let run = |dir: &str| {
        let out = Command::new("bash")
            .arg(SCRIPT)
            .arg("native")
            .arg(&root)
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LIBCLANG_PATH", dir)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run("/opt/nowhere"), "libclang-dev\n");
    assert_eq!(run("/usr/lib/llvm-14/lib"), "");
    std::fs::remove_dir_all(&root).ok();
}
