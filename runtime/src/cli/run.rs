//! `kiln run`: an ONNX model over a data set with its GEMMs and
//! convolutions on the accelerator, compared layer by layer with tract.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use super::hardware::{self, resolve, BackendKind, HardwareArgs};
use super::output::{print_json, progress, write_atomically};
use super::Outcome;
use kiln::model::load::parse_shape;
use kiln::model::npy::{read_f32, read_i64};
use kiln::model::report_html::render_html;
use kiln::model::report_text::render_text;
use kiln::model::run::{run, run_on_device, BackendChoice, RunConfig};
use kiln_spec::{repo_root, Board, Design};

/// The bundled default: a small CNN on the UCI handwritten digits.
pub(super) fn bundled(file: &str) -> PathBuf {
    let root = repo_root();
    std::fs::canonicalize(&root)
        .unwrap_or(root)
        .join("runtime/models/digits")
        .join(file)
}

/// Run an ONNX model with its GEMMs offloaded to one or more designs, and
/// compare every layer with tract's own result.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The ONNX model (default: the bundled digits CNN and its test set).
    model: Option<PathBuf>,
    /// Inputs, one sample per entry along axis 0 (.npy).
    #[arg(long)]
    inputs: Option<PathBuf>,
    /// True labels, one integer per input (.npy); enables accuracy.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Samples for calibrating activation ranges (.npy; default: the first
    /// 32 inputs, or the bundled calibration set).
    #[arg(long)]
    calibration: Option<PathBuf>,
    /// Design to run on; repeat to compare designs side by side.
    #[arg(long = "design", default_values_t = ["gemm-pot-8x8".to_string(), "gemm-mac-dsp-8x8".to_string()])]
    designs: Vec<String>,
    /// golden: every call on the Rust model, a sample replayed on the RTL;
    /// sim: every call on the RTL; devmem, xrt: every call on the board's
    /// accelerator (the design and board come from --manifest).
    #[arg(long, value_enum, default_value_t = BackendKind::Golden)]
    backend: BackendKind,
    #[command(flatten)]
    hardware: HardwareArgs,
    /// Calls replayed on the RTL per board, checked bit for bit; their
    /// cycles calibrate the timing (0: no replays, no timing).
    #[arg(long, default_value_t = 16)]
    verify_sample: usize,
    /// Board to project latency on; repeat for several. The sim backend
    /// runs on the first.
    #[arg(long = "board", default_values_t = ["pynq-z1".to_string(), "kv260".to_string()])]
    boards: Vec<String>,
    /// A layer diverges when its SQNR against tract falls below this (dB).
    #[arg(long, default_value_t = 20.0)]
    min_sqnr: f64,
    /// Use only the first N inputs.
    #[arg(long)]
    limit: Option<usize>,
    /// Fix the shape of the model's input, e.g. 1x1x8x8 (for models with a
    /// dynamic batch); repeat per input.
    #[arg(long = "input-shape")]
    input_shapes: Vec<String>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write an HTML report with plots to this file.
    #[arg(long)]
    html: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn run_cmd(args: RunArgs) -> anyhow::Result<Outcome> {
    let default_model = args.model.is_none();
    let model = args
        .model
        .clone()
        .unwrap_or_else(|| bundled("digits-cnn.onnx"));
    let inputs_path = match (&args.inputs, default_model) {
        (Some(p), _) => p.clone(),
        (None, true) => bundled("test-images.npy"),
        (None, false) => bail!(
            "give the inputs for {} with --inputs FILE.npy",
            model.display()
        ),
    };
    let labels_path = match (&args.labels, default_model && args.inputs.is_none()) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => Some(bundled("test-labels.npy")),
        (None, false) => None,
    };
    let mut inputs = read_f32(&inputs_path)?;
    let mut labels = labels_path
        .as_deref()
        .map(read_i64)
        .transpose()?
        .map(|l| l.data);
    if let Some(limit) = args.limit {
        if limit == 0 {
            bail!("--limit must be at least 1");
        }
        inputs = inputs.first(limit);
        if let Some(l) = labels.as_mut() {
            l.truncate(limit);
        }
    }
    let calibration = match (&args.calibration, default_model) {
        (Some(p), _) => read_f32(p)?,
        (None, true) => read_f32(&bundled("calib-images.npy"))?,
        (None, false) => inputs.first(32),
    };
    let input_shapes = if args.input_shapes.is_empty() {
        None
    } else {
        Some(
            args.input_shapes
                .iter()
                .map(|s| parse_shape(s).map_err(anyhow::Error::msg))
                .collect::<anyhow::Result<Vec<_>>>()?,
        )
    };
    if args.boards.is_empty() {
        bail!("give at least one --board");
    }
    // On hardware the loaded bitstream fixes the one design and board.
    let target = if args.backend.is_hardware() {
        Some(resolve(args.backend, &args.hardware, None, None, "")?)
    } else {
        resolve(args.backend, &args.hardware, None, None, "gemm-pot-8x8")?;
        None
    };
    let (designs, boards) = match &target {
        Some(t) => (vec![t.design.clone()], vec![t.board.clone()]),
        None => (
            args.designs
                .iter()
                .map(|d| Design::by_name(d))
                .collect::<Result<_, _>>()?,
            args.boards
                .iter()
                .map(|b| Board::by_name(b))
                .collect::<Result<_, _>>()?,
        ),
    };
    let config = RunConfig {
        model,
        input_shapes,
        inputs,
        labels,
        calibration,
        designs,
        backend: match args.backend {
            BackendKind::Golden => BackendChoice::Golden,
            BackendKind::Sim => BackendChoice::Sim,
            BackendKind::Devmem => BackendChoice::Device("devmem"),
            BackendKind::Xrt => BackendChoice::Device("xrt"),
        },
        verify_sample: args.verify_sample,
        boards,
        min_sqnr_db: args.min_sqnr,
        seed: args.seed,
    };
    let total = config.inputs.shape[0] * config.designs.len();
    let bar = progress(total as u64, args.json);
    bar.set_message("inputs x designs");
    let summary = match &target {
        Some(t) => {
            let device = hardware::open(args.backend, &args.hardware, t, None)?.into_boxed();
            run_on_device(&config, device, &mut || bar.inc(1))
        }
        None => run(&config, &mut || bar.inc(1)),
    }
    .context("kiln run failed")?;
    bar.finish_and_clear();
    if let Some(path) = &args.html {
        write_atomically(path, &render_html(&summary))?;
    }
    if args.json {
        print_json(&summary)?;
    } else {
        print!("{}", render_text(&summary));
        if let Some(path) = &args.html {
            println!("HTML report: {}", path.display());
        }
    }
    Ok(Outcome::Passed)
}
