//! `kiln run`: a model over a data set on one or more designs, each layer
//! compared with tract's own result, timing from the RTL.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use kiln_spec::{Board, Design, EngineConfig};
use tract_onnx::prelude::*;

use super::compare::{argmax, ErrorStats};
use super::exec::Runner;
use super::graph::{layers, patch, Layer};
use super::load::{load_onnx, ModelError};
use super::npy::{NpyArray, NpyError};
use super::op::GemmRunner;
use super::perf::{PerfModel, Replay};
use super::quant::ActQuant;
use super::report::{
    BoardLatency, DatasetReport, DesignRun, LayerReport, MacShare, RunSummary, Timing, Tolerance,
    VerifyReport,
};
use crate::backend::{
    matmul_ideal_cycles, Arithmetic, Backend, BackendError, GoldenBackend, MatmulProblem,
    SimBackend,
};
use crate::gemm::{layout, GemmProblem};
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
    Backend(Box<BackendError>),
    #[error(transparent)]
    Spec(#[from] kiln_spec::SpecError),
    #[error("{0}")]
    Data(String),
    #[error("{0:#}")]
    Tract(anyhow::Error),
    #[error("RTL replay of a call of layer `{layer}` on {board} differs from the golden model in {wrong} of {outputs} outputs")]
    ReplayMismatch {
        layer: String,
        board: String,
        wrong: usize,
        outputs: usize,
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

/// What to run.
#[derive(Debug)]
pub struct RunConfig {
    pub model: PathBuf,
    pub input_shapes: Option<Vec<Vec<usize>>>,
    /// Samples along axis 0.
    pub inputs: NpyArray<f32>,
    pub labels: Option<Vec<i64>>,
    pub calibration: NpyArray<f32>,
    pub designs: Vec<Design>,
    pub backend: BackendChoice,
    /// Calls replayed on the RTL per board (golden backend), and per extra
    /// board (sim backend).
    pub verify_sample: usize,
    /// The first board is the one the sim backend runs on.
    pub boards: Vec<Board>,
    pub min_sqnr_db: f64,
    pub seed: u64,
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

/// The [`GemmRunner`] of one design's pass: every call on the chosen
/// backend, sampled per layer for replays, cycles kept from the simulator.
struct Offload {
    backend: Box<dyn Backend>,
    golden: GoldenBackend,
    simulating: bool,
    capacity: usize,
    rng: SplitMix64,
    seen: Vec<u64>,
    samples: Vec<Vec<Sample>>,
    /// Per layer: simulated cycles summed and calls simulated.
    cycles: Vec<(f64, u64)>,
    checked: usize,
    identical: usize,
    calls: usize,
}

impl Offload {
    /// Reservoir sampling per layer; `make` runs only when the call is kept,
    /// so calls past a full reservoir cost no copy.
    fn keep(&mut self, layer: usize, make: impl FnOnce() -> Sample) {
        self.seen[layer] += 1;
        let kept = &mut self.samples[layer];
        if kept.len() < self.capacity {
            kept.push(make());
        } else {
            let slot = self.rng.below(self.seen[layer]) as usize;
            if slot < self.capacity {
                kept[slot] = make();
            }
        }
    }

    /// One call: golden always; on the simulator too when simulating, checked
    /// against golden and timed.
    fn call<P: Clone, T: SameBits>(
        &mut self,
        layer: usize,
        problem: &P,
        run: fn(&mut dyn Backend, &P) -> Ran<T>,
        sample: fn(P, Vec<T>) -> Sample,
    ) -> anyhow::Result<Vec<T>> {
        self.calls += 1;
        let (golden, _) = run(&mut self.golden, problem)?;
        let output = if self.simulating {
            let (out, cycles) = run(self.backend.as_mut(), problem)?;
            self.checked += 1;
            self.identical += usize::from(differing(&out, &golden) == 0);
            if let Some(c) = cycles {
                self.cycles[layer].0 += c as f64;
                self.cycles[layer].1 += 1;
            }
            Some(out)
        } else {
            None
        };
        self.keep(layer, || sample(problem.clone(), golden.clone()));
        Ok(output.unwrap_or(golden))
    }
}

impl GemmRunner for Offload {
    fn gemm(&mut self, layer: usize, problem: &GemmProblem) -> anyhow::Result<Vec<i32>> {
        self.call(layer, problem, run_gemm, Sample::Gemm)
    }

    fn matmul(&mut self, layer: usize, problem: &MatmulProblem) -> anyhow::Result<Vec<f32>> {
        self.call(layer, problem, run_matmul, Sample::Matmul)
    }
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

/// The call's roofline bound in cycles on `board`: compute or memory,
/// whichever is larger.
fn roofline(design: &Design, board: &Board, [m, k, n]: [usize; 3]) -> f64 {
    let bytes_per_cycle = board.memory.bytes_per_cycle.max(1e-9);
    match &design.config {
        EngineConfig::Gemm(a) => {
            let compute = (m * n * k) as f64 / f64::from(a.pes());
            let bits = design.weight_bits().unwrap_or(8) as usize;
            let block_m = (a.rows * a.m_tiles) as usize;
            let bytes = m * layout::a_row_bytes(k)
                + m.div_ceil(block_m) * n * (k * bits).div_ceil(8)
                + m * n * 4;
            compute.max(bytes as f64 / bytes_per_cycle)
        }
        EngineConfig::Bfp(_) => matmul_ideal_cycles(design, m, n, k).unwrap_or(0.0),
    }
}

/// Input tensors for sample `i` of `data`, shaped as the model wants.
fn sample_tensor(data: &NpyArray<f32>, i: usize, fact: &TypedFact) -> Result<Tensor, RunError> {
    let want: Vec<usize> = fact.shape.as_concrete().unwrap_or(&[]).to_vec();
    let per: usize = data.shape[1..].iter().product();
    let rest = &data.shape[1..];
    let fits = rest == want.as_slice() || (want.first() == Some(&1) && rest == &want[1..]);
    if !fits {
        return Err(RunError::Data(format!(
            "the data set holds samples of shape {rest:?}; the model's input wants {want:?} (or {:?} with a batch of 1)",
            want.get(1..).unwrap_or(&[])
        )));
    }
    let t = Tensor::from_shape(&want, &data.data[i * per..(i + 1) * per])?;
    Ok(t.cast_to_dt(fact.datum_type)?.into_owned())
}

/// Every sample of `data` as a model input of `fact`'s shape and type.
pub fn model_inputs(data: &NpyArray<f32>, fact: &TypedFact) -> Result<Vec<TValue>, RunError> {
    let count = data.shape.first().copied().unwrap_or(0);
    (0..count)
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
    let outlets: Vec<OutletId> = layers
        .iter()
        .filter(|l| l.site.is_ok() && !l.quantised)
        .filter_map(|l| l.act_outlet)
        .collect();
    let names: Vec<String> = outlets
        .iter()
        .map(|o| model.node(o.node).name.clone())
        .collect();
    let model_inputs = model.input_outlets()?.to_vec();
    let mut runner = Runner::new(model.clone(), names.clone())?;
    let mut ranges = vec![(f32::INFINITY, f32::NEG_INFINITY); outlets.len()];
    for inputs in sets {
        let run = runner.run(inputs.clone(), None)?;
        for (j, outlet) in outlets.iter().enumerate() {
            // A model input is no node's output in the run: read it directly.
            let value = match model_inputs.iter().position(|i| i == outlet) {
                Some(i) => as_f32(&inputs[i])?,
                None if outlet.slot == 0 => match run.nodes.get(&names[j]) {
                    Some(v) => as_f32(v)?,
                    None => continue,
                },
                None => continue,
            };
            for v in value {
                ranges[j].0 = ranges[j].0.min(v);
                ranges[j].1 = ranges[j].1.max(v);
            }
        }
    }
    Ok(outlets
        .into_iter()
        .zip(ranges)
        .map(|(o, (lo, hi))| (o, ActQuant::from_range(lo, hi)))
        .collect())
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
    agree: usize,
    correct: usize,
    seconds: f64,
}

/// Runs the whole comparison. `tick` is called once per input per design.
pub fn run(config: &RunConfig, tick: &mut dyn FnMut()) -> Result<RunSummary, RunError> {
    run_with(config, None, tick)
}

/// [`run`] with every offloaded call on `device`, an open hardware backend
/// for the one design in `config` on the first board (`config.backend` is
/// [`BackendChoice::Device`]).
pub fn run_on_device(
    config: &RunConfig,
    device: Box<dyn Backend>,
    tick: &mut dyn FnMut(),
) -> Result<RunSummary, RunError> {
    if config.designs.len() != 1 || !matches!(config.backend, BackendChoice::Device(_)) {
        return Err(RunError::Data(
            "a device run takes exactly one design (the loaded bitstream's)".into(),
        ));
    }
    run_with(config, Some(device), tick)
}

fn run_with(
    config: &RunConfig,
    mut device: Option<Box<dyn Backend>>,
    tick: &mut dyn FnMut(),
) -> Result<RunSummary, RunError> {
    let model = load_onnx(&config.model, config.input_shapes.as_deref())?;
    if model.input_outlets()?.len() != 1 {
        return Err(RunError::Data(format!(
            "the model has {} inputs; kiln run feeds one input from the data set",
            model.input_outlets()?.len()
        )));
    }
    let layers = layers(&model)?;
    let names: Vec<String> = layers.iter().map(|l| l.name.clone()).collect();
    let input_fact = model.outlet_fact(model.input_outlets()?[0])?.clone();
    let samples = config.inputs.shape.first().copied().unwrap_or(0);
    if samples == 0 {
        return Err(RunError::Data("the data set has no samples".into()));
    }
    if let Some(labels) = &config.labels {
        if labels.len() != samples {
            return Err(RunError::Data(format!(
                "{} labels for {samples} inputs; give one label per input",
                labels.len()
            )));
        }
    }
    let calib_sets = model_inputs(&config.calibration, &input_fact)?;
    let calibration = calibrate(&model, &layers, calib_sets.into_iter().map(|x| tvec!(x)))?;
    let mut reference = Runner::new(model.clone(), names.clone())?;
    let mut passes = Vec::new();
    for design in &config.designs {
        let arith = Arithmetic::of(design)?;
        let patched = patch(&model, &layers, &arith, &calibration)?;
        let backend: Box<dyn Backend> = match config.backend {
            BackendChoice::Golden => Box::new(GoldenBackend::new(design)?),
            BackendChoice::Sim => Box::new(SimBackend::open(design, &config.boards[0], None)?),
            BackendChoice::Device(name) => device.take().ok_or_else(|| {
                RunError::Data(format!(
                    "no open {name} backend for design `{}`",
                    design.name
                ))
            })?,
        };
        passes.push(Pass {
            design: design.clone(),
            runner: Runner::new(patched, names.clone())?,
            offload: Offload {
                backend,
                golden: GoldenBackend::new(design)?,
                simulating: config.backend.measures(),
                capacity: config.verify_sample.max(1),
                rng: SplitMix64::new(config.seed),
                seen: vec![0; layers.len()],
                samples: vec![Vec::new(); layers.len()],
                cycles: vec![(0.0, 0); layers.len()],
                checked: 0,
                identical: 0,
                calls: 0,
            },
            stats: vec![ErrorStats::default(); layers.len()],
            agree: 0,
            correct: 0,
            seconds: 0.0,
        });
    }
    let mut reference_correct = 0;
    for (i, input) in model_inputs(&config.inputs, &input_fact)?
        .into_iter()
        .enumerate()
    {
        let want = reference.run(tvec!(input.clone()), None)?;
        let want_label = argmax(&as_f32(&want.outputs[0])?);
        let label = config.labels.as_ref().map(|l| l[i]);
        reference_correct += usize::from(label == Some(want_label as i64));
        let mut want_layers = Vec::with_capacity(layers.len());
        for name in &names {
            want_layers.push(want.nodes.get(name).map(as_f32).transpose()?);
        }
        for pass in &mut passes {
            let started = Instant::now();
            let got = pass
                .runner
                .run(tvec!(input.clone()), Some(&mut pass.offload))?;
            pass.seconds += started.elapsed().as_secs_f64();
            let got_label = argmax(&as_f32(&got.outputs[0])?);
            pass.agree += usize::from(got_label == want_label);
            pass.correct += usize::from(label == Some(got_label as i64));
            for (l, name) in names.iter().enumerate() {
                if let (Some(w), Some(g)) = (&want_layers[l], got.nodes.get(name)) {
                    pass.stats[l].add(w, &as_f32(g)?);
                }
            }
            tick();
        }
    }
    let mut runs = Vec::new();
    for pass in passes {
        runs.push(finish_pass(config, &layers, pass, samples)?);
    }
    Ok(RunSummary {
        model: config.model.display().to_string(),
        inputs: samples,
        labelled: config.labels.is_some(),
        reference_accuracy: config
            .labels
            .as_ref()
            .map(|_| reference_correct as f64 / samples as f64),
        calibration: format!(
            "per-tensor min/max of each offloaded layer's input over {} calibration samples, widened to include 0, mapped to int8 with a zero point (BFP designs need none)",
            config.calibration.shape.first().copied().unwrap_or(0)
        ),
        runs,
    })
}

/// Replays, timing and the report of one design's pass.
fn finish_pass(
    config: &RunConfig,
    layers: &[Layer],
    mut pass: Pass,
    samples: usize,
) -> Result<DesignRun, RunError> {
    let design = &pass.design;
    let replay_started = Instant::now();
    let picked = pick_samples(&pass.offload.samples, config.verify_sample);
    let mut boards = Vec::new();
    let mut calibration = None;
    let mut replayed = 0;
    let mut replay_identical = 0;
    for (b, board) in config.boards.iter().enumerate() {
        let measured_here = config.backend.measures() && b == 0;
        // Each offloaded layer's roofline bound per call on this board.
        let bounds: Vec<f64> = layers
            .iter()
            .map(|l| {
                l.site
                    .as_ref()
                    .map_or(0.0, |s| roofline(design, board, s.shape()))
            })
            .collect();
        let mut replays = Vec::new();
        if !measured_here && !picked.is_empty() {
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
                replays.push(Replay {
                    layer: *layer,
                    bound: bounds[*layer],
                    cycles: cycles.unwrap_or(0) as f64,
                });
            }
            sim.close()?;
        }
        if measured_here {
            for (layer, &(sum, count)) in pass.offload.cycles.iter().enumerate() {
                if count > 0 {
                    replays.push(Replay {
                        layer,
                        bound: bounds[layer],
                        cycles: sum / count as f64,
                    });
                }
            }
        }
        let model = PerfModel::calibrate(&replays);
        if b == 0 || calibration.is_none() {
            calibration = model.calibration(replays.len()).or(calibration);
        }
        let mut total = 0.0;
        let mut per_layer = Vec::with_capacity(layers.len());
        for (l, layer) in layers.iter().enumerate() {
            let cycles = layer
                .site
                .as_ref()
                .ok()
                .and_then(|s| model.cycles(l, bounds[l]).map(|c| c * s.calls() as f64));
            total += cycles.unwrap_or(0.0);
            per_layer.push(cycles);
        }
        boards.push((board, total, per_layer));
    }
    pass.seconds += replay_started.elapsed().as_secs_f64();
    let timed = !boards.iter().all(|(_, t, _)| *t == 0.0);
    let first_board_layers = boards.first().map(|b| b.2.clone()).unwrap_or_default();
    let mut first_divergent = None;
    let mut layer_reports = Vec::new();
    for (l, layer) in layers.iter().enumerate() {
        let error = pass.stats[l].finish();
        let divergent = error.is_some_and(|e| e.sqnr_db < config.min_sqnr_db);
        if divergent && first_divergent.is_none() {
            first_divergent = Some(layer.name.clone());
        }
        layer_reports.push(LayerReport {
            name: layer.name.clone(),
            op: layer.op.clone(),
            offloaded: layer.site.is_ok(),
            reason: layer.site.as_ref().err().cloned(),
            gemm_shape: layer.site.as_ref().ok().map(|s| s.shape()),
            calls_per_inference: layer.site.as_ref().map(|s| s.calls() as f64).unwrap_or(0.0),
            macs_per_inference: layer.macs,
            error,
            cycles_per_inference: if timed {
                first_board_layers.get(l).copied().flatten()
            } else {
                None
            },
            divergent,
        });
    }
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
    let verify = if config.backend.measures() {
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
        dataset: DatasetReport {
            inputs: samples,
            agree: pass.agree,
            top1_agreement: pass.agree as f64 / samples as f64,
            label_changes: samples - pass.agree,
            accuracy: config
                .labels
                .as_ref()
                .map(|_| pass.correct as f64 / samples as f64),
        },
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
            source: if let BackendChoice::Device(_) = config.backend {
                "measured on the board".into()
            } else if config.backend == BackendChoice::Sim {
                "simulated".into()
            } else {
                "calibrated model".into()
            },
            boards: if timed {
                boards
                    .iter()
                    .map(|(board, total, _)| BoardLatency {
                        board: board.name.clone(),
                        clock_mhz: board.fabric_clock_mhz,
                        cycles_per_inference: *total,
                        latency_us: total / board.fabric_clock_mhz,
                    })
                    .collect()
            } else {
                Vec::new()
            },
            calibration,
        },
        verify,
        wall_seconds: pass.seconds,
    })
}
