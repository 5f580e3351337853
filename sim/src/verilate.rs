//! Turning a [`ModelSource`] into a shared object: Verilator, then the C++
//! compiler, in a staging directory the cache hands over.
//!
//! Verilator runs with `--cc` only; kiln compiles its C++ itself (one
//! process per file, as many at once as there are cores) and links the
//! model, the C ABI shim (templates/shim.inc) and the Verilator runtime
//! into one `model.so`. Its maintainers advise against `--lib-create` for
//! this, and linking ourselves lets the runtime be compiled once per
//! Verilator version and reused by every model.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::source::ModelSource;
use crate::{BuildError, TraceFormat};

/// The C ABI every model exports (see the file).
pub(crate) const SHIM: &str = include_str!("../templates/shim.inc");

/// The compiler's flags for every object: position independent, C++17,
/// and the Verilator configuration the shim and runtime agree on.
const CXX_FLAGS: &[&str] = &[
    "-std=c++17",
    "-fPIC",
    "-faligned-new",
    "-fcf-protection=none",
    "-DVM_COVERAGE=0",
    "-DVM_SC=0",
    "-DVM_TRACE=1",
    "-DVM_TRACE_FST=1",
    "-DVM_TRACE_VCD=1",
    "-w",
];
/// Optimisation of the code that runs every cycle. Verilator puts a
/// design's clocked logic into a few functions of thousands of lines, where
/// GCC's partial redundancy elimination and global CSE keep so many values
/// live that the function spills constantly: without them the BFP MatMul
/// ran about 20% faster on one core, and the GEMM as fast (docs/benchmarks.md).
/// Verilator zero-fills every local of those functions on entry, wide
/// temporaries too (a delayed write of a 2048-bit memory word, say); GCC
/// turns those fill loops into `memset`, which x86 expands to `rep stosq`,
/// whose start-up cost put it near the top of the GEMM's profile. Without
/// loop-to-memset distribution the fills stay short vector loops: the GEMM
/// ran about 5% faster, the BFP MatMul as fast.
/// `-O3`, `-Os` and `-march=native` were no faster.
const OPT_FAST: &[&str] = &[
    "-O2",
    "-fno-gcse",
    "-fno-tree-pre",
    "-fno-tree-loop-distribute-patterns",
];
/// The runtime's objects keep plain `-O2`: they hold no per-cycle logic.
const OPT_RUNTIME: &[&str] = &["-O2"];
/// Optimisation of Verilator's `__Slow` files (construction, initial
/// blocks), which run once: compiling them fast matters more.
const OPT_SLOW: &[&str] = &["-O0"];
/// Verilator's own options for every model.
const VERILATOR_FLAGS: &[&str] = &[
    "--cc",
    "-O3",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "--timescale",
    "1ns/1ns",
];
/// The Verilator runtime's sources, compiled once per cache.
const RUNTIME_SOURCES: &[&str] = &[
    "verilated.cpp",
    "verilated_threads.cpp",
    "verilated_fst_c.cpp",
    "verilated_vcd_c.cpp",
];

const INSTALL_HINT: &str =
    "install Verilator 5 and a C++ compiler with `apt-get install verilator g++ zlib1g-dev` \
     (or `make setup` in a kiln checkout), or point $VERILATOR and $CXX at them";

/// The tools a build uses, found once per process.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub verilator: PathBuf,
    /// `verilator --getenv VERILATOR_ROOT`: where its runtime lives.
    pub root: PathBuf,
    /// `verilator --version`, which goes into every cache key.
    pub verilator_version: String,
    pub cxx: PathBuf,
    /// First line of `c++ --version`.
    pub cxx_version: String,
}

/// Finds Verilator and the C++ compiler, or says how to install them.
pub fn toolchain() -> Result<&'static Toolchain, BuildError> {
    static TOOLS: OnceLock<Result<Toolchain, BuildError>> = OnceLock::new();
    TOOLS.get_or_init(find_tools).as_ref().map_err(Clone::clone)
}

fn find_tools() -> Result<Toolchain, BuildError> {
    let verilator =
        PathBuf::from(std::env::var_os("VERILATOR").unwrap_or_else(|| "verilator".into()));
    let cxx = PathBuf::from(std::env::var_os("CXX").unwrap_or_else(|| "c++".into()));
    let missing = |tool: &Path, why: String| BuildError::Tool {
        tool: tool.display().to_string(),
        why,
        hint: INSTALL_HINT,
    };
    let run = |tool: &Path, args: &[&str]| -> Result<String, BuildError> {
        let out = Command::new(tool)
            .args(args)
            .output()
            .map_err(|e| missing(tool, e.to_string()))?;
        if !out.status.success() {
            return Err(missing(
                tool,
                format!(
                    "`{}` failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let verilator_version = run(&verilator, &["--version"])?;
    let major: u32 = verilator_version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 5 {
        return Err(missing(
            &verilator,
            format!("it is `{verilator_version}`; kiln needs Verilator 5.006 or newer"),
        ));
    }
    let root = PathBuf::from(run(&verilator, &["--getenv", "VERILATOR_ROOT"])?);
    if !root.join("include/verilated.h").is_file() {
        return Err(missing(
            &verilator,
            format!("{} has no include/verilated.h", root.display()),
        ));
    }
    let cxx_version = run(&cxx, &["--version"])?
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    Ok(Toolchain {
        verilator,
        root,
        verilator_version,
        cxx,
        cxx_version,
    })
}

/// The inputs of every build that are not the model's own: tool versions,
/// flags and the shim. Part of every cache key.
pub(crate) fn recipe(tools: &Toolchain) -> String {
    format!(
        "verilator: {}\nc++: {}\ncxx flags: {:?} {OPT_FAST:?} {OPT_SLOW:?}\nverilator flags: {:?}\nshim:\n{SHIM}\n",
        tools.verilator_version, tools.cxx_version, CXX_FLAGS, VERILATOR_FLAGS
    )
}

/// The runtime's recipe alone: its objects depend on nothing else.
pub(crate) fn runtime_recipe(tools: &Toolchain) -> String {
    format!(
        "verilator: {}\nc++: {}\ncxx flags: {:?} {}\n",
        tools.verilator_version,
        tools.cxx_version,
        CXX_FLAGS,
        // The runtime's key predates OPT_RUNTIME: its text is what the
        // single `-O2` flag printed, so runtimes already built are reused.
        OPT_RUNTIME.join(" ")
    )
}

/// Compiles the Verilator runtime into `dir` (`*.o`).
pub(crate) fn build_runtime(tools: &Toolchain, dir: &Path) -> Result<(), BuildError> {
    let jobs: Vec<CompileJob> = RUNTIME_SOURCES
        .iter()
        .map(|file| CompileJob {
            source: tools.root.join("include").join(file),
            object: dir.join(file.replace(".cpp", ".o")),
            opt: OPT_RUNTIME,
        })
        .collect();
    compile_all(tools, &jobs, &[], "the Verilator runtime")
}

/// The object files of a runtime built by [`build_runtime`].
pub(crate) fn runtime_objects(dir: &Path) -> Vec<PathBuf> {
    RUNTIME_SOURCES
        .iter()
        .map(|file| dir.join(file.replace(".cpp", ".o")))
        .collect()
}

/// Verilates and compiles `source` in `staging`, linking `runtime`'s
/// objects, and leaves `staging/model.so`. `class` is the Verilated
/// class's name, unique per cache key.
pub(crate) fn build_model(
    tools: &Toolchain,
    source: &ModelSource,
    trace: Option<TraceFormat>,
    class: &str,
    staging: &Path,
    runtime: &[PathBuf],
) -> Result<(), BuildError> {
    let src = staging.join("src");
    let obj = staging.join("obj");
    for dir in [&src, &obj] {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    let mut files = source.files.clone();
    for (name, text) in &source.generated {
        let path = src.join(name);
        std::fs::write(&path, text).map_err(|e| io(&path, e))?;
        files.push(path);
    }

    let mut cmd = Command::new(&tools.verilator);
    cmd.args(VERILATOR_FLAGS)
        .args(["--prefix", class, "--top-module", &source.top])
        .arg("--Mdir")
        .arg(&obj);
    match trace {
        None => {}
        Some(TraceFormat::Fst) => {
            cmd.arg("--trace-fst");
        }
        Some(TraceFormat::Vcd) => {
            cmd.arg("--trace");
        }
    }
    for (name, value) in &source.parameters {
        cmd.arg(format!("-G{name}={value}"));
    }
    for dir in &source.include_dirs {
        cmd.arg(format!("-I{}", dir.display()));
    }
    cmd.args(&files);
    let out = cmd.output().map_err(|e| BuildError::Tool {
        tool: tools.verilator.display().to_string(),
        why: e.to_string(),
        hint: INSTALL_HINT,
    })?;
    if !out.status.success() {
        let mut messages = verilator_messages(&out.stderr, &out.stdout);
        if let Some(hint) = &source.hint {
            messages.push_str("\nnote: ");
            messages.push_str(hint);
        }
        return Err(BuildError::Verilator {
            model: source.label.clone(),
            messages,
        });
    }

    let unit = staging.join("kiln_shim.cpp");
    std::fs::write(&unit, shim_unit(source, trace, class, &obj)).map_err(|e| io(&unit, e))?;
    let mut jobs = vec![CompileJob {
        source: unit,
        object: staging.join("kiln_shim.o"),
        opt: OPT_FAST,
    }];
    let mut generated: Vec<PathBuf> = std::fs::read_dir(&obj)
        .map_err(|e| io(&obj, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
        .collect();
    generated.sort();
    for cpp in generated {
        let slow = cpp
            .file_stem()
            .is_some_and(|s| s.to_string_lossy().ends_with("__Slow"));
        jobs.push(CompileJob {
            object: cpp.with_extension("o"),
            source: cpp,
            opt: if slow { OPT_SLOW } else { OPT_FAST },
        });
    }
    compile_all(tools, &jobs, &[&obj], &source.label)?;

    let mut link = Command::new(&tools.cxx);
    link.args(["-shared", "-Wl,-Bsymbolic", "-Wl,--no-undefined", "-o"])
        .arg(staging.join("model.so"))
        .args(jobs.iter().map(|j| &j.object))
        .args(runtime)
        .args(["-lz", "-lpthread"]);
    run_compiler(tools, &mut link, &source.label)?;
    // The C++ and objects are only inputs: the entry keeps the library.
    let _ = std::fs::remove_dir_all(&obj);
    for job in &jobs {
        let _ = std::fs::remove_file(&job.object);
    }
    Ok(())
}

/// Verilator's messages, with its own noise (the banner, blank lines) left
/// out: what stays names each file and line.
fn verilator_messages(stderr: &[u8], stdout: &[u8]) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(stderr),
        String::from_utf8_lossy(stdout)
    );
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.starts_with("- V e r i l a t i o n"))
        .collect();
    kept.join("\n")
}

struct CompileJob {
    source: PathBuf,
    object: PathBuf,
    opt: &'static [&'static str],
}

/// Runs every compile, as many at once as there are cores; the first
/// failure is returned once the others have finished.
fn compile_all(
    tools: &Toolchain,
    jobs: &[CompileJob],
    includes: &[&Path],
    what: &str,
) -> Result<(), BuildError> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Vec<Result<(), BuildError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else {
                        return Ok(());
                    };
                    let mut cmd = Command::new(&tools.cxx);
                    cmd.args(CXX_FLAGS)
                        .args(job.opt)
                        .arg(format!("-I{}", tools.root.join("include").display()))
                        .arg(format!("-I{}", tools.root.join("include/vltstd").display()));
                    for dir in includes {
                        cmd.arg(format!("-I{}", dir.display()));
                    }
                    cmd.arg("-c").arg(&job.source).arg("-o").arg(&job.object);
                    run_compiler(tools, &mut cmd, what)?;
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(BuildError::Compile {
                        model: what.to_string(),
                        messages: "a compile thread panicked".into(),
                    })
                })
            })
            .collect()
    });
    results.into_iter().collect()
}

fn run_compiler(tools: &Toolchain, cmd: &mut Command, what: &str) -> Result<(), BuildError> {
    let out = cmd.output().map_err(|e| BuildError::Tool {
        tool: tools.cxx.display().to_string(),
        why: e.to_string(),
        hint: INSTALL_HINT,
    })?;
    if out.status.success() {
        return Ok(());
    }
    let mut messages = String::from_utf8_lossy(&out.stderr).into_owned();
    if messages.contains("zlib.h") || messages.contains("-lz") {
        messages.push_str("\n(the FST writer needs zlib: apt-get install zlib1g-dev)");
    }
    Err(BuildError::Compile {
        model: what.to_string(),
        messages,
    })
}

/// The translation unit that binds the shim to one Verilated class: the
/// port table (by index in the source's port list) and the exported
/// symbols.
fn shim_unit(source: &ModelSource, trace: Option<TraceFormat>, class: &str, obj: &Path) -> String {
    let kind = match trace {
        None => 0,
        Some(TraceFormat::Fst) => 1,
        Some(TraceFormat::Vcd) => 2,
    };
    let mut unit = String::new();
    writeln!(
        unit,
        "// Generated by kiln-sim: {} ({class}).",
        source.label
    )
    .unwrap();
    writeln!(
        unit,
        "#include \"{}\"",
        obj.join(format!("{class}.h")).display()
    )
    .unwrap();
    writeln!(unit, "#define KILN_MODEL {class}").unwrap();
    writeln!(unit, "#define KILN_SYM(name) kiln_model_##name").unwrap();
    writeln!(unit, "#define KILN_TRACE_KIND {kind}").unwrap();
    // The port table: each port's field in the model and its size, so the
    // shim reads and writes a port with one load or store rather than a
    // switch over every port.
    writeln!(
        unit,
        "#define KILN_PORT_COUNT {}",
        source.ports.len().max(1)
    )
    .unwrap();
    unit.push_str("#include <cstdint>\nnamespace {\n");
    unit.push_str("struct KilnPortRef {\n  void* addr;\n  uint32_t bytes;\n};\n");
    unit.push_str("inline void kiln_port_table(KILN_MODEL* top, KilnPortRef* table) {\n");
    for (i, port) in source.ports.iter().enumerate() {
        writeln!(
            unit,
            "  table[{i}] = KilnPortRef{{static_cast<void*>(&top->{0}), sizeof(top->{0})}};",
            port.name
        )
        .unwrap();
    }
    unit.push_str("}\n}  // namespace\n");
    unit.push_str(SHIM);
    unit
}

pub(crate) fn io(path: &Path, e: std::io::Error) -> BuildError {
    BuildError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
