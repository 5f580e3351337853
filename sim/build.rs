//! Builds one Verilator model per hardware top and links them into kiln-sim.
//!
//! For every model and every trace variant (none, FST, VCD) this runs
//! `verilator --cc` to generate C++, then compiles the generated sources,
//! a small C ABI shim (templates/shim.inc) and one shared copy of the
//! Verilator runtime into a single static library. One runtime for all
//! models avoids the duplicate symbols that one `--lib-create` archive per
//! model would bring. The Rust side gets `models.rs`: the port tables and
//! the extern functions of each variant.
//!
//! Cargo reruns this only when an RTL file, a PE description, a template or
//! this script changes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

use kiln_spec::shell::Dir;
use kiln_spec::{Design, PeLibrary, ShellPorts};

const INSTALL_HINT: &str = "kiln-sim needs Verilator 5 to build its models: install it with \
`apt-get install verilator` (or run `make setup`), or point $VERILATOR at a verilator binary.";

/// A top-level port of a model.
struct Port {
    name: String,
    input: bool,
    width: u32,
}

/// One hardware top to Verilate.
struct Model {
    /// Name the Rust side opens it by.
    name: String,
    /// Top module.
    top: String,
    /// SystemVerilog sources, dependencies first.
    sources: Vec<PathBuf>,
    /// Directories `include` searches.
    include_dirs: Vec<PathBuf>,
    /// Top-level parameter overrides (`-G`).
    parameters: Vec<(&'static str, String)>,
    ports: Vec<Port>,
    /// Trace variants to build (PE harnesses: all three; accelerators:
    /// untraced and FST, to keep build time down).
    traces: &'static [Trace],
}

#[derive(Clone, Copy)]
enum Trace {
    None,
    Fst,
    Vcd,
}

impl Trace {
    const ALL: [Trace; 3] = [Trace::None, Trace::Fst, Trace::Vcd];
    const NO_VCD: [Trace; 2] = [Trace::None, Trace::Fst];
    fn suffix(self) -> &'static str {
        match self {
            Trace::None => "plain",
            Trace::Fst => "fst",
            Trace::Vcd => "vcd",
        }
    }
    fn kind(self) -> u32 {
        self as u32
    }
    fn flag(self) -> Option<&'static str> {
        match self {
            Trace::None => None,
            Trace::Fst => Some("--trace-fst"),
            Trace::Vcd => Some("--trace"),
        }
    }
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_path_buf();
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    for path in [
        "hw/ip/pe/data/codebooks.toml",
        "hw/ip/pe/dv/test_pes.toml",
        "sim/templates",
        "hw/designs",
        "hw/designs/dv",
        "hw/regs/shell.toml",
        "hw/ip/common/rtl",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    println!("cargo:rerun-if-env-changed=VERILATOR");

    let verilator = env::var("VERILATOR").unwrap_or_else(|_| "verilator".into());
    let verilator_root = verilator_root(&verilator);

    let library = PeLibrary::builtin().unwrap_or_else(|e| panic!("{e}"));
    let with_test_pes = env::var_os("CARGO_FEATURE_TEST_PES").is_some();
    let hw_gen = out.join("hw");
    fs::create_dir_all(&hw_gen).unwrap();
    let mut models: Vec<Model> = library
        .pes
        .iter()
        .filter(|pe| with_test_pes || !pe.test_only)
        .map(|pe| pe_harness_model(&root, &hw_gen, &library, pe))
        .collect();
    let shell = ShellPorts::builtin().unwrap_or_else(|e| panic!("{e}"));
    let designs = Design::all().unwrap_or_else(|e| panic!("{e}"));
    for design in designs.iter().filter(|d| with_test_pes || !d.test_only) {
        models.push(design_model(&root, &hw_gen, design, &shell));
    }
    write_if_changed(&out.join("shell_ports.rs"), &rust_shell_ports(&shell));

    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .opt_level(2)
        .debug(false)
        .warnings(false)
        .include(verilator_root.join("include"))
        .include(verilator_root.join("include/vltstd"))
        .define("VM_COVERAGE", "0")
        .define("VM_SC", "0")
        .define("VM_TRACE", "1")
        .define("VM_TRACE_FST", "1")
        .define("VM_TRACE_VCD", "1")
        .flag_if_supported("-faligned-new")
        .flag_if_supported("-fcf-protection=none");
    for file in [
        "verilated.cpp",
        "verilated_threads.cpp",
        "verilated_fst_c.cpp",
        "verilated_vcd_c.cpp",
    ] {
        build.file(verilator_root.join("include").join(file));
    }
    let mut rust = String::new();
    for model in &models {
        for &trace in model.traces {
            let unit = verilate(&verilator, &out, model, trace);
            build.file(unit);
        }
        rust.push_str(&rust_model(model));
    }
    write_if_changed(&out.join("models.rs"), &rust_registry(&models, rust));
    build.compile("kiln_verilated");
    println!("cargo:rustc-link-lib=z");
    println!("cargo:rustc-link-lib=pthread");
}

/// Finds Verilator's install root, or stops the build saying how to install it.
fn verilator_root(verilator: &str) -> PathBuf {
    let output = Command::new(verilator)
        .arg("--getenv")
        .arg("VERILATOR_ROOT")
        .output();
    match output {
        Ok(o) if o.status.success() => {
            let root = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            if !root.join("include/verilated.h").exists() {
                panic!(
                    "{} has no include/verilated.h. {INSTALL_HINT}",
                    root.display()
                );
            }
            root
        }
        Ok(o) => panic!(
            "`{verilator} --getenv VERILATOR_ROOT` failed: {}. {INSTALL_HINT}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!("cannot run `{verilator}`: {e}. {INSTALL_HINT}"),
    }
}

/// Generates the accumulator harness around one PE (templates/pe_harness.sv).
fn pe_harness_model(
    root: &Path,
    hw_gen: &Path,
    library: &PeLibrary,
    pe: &kiln_spec::PeSpec,
) -> Model {
    let template = fs::read_to_string(root.join("sim/templates/pe_harness.sv")).unwrap();
    let shape = library.port_shape;
    let harness = template
        .replace("@PE@", &pe.name)
        .replace("@ACT_BITS@", &shape.act_bits.to_string())
        .replace("@WEIGHT_BITS@", &pe.weight_bits.to_string())
        .replace("@PROD_BITS@", &shape.product_bits.to_string());
    let top = format!("kiln_pe_harness_{}", pe.name);
    let harness_path = hw_gen.join(format!("{top}.sv"));
    write_if_changed(&harness_path, &harness);
    let rtl = root.join(&pe.rtl);
    println!("cargo:rerun-if-changed={}", rtl.display());
    Model {
        name: format!("pe_{}", pe.name),
        top,
        sources: vec![rtl, harness_path],
        include_dirs: Vec::new(),
        parameters: Vec::new(),
        traces: &Trace::ALL,
        ports: vec![
            Port {
                name: "clk_i".into(),
                input: true,
                width: 1,
            },
            Port {
                name: "rst_ni".into(),
                input: true,
                width: 1,
            },
            Port {
                name: "valid_i".into(),
                input: true,
                width: 1,
            },
            Port {
                name: "act_i".into(),
                input: true,
                width: shape.act_bits,
            },
            Port {
                name: "wcode_i".into(),
                input: true,
                width: pe.weight_bits,
            },
            Port {
                name: "valid_o".into(),
                input: false,
                width: 1,
            },
            Port {
                name: "prod_o".into(),
                input: false,
                width: shape.product_bits,
            },
            Port {
                name: "acc_o".into(),
                input: false,
                width: 32,
            },
        ],
    }
}

/// The ports every design's top (`kiln_shell`) has, from the port table
/// hw/regs/shell.toml. A port missing from the RTL fails the C++ compile of
/// the generated switch.
fn shell_ports(shell: &ShellPorts) -> Vec<Port> {
    shell
        .ports
        .iter()
        .map(|p| Port {
            name: p.name.clone(),
            input: p.dir == Dir::In,
            width: p.width,
        })
        .collect()
}

/// The simulator's handles on the shell's ports: a struct with one
/// [`Port`] per row of the table, resolved by name when a model opens.
fn rust_shell_ports(shell: &ShellPorts) -> String {
    let mut s = String::from(
        "// Generated by sim/build.rs from hw/regs/shell.toml.\n\
         /// Handles on the ports of `kiln_shell`, one per row of the port table.\n\
         #[allow(dead_code)]\n\
         struct ShellPorts {\n",
    );
    for port in &shell.ports {
        writeln!(s, "    {}: Port,", port.name).unwrap();
    }
    s.push_str("}\n\nimpl ShellPorts {\n    fn resolve(sim: &Sim) -> Result<Self, SimError> {\n        Ok(Self {\n");
    for port in &shell.ports {
        writeln!(s, "            {0}: sim.port({0:?})?,", port.name).unwrap();
    }
    s.push_str("        })\n    }\n}\n");
    s
}

/// One accelerator design: its RTL plus its generated sources (the core
/// binding and, for a GEMM design, the PE binding).
fn design_model(root: &Path, hw_gen: &Path, design: &Design, shell: &ShellPorts) -> Model {
    let mut sources: Vec<PathBuf> = design
        .rtl_sources()
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|p| root.join(p))
        .collect();
    for source in &sources {
        println!("cargo:rerun-if-changed={}", source.display());
    }
    let dir = hw_gen.join(&design.name);
    fs::create_dir_all(&dir).unwrap();
    for (name, text) in design.generated_sources().unwrap_or_else(|e| panic!("{e}")) {
        let path = dir.join(name);
        write_if_changed(&path, &text);
        sources.push(path);
    }
    Model {
        name: design.name.clone(),
        top: design.top_module().to_string(),
        sources,
        include_dirs: design
            .include_dirs()
            .into_iter()
            .map(|d| root.join(d))
            .collect(),
        parameters: design.top_parameters().unwrap_or_else(|e| panic!("{e}")),
        ports: shell_ports(shell),
        traces: &Trace::NO_VCD,
    }
}

fn class_name(model: &Model, trace: Trace) -> String {
    format!(
        "Vkiln_{}_{}",
        model.name.replace(['-', '.'], "_"),
        trace.suffix()
    )
}

/// Runs `verilator --cc` for one variant and writes the translation unit that
/// compiles its sources with the shim. Returns the unit's path.
fn verilate(verilator: &str, out: &Path, model: &Model, trace: Trace) -> PathBuf {
    let class = class_name(model, trace);
    let mdir = out.join("obj").join(&class);
    if mdir.exists() {
        fs::remove_dir_all(&mdir).unwrap();
    }
    fs::create_dir_all(&mdir).unwrap();
    let mut cmd = Command::new(verilator);
    cmd.args(["--cc", "-O3", "--x-assign", "fast", "--x-initial", "fast"])
        .args(["--timescale", "1ns/1ns"])
        .args(["--prefix", &class, "--top-module", &model.top])
        .arg("--Mdir")
        .arg(&mdir);
    if let Some(flag) = trace.flag() {
        cmd.arg(flag);
    }
    for (name, value) in &model.parameters {
        cmd.arg(format!("-G{name}={value}"));
    }
    for dir in &model.include_dirs {
        cmd.arg(format!("-I{}", dir.display()));
    }
    // Model names may hold dashes; C++ identifiers may not.
    cmd.args(&model.sources);
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run `{verilator}`: {e}. {INSTALL_HINT}"));
    if !status.success() {
        panic!(
            "verilator failed on model `{}` (top {}, sources {:?}); its messages are above",
            model.name, model.top, model.sources
        );
    }
    let mut sources: Vec<PathBuf> = fs::read_dir(&mdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
        .collect();
    sources.sort();

    let mut unit = String::new();
    writeln!(
        unit,
        "// Generated by sim/build.rs: model {} ({}).",
        model.name,
        trace.suffix()
    )
    .unwrap();
    for source in &sources {
        writeln!(unit, "#include \"{}\"", source.display()).unwrap();
    }
    writeln!(
        unit,
        "#include \"{}\"",
        mdir.join(format!("{class}.h")).display()
    )
    .unwrap();
    writeln!(unit, "#define KILN_MODEL {class}").unwrap();
    writeln!(unit, "#define KILN_SYM(name) kiln_{class}_##name").unwrap();
    writeln!(unit, "#define KILN_TRACE_KIND {}", trace.kind()).unwrap();
    unit.push_str("#include <type_traits>\nnamespace {\n");
    unit.push_str("inline void kiln_set_port(KILN_MODEL* top, uint32_t port, uint64_t value) {\n  switch (port) {\n");
    for (i, port) in model.ports.iter().enumerate().filter(|(_, p)| p.input) {
        writeln!(
            unit,
            "    case {i}: top->{0} = static_cast<std::remove_reference_t<decltype(top->{0})>>(value); break;",
            port.name
        )
        .unwrap();
    }
    unit.push_str("    default: break;\n  }\n}\n");
    unit.push_str(
        "inline uint64_t kiln_get_port(KILN_MODEL* top, uint32_t port) {\n  switch (port) {\n",
    );
    for (i, port) in model.ports.iter().enumerate() {
        writeln!(
            unit,
            "    case {i}: return static_cast<uint64_t>(top->{});",
            port.name
        )
        .unwrap();
    }
    unit.push_str("    default: return 0;\n  }\n}\n}  // namespace\n");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    writeln!(
        unit,
        "#include \"{}\"",
        manifest.join("templates/shim.inc").display()
    )
    .unwrap();
    let path = out.join(format!("{class}__unit.cpp"));
    write_if_changed(&path, &unit);
    path
}

/// The Rust declarations of one model: its extern functions and port table.
fn rust_model(model: &Model) -> String {
    let mut s = String::new();
    s.push_str("extern \"C\" {\n");
    for &trace in model.traces {
        let c = class_name(model, trace);
        writeln!(
            s,
            "    fn kiln_{c}_new(trace: *const c_char) -> *mut c_void;"
        )
        .unwrap();
        writeln!(s, "    fn kiln_{c}_free(handle: *mut c_void);").unwrap();
        writeln!(
            s,
            "    fn kiln_{c}_set(handle: *mut c_void, port: u32, value: u64);"
        )
        .unwrap();
        writeln!(
            s,
            "    fn kiln_{c}_get(handle: *mut c_void, port: u32) -> u64;"
        )
        .unwrap();
        writeln!(s, "    fn kiln_{c}_step(handle: *mut c_void, cycles: u64);").unwrap();
        writeln!(s, "    fn kiln_{c}_run(handle: *mut c_void, in_ports: *const u32, n_in: usize, in_values: *const u64, out_ports: *const u32, n_out: usize, out_values: *mut u64, cycles: usize);").unwrap();
        writeln!(s, "    fn kiln_{c}_cycles(handle: *mut c_void) -> u64;").unwrap();
    }
    s.push_str("}\n");
    s
}

fn rust_registry(models: &[Model], externs: String) -> String {
    let mut s = String::from("// Generated by sim/build.rs.\n");
    s.push_str(&externs);
    s.push_str("pub(crate) static MODELS: &[ModelEntry] = &[\n");
    for model in models {
        writeln!(s, "    ModelEntry {{\n        info: ModelInfo {{\n            name: {:?},\n            top: {:?},\n            ports: &[", model.name, model.top).unwrap();
        for port in &model.ports {
            let dir = if port.input { "In" } else { "Out" };
            writeln!(
                s,
                "                PortInfo {{ name: {:?}, dir: PortDir::{dir}, width: {} }},",
                port.name, port.width
            )
            .unwrap();
        }
        s.push_str("            ],\n        },\n        variants: [\n");
        for trace in Trace::ALL {
            if !model.traces.iter().any(|t| t.kind() == trace.kind()) {
                s.push_str("            None,\n");
                continue;
            }
            let c = class_name(model, trace);
            writeln!(s, "            Some(Variant {{ new: kiln_{c}_new, free: kiln_{c}_free, set: kiln_{c}_set, get: kiln_{c}_get, step: kiln_{c}_step, run: kiln_{c}_run, cycles: kiln_{c}_cycles }}),").unwrap();
        }
        s.push_str("        ],\n    },\n");
    }
    s.push_str("];\n");
    s
}

/// Writes only when the content differs, so unchanged files keep their
/// timestamps and do not trigger recompilation.
fn write_if_changed(path: &Path, content: &str) {
    if fs::read_to_string(path).is_ok_and(|old| old == content) {
        return;
    }
    fs::write(path, content).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
