//! Generates the XRT bindings with bindgen from `$XILINX_XRT/include` and
//! links `xrt_coreutil` from `$XILINX_XRT/lib`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::exit;

/// The C functions kiln's xrt transport calls; nothing else is bound.
const FUNCTIONS: &[&str] = &[
    "xrtDeviceOpen",
    "xrtDeviceClose",
    "xrtDeviceLoadXclbinFile",
    "xrtDeviceGetXclbinUUID",
    "xrtPLKernelOpenExclusive",
    "xrtKernelClose",
    "xrtKernelArgGroupId",
    "xrtKernelReadRegister",
    "xrtBOAlloc",
    "xrtBOSubAlloc",
    "xrtBOFree",
    "xrtBOMap",
    "xrtBOSync",
    "xrtBOAddress",
    "xrtRunOpen",
    "xrtRunSetArg",
    "xrtRunStart",
    "xrtRunWaitFor",
    "xrtRunState",
    "xrtRunClose",
];

const HEADERS: &[&str] = &["xrt/xrt_device.h", "xrt/xrt_bo.h", "xrt/xrt_kernel.h"];

fn fail(why: &str) -> ! {
    eprintln!("error: kiln-xrt-sys: {why}");
    eprintln!(
        "The xrt feature builds against XRT's C API; XILINX_XRT must point at an XRT install:"
    );
    eprintln!("  - where XRT is installed (a KV260, say): source /opt/xilinx/xrt/setup.sh");
    eprintln!("  - kiln's emulation library instead (no XRT needed), from the kiln source tree:");
    eprintln!("      make xrt-emu && export XILINX_XRT=$PWD/target/xrt-emu");
    exit(1);
}

fn main() {
    println!("cargo:rerun-if-env-changed=XILINX_XRT");
    // The crate sits inside the driver's folder, so cargo makes it a
    // workspace member whatever the workspace excludes, and `--workspace`
    // builds compile it. Only the `link` feature (which the driver's `xrt`
    // feature turns on) needs XRT; without it the crate is empty.
    if env::var_os("CARGO_FEATURE_LINK").is_none() {
        let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
        std::fs::write(out.join("bindings.rs"), "")
            .unwrap_or_else(|e| fail(&format!("cannot write the empty bindings: {e}")));
        return;
    }
    let Some(root) = env::var_os("XILINX_XRT").map(PathBuf::from) else {
        fail("XILINX_XRT is not set.");
    };
    let include = root.join("include");
    let lib = root.join("lib");
    for header in HEADERS {
        let path = include.join(header);
        if !path.is_file() {
            fail(&format!(
                "XILINX_XRT={} has no {} (no XRT headers there).",
                root.display(),
                path.display()
            ));
        }
        println!("cargo:rerun-if-changed={}", path.display());
    }
    if !has_library(&lib) {
        fail(&format!(
            "XILINX_XRT={} has no libxrt_coreutil.so in {}.",
            root.display(),
            lib.display()
        ));
    }

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let wrapper = out.join("xrt_wrapper.h");
    let text: String = HEADERS
        .iter()
        .map(|h| format!("#include <{h}>\n"))
        .collect();
    std::fs::write(&wrapper, text)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", wrapper.display())));

    let mut builder = bindgen::Builder::default()
        .header(wrapper.to_string_lossy())
        .clang_arg(format!("-I{}", include.display()))
        // C enums as modules of constants: a value XRT adds later is still
        // representable (a Rust enum would make it undefined behaviour).
        .constified_enum_module("ert_cmd_state")
        .constified_enum_module("xclBOSyncDirection")
        .allowlist_type("xrt(Device|Buffer|Kernel|Run)Handle")
        .allowlist_type("xrtBufferFlags|xrtMemoryGroup|xuid_t")
        .layout_tests(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for function in FUNCTIONS {
        builder = builder.allowlist_function(function);
    }
    let bindings = builder
        .generate()
        .unwrap_or_else(|e| fail(&format!("bindgen could not read the XRT headers: {e}")));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .unwrap_or_else(|e| fail(&format!("cannot write the bindings: {e}")));

    println!("cargo:rustc-link-search=native={}", lib.display());
    println!("cargo:rustc-link-lib=dylib=xrt_coreutil");
    // No rpath from here: Cargo applies link arguments only to the targets
    // of the package whose build script emits them, never to the binaries
    // of dependent packages. What finds the library at run time instead:
    // `cargo test` and `cargo run` put link-search directories inside the
    // target directory (where `make xrt-emu` installs the emulation) on the
    // loader path; XRT's setup.sh sets LD_LIBRARY_PATH for a real install;
    // and a package that depends on this one directly can read the
    // directory from DEP_XRT_COREUTIL_LIB_DIR in its build script and add
    // `-Wl,-rpath` to its own binaries.
    println!("cargo:lib_dir={}", lib.display());
    println!("cargo:include={}", include.display());
}

fn has_library(lib: &Path) -> bool {
    std::fs::read_dir(lib).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("libxrt_coreutil.so"))
        })
    })
}
