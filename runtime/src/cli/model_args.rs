//! The options of every command that loads a model (`kiln run`, `kiln
//! bench model`): one struct, so they take the same flags with the same
//! defaults and the same checks.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use kiln::model::dataset::DataSet;
use kiln::model::load::parse_shape;
use kiln::model::npy::read_i64;
use kiln::model::system::System;
use kiln::model::task::{Task, TaskOptions};
use kiln_spec::Design;

use super::run::bundled;

/// Samples taken for calibration when no --calibration is given.
const DEFAULT_CALIBRATION_SAMPLES: usize = 32;

#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The ONNX model (default: the bundled digits CNN and its test set).
    pub model: Option<PathBuf>,
    /// Inputs, one sample per entry along axis 0 (.npy); required with a
    /// model.
    #[arg(long)]
    pub inputs: Option<PathBuf>,
    /// True labels, one integer per input (.npy); enables accuracy
    /// (classification only).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Samples for calibrating activation ranges (.npy; default: the first
    /// 32 inputs, or the bundled calibration set).
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// Use only the first N inputs.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Fix the shape of the model's input, e.g. 1x3x224x224 (for models
    /// with a dynamic batch or size); repeat per input.
    #[arg(long = "input-shape")]
    pub input_shapes: Vec<String>,
    /// How to measure the output against tract's: classify (top-1), dense
    /// (per-pixel; IoU for one channel), sequence (per step and CTC
    /// decoded), regress (SQNR, errors). Default: picked from the output's
    /// shape.
    #[arg(long, value_enum)]
    pub task: Option<Task>,
    /// Mask threshold of a single-channel dense map (default 0.3, for
    /// probabilities).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// The blank class of a sequence output (CTC).
    #[arg(long, default_value_t = 0)]
    pub blank: usize,
    /// Run inputs that hold NaN or infinity instead of refusing them.
    #[arg(long)]
    pub allow_nonfinite: bool,
}

/// A model and its data, loaded and checked.
#[derive(Debug)]
pub struct ModelData {
    pub model: PathBuf,
    pub input_shapes: Option<Vec<Vec<usize>>>,
    pub inputs: DataSet,
    pub labels: Option<Vec<i64>>,
    pub calibration: DataSet,
    pub task: TaskOptions,
}

impl ModelArgs {
    /// Resolves the bundled defaults, reads and checks every file.
    pub fn load(&self) -> anyhow::Result<ModelData> {
        let default_model = self.model.is_none();
        let model = self
            .model
            .clone()
            .unwrap_or_else(|| bundled("digits-cnn.onnx"));
        let inputs_path = match (&self.inputs, default_model) {
            (Some(p), _) => p.clone(),
            (None, true) => bundled("test-images.npy"),
            (None, false) => bail!(
                "give the inputs for {} with --inputs FILE.npy",
                model.display()
            ),
        };
        let labels_path = match (&self.labels, default_model && self.inputs.is_none()) {
            (Some(p), _) => Some(p.clone()),
            (None, true) => Some(bundled("test-labels.npy")),
            (None, false) => None,
        };
        let mut inputs = DataSet::open(&inputs_path, self.allow_nonfinite)?;
        let mut labels = labels_path
            .as_deref()
            .map(read_i64)
            .transpose()?
            .map(|l| l.data);
        if let Some(limit) = self.limit {
            if limit == 0 {
                bail!("--limit must be at least 1");
            }
            inputs = inputs.limit(limit);
            if let Some(l) = labels.as_mut() {
                l.truncate(limit);
            }
        }
        let calibration = match (&self.calibration, default_model) {
            (Some(p), _) => DataSet::open(p, self.allow_nonfinite)
                .with_context(|| format!("calibration set {}", p.display()))?,
            (None, true) => DataSet::open(&bundled("calib-images.npy"), self.allow_nonfinite)?,
            (None, false) => inputs.clone().limit(DEFAULT_CALIBRATION_SAMPLES),
        };
        let input_shapes = if self.input_shapes.is_empty() {
            None
        } else {
            Some(
                self.input_shapes
                    .iter()
                    .map(|s| parse_shape(s).map_err(anyhow::Error::msg))
                    .collect::<anyhow::Result<Vec<_>>>()?,
            )
        };
        Ok(ModelData {
            model,
            input_shapes,
            inputs,
            labels,
            calibration,
            task: TaskOptions {
                task: self.task,
                threshold: self.threshold,
                blank: self.blank,
            },
        })
    }
}

/// The systems of a run from its `--design` values. A value with `+`
/// (`gemm-pot-8x8+dwconv-pot-16`) is one system of those designs, and then
/// every value is taken as written; otherwise each design of a general
/// engine forms a system and the designs of specialised engines join each
/// (`--design gemm-pot-8x8 --design dwconv-pot-16` runs one model across
/// two engines).
pub fn systems_of(values: &[String]) -> anyhow::Result<Vec<System>> {
    let parse = |names: &str| -> anyhow::Result<Vec<Design>> {
        names.split('+').map(|n| super::design(n.trim())).collect()
    };
    if values.iter().any(|v| v.contains('+')) {
        return values.iter().map(|v| Ok(System::new(parse(v)?)?)).collect();
    }
    let mut designs = Vec::new();
    for v in values {
        designs.extend(parse(v)?);
    }
    Ok(System::from_designs(designs)?)
}
