//! `kiln run`: a model over a data set on one or more designs, each layer
//! compared with tract's own result, the output measured for the model's
//! task, and exact cycles for every call from the RTL.
//!
//! Memory stays flat in the number of samples: one sample's activations
//! live while it is compared, every statistic is a running sum, and the
//! calls kept for RTL replay are bounded by `--verify-sample` (and the
//! number of layers), not by the data set.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use kiln_spec::{Board, Design, EngineConfig};
use tract_onnx::prelude::*;

use super::compare::ErrorStats;
use super::cycles::{peak_macs_per_cycle, CallSignature, CycleTable};
use super::dataset::{DataError, DataSet};
use super::exec::Runner;
use super::graph::{layers, patch, Layer};
use super::load::{load_onnx, ModelError};
use super::npy::NpyError;
use super::op::GemmRunner;
use super::quant::ActQuant;
use super::report::{
    BoardLatency, DesignRun, LayerReport, LayerTiming, MacShare, NonFiniteAt, RunSummary, Timing,
    Tolerance, VerifyReport,
};
use super::task::{TaskError, TaskOptions, TaskStats};
use crate::backend::{Arithmetic, Backend, BackendError, GoldenBackend, MatmulProblem, SimBackend};
use crate::gemm::GemmProblem;
use crate::rng::SplitMix64;

/// Why `kiln run` stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error(transparent)]
    Model(Box<ModelError>),
    #[error(transparent)]
    Npy(#[from] NpyError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Task(#[from] TaskError),
    #[error(transparent)]
    Backend(Box<BackendError>),
    #[error(transparent)]
    Spec(#[from] kiln_spec::SpecError),
    #[error("{0}")]
    Input(String),
    #[error("layer `{layer}` cannot run on {board}")]
    Budget {
        layer: String,
        board: String,
        // Boxed: it is large, and every fallible call here returns RunError.
        #[source]
        source: Box<crate::budget::BudgetError>,
    },
    #[error("{0:#}")]
    Tract(anyhow::Error),
    #[error("RTL replay of a call of layer `{layer}` on {board} differs from the golden model in {wrong} of {outputs} outputs")]
    ReplayMismatch {
        layer: String,
        board: String,
        wrong: usize,
        outputs: usize,
    },
    #[error("a replayed call of layer `{layer}` ({signature}) took {replayed} cycles on {board}; its signature took {simulated}: the engine's cycles depend on its data, so per-signature timing is not exact for this design")]
    CyclesDependOnData {
        layer: String,
        board: String,
        signature: String,
        replayed: u64,
        simulated: u64,
    },
}

// Boxed: both are large, and every fallible call here returns RunError.
impl From<ModelError> for RunError {
    fn from(e: ModelError) -> Self {
        RunError::Model(Box::new(e))
    }
}

impl From<BackendError> for RunError {
    fn from(e: BackendError) -> Self {
        RunError::Backend(Box::new(e))
    }
}

impl From<TractError> for RunError {
    fn from(e: TractError) -> Self {
        RunError::Tract(e)
    }
}

/// Which backend evaluates every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    Golden,
    Sim,
    /// The accelerator itself (devmem or xrt on a board), opened by the
    /// caller and handed to [`run_on_device`]; the name is the backend's.
    Device(&'static str),
}

impl BackendChoice {
    /// Every call runs on this backend too, checked against golden and
    /// timed by its counters.
    fn measures(self) -> bool {
        !matches!(self, BackendChoice::Golden)
    }
}

/// Progress of a long run, stage by stage (the CLI draws bars).
pub trait Progress {
    /// A new stage of `total` steps, e.g. the call signatures to simulate.
    fn stage(&mut self, what: &str, total: u64);
    /// One step of the current stage done.
    fn tick(&mut self);
}

/// No progress display.
#[derive(Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn stage(&mut self, _: &str, _: u64) {}
    fn tick(&mut self) {}
}

/// What to run.
#[derive(Debug)]
pub struct RunConfig {
    pub model: PathBuf,
    pub input_shapes: Option<Vec<Vec<usize>>>,
    /// Samples along axis 0.
    pub inputs: DataSet,
    pub labels: Option<Vec<i64>>,
    pub calibration: DataSet,
    pub designs: Vec<Design>,
    pub backend: BackendChoice,
    /// Real calls replayed on the RTL per board (golden backend), and per
    /// extra board (sim backend), checked bit for bit.
    pub verify_sample: usize,
    /// The first board is the one the sim backend runs on.
    pub boards: Vec<Board>,
    pub min_sqnr_db: f64,
    pub seed: u64,
    /// How the model's output is measured.
    pub task: TaskOptions,
    /// Whether to time the run: on the golden backend (and the sim
    /// backend's extra boards) each distinct call signature is simulated
    /// once on the RTL.
    pub cycles: bool,
}

fn describe_arithmetic(design: &Design) -> String {
    match &design.config {
        EngineConfig::Gemm(a) => format!(
            "{}x{} {} PEs, int8 activations, {}-bit weight codes",
            a.rows,
            a.cols,
            a.pe,
            design.weight_bits().unwrap_or(0)
        ),
        EngineConfig::Bfp(b) => format!(
            "{} lanes, mxint8 activations, {} weights, blocks of {}",
            b.lanes, b.format, b.block
        ),
    }
}

/// One call kept for replay on the RTL, with the golden output.
#[derive(Debug, Clone)]
enum Sample {
    Gemm(GemmProblem, Vec<i32>),
    Matmul(MatmulProblem, Vec<f32>),
}

/// Equality of outputs bit for bit (f32 by its bits, so -0.0 and 0.0 differ).
trait SameBits: Copy {
    fn same_bits(self, other: Self) -> bool;
}

impl SameBits for i32 {
    fn same_bits(self, other: Self) -> bool {
        self == other
    }
}

impl SameBits for f32 {
    fn same_bits(self, other: Self) -> bool {
        self.to_bits() == other.to_bits()
    }
}

/// How many outputs of `got` differ from `want`.
fn differing<T: SameBits>(got: &[T], want: &[T]) -> usize {
    got.iter()
        .zip(want)
        .filter(|(a, b)| !a.same_bits(**b))
        .count()
}

/// A call on a backend: its outputs and its cycles, when counted.
type Ran<T> = Result<(Vec<T>, Option<u64>), BackendError>;

fn run_gemm(backend: &mut dyn Backend, p: &GemmProblem) -> Ran<i32> {
    backend
        .gemm(p)
        .map(|r| (r.output, r.counters.map(|c| c.cycles)))
}

fn run_matmul(backend: &mut dyn Backend, p: &MatmulProblem) -> Ran<f32> {
    backend
        .matmul(p)
        .map(|r| (r.output, r.counters.map(|c| c.cycles)))
}

impl Sample {
    fn signature(&self) -> CallSignature {
        match self {
            Sample::Gemm(p, _) => CallSignature::of_gemm(p),
            Sample::Matmul(p, _) => CallSignature::of_matmul(p),
        }
    }

    /// Runs the call again on `backend`: (cycles, outputs, outputs that
    /// differ from the golden ones).
    fn replay(
        &self,
        backend: &mut dyn Backend,
    ) -> Result<(Option<u64>, usize, usize), BackendError> {
        Ok(match self {
            Sample::Gemm(p, golden) => {
                let (out, cycles) = run_gemm(backend, p)?;
                (cycles, golden.len(), differing(&out, golden))
            }
            Sample::Matmul(p, golden) => {
                let (out, cycles) = run_matmul(backend, p)?;
                (cycles, golden.len(), differing(&out, golden))
            }
        })
    }
}

/// Cycles of every call on one board, from its call-signature table.
struct BoardCycles {
    board: Board,
    table: CycleTable,
    /// Per layer: the cycles of every call so far.
    per_layer: Vec<u64>,
}

/// The [`GemmRunner`] of one design's pass: every call on the chosen
/// backend (and on golden, to check it), sampled per layer for replays,
/// and timed: by the backend's counters when it measures, and by each
/// board's call-signature table otherwise.
struct Offload {
    design: Design,
    backend: Box<dyn Backend>,
    golden: GoldenBackend,
    measuring: bool,
    /// Per layer: how many calls the reservoir keeps.
    capacity: Vec<usize>,
    rng: SplitMix64,
    seen: Vec<u64>,
    samples: Vec<Vec<Sample>>,
    /// Per layer: cycles the measuring backend counted.
    measured: Vec<u64>,
    /// Boards timed by call signature; a signature the tables do not hold
    /// yet is simulated when first met.
    boards: Vec<BoardCycles>,
    seed: u64,
    checked: usize,
    identical: usize,
    calls: usize,
}

impl Offload {
    /// Reservoir sampling per layer; `make` runs only when the call is kept,
    /// so calls past a full reservoir cost no copy.
    fn keep(&mut self, layer: usize, make: impl FnOnce() -> Sample) {
        let capacity = self.capacity[layer];
        if capacity == 0 {
            return;
        }
        self.seen[layer] += 1;
        let kept = &mut self.samples[layer];
        if kept.len() < capacity {
            kept.push(make());
        } else {
            let slot = self.rng.below(self.seen[layer]) as usize;
            if slot < capacity {
                kept[slot] = make();
            }
        }
    }

    /// Adds the call's cycles on every timed board.
    fn time(&mut self, layer: usize, signature: CallSignature) -> Result<(), BackendError> {
        for b in &mut self.boards {
            // `simulate` skips signatures it already holds.
            b.table
                .simulate(&self.design, &b.board, &[signature], self.seed, &mut || {})?;
            b.per_layer[layer] += b.table.get(&signature).unwrap_or(0);
        }
        Ok(())
    }

    /// One call: golden always; on the measuring backend too, checked
    /// against golden and timed by its counters.
    fn call<P: Clone, T: SameBits>(
        &mut self,
        layer: usize,
        problem: &P,
        signature: CallSignature,
        run: fn(&mut dyn Backend, &P) -> Ran<T>,
        sample: fn(P, Vec<T>) -> Sample,
    ) -> anyhow::Result<Vec<T>> {
        self.calls += 1;
        let (golden, _) = run(&mut self.golden, problem)?;
        let output = if self.measuring {
            let (out, cycles) = run(self.backend.as_mut(), problem)?;
            self.checked += 1;
            self.identical += usize::from(differing(&out, &golden) == 0);
            self.measured[layer] += cycles.unwrap_or(0);
            Some(out)
        } else {
            None
        };
        self.time(layer, signature)?;
        self.keep(layer, || sample(problem.clone(), golden.clone()));
        Ok(output.unwrap_or(golden))
    }
}

impl GemmRunner for Offload {
    fn gemm(&mut self, layer: usize, problem: &GemmProblem) -> anyhow::Result<Vec<i32>> {
        let signature = CallSignature::of_gemm(problem);
        self.call(layer, problem, signature, run_gemm, Sample::Gemm)
    }

    fn matmul(&mut self, layer: usize, problem: &MatmulProblem) -> anyhow::Result<Vec<f32>> {
        let signature = CallSignature::of_matmul(problem);
        self.call(layer, problem, signature, run_matmul, Sample::Matmul)
    }
}

/// Per layer, how many calls to keep for `count` replays: spread evenly
/// over the offloaded layers, or one each on `count` of them (seeded) when
/// there are more layers than replays. At most about `count` calls are
/// held, however large the data set.
fn replay_capacity(layers: &[Layer], count: usize, seed: u64) -> Vec<usize> {
    let offloaded: Vec<usize> = (0..layers.len())
        .filter(|&l| layers[l].site.is_ok())
        .collect();
    let mut capacity = vec![0; layers.len()];
    if count == 0 || offloaded.is_empty() {
        return capacity;
    }
    if count >= offloaded.len() {
        for &l in &offloaded {
            capacity[l] = count.div_ceil(offloaded.len());
        }
    } else {
        // A partial Fisher-Yates shuffle picks `count` distinct layers.
        let mut pool = offloaded;
        let mut rng = SplitMix64::new(seed ^ 0x5EED_1A7E);
        for i in 0..count {
            let j = i + rng.below((pool.len() - i) as u64) as usize;
            pool.swap(i, j);
            capacity[pool[i]] = 1;
        }
    }
    capacity
}

/// Samples for replay: round robin over the layers so that every layer
/// with calls is replayed once before any is replayed twice.
fn pick_samples(samples: &[Vec<Sample>], count: usize) -> Vec<(usize, Sample)> {
    let mut picked = Vec::new();
    let deepest = samples.iter().map(Vec::len).max().unwrap_or(0);
    'outer: for depth in 0..deepest {
        for (layer, kept) in samples.iter().enumerate() {
            if picked.len() == count {
                break 'outer;
            }
            if let Some(s) = kept.get(depth) {
                picked.push((layer, s.clone()));
            }
        }
    }
    picked
}

/// Sample `i` of `data` as a model input of `fact`'s shape and type.
pub fn sample_tensor(data: &DataSet, i: usize, fact: &TypedFact) -> Result<Tensor, RunError> {
    let want: Vec<usize> = fact.shape.as_concrete().unwrap_or(&[]).to_vec();
    let rest = data.sample_shape();
    let fits = rest == want.as_slice() || (want.first() == Some(&1) && rest == &want[1..]);
    if !fits {
        return Err(RunError::Input(format!(
            "{} holds samples of shape {rest:?}; the model's input wants {want:?} (or {:?} with a batch of 1)",
            data.path().display(),
            want.get(1..).unwrap_or(&[])
        )));
    }
    let t = Tensor::from_shape(&want, &data.sample(i)?)?;
    Ok(t.cast_to_dt(fact.datum_type)?.into_owned())
}

/// Every sample of `data` as a model input (for benchmarks, which reuse
/// them; `kiln run` makes one at a time).
pub fn model_inputs(data: &DataSet, fact: &TypedFact) -> Result<Vec<TValue>, RunError> {
    (0..data.samples())
        .map(|i| sample_tensor(data, i, fact).map(Tensor::into_tvalue))
        .collect()
}

/// Any numeric value as f32, flattened.
pub fn as_f32(v: &TValue) -> Result<Vec<f32>, RunError> {
    let t = v.cast_to::<f32>()?;
    Ok(t.try_as_plain_ram()?.as_slice::<f32>()?.to_vec())
}

/// Per-tensor ranges of every offloaded layer's float activation over the
/// calibration input sets (one `TVec` of model inputs each), as int8
/// quantisers.
pub fn calibrate(
    model: &TypedModel,
    layers: &[Layer],
    sets: impl IntoIterator<Item = TVec<TValue>>,
) -> Result<HashMap<OutletId, ActQuant>, RunError> {
    let mut calibrator = Calibrator::new(model, layers)?;
    for inputs in sets {
        calibrator.add(inputs)?;
    }
    Ok(calibrator.finish())
}

/// Activation ranges accumulated one calibration set at a time, so that
/// no set is held after it has run.
struct Calibrator {
    outlets: Vec<OutletId>,
    names: Vec<String>,
    model_inputs: Vec<OutletId>,
    runner: Runner,
    ranges: Vec<(f32, f32)>,
}

impl Calibrator {
    fn new(model: &TypedModel, layers: &[Layer]) -> Result<Self, RunError> {
        let outlets: Vec<OutletId> = layers
            .iter()
            .filter(|l| l.site.is_ok() && !l.quantised)
            .filter_map(|l| l.act_outlet)
            .collect();
        let names: Vec<String> = outlets
            .iter()
            .map(|o| model.node(o.node).name.clone())
            .collect();
        Ok(Self {
            ranges: vec![(f32::INFINITY, f32::NEG_INFINITY); outlets.len()],
            model_inputs: model.input_outlets()?.to_vec(),
            runner: Runner::new(model.clone(), names.clone())?,
            outlets,
            names,
        })
    }

    fn add(&mut self, inputs: TVec<TValue>) -> Result<(), RunError> {
        let run = self.runner.run(inputs.clone(), None)?;
        for (j, outlet) in self.outlets.iter().enumerate() {
            // A model input is no node's output in the run: read it directly.
            let value = match self.model_inputs.iter().position(|i| i == outlet) {
                Some(i) => as_f32(&inputs[i])?,
                None if outlet.slot == 0 => match run.nodes.get(&self.names[j]) {
                    Some(v) => as_f32(v)?,
                    None => continue,
                },
                None => continue,
            };
            // A NaN would poison the range; non-finite values are reported
            // by the comparison, not calibrated on.
            for v in value.into_iter().filter(|v| v.is_finite()) {
                self.ranges[j].0 = self.ranges[j].0.min(v);
                self.ranges[j].1 = self.ranges[j].1.max(v);
            }
        }
        Ok(())
    }

    fn finish(self) -> HashMap<OutletId, ActQuant> {
        self.outlets
            .into_iter()
            .zip(self.ranges)
            .map(|(o, (lo, hi))| (o, ActQuant::from_range(lo, hi)))
            .collect()
    }
}

/// A [`GemmRunner`] that sends every call straight to a backend.
#[derive(Debug)]
pub struct BackendRunner<B: Backend>(pub B);

impl<B: Backend> GemmRunner for BackendRunner<B> {
    fn gemm(&mut self, _layer: usize, problem: &GemmProblem) -> anyhow::Result<Vec<i32>> {
        Ok(self.0.gemm(problem)?.output)
    }

    fn matmul(&mut self, _layer: usize, problem: &MatmulProblem) -> anyhow::Result<Vec<f32>> {
        Ok(self.0.matmul(problem)?.output)
    }
}

/// One design's pass over the data set, in progress.
struct Pass {
    design: Design,
    runner: Runner,
    offload: Offload,
    stats: Vec<ErrorStats>,
    task: TaskStats,
    first_nonfinite: Option<NonFiniteAt>,
    seconds: f64,
}

/// Whether any element is NaN or infinite.
fn has_nonfinite(values: &[f32]) -> bool {
    values.iter().any(|v| !v.is_finite())
}

/// `reference`, `accelerator` or `both`, by which side holds a non-finite
/// value.
fn nonfinite_side(reference: bool, test: bool) -> Option<&'static str> {
    match (reference, test) {
        (true, true) => Some("both"),
        (true, false) => Some("reference"),
        (false, true) => Some("accelerator"),
        (false, false) => None,
    }
}

/// Runs the whole comparison.
pub fn run(config: &RunConfig, progress: &mut dyn Progress) -> Result<RunSummary, RunError> {
    run_with(config, None, progress)
}

/// [`run`] with every offloaded call on `device`, an open hardware backend
/// for the one design in `config` on the first board (`config.backend` is
/// [`BackendChoice::Device`]).
pub fn run_on_device(
    config: &RunConfig,
    device: Box<dyn Backend>,
    progress: &mut dyn Progress,
) -> Result<RunSummary, RunError> {
    if config.designs.len() != 1 || !matches!(config.backend, BackendChoice::Device(_)) {
        return Err(RunError::Input(
            "a device run takes exactly one design (the loaded bitstream's)".into(),
        ));
    }
    run_with(config, Some(device), progress)
}

/// The distinct call signatures of `layers` on `design`.
fn layer_signatures(design: &Design, layers: &[Layer]) -> Vec<CallSignature> {
    let mut signatures: Vec<CallSignature> = layers
        .iter()
        .filter_map(|l| l.site.as_ref().ok())
        .map(|s| CallSignature::of_layer(design, s.shape()))
        .collect();
    signatures.sort_unstable();
    signatures.dedup();
    signatures
}

fn run_with(
    config: &RunConfig,
    mut device: Option<Box<dyn Backend>>,
    progress: &mut dyn Progress,
) -> Result<RunSummary, RunError> {
    let model = load_onnx(&config.model, config.input_shapes.as_deref())?;
    if model.input_outlets()?.len() != 1 {
        return Err(RunError::Input(format!(
            "the model has {} inputs; kiln run feeds one input from the data set",
            model.input_outlets()?.len()
        )));
    }
    let layers = layers(&model)?;
    let names: Vec<String> = layers.iter().map(|l| l.name.clone()).collect();
    let input_fact = model.outlet_fact(model.input_outlets()?[0])?.clone();
    let output_fact = model.outlet_fact(model.output_outlets()?[0])?.clone();
    let output_shape: Vec<usize> = output_fact
        .shape
        .as_concrete()
        .map(<[usize]>::to_vec)
        .ok_or_else(|| {
            RunError::Input(format!(
                "the model's output has a symbolic shape {:?}; fix the input with --input-shape",
                output_fact.shape
            ))
        })?;
    let samples = config.inputs.samples();
    if samples == 0 {
        return Err(RunError::Input(format!(
            "{} has no samples",
            config.inputs.path().display()
        )));
    }
    if let Some(labels) = &config.labels {
        if labels.len() != samples {
            return Err(RunError::Input(format!(
                "{} labels for {samples} inputs; give one label per input",
                labels.len()
            )));
        }
    }
    // Every call must fit every board's DDR and the design's limits; this is
    // known from the shapes alone, so it is checked before anything runs.
    for design in &config.designs {
        for layer in &layers {
            let Ok(site) = &layer.site else { continue };
            let signature = CallSignature::of_layer(design, site.shape());
            for board in &config.boards {
                signature
                    .check_fits(design, board)
                    .map_err(|source| RunError::Budget {
                        layer: layer.name.clone(),
                        board: board.name.clone(),
                        source: Box::new(source),
                    })?;
            }
        }
    }
    let labelled = config.labels.is_some();
    // The task is decided before anything runs, so a wrong --task fails fast.
    let mut reference_task = TaskStats::new(&output_shape, &config.task, labelled)?;
    let mut calibrator = Calibrator::new(&model, &layers)?;
    for i in 0..config.calibration.samples() {
        let input = sample_tensor(&config.calibration, i, &input_fact)?;
        calibrator.add(tvec!(input.into_tvalue()))?;
    }
    let calibration = calibrator.finish();
    let mut reference = Runner::new(model.clone(), names.clone())?;
    let mut passes = Vec::new();
    for design in &config.designs {
        let arith = Arithmetic::of(design)?;
        let patched = patch(&model, &layers, &arith, &calibration)?;
        let backend: Box<dyn Backend> = match config.backend {
            BackendChoice::Golden => Box::new(GoldenBackend::new(design)?),
            BackendChoice::Sim => Box::new(SimBackend::open(design, &config.boards[0], None)?),
            BackendChoice::Device(name) => device.take().ok_or_else(|| {
                RunError::Input(format!(
                    "no open {name} backend for design `{}`",
                    design.name
                ))
            })?,
        };
        let measuring = config.backend.measures();
        // Boards timed by call signature: all of them on golden, the extra
        // ones when the first is measured; a device run has only its own.
        let mut boards = Vec::new();
        if config.cycles && !matches!(config.backend, BackendChoice::Device(_)) {
            let signatures = layer_signatures(design, &layers);
            for (b, board) in config.boards.iter().enumerate() {
                if measuring && b == 0 {
                    continue;
                }
                progress.stage(
                    &format!("call signatures of {} on {}", design.name, board.name),
                    signatures.len() as u64,
                );
                let mut table = CycleTable::default();
                table.simulate(design, board, &signatures, config.seed, &mut || {
                    progress.tick()
                })?;
                boards.push(BoardCycles {
                    board: board.clone(),
                    table,
                    per_layer: vec![0; layers.len()],
                });
            }
        }
        passes.push(Pass {
            design: design.clone(),
            runner: Runner::new(patched, names.clone())?,
            offload: Offload {
                design: design.clone(),
                backend,
                golden: GoldenBackend::new(design)?,
                measuring,
                capacity: replay_capacity(&layers, config.verify_sample, config.seed),
                rng: SplitMix64::new(config.seed),
                seen: vec![0; layers.len()],
                samples: vec![Vec::new(); layers.len()],
                measured: vec![0; layers.len()],
                boards,
                seed: config.seed,
                checked: 0,
                identical: 0,
                calls: 0,
            },
            stats: vec![ErrorStats::default(); layers.len()],
            task: TaskStats::new(&output_shape, &config.task, labelled)?,
            first_nonfinite: None,
            seconds: 0.0,
        });
    }
    progress.stage("inputs x designs", (samples * passes.len()) as u64);
    for i in 0..samples {
        let input = sample_tensor(&config.inputs, i, &input_fact)?.into_tvalue();
        let want = reference.run(tvec!(input.clone()), None)?;
        let want_out = as_f32(&want.outputs[0])?;
        let label = config.labels.as_ref().map(|l| l[i]);
        reference_task.add(&want_out, &want_out, label);
        let mut want_layers = Vec::with_capacity(layers.len());
        for name in &names {
            want_layers.push(want.nodes.get(name).map(as_f32).transpose()?);
        }
        drop(want);
        for pass in &mut passes {
            let started = Instant::now();
            let got = pass
                .runner
                .run(tvec!(input.clone()), Some(&mut pass.offload))?;
            pass.seconds += started.elapsed().as_secs_f64();
            let got_out = as_f32(&got.outputs[0])?;
            pass.task.add(&want_out, &got_out, label);
            for (l, name) in names.iter().enumerate() {
                if let (Some(w), Some(g)) = (&want_layers[l], got.nodes.get(name)) {
                    // The statistics count non-finite elements anyway: a
                    // count that grew marks where one first appeared.
                    let before = pass.stats[l].nonfinite();
                    pass.stats[l].add(w, &as_f32(g)?);
                    let after = pass.stats[l].nonfinite();
                    let side = nonfinite_side(
                        after.reference > before.reference,
                        after.test > before.test,
                    );
                    if let (None, Some(side)) = (&pass.first_nonfinite, side) {
                        pass.first_nonfinite = Some(NonFiniteAt {
                            layer: name.clone(),
                            side: side.into(),
                            sample: i,
                        });
                    }
                }
            }
            if pass.first_nonfinite.is_none() {
                if let Some(side) =
                    nonfinite_side(has_nonfinite(&want_out), has_nonfinite(&got_out))
                {
                    pass.first_nonfinite = Some(NonFiniteAt {
                        layer: "model output".into(),
                        side: side.into(),
                        sample: i,
                    });
                }
            }
            progress.tick();
        }
    }
    let mut runs = Vec::new();
    for pass in passes {
        runs.push(finish_pass(config, &layers, pass, samples, progress)?);
    }
    let reference_report = reference_task.finish();
    Ok(RunSummary {
        model: config.model.display().to_string(),
        inputs: samples,
        labelled,
        reference_accuracy: reference_report.get("accuracy"),
        calibration: format!(
            "per-tensor min/max of each offloaded layer's input over {} calibration samples, widened to include 0, mapped to int8 with a zero point (BFP designs need none)",
            config.calibration.samples()
        ),
        runs,
    })
}

/// Per board timed: its name, clock, per-layer cycles summed over the run.
struct BoardTotals<'a> {
    board: &'a Board,
    per_layer: Vec<u64>,
}

/// Replays, timing and the report of one design's pass.
fn finish_pass(
    config: &RunConfig,
    layers: &[Layer],
    mut pass: Pass,
    samples: usize,
    progress: &mut dyn Progress,
) -> Result<DesignRun, RunError> {
    let design = &pass.design;
    let replay_started = Instant::now();
    let picked = pick_samples(&pass.offload.samples, config.verify_sample);
    let mut replayed = 0;
    let mut replay_identical = 0;
    let measuring = pass.offload.measuring;
    for (b, board) in config.boards.iter().enumerate() {
        if (measuring && b == 0) || picked.is_empty() {
            continue;
        }
        let table = pass
            .offload
            .boards
            .iter()
            .find(|t| t.board.name == board.name)
            .map(|t| &t.table);
        progress.stage(
            &format!("replays of {} on {}", design.name, board.name),
            picked.len() as u64,
        );
        let mut sim = SimBackend::open(design, board, None)?;
        for (layer, sample) in &picked {
            let (cycles, outputs, wrong) = sample.replay(&mut sim)?;
            replayed += 1;
            if wrong > 0 {
                return Err(RunError::ReplayMismatch {
                    layer: layers[*layer].name.clone(),
                    board: board.name.clone(),
                    wrong,
                    outputs,
                });
            }
            replay_identical += 1;
            let signature = sample.signature();
            if let (Some(table), Some(replayed_cycles)) = (table, cycles) {
                if let Some(simulated) = table.get(&signature) {
                    if simulated != replayed_cycles {
                        return Err(RunError::CyclesDependOnData {
                            layer: layers[*layer].name.clone(),
                            board: board.name.clone(),
                            signature: signature.describe(),
                            replayed: replayed_cycles,
                            simulated,
                        });
                    }
                }
            }
            progress.tick();
        }
        sim.close()?;
    }
    pass.seconds += replay_started.elapsed().as_secs_f64();

    // Timed boards in the order of --board: the measured one first.
    let mut totals: Vec<BoardTotals<'_>> = Vec::new();
    for (b, board) in config.boards.iter().enumerate() {
        if measuring && b == 0 {
            totals.push(BoardTotals {
                board,
                per_layer: pass.offload.measured.clone(),
            });
        } else if let Some(t) = pass
            .offload
            .boards
            .iter()
            .find(|t| t.board.name == board.name)
        {
            totals.push(BoardTotals {
                board,
                per_layer: t.per_layer.clone(),
            });
        }
    }
    let peak = peak_macs_per_cycle(design);
    let per_inference = |c: u64| c as f64 / samples as f64;
    let offloaded: u64 = layers
        .iter()
        .filter(|l| l.site.is_ok())
        .map(|l| l.macs)
        .sum();
    let host: u64 = layers
        .iter()
        .filter(|l| l.site.is_err())
        .map(|l| l.macs)
        .sum();
    let board_latency: Vec<BoardLatency> = totals
        .iter()
        .map(|t| {
            let cycles = per_inference(t.per_layer.iter().sum());
            BoardLatency {
                board: t.board.name.clone(),
                clock_mhz: t.board.fabric_clock_mhz,
                cycles_per_inference: cycles,
                latency_us: cycles / t.board.fabric_clock_mhz,
                pe_utilisation: if cycles > 0.0 {
                    offloaded as f64 / (cycles * peak)
                } else {
                    0.0
                },
            }
        })
        .collect();
    let mut first_divergent = None;
    let mut layer_reports = Vec::new();
    for (l, layer) in layers.iter().enumerate() {
        let error = pass.stats[l].finish();
        let divergent = error.is_some_and(|e| e.sqnr_db < config.min_sqnr_db);
        if divergent && first_divergent.is_none() {
            first_divergent = Some(layer.name.clone());
        }
        let timing = if layer.site.is_ok() {
            totals
                .iter()
                .zip(&board_latency)
                .map(|(t, total)| {
                    let cycles = per_inference(t.per_layer[l]);
                    LayerTiming {
                        board: t.board.name.clone(),
                        cycles_per_inference: cycles,
                        share: if total.cycles_per_inference > 0.0 {
                            cycles / total.cycles_per_inference
                        } else {
                            0.0
                        },
                        pe_utilisation: if cycles > 0.0 {
                            layer.macs as f64 / (cycles * peak)
                        } else {
                            0.0
                        },
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        layer_reports.push(LayerReport {
            name: layer.name.clone(),
            op: layer.op.clone(),
            offloaded: layer.site.is_ok(),
            reason: layer.site.as_ref().err().cloned(),
            gemm_shape: layer.site.as_ref().ok().map(|s| s.shape()),
            calls_per_inference: layer.site.as_ref().map(|s| s.calls() as f64).unwrap_or(0.0),
            macs_per_inference: layer.macs,
            error,
            timing,
            divergent,
            nonfinite: pass.stats[l].nonfinite(),
        });
    }
    let verify = if measuring {
        Some(VerifyReport {
            sampled: pass.offload.checked + replayed,
            bit_identical: pass.offload.identical + replay_identical,
            total_calls: pass.offload.calls + replayed,
        })
    } else if replayed > 0 {
        Some(VerifyReport {
            sampled: replayed,
            bit_identical: replay_identical,
            total_calls: pass.offload.calls,
        })
    } else {
        None
    };
    let signatures_simulated = pass.offload.boards.first().map_or(0, |b| b.table.len());
    Ok(DesignRun {
        design: design.name.clone(),
        engine: design.engine().name().to_string(),
        arithmetic: describe_arithmetic(design),
        backend: match config.backend {
            BackendChoice::Golden => "golden".into(),
            BackendChoice::Sim => "sim".into(),
            BackendChoice::Device(name) => name.into(),
        },
        tolerance: Tolerance {
            min_sqnr_db: config.min_sqnr_db,
        },
        layers: layer_reports,
        first_divergent,
        first_nonfinite: pass.first_nonfinite,
        task: pass.task.finish(),
        macs: MacShare {
            offloaded,
            host,
            offloaded_share: if offloaded + host == 0 {
                0.0
            } else {
                offloaded as f64 / (offloaded + host) as f64
            },
        },
        timing: Timing {
            source: match config.backend {
                BackendChoice::Device(_) => "measured on the board".into(),
                BackendChoice::Sim if config.boards.len() > 1 => {
                    "simulated (every call on the first board; exact per call signature on the others)".into()
                }
                BackendChoice::Sim => "simulated".into(),
                BackendChoice::Golden => "exact per call signature".into(),
            },
            signatures_simulated,
            boards: board_latency,
        },
        verify,
        wall_seconds: pass.seconds,
    })
}
