//! Inferences per second of the golden backend beside tract's own f32
//! execution, on the same model and inputs, in one run (`kiln bench
//! model`): tract's optimised plan, kiln's reference (the same plan with
//! every offloaded layer's output tapped, as `kiln run` compares them), and
//! each design's golden pass, on one thread and on `jobs`.

use std::time::Instant;

use serde::Serialize;
use tract_onnx::prelude::*;

use super::dataset::DataSet;
use super::exec::Runner;
use super::graph::{layers, patch};
use super::load::load_onnx;
use super::run::{calibrate, model_inputs, GoldenRunner, RunError};
use super::system::System;

#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub inputs: usize,
    /// Passes over the inputs; the fastest counts.
    pub rounds: usize,
    /// Multiply-accumulates of one inference in the layers kiln can offload
    /// (EinSum, Conv, ConvTranspose).
    pub macs_per_inference: u64,
    /// tract's optimised plan (its packed f32 kernels), as deployed, one
    /// thread.
    pub tract_optimised_per_second: f64,
    /// kiln's f32 reference: tract's optimised plan with every offloaded
    /// layer's output kept for the comparison, one thread.
    pub reference_per_second: f64,
    /// The reference's time over tract's alone (1.0: the taps cost nothing).
    pub reference_cost: f64,
    pub golden: Vec<GoldenThroughput>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GoldenThroughput {
    pub design: String,
    /// One thread.
    pub per_second: f64,
    /// Over tract's optimised throughput (one thread each).
    pub vs_tract_optimised: f64,
    /// Inferences per second with the inputs spread over 1, 2, .. `jobs`
    /// threads (powers of two and `jobs` itself), each thread with its own
    /// executor state and golden backends.
    pub scaling: Vec<JobsRate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobsRate {
    pub jobs: usize,
    pub per_second: f64,
    /// Over the one-thread rate.
    pub speedup: f64,
}

/// Best-of-`rounds` inferences per second of `infer` over `inputs`.
fn best_rate(
    inputs: &[TValue],
    rounds: usize,
    mut infer: impl FnMut(TValue) -> Result<(), RunError>,
) -> Result<f64, RunError> {
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let started = Instant::now();
        for x in inputs {
            infer(x.clone())?;
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    Ok(inputs.len() as f64 / best)
}

/// Best-of-`rounds` inferences per second with `inputs` dealt round robin
/// to `jobs` threads, each running its own copy of `runner` (a distinct
/// tract session) and its own golden backends.
fn parallel_rate(
    runner: &Runner,
    system: &System,
    inputs: &[TValue],
    rounds: usize,
    jobs: usize,
) -> Result<f64, RunError> {
    let mut workers = (0..jobs)
        .map(|_| Ok((runner.clone(), GoldenRunner::new(system)?)))
        .collect::<Result<Vec<_>, RunError>>()?;
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let started = Instant::now();
        std::thread::scope(|scope| {
            let handles: Vec<_> = workers
                .iter_mut()
                .enumerate()
                .map(|(w, (runner, golden))| {
                    scope.spawn(move || -> Result<(), RunError> {
                        for x in inputs.iter().skip(w).step_by(jobs) {
                            runner.run(tvec!(x.clone()), Some(golden))?;
                        }
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().expect("a benchmark thread panicked"))
        })?;
        best = best.min(started.elapsed().as_secs_f64());
    }
    Ok(inputs.len() as f64 / best)
}

/// 1, 2, 4, .. below `jobs`, then `jobs`.
fn job_counts(jobs: usize) -> Vec<usize> {
    let mut counts: Vec<usize> = std::iter::successors(Some(1usize), |j| Some(j * 2))
        .take_while(|&j| j < jobs)
        .collect();
    counts.push(jobs.max(1));
    counts
}

pub fn measure(
    model_path: &std::path::Path,
    input_shapes: Option<&[Vec<usize>]>,
    data: &DataSet,
    calibration: &DataSet,
    systems: &[System],
    rounds: usize,
    jobs: usize,
) -> Result<Throughput, RunError> {
    let model = load_onnx(model_path, input_shapes)?;
    let fact = model.outlet_fact(model.input_outlets()?[0])?.clone();
    let inputs = model_inputs(data, &fact)?;
    let optimised = model.clone().into_optimized()?.into_runnable()?;
    let tract_optimised = best_rate(&inputs, rounds, |x| {
        optimised.run(tvec!(x))?;
        Ok(())
    })?;
    let found = layers(&model)?;
    let names: Vec<String> = found.iter().map(|l| l.name.clone()).collect();
    let mut reference = Runner::new(model.clone(), names)?;
    let reference_rate = best_rate(&inputs, rounds, |x| {
        reference.run(tvec!(x), None)?;
        Ok(())
    })?;
    let sets = model_inputs(calibration, &fact)?;
    let calib = calibrate(&model, &found, sets.into_iter().map(|x| tvec!(x)))?;
    let mut golden = Vec::new();
    for system in systems {
        let assignment = system.assign(&found)?;
        let (patched, _) = patch(&model, &found, system, &assignment, &calib)?;
        let mut runner = Runner::new(patched, [])?;
        let mut jobs_runner = GoldenRunner::new(system)?;
        let rate = best_rate(&inputs, rounds, |x| {
            runner.run(tvec!(x), Some(&mut jobs_runner))?;
            Ok(())
        })?;
        let mut scaling = Vec::new();
        for j in job_counts(jobs) {
            let per_second = if j == 1 {
                rate
            } else {
                parallel_rate(&runner, system, &inputs, rounds, j)?
            };
            scaling.push(JobsRate {
                jobs: j,
                per_second,
                speedup: per_second / rate,
            });
        }
        golden.push(GoldenThroughput {
            design: system.name(),
            per_second: rate,
            vs_tract_optimised: rate / tract_optimised,
            scaling,
        });
    }
    Ok(Throughput {
        inputs: inputs.len(),
        rounds,
        macs_per_inference: found.iter().map(|l| l.macs).sum(),
        tract_optimised_per_second: tract_optimised,
        reference_per_second: reference_rate,
        reference_cost: tract_optimised / reference_rate,
        golden,
    })
}
