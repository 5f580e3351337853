//! `kiln synth`: yosys `synth_xilinx` resource figures for each PE and for
//! each accelerator design, with a fit verdict against a board.
//!
//! A PE sits in a wrapper that registers its inputs, so the figures show
//! the PE between flip-flops as it would sit in an array, not tied to pins.
//! The wrapper adds `1 + act_bits + weight_bits` flip-flops (reported as
//! `wrapper_ff`); synthesis may absorb them into a DSP slice's input
//! registers.
//!
//! A design is synthesised whole: its engine's top module with the design's
//! parameters, and the generated `kiln_pe` binding to its PE kind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use kiln_spec::{Board, Design, PeLibrary, PeSpec};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    #[error(
        "cannot run `{yosys}`: {source}. Install it with `apt-get install yosys` (or `make setup`)"
    )]
    NoYosys {
        yosys: String,
        #[source]
        source: std::io::Error,
    },
    /// `subject` is e.g. "PE `mac_dsp`" or "design `gemm-pot-8x8`".
    #[error("yosys failed on {subject} (script and log kept in {dir}):\n{tail}")]
    Failed {
        subject: String,
        dir: PathBuf,
        tail: String,
    },
    #[error("yosys statistics for {subject} are unreadable: {message}")]
    Stat { subject: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Spec(#[from] kiln_spec::SpecError),
}

#[derive(Debug, Clone)]
pub struct SynthOptions {
    /// The board whose part and resources the figures are for.
    pub board: Board,
    /// yosys binary.
    pub yosys: String,
}

impl SynthOptions {
    /// Resolves a part prefix (e.g. `xc7z020`) through the board files once,
    /// so a run over many PEs does not look it up again for each.
    pub fn for_part(part: &str, yosys: &str) -> Result<Self, SynthError> {
        Ok(Self {
            board: Board::by_part(part)?,
            yosys: yosys.to_string(),
        })
    }

    /// Resolves a board by name (e.g. `pynq-z1`).
    pub fn for_board(board: &str, yosys: &str) -> Result<Self, SynthError> {
        Ok(Self {
            board: Board::by_name(board)?,
            yosys: yosys.to_string(),
        })
    }
}

/// LUTs that each distributed-RAM and shift-register primitive occupies
/// (SLICEM LUTs, from the Xilinx 7-series and UltraScale libraries guides):
///
/// - single port: RAM16X1S, RAM32X1S, RAM64X1S 1; RAM128X1S 2; RAM256X1S 4;
///   RAM512X1S 8 (UltraScale+);
/// - dual port: RAM16X1D, RAM32X1D, RAM64X1D 2; RAM128X1D 4; RAM256X1D 8;
/// - multi port: RAM32M, RAM64M 4 (a whole 7-series SLICEM); RAM32M16,
///   RAM64M8, RAM32X16DR8, RAM64X8SW 8 (a whole UltraScale+ SLICEM);
/// - shift registers: SRL16E, SRLC16E, SRLC32E 1.
pub const LUT_MEMORY_CELLS: &[(&str, u64)] = &[
    ("RAM16X1S", 1),
    ("RAM32X1S", 1),
    ("RAM64X1S", 1),
    ("RAM128X1S", 2),
    ("RAM256X1S", 4),
    ("RAM512X1S", 8),
    ("RAM16X1D", 2),
    ("RAM32X1D", 2),
    ("RAM64X1D", 2),
    ("RAM128X1D", 4),
    ("RAM256X1D", 8),
    ("RAM32M", 4),
    ("RAM64M", 4),
    ("RAM32M16", 8),
    ("RAM64M8", 8),
    ("RAM32X16DR8", 8),
    ("RAM64X8SW", 8),
    ("SRL16E", 1),
    ("SRLC16E", 1),
    ("SRLC32E", 1),
];

/// Resources counted from the cells yosys mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Usage {
    /// Every LUT occupied: `lut_logic + lutram`.
    pub lut: u64,
    /// LUT1..LUT6 plus INV (a LUT1 on the device).
    pub lut_logic: u64,
    /// LUTs used as memory (distributed RAM and shift registers), each
    /// primitive counted as the LUTs it occupies ([`LUT_MEMORY_CELLS`]).
    pub lutram: u64,
    /// Distributed-RAM primitives (RAM32M, RAM64X1D, ...), as cells.
    pub lutram_cells: u64,
    /// Shift-register primitives (SRL16E, SRLC32E), as cells.
    pub srl_cells: u64,
    /// FDRE, FDSE, FDCE and FDPE.
    pub ff: u64,
    /// CARRY4 plus CARRY8 cells.
    pub carry: u64,
    /// DSP48E1 plus DSP48E2 cells.
    pub dsp: u64,
    /// RAMB36E1/E2 count 1, RAMB18E1/E2 count 0.5 (UltraRAM not counted).
    pub bram36: f64,
}

impl Usage {
    pub fn from_cells(cells: &BTreeMap<String, u64>) -> Self {
        let count = |name: &str| cells.get(name).copied().unwrap_or(0);
        let sum = |names: &[&str]| names.iter().map(|n| count(n)).sum::<u64>();
        let lut_logic = sum(&["LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "INV"]);
        let (mut lutram, mut lutram_cells, mut srl_cells) = (0, 0, 0);
        for &(name, luts) in LUT_MEMORY_CELLS {
            let n = count(name);
            lutram += n * luts;
            if name.starts_with("SRL") {
                srl_cells += n;
            } else {
                lutram_cells += n;
            }
        }
        Usage {
            lut: lut_logic + lutram,
            lut_logic,
            lutram,
            lutram_cells,
            srl_cells,
            ff: sum(&["FDRE", "FDSE", "FDCE", "FDPE"]),
            // Counted by both names whatever the family: yosys 0.23 also maps
            // UltraScale+ carry chains onto CARRY4.
            carry: sum(&["CARRY4", "CARRY8"]),
            dsp: sum(&["DSP48E1", "DSP48E2"]),
            bram36: sum(&["RAMB36E1", "RAMB36E2"]) as f64
                + 0.5 * sum(&["RAMB18E1", "RAMB18E2"]) as f64,
        }
    }
}

fn pct(used: f64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * used / total as f64
    }
}

/// Resources of one PE in its wrapper.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SynthReport {
    pub pe: String,
    pub part: String,
    pub family: &'static str,
    /// Every LUT occupied: LUT1..LUT6, INV, and LUTs used as memory.
    pub lut: u64,
    /// LUTs used as distributed RAM or shift registers (part of `lut`).
    pub lutram: u64,
    /// FDRE, FDSE, FDCE and FDPE.
    pub ff: u64,
    /// CARRY4 plus CARRY8 cells.
    pub carry: u64,
    /// DSP48E1 plus DSP48E2 cells.
    pub dsp: u64,
    /// RAMB36 plus half of each RAMB18.
    pub bram36: f64,
    /// Flip-flops the input-register wrapper contributes before absorption.
    pub wrapper_ff: u64,
    /// Share of the part's LUTs, FFs and DSPs, in percent.
    pub lut_pct: f64,
    pub ff_pct: f64,
    pub dsp_pct: f64,
    /// Every cell type yosys mapped to, with counts.
    pub cells: BTreeMap<String, u64>,
}

/// One resource of a design against the board's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceFit {
    /// `LUT`, `FF`, `DSP` or `BRAM36`.
    pub resource: &'static str,
    pub used: f64,
    pub available: u64,
    /// `used / available`, in percent.
    pub percent: f64,
    /// `used <= available`.
    pub fits: bool,
}

/// Whether a design fits a board: only if every resource does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    pub board: String,
    /// `fits` or `does not fit`.
    pub verdict: &'static str,
    pub fits: bool,
    /// The resources that do not fit (empty when the design fits).
    pub over: Vec<&'static str>,
    /// The resource with the highest percentage, and that percentage.
    pub tightest: &'static str,
    pub tightest_percent: f64,
    /// LUT, FF, DSP and BRAM36, in that order.
    pub resources: Vec<ResourceFit>,
}

impl Fit {
    pub fn new(usage: &Usage, board: &Board) -> Self {
        let r = board.resources;
        let resources: Vec<ResourceFit> = [
            ("LUT", usage.lut as f64, r.lut),
            ("FF", usage.ff as f64, r.ff),
            ("DSP", usage.dsp as f64, r.dsp),
            ("BRAM36", usage.bram36, r.bram36),
        ]
        .into_iter()
        .map(|(resource, used, available)| ResourceFit {
            resource,
            used,
            available,
            percent: pct(used, available),
            fits: used <= available as f64,
        })
        .collect();
        let over: Vec<&'static str> = resources
            .iter()
            .filter(|f| !f.fits)
            .map(|f| f.resource)
            .collect();
        // The first of equal percentages wins, so the choice is deterministic.
        let tightest = resources
            .iter()
            .fold(&resources[0], |best, f| {
                if f.percent > best.percent {
                    f
                } else {
                    best
                }
            })
            .clone();
        Fit {
            board: board.name.clone(),
            verdict: if over.is_empty() {
                "fits"
            } else {
                "does not fit"
            },
            fits: over.is_empty(),
            over,
            tightest: tightest.resource,
            tightest_percent: tightest.percent,
            resources,
        }
    }

    /// `fits (LUT 39.0%)` or `does not fit: LUT 120.3%, DSP 104.1%`.
    pub fn summary(&self) -> String {
        if self.fits {
            format!("fits ({} {:.1}%)", self.tightest, self.tightest_percent)
        } else {
            let over: Vec<String> = self
                .resources
                .iter()
                .filter(|f| !f.fits)
                .map(|f| format!("{} {:.1}%", f.resource, f.percent))
                .collect();
            format!("does not fit: {}", over.join(", "))
        }
    }
}

/// Resources of one whole design, and whether it fits the board.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesignReport {
    pub design: String,
    /// `gemm` or `bfp`.
    pub engine: &'static str,
    /// The PE kind (GEMM) or the weight format and block (BFP).
    pub compute: String,
    /// The PE array (`8x8`) or the lanes (`8 lanes`).
    pub array: String,
    pub board: String,
    pub part: String,
    pub family: &'static str,
    #[serde(flatten)]
    pub usage: Usage,
    pub fit: Fit,
    /// Wall-clock seconds yosys took.
    pub seconds: f64,
    /// Every cell type yosys mapped to, with counts.
    pub cells: BTreeMap<String, u64>,
}

/// The Verilog-2005 wrapper that registers a PE's inputs.
fn wrapper(spec: &PeSpec, library: &PeLibrary) -> String {
    let a = library.port_shape.act_bits;
    let w = spec.weight_bits;
    let p = library.port_shape.product_bits;
    format!(
        "// Generated by kiln synth: registers the inputs of PE `{pe}`.\n\
module kiln_synth_wrap (\n  input clk_i,\n  input rst_ni,\n  input valid_i,\n  input [{a1}:0] act_i,\n  input [{w1}:0] wcode_i,\n  output valid_o,\n  output [{p1}:0] prod_o\n);\n\
  reg valid_q;\n  reg [{a1}:0] act_q;\n  reg [{w1}:0] wcode_q;\n\
  always @(posedge clk_i) begin\n    valid_q <= valid_i;\n    act_q <= act_i;\n    wcode_q <= wcode_i;\n  end\n\
  {module} u_pe (.clk_i(clk_i), .rst_ni(rst_ni), .valid_i(valid_q), .act_i(act_q), .wcode_i(wcode_q), .valid_o(valid_o), .prod_o(prod_o));\n\
endmodule\n",
        pe = spec.name,
        module = spec.name,
        a1 = a - 1,
        w1 = w - 1,
        p1 = p - 1,
    )
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A scratch directory that is removed unless synthesis failed.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Result<Self, SynthError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("kiln-synth-{name}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(Self(dir))
    }
    fn keep(self) -> PathBuf {
        let dir = self.0.clone();
        std::mem::forget(self);
        dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The yosys version line, e.g. `Yosys 0.23 (git sha1 7ce5011c24b)`.
pub fn yosys_version(yosys: &str) -> Result<String, SynthError> {
    let out = Command::new(yosys)
        .arg("-V")
        .output()
        .map_err(|source| SynthError::NoYosys {
            yosys: yosys.to_string(),
            source,
        })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs `script` (which must write `stat -json` to `<scratch>/stat.json`)
/// and returns the cell counts of `top`. The scratch directory is kept when
/// yosys fails, so its script and log can be read.
fn run_yosys(
    yosys: &str,
    subject: &str,
    scratch: Scratch,
    script: &str,
    top: &str,
) -> Result<BTreeMap<String, u64>, SynthError> {
    let dir = scratch.0.clone();
    let script_path = dir.join("synth.ys");
    std::fs::write(&script_path, script).map_err(io(&script_path))?;
    let log = dir.join("yosys.log");
    let output = Command::new(yosys)
        .arg("-q")
        .arg("-l")
        .arg(&log)
        .arg("-s")
        .arg(&script_path)
        .output()
        .map_err(|source| SynthError::NoYosys {
            yosys: yosys.to_string(),
            source,
        })?;
    if !output.status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default()
            + &String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        let tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        return Err(SynthError::Failed {
            subject: subject.to_string(),
            dir: scratch.keep(),
            tail,
        });
    }
    let stat = dir.join("stat.json");
    let json = std::fs::read_to_string(&stat).map_err(io(&stat))?;
    parse_stat(&json, top).map_err(|message| SynthError::Stat {
        subject: subject.to_string(),
        message,
    })
}

/// Synthesises one PE for the part in `options`.
pub fn synth_pe(
    library: &PeLibrary,
    spec: &PeSpec,
    options: &SynthOptions,
) -> Result<SynthReport, SynthError> {
    let board = &options.board;
    let root = kiln_spec::rtl::builtin_root()?;
    let rtl: Vec<String> = spec
        .rtl
        .iter()
        .map(|p| root.join(p).display().to_string())
        .collect();
    let scratch = Scratch::new(&spec.name)?;
    let dir = scratch.0.clone();
    let wrap = dir.join("kiln_synth_wrap.v");
    std::fs::write(&wrap, wrapper(spec, library)).map_err(io(&wrap))?;
    let script = format!(
        "read_verilog -sv {rtl}\nread_verilog {wrap}\n\
synth_xilinx -family {family} -top kiln_synth_wrap -flatten -noiopad -noclkbuf\n\
tee -q -o {stat} stat -json\n",
        rtl = rtl.join(" "),
        wrap = wrap.display(),
        family = board.family.yosys_name(),
        stat = dir.join("stat.json").display(),
    );
    let subject = format!("PE `{}`", spec.name);
    let cells = run_yosys(
        &options.yosys,
        &subject,
        scratch,
        &script,
        "kiln_synth_wrap",
    )?;
    Ok(summarise(spec, library, board, cells))
}

/// The yosys script that synthesises a design: every RTL source and the
/// generated bindings, the top module's parameters set with `chparam`, then
/// `synth_xilinx -flatten`. `chparam` takes the Verilog literals of
/// [`Design::top_parameters`] as they are (yosys 0.23 parses sized ones such
/// as `32'he40c292c` itself). It comes before synth_xilinx's own
/// `hierarchy -top`: yosys 0.23 aborts on `hierarchy -top kiln_shell -chparam
/// ...` for these sources (`Assert modules_.count(module->name) == 0 failed
/// in kernel/rtlil.cc:663`), and a separate `hierarchy` pass would rename
/// the top to `$paramod$...`, which synth_xilinx then does not find.
fn design_script(
    design: &Design,
    board: &Board,
    generated: &[PathBuf],
    stat: &Path,
) -> Result<String, SynthError> {
    let root = kiln_spec::rtl::builtin_root()?;
    let mut sources: Vec<String> = design
        .rtl_sources()?
        .iter()
        .map(|p| root.join(p).display().to_string())
        .collect();
    sources.extend(generated.iter().map(|b| b.display().to_string()));
    let includes: Vec<String> = design
        .include_dirs()
        .iter()
        .map(|d| format!("-I{}", root.join(d).display()))
        .collect();
    let params: Vec<String> = design
        .top_parameters()?
        .iter()
        .map(|(name, value)| format!("-set {name} {value}"))
        .collect();
    let top = design.top_module();
    Ok(format!(
        "read_verilog -sv {includes} {sources}\n\
chparam {params} {top}\n\
synth_xilinx -family {family} -top {top} -flatten -noiopad -noclkbuf\n\
tee -q -o {stat} stat -json\n",
        includes = includes.join(" "),
        sources = sources.join(" "),
        params = params.join(" "),
        family = board.family.yosys_name(),
        stat = stat.display(),
    ))
}

/// Synthesises one whole design for the board in `options` and checks
/// whether it fits that board.
pub fn synth_design(design: &Design, options: &SynthOptions) -> Result<DesignReport, SynthError> {
    let board = &options.board;
    let scratch = Scratch::new(&design.name)?;
    let dir = scratch.0.clone();
    let mut generated = Vec::new();
    for (name, text) in design.generated_sources()? {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(io(&path))?;
        generated.push(path);
    }
    let script = design_script(design, board, &generated, &dir.join("stat.json"))?;
    let subject = format!("design `{}`", design.name);
    let started = Instant::now();
    let cells = run_yosys(
        &options.yosys,
        &subject,
        scratch,
        &script,
        design.top_module(),
    )?;
    let seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    let usage = Usage::from_cells(&cells);
    let (compute, array) = design.compute_summary();
    Ok(DesignReport {
        design: design.name.clone(),
        engine: design.engine_name(),
        compute,
        array,
        board: board.name.clone(),
        part: board.part.clone(),
        family: board.family.yosys_name(),
        usage,
        fit: Fit::new(&usage, board),
        seconds,
        cells,
    })
}

/// Cell counts of the (flattened) top module from `stat -json`. A top with
/// parameters set is named `$paramod$<hash>\<top>` there.
fn parse_stat(json: &str, top: &str) -> Result<BTreeMap<String, u64>, String> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let suffix = format!("\\{top}");
    let module = value
        .get("modules")
        .and_then(|m| m.as_object())
        .and_then(|modules| {
            modules
                .iter()
                .find(|(name, _)| name.as_str() == suffix || name.ends_with(&suffix))
                .map(|(_, m)| m)
        });
    let cells = module
        .and_then(|m| m.get("num_cells_by_type"))
        .or_else(|| value.pointer("/design/num_cells_by_type"))
        .and_then(|c| c.as_object())
        .ok_or_else(|| format!("no num_cells_by_type for {top}"))?;
    cells
        .iter()
        .map(|(k, v)| {
            v.as_u64()
                .map(|n| (k.clone(), n))
                .ok_or_else(|| format!("count of {k} is not a number"))
        })
        .collect()
}

fn summarise(
    spec: &PeSpec,
    library: &PeLibrary,
    board: &Board,
    cells: BTreeMap<String, u64>,
) -> SynthReport {
    let usage = Usage::from_cells(&cells);
    let r = board.resources;
    SynthReport {
        pe: spec.name.clone(),
        part: board.part.clone(),
        family: board.family.yosys_name(),
        lut: usage.lut,
        lutram: usage.lutram,
        ff: usage.ff,
        carry: usage.carry,
        dsp: usage.dsp,
        bram36: usage.bram36,
        wrapper_ff: u64::from(1 + library.port_shape.act_bits + spec.weight_bits),
        lut_pct: pct(usage.lut as f64, r.lut),
        ff_pct: pct(usage.ff as f64, r.ff),
        dsp_pct: pct(usage.dsp as f64, r.dsp),
        cells,
    }
}

/// The Markdown page `make synth` writes to docs/resources.md: a PE section
/// when `pes` is not empty, a design section when `designs` is not empty.
/// Deterministic: no times or dates.
pub fn markdown(
    pes: &[SynthReport],
    designs: &[DesignReport],
    board: &Board,
    command: &str,
    yosys: &str,
) -> String {
    let r = board.resources;
    let mut s = String::from("# Resources\n\n");
    s.push_str("Generated by `make synth`; do not edit by hand. Command:\n\n");
    s.push_str(&format!("    {command}\n\n"));
    s.push_str(&format!(
        "Tool: {yosys}, `synth_xilinx -flatten -noiopad -noclkbuf`.\n\n"
    ));
    s.push_str(&format!(
        "Board: {}, part {} (family {}): {} LUT, {} FF, {} DSP, {} BRAM36.\n\n",
        board.name,
        board.part,
        board.family.yosys_name(),
        r.lut,
        r.ff,
        r.dsp,
        r.bram36
    ));
    if !pes.is_empty() {
        s.push_str("## PEs\n\n");
        s.push_str(
            "Each PE sits in a wrapper that registers its inputs (`wrapper FF` of the FFs \
are those registers, before synthesis absorbs any of them into a DSP slice). LUT counts \
include INV cells.\n\n",
        );
        s.push_str("| PE | LUT | FF | CARRY | DSP | BRAM36 | wrapper FF | LUT % | DSP % |\n");
        s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in pes {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {:.3} | {:.3} |\n",
                r.pe, r.lut, r.ff, r.carry, r.dsp, r.bram36, r.wrapper_ff, r.lut_pct, r.dsp_pct
            ));
        }
        if !designs.is_empty() {
            s.push('\n');
        }
    }
    if !designs.is_empty() {
        s.push_str("## Designs\n\n");
        s.push_str(
            "Each design is synthesised whole: the engine shell (control registers, AXI \
masters, run counters) around the design's engine core with its parameters (its operand \
buffers, PEs or lanes, accumulators and output stage). LUT counts every LUT occupied: logic LUTs (INV included) plus \
LUTRAM, the LUTs used as distributed RAM and shift registers, each primitive counted as \
the LUTs it occupies (RAM32M and RAM64M 4, RAM32X1D and RAM64X1D 2, RAM128X1D 4, SRL16E and \
SRLC32E 1). BRAM36 counts a RAMB18 as half. A design fits only if its LUT, FF, DSP and \
BRAM36 all fit the board; the fit column gives the tightest of them, or those over.\n\n",
        );
        s.push_str(&format!(
            "| design | PE / format | array | LUT | LUTRAM | FF | CARRY | DSP | BRAM36 | fit on {} |\n",
            board.name
        ));
        s.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---|\n");
        for d in designs {
            let u = &d.usage;
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                d.design,
                d.compute,
                d.array,
                u.lut,
                u.lutram,
                u.ff,
                u.carry,
                u.dsp,
                u.bram36,
                d.fit.summary()
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(list: &[(&str, u64)]) -> BTreeMap<String, u64> {
        list.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn usage_counts_lutram_srl_and_half_brams() {
        let u = Usage::from_cells(&cells(&[
            ("LUT6", 10),
            ("INV", 2),
            ("RAM32M", 3),
            ("RAM64X1D", 1),
            ("RAM128X1D", 1),
            ("SRL16E", 2),
            ("SRLC32E", 1),
            ("RAMB36E1", 2),
            ("RAMB18E1", 3),
            ("DSP48E1", 4),
            ("FDRE", 5),
            ("FDCE", 1),
            ("CARRY4", 7),
        ]));
        assert_eq!(u.lut_logic, 12);
        assert_eq!(u.lutram, 3 * 4 + 2 + 4 + 2 + 1);
        assert_eq!(u.lut, 12 + 21);
        assert_eq!((u.lutram_cells, u.srl_cells), (5, 3));
        assert_eq!(u.bram36, 3.5);
        assert_eq!((u.dsp, u.ff, u.carry), (4, 6, 7));
    }

    #[test]
    fn fit_needs_every_resource_and_names_those_over() {
        let board = Board::by_name("pynq-z1").unwrap();
        let mut u = Usage::from_cells(&cells(&[("LUT6", 26_600), ("DSP48E1", 10)]));
        let fit = Fit::new(&u, &board);
        assert!(fit.fits);
        assert_eq!((fit.verdict, fit.tightest), ("fits", "LUT"));
        assert_eq!(fit.tightest_percent, 50.0);
        assert_eq!(fit.summary(), "fits (LUT 50.0%)");
        u.dsp = 221;
        u.bram36 = 140.5;
        let fit = Fit::new(&u, &board);
        assert!(!fit.fits);
        assert_eq!(fit.over, ["DSP", "BRAM36"]);
        assert_eq!(fit.verdict, "does not fit");
        assert_eq!(fit.summary(), "does not fit: DSP 100.5%, BRAM36 100.4%");
    }

    #[test]
    fn the_page_has_a_section_per_kind_of_report() {
        let board = Board::by_name("pynq-z1").unwrap();
        let cells = cells(&[("LUT6", 532), ("RAM32M", 10), ("RAMB18E1", 3)]);
        let usage = Usage::from_cells(&cells);
        let design = DesignReport {
            design: "gemm-x".into(),
            engine: "gemm",
            compute: "shift_pot".into(),
            array: "8x8".into(),
            board: board.name.clone(),
            part: board.part.clone(),
            family: "xc7",
            usage,
            fit: Fit::new(&usage, &board),
            seconds: 61.5,
            cells,
        };
        let page = markdown(&[], &[design], &board, "kiln synth --designs", "Yosys 0.23");
        assert!(
            page.contains("## Designs") && !page.contains("## PEs"),
            "{page}"
        );
        assert!(
            page.contains(
                "| gemm-x | shift_pot | 8x8 | 572 | 40 | 0 | 0 | 0 | 1.5 | fits (LUT 1.1%) |"
            ),
            "{page}"
        );
        assert!(
            !page.contains("61.5"),
            "the page must not change with timing"
        );
    }

    #[test]
    fn stat_of_a_parameterised_top_is_found() {
        let json = r#"{"modules": {"$paramod$abc\\gemm_top": {"num_cells_by_type": {"LUT2": 3}}}}"#;
        assert_eq!(parse_stat(json, "gemm_top").unwrap(), cells(&[("LUT2", 3)]));
        assert!(parse_stat(json, "other").is_err());
    }
}
