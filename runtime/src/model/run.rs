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

use kiln_spec::{Board, Design};
use tract_onnx::prelude::*;

use super::compare::ErrorStats;
use super::cycles::CycleTable;
use super::dataset::{DataError, DataSet};
use super::exec::Runner;
use super::graph::{layers, patch, Layer};
use super::load::{load_onnx, ModelError};
use super::lower::JobRunner;
use super::npy::NpyError;
use super::quant::ActQuant;
use super::system::{System, SystemError};
use super::task::{TaskError, TaskOptions, TaskStats};
use crate::backend::{Backend, BackendError, GoldenBackend, SimBackend};
use crate::engines::{self, Engine, Job, JobRun, Output, Signature};
use crate::report::{
    BoardLatency, DesignRun, LayerReport, LayerTiming, MacShare, NonFiniteAt, RunSummary, Timing,
    Tolerance, VerifyReport,
};
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
    #[error(transparent)]
    System(#[from] SystemError),
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
    /// The systems compared: each one design, or designs of several
    /// engines that share the model's layers.
    pub systems: Vec<System>,
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

/// One call kept for replay on the RTL, with the golden output.
#[derive(Debug)]
struct Sample {
    /// Which design of the system ran it.
    design: usize,
    job: Box<dyn Job>,
    golden: Output,
}

impl Clone for Sample {
    fn clone(&self) -> Self {
        Self {
            design: self.design,
            job: self.job.clone_box(),
            golden: self.golden.clone(),
        }
    }
}

impl Sample {
    /// Runs the call again on `backend`: (cycles, outputs, outputs that
    /// differ from the golden ones).
    fn replay(
        &self,
        backend: &mut dyn Backend,
    ) -> Result<(Option<u64>, usize, usize), BackendError> {
        let run = backend.run(self.job.as_ref())?;
        Ok((
            run.counters.map(|c| c.cycles),
            self.golden.len(),
            run.output.differing(&self.golden),
        ))
    }
}

/// Every picked call replayed on `board`'s RTL, on up to `jobs` threads
/// (contiguous runs of calls each, one simulator per design per thread,
/// opened when first needed): (cycles, outputs, outputs that differ from
/// golden) in the order of `picked`.
fn replay_all(
    system: &System,
    board: &Board,
    picked: &[(usize, Sample)],
    jobs: usize,
) -> Result<Vec<(Option<u64>, usize, usize)>, BackendError> {
    let replay_run = |run: &[(usize, Sample)]| -> Result<Vec<_>, BackendError> {
        let mut sims: Vec<Option<SimBackend>> = system.designs.iter().map(|_| None).collect();
        let mut out = Vec::with_capacity(run.len());
        for (_, sample) in run {
            let sim = match &mut sims[sample.design] {
                Some(sim) => sim,
                slot => slot.insert(SimBackend::open(
                    &system.designs[sample.design],
                    board,
                    None,
                )?),
            };
            out.push(sample.replay(sim)?);
        }
        for sim in sims.into_iter().flatten() {
            sim.close()?;
        }
        Ok(out)
    };
    let threads = jobs.clamp(1, picked.len().max(1));
    if threads == 1 {
        return replay_run(picked);
    }
    let chunk = picked.len().div_ceil(threads);
    let replay_run = &replay_run;
    std::thread::scope(|scope| {
        let handles: Vec<_> = picked
            .chunks(chunk)
            .map(|run| scope.spawn(move || replay_run(run)))
            .collect();
        let mut all = Vec::with_capacity(picked.len());
        for h in handles {
            all.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?);
        }
        Ok(all)
    })
}

/// Cycles of every call on one board, from each design's call-signature
/// table.
#[derive(Clone)]
struct BoardCycles {
    board: Board,
    /// Per design of the system.
    tables: Vec<CycleTable>,
    /// Per layer: the cycles of every call so far.
    per_layer: Vec<u64>,
}

/// The [`JobRunner`] of one system's pass: every call on the chosen
/// backend of the design that took its layer (and on golden, to check it),
/// sampled per layer for replays, and timed: by the backend's counters when
/// it measures, and by each board's call-signature tables otherwise.
struct Offload {
    system: System,
    /// Per layer: the design of the system that runs it.
    layer_design: Vec<Option<usize>>,
    /// Per design.
    backends: Vec<Box<dyn Backend + Send>>,
    goldens: Vec<GoldenBackend>,
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
    fn time(
        &mut self,
        layer: usize,
        design: usize,
        signature: &Signature,
    ) -> Result<(), BackendError> {
        for b in &mut self.boards {
            // `simulate` skips signatures it already holds.
            let table = &mut b.tables[design];
            table.simulate(
                &self.system.designs[design],
                &b.board,
                std::slice::from_ref(signature),
                self.seed,
                1,
                &mut || {},
            )?;
            b.per_layer[layer] += table.get(signature).unwrap_or(0);
        }
        Ok(())
    }

    /// One call: golden always; on the measuring backend too, checked
    /// against golden and timed by its counters.
    fn call(&mut self, layer: usize, job: &dyn Job) -> anyhow::Result<Output> {
        let design = self.layer_design[layer].ok_or_else(|| {
            anyhow::anyhow!("layer {layer} made an engine call but no design took it")
        })?;
        self.calls += 1;
        let golden = self.goldens[design].run(job)?.output;
        let output = if self.measuring {
            let run = self.backends[design].run(job)?;
            self.checked += 1;
            self.identical += usize::from(run.output.differing(&golden) == 0);
            self.measured[layer] += run.counters.map_or(0, |c| c.cycles);
            Some(run.output)
        } else {
            None
        };
        self.time(layer, design, &job.signature())?;
        self.keep(layer, || Sample {
            design,
            job: job.clone_box(),
            golden: golden.clone(),
        });
        Ok(output.unwrap_or(golden))
    }
}

impl Offload {
    /// Adds another worker's record of the same pass: its counts and
    /// cycles, the signatures it simulated, and its kept calls (up to each
    /// layer's capacity, this worker's first).
    fn absorb(&mut self, other: Offload) {
        self.checked += other.checked;
        self.identical += other.identical;
        self.calls += other.calls;
        for (a, b) in self.measured.iter_mut().zip(&other.measured) {
            *a += b;
        }
        for (a, b) in self.seen.iter_mut().zip(&other.seen) {
            *a += b;
        }
        for (mine, theirs) in self.boards.iter_mut().zip(other.boards) {
            for (a, b) in mine.per_layer.iter_mut().zip(&theirs.per_layer) {
                *a += b;
            }
            for (a, b) in mine.tables.iter_mut().zip(theirs.tables) {
                a.absorb(b);
            }
        }
        for ((kept, theirs), &capacity) in self
            .samples
            .iter_mut()
            .zip(other.samples)
            .zip(&self.capacity)
        {
            let room = capacity.saturating_sub(kept.len());
            kept.extend(theirs.into_iter().take(room));
        }
    }
}

impl JobRunner for Offload {
    fn run(&mut self, layer: usize, job: &dyn Job) -> anyhow::Result<Output> {
        self.call(layer, job)
    }
}

/// Per layer, how many calls to keep for `count` replays: spread evenly
/// over the offloaded layers, or one each on `count` of them (seeded) when
/// there are more layers than replays. At most about `count` calls are
/// held, however large the data set.
fn replay_capacity(assignment: &[Option<usize>], count: usize, seed: u64) -> Vec<usize> {
    let offloaded: Vec<usize> = (0..assignment.len())
        .filter(|&l| assignment[l].is_some())
        .collect();
    let mut capacity = vec![0; assignment.len()];
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

/// A [`JobRunner`] that sends every call straight to the golden model of
/// the system's design of the job's engine.
#[derive(Debug)]
pub struct GoldenRunner {
    goldens: Vec<(&'static str, GoldenBackend)>,
}

impl GoldenRunner {
    pub fn new(system: &System) -> Result<Self, BackendError> {
        Ok(Self {
            goldens: system
                .designs
                .iter()
                .map(|d| Ok((d.engine_name(), GoldenBackend::new(d)?)))
                .collect::<Result<_, BackendError>>()?,
        })
    }
}

impl JobRunner for GoldenRunner {
    fn run(&mut self, _layer: usize, job: &dyn Job) -> anyhow::Result<Output> {
        let (_, golden) = self
            .goldens
            .iter_mut()
            .find(|(engine, _)| *engine == job.engine())
            .ok_or_else(|| anyhow::anyhow!("no design of the run runs {} jobs", job.engine()))?;
        Ok(golden.run(job)?.output)
    }
}

/// A device's backend (a board's mapped registers or an XRT handle, not
/// `Send`) inside the one worker of a device run, whose samples run on the
/// calling thread. `SendWrapper` panics rather than let another thread
/// touch or drop it; device runs take one worker, so none does.
struct OnOpeningThread(send_wrapper::SendWrapper<Box<dyn Backend>>);

impl Backend for OnOpeningThread {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn run(&mut self, job: &dyn Job) -> Result<JobRun, BackendError> {
        self.0.run(job)
    }
}

/// One thread's share of the run: its own tract sessions (the reference
/// and one per system) and its own backends.
struct Worker {
    reference: Runner,
    /// Per system: the patched model's session and the offload runner.
    passes: Vec<(Runner, Offload)>,
}

/// What one sample gave: the reference output, and per system its output,
/// each compared layer's error on this sample, and the pass's time.
struct SampleResult {
    want_out: Vec<f32>,
    label: Option<i64>,
    passes: Vec<PassSample>,
}

struct PassSample {
    out: Vec<f32>,
    /// Per layer, this sample's error statistics (`None` where the layer
    /// has no output to compare).
    layers: Vec<Option<ErrorStats>>,
    seconds: f64,
}

impl Worker {
    /// Sample `i` through the reference and every system.
    fn evaluate(
        &mut self,
        config: &RunConfig,
        i: usize,
        input_fact: &TypedFact,
        names: &[String],
    ) -> Result<SampleResult, RunError> {
        let input = sample_tensor(&config.inputs, i, input_fact)?.into_tvalue();
        let want = self.reference.run(tvec!(input.clone()), None)?;
        let want_out = as_f32(&want.outputs[0])?;
        let mut want_layers = Vec::with_capacity(names.len());
        for name in names {
            want_layers.push(want.nodes.get(name).map(as_f32).transpose()?);
        }
        drop(want);
        let mut passes = Vec::with_capacity(self.passes.len());
        for (runner, offload) in &mut self.passes {
            let started = Instant::now();
            let got = runner.run(tvec!(input.clone()), Some(offload))?;
            let seconds = started.elapsed().as_secs_f64();
            let mut layers = Vec::with_capacity(names.len());
            for (w, name) in want_layers.iter().zip(names) {
                layers.push(match (w, got.nodes.get(name)) {
                    (Some(w), Some(g)) => {
                        let mut stats = ErrorStats::default();
                        stats.add(w, &as_f32(g)?);
                        Some(stats)
                    }
                    _ => None,
                });
            }
            passes.push(PassSample {
                out: as_f32(&got.outputs[0])?,
                layers,
                seconds,
            });
        }
        Ok(SampleResult {
            want_out,
            label: config.labels.as_ref().map(|l| l[i]),
            passes,
        })
    }
}

/// One system's pass over the data set, in progress.
struct Pass {
    system: System,
    /// Per layer: the design of the system that runs it.
    assignment: Vec<Option<usize>>,
    /// Per layer: its engine calls per evaluation.
    calls: Vec<Vec<(Signature, u64)>>,
    /// Every worker's record of the pass, merged (once the samples are
    /// done).
    offload: Option<Offload>,
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
    let one_design = config.systems.len() == 1 && config.systems[0].designs.len() == 1;
    if !one_design || !matches!(config.backend, BackendChoice::Device(_)) {
        return Err(RunError::Input(
            "a device run takes exactly one design (the loaded bitstream's)".into(),
        ));
    }
    run_with(config, Some(device), progress)
}

/// Each layer's engine calls per evaluation on the design that takes it.
fn layer_calls(
    system: &System,
    engines: &[&'static dyn Engine],
    layers: &[Layer],
    assignment: &[Option<usize>],
) -> Vec<Vec<(Signature, u64)>> {
    layers
        .iter()
        .zip(assignment)
        .map(|(layer, d)| match (&layer.site, d) {
            (Ok(site), Some(d)) => engines[*d].calls(&system.designs[*d], site),
            _ => Vec::new(),
        })
        .collect()
}

/// The distinct call signatures of the layers design `design` takes.
fn design_signatures(
    calls: &[Vec<(Signature, u64)>],
    assignment: &[Option<usize>],
    design: usize,
) -> Vec<Signature> {
    let mut signatures: Vec<Signature> = calls
        .iter()
        .zip(assignment)
        .filter(|(_, d)| **d == Some(design))
        .flat_map(|(c, _)| c.iter().map(|(s, _)| s.clone()))
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
    // Which design of each system takes each layer, and the calls it
    // makes. Every call must fit every board's DDR and the design's limits;
    // this is known from the shapes alone, so it is checked before anything
    // runs.
    let mut plans = Vec::new();
    for system in &config.systems {
        let engines = system
            .designs
            .iter()
            .map(engines::of)
            .collect::<Result<Vec<_>, _>>()?;
        let assignment = system.assign(&layers)?;
        let calls = layer_calls(system, &engines, &layers, &assignment);
        for (l, layer) in layers.iter().enumerate() {
            let Some(d) = assignment[l] else { continue };
            for (signature, _) in &calls[l] {
                for board in &config.boards {
                    engines[d]
                        .check_fits(&system.designs[d], board, signature)
                        .map_err(|source| RunError::Budget {
                            layer: layer.name.clone(),
                            board: board.name.clone(),
                            source: Box::new(source),
                        })?;
                }
            }
        }
        plans.push((assignment, calls));
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
    // Samples run on `jobs` workers at once, each with its own tract
    // sessions and backends; the statistics are added on this thread in
    // sample order, so the report does not depend on --jobs. A device is
    // one accelerator: its run takes one worker.
    let jobs = match config.backend {
        BackendChoice::Device(_) => 1,
        _ => crate::parallel::jobs().clamp(1, samples),
    };
    let reference = Runner::new(model.clone(), names.clone())?;
    let mut workers: Vec<Worker> = (0..jobs)
        .map(|_| Worker {
            reference: reference.clone(),
            passes: Vec::new(),
        })
        .collect();
    let mut passes = Vec::new();
    for (system, (assignment, calls)) in config.systems.iter().zip(plans) {
        let (patched, _) = patch(&model, &layers, system, &assignment, &calibration)?;
        let measuring = config.backend.measures();
        // Boards timed by call signature: all of them on golden, the extra
        // ones when the first is measured; a device run has only its own.
        let mut boards = Vec::new();
        if config.cycles && !matches!(config.backend, BackendChoice::Device(_)) {
            for (b, board) in config.boards.iter().enumerate() {
                if measuring && b == 0 {
                    continue;
                }
                let mut tables = Vec::new();
                for (d, design) in system.designs.iter().enumerate() {
                    let signatures = design_signatures(&calls, &assignment, d);
                    progress.stage(
                        &format!("call signatures of {} on {}", design.name, board.name),
                        signatures.len() as u64,
                    );
                    let mut table = CycleTable::default();
                    table.simulate(
                        design,
                        board,
                        &signatures,
                        config.seed,
                        crate::parallel::jobs(),
                        &mut || progress.tick(),
                    )?;
                    tables.push(table);
                }
                boards.push(BoardCycles {
                    board: board.clone(),
                    tables,
                    per_layer: vec![0; layers.len()],
                });
            }
        }
        let runner = Runner::new(patched, names.clone())?;
        for (w, worker) in workers.iter_mut().enumerate() {
            let mut backends: Vec<Box<dyn Backend + Send>> = Vec::new();
            for design in &system.designs {
                backends.push(match config.backend {
                    BackendChoice::Golden => Box::new(GoldenBackend::new(design)?),
                    BackendChoice::Sim => {
                        Box::new(SimBackend::open(design, &config.boards[0], None)?)
                    }
                    BackendChoice::Device(name) => Box::new(OnOpeningThread(
                        send_wrapper::SendWrapper::new(device.take().ok_or_else(|| {
                            RunError::Input(format!(
                                "no open {name} backend for design `{}`",
                                design.name
                            ))
                        })?),
                    )),
                });
            }
            let goldens = system
                .designs
                .iter()
                .map(GoldenBackend::new)
                .collect::<Result<Vec<_>, _>>()?;
            let offload = Offload {
                system: system.clone(),
                layer_design: assignment.clone(),
                backends,
                goldens,
                measuring,
                capacity: replay_capacity(&assignment, config.verify_sample, config.seed),
                // Worker 0 draws what a serial run draws.
                rng: SplitMix64::new(config.seed ^ (w as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                seen: vec![0; layers.len()],
                samples: vec![Vec::new(); layers.len()],
                measured: vec![0; layers.len()],
                boards: boards.clone(),
                seed: config.seed,
                checked: 0,
                identical: 0,
                calls: 0,
            };
            worker.passes.push((runner.clone(), offload));
        }
        passes.push(Pass {
            system: system.clone(),
            offload: None,
            assignment,
            calls,
            stats: vec![ErrorStats::default(); layers.len()],
            task: TaskStats::new(&output_shape, &config.task, labelled)?,
            first_nonfinite: None,
            seconds: 0.0,
        });
    }
    progress.stage("inputs x designs", (samples * passes.len()) as u64);
    for first in (0..samples).step_by(jobs) {
        let round: Vec<usize> = (first..(first + jobs).min(samples)).collect();
        let results: Vec<Result<SampleResult, RunError>> = if round.len() == 1 {
            vec![workers[0].evaluate(config, round[0], &input_fact, &names)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = workers
                    .iter_mut()
                    .zip(&round)
                    .map(|(worker, &i)| {
                        let (names, input_fact) = (&names, &input_fact);
                        scope.spawn(move || worker.evaluate(config, i, input_fact, names))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        for (&i, result) in round.iter().zip(results) {
            let result = result?;
            reference_task.add(&result.want_out, &result.want_out, result.label);
            for (pass, got) in passes.iter_mut().zip(result.passes) {
                pass.seconds += got.seconds;
                pass.task.add(&result.want_out, &got.out, result.label);
                for (l, name) in names.iter().enumerate() {
                    let Some(sample_stats) = &got.layers[l] else {
                        continue;
                    };
                    // The statistics count non-finite elements anyway: a
                    // count that grew marks where one first appeared.
                    let before = pass.stats[l].nonfinite();
                    pass.stats[l].merge(sample_stats);
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
                if pass.first_nonfinite.is_none() {
                    if let Some(side) =
                        nonfinite_side(has_nonfinite(&result.want_out), has_nonfinite(&got.out))
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
    }
    // Each pass's record: every worker's, merged in worker order.
    for worker in workers {
        for (pass, (_, offload)) in passes.iter_mut().zip(worker.passes) {
            match &mut pass.offload {
                Some(merged) => merged.absorb(offload),
                slot => *slot = Some(offload),
            }
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
            "per-tensor min/max of each offloaded layer's input over {} calibration samples, widened to include 0, mapped to int8 with a zero point (engines with real activations, such as BFP, need none)",
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

/// Replays, timing and the report of one system's pass.
fn finish_pass(
    config: &RunConfig,
    layers: &[Layer],
    mut pass: Pass,
    samples: usize,
    progress: &mut dyn Progress,
) -> Result<DesignRun, RunError> {
    let offload = pass
        .offload
        .take()
        .ok_or_else(|| RunError::Input("a pass ended with no worker's record".into()))?;
    let system = &pass.system;
    let replay_started = Instant::now();
    let picked = pick_samples(&offload.samples, config.verify_sample);
    let mut replayed = 0;
    let mut replay_identical = 0;
    let measuring = offload.measuring;
    for (b, board) in config.boards.iter().enumerate() {
        if (measuring && b == 0) || picked.is_empty() {
            continue;
        }
        let tables = offload
            .boards
            .iter()
            .find(|t| t.board.name == board.name)
            .map(|t| &t.tables);
        progress.stage(
            &format!("replays of {} on {}", system.name(), board.name),
            picked.len() as u64,
        );
        let results = replay_all(system, board, &picked, crate::parallel::jobs())?;
        for ((layer, sample), (cycles, outputs, wrong)) in picked.iter().zip(results) {
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
            let signature = sample.job.signature();
            let simulated = tables.and_then(|t| t[sample.design].get(&signature));
            if let (Some(simulated), Some(replayed_cycles)) = (simulated, cycles) {
                if simulated != replayed_cycles {
                    return Err(RunError::CyclesDependOnData {
                        layer: layers[*layer].name.clone(),
                        board: board.name.clone(),
                        signature: signature.label,
                        replayed: replayed_cycles,
                        simulated,
                    });
                }
            }
            progress.tick();
        }
    }
    pass.seconds += replay_started.elapsed().as_secs_f64();

    // Timed boards in the order of --board: the measured one first.
    let mut totals: Vec<BoardTotals<'_>> = Vec::new();
    for (b, board) in config.boards.iter().enumerate() {
        if measuring && b == 0 {
            totals.push(BoardTotals {
                board,
                per_layer: offload.measured.clone(),
            });
        } else if let Some(t) = offload.boards.iter().find(|t| t.board.name == board.name) {
            totals.push(BoardTotals {
                board,
                per_layer: t.per_layer.clone(),
            });
        }
    }
    // Each layer's peak is its own design's: while a layer runs, only the
    // engine that took it computes.
    let mut peaks = Vec::new();
    for design in &system.designs {
        peaks.push(engines::of(design)?.peak_macs_per_cycle(design)?);
    }
    let layer_peak = |l: usize| pass.assignment[l].map_or(0.0, |d| peaks[d]);
    let per_inference = |c: u64| c as f64 / samples as f64;
    let offloaded: u64 = layers
        .iter()
        .zip(&pass.assignment)
        .filter(|(_, d)| d.is_some())
        .map(|(l, _)| l.macs)
        .sum();
    let host: u64 = layers
        .iter()
        .zip(&pass.assignment)
        .filter(|(_, d)| d.is_none())
        .map(|(l, _)| l.macs)
        .sum();
    let board_latency: Vec<BoardLatency> = totals
        .iter()
        .map(|t| {
            let cycles = per_inference(t.per_layer.iter().sum());
            // MAC capacity of the cycles each layer ran on its engine.
            let capacity: f64 = t
                .per_layer
                .iter()
                .enumerate()
                .map(|(l, &c)| per_inference(c) * layer_peak(l))
                .sum();
            BoardLatency {
                board: t.board.name.clone(),
                clock_mhz: t.board.fabric_clock_mhz,
                cycles_per_inference: cycles,
                latency_us: cycles / t.board.fabric_clock_mhz,
                pe_utilisation: if capacity > 0.0 {
                    offloaded as f64 / capacity
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
        let design = pass.assignment[l];
        let timing = if design.is_some() {
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
                            layer.macs as f64 / (cycles * layer_peak(l))
                        } else {
                            0.0
                        },
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let reason = match (&layer.site, design) {
            (Err(reason), _) => Some(reason.clone()),
            (Ok(_), None) => Some(format!("no design of {} takes it", system.name())),
            (Ok(_), Some(_)) => None,
        };
        let calls = &pass.calls[l];
        layer_reports.push(LayerReport {
            name: layer.name.clone(),
            op: layer.op.clone(),
            offloaded: design.is_some(),
            design: design.map(|d| system.designs[d].name.clone()),
            reason,
            call: calls.first().map(|(s, _)| s.label.clone()),
            calls_per_inference: calls.iter().map(|(_, n)| *n as f64).sum(),
            macs_per_inference: layer.macs,
            error,
            timing,
            divergent,
            nonfinite: pass.stats[l].nonfinite(),
        });
    }
    let verify = if measuring {
        Some(VerifyReport {
            sampled: offload.checked + replayed,
            bit_identical: offload.identical + replay_identical,
            total_calls: offload.calls + replayed,
        })
    } else if replayed > 0 {
        Some(VerifyReport {
            sampled: replayed,
            bit_identical: replay_identical,
            total_calls: offload.calls,
        })
    } else {
        None
    };
    let signatures_simulated = offload
        .boards
        .first()
        .map_or(0, |b| b.tables.iter().map(CycleTable::len).sum());
    let mut arithmetic = Vec::new();
    for design in &system.designs {
        arithmetic.push(engines::of(design)?.describe(design)?);
    }
    Ok(DesignRun {
        design: system.name(),
        engine: system
            .designs
            .iter()
            .map(Design::engine_name)
            .collect::<Vec<_>>()
            .join("+"),
        arithmetic: arithmetic.join("; "),
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
