//! `kiln run`: an ONNX model over a data set with its GEMMs and
//! convolutions on the accelerator, compared layer by layer with tract.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use indicatif::ProgressBar;

use super::hardware::{self, resolve, BackendKind, HardwareArgs};
use super::model_args::{systems_of, ModelArgs};
use super::output::{print_json, progress, write_atomically};
use super::Outcome;
use kiln::model::run::{run, run_on_device, BackendChoice, Progress, RunConfig};
use kiln::model::system::System;
use kiln::report::html::render_html;
use kiln::report::text::render_text;
use kiln_spec::{repo_root, Board};

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
    #[command(flatten)]
    data: ModelArgs,
    /// Design to run on; repeat to compare designs side by side. A design
    /// of a specialised engine (dwconv) joins each of the others, taking
    /// the layers it suits; `a+b` runs designs a and b together as written.
    #[arg(long = "design", default_values_t = ["gemm-pot-8x8".to_string(), "gemm-mac-dsp-8x8".to_string()])]
    designs: Vec<String>,
    /// golden: every call on the Rust model, exact cycles per call
    /// signature from the RTL, a sample replayed on the RTL; sim: every
    /// call on the RTL; devmem, xrt: every call on the board's accelerator
    /// (the design and board come from --manifest).
    #[arg(long, value_enum, default_value_t = BackendKind::Golden)]
    backend: BackendKind,
    #[command(flatten)]
    hardware: HardwareArgs,
    /// Real calls replayed on the RTL per board, checked bit for bit (0: no
    /// replays).
    #[arg(long, default_value_t = 16)]
    verify_sample: usize,
    /// Leave out the timing: no call signature is simulated (a kiln built
    /// without the simulator needs this on the golden backend).
    #[arg(long)]
    no_cycles: bool,
    /// Board to time on; repeat for several. The sim backend runs on the
    /// first.
    #[arg(long = "board", default_values_t = ["pynq-z1".to_string(), "kv260".to_string()])]
    boards: Vec<String>,
    /// A layer diverges when its SQNR against tract falls below this (dB).
    #[arg(long, default_value_t = 20.0)]
    min_sqnr: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write an HTML report with plots to this file.
    #[arg(long)]
    html: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

/// Progress of `kiln run` as bars on stderr, one per stage.
pub(super) struct Bars {
    bar: ProgressBar,
}

impl Bars {
    pub(super) fn new(json: bool) -> Self {
        Self {
            bar: progress(0, json),
        }
    }

    pub(super) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bars {
    fn stage(&mut self, what: &str, total: u64) {
        self.bar.reset();
        self.bar.set_length(total);
        self.bar.set_message(what.to_string());
    }

    fn tick(&mut self) {
        self.bar.inc(1);
    }
}

pub fn run_cmd(args: RunArgs) -> anyhow::Result<Outcome> {
    let data = args.data.load()?;
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
    let (systems, boards) = match &target {
        Some(t) => (
            vec![System::single(t.design.clone())],
            vec![t.board.clone()],
        ),
        None => (
            systems_of(&args.designs)?,
            args.boards
                .iter()
                .map(|b| Board::by_name(b))
                .collect::<Result<_, _>>()?,
        ),
    };
    let config = RunConfig {
        model: data.model,
        input_shapes: data.input_shapes,
        inputs: data.inputs,
        labels: data.labels,
        calibration: data.calibration,
        systems,
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
        task: data.task,
        cycles: !args.no_cycles,
    };
    let mut bars = Bars::new(args.json);
    let summary = match &target {
        Some(t) => {
            let device = hardware::open(args.backend, &args.hardware, t, None)?.into_boxed();
            run_on_device(&config, device, &mut bars)
        }
        None => run(&config, &mut bars),
    }
    .context("kiln run failed")?;
    bars.finish();
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
