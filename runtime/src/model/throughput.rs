//! Inferences per second of the golden backend beside tract's own f32
//! execution, on the same model and inputs (`kiln bench model`).

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
    /// tract's optimised plan (its packed f32 kernels), as deployed.
    pub tract_optimised_per_second: f64,
    /// tract's decluttered model through kiln's executor (the reference of
    /// `kiln run`).
    pub tract_decluttered_per_second: f64,
    pub golden: Vec<GoldenThroughput>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GoldenThroughput {
    pub design: String,
    pub per_second: f64,
    /// Over tract's optimised throughput.
    pub vs_tract_optimised: f64,
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

pub fn measure(
    model_path: &std::path::Path,
    input_shapes: Option<&[Vec<usize>]>,
    data: &DataSet,
    calibration: &DataSet,
    systems: &[System],
    rounds: usize,
) -> Result<Throughput, RunError> {
    let model = load_onnx(model_path, input_shapes)?;
    let fact = model.outlet_fact(model.input_outlets()?[0])?.clone();
    let inputs = model_inputs(data, &fact)?;
    let optimised = model.clone().into_optimized()?.into_runnable()?;
    let tract_optimised = best_rate(&inputs, rounds, |x| {
        optimised.run(tvec!(x))?;
        Ok(())
    })?;
    let mut reference = Runner::new(model.clone(), [])?;
    let tract_decluttered = best_rate(&inputs, rounds, |x| {
        reference.run(tvec!(x), None)?;
        Ok(())
    })?;
    let found = layers(&model)?;
    let sets = model_inputs(calibration, &fact)?;
    let calib = calibrate(&model, &found, sets.into_iter().map(|x| tvec!(x)))?;
    let mut golden = Vec::new();
    for system in systems {
        // tract optimises the ops it keeps around the offloaded ones, as it
        // does for its own run.
        let assignment = system.assign(&found)?;
        let (patched, _) = patch(&model, &found, system, &assignment, &calib)?;
        let mut runner = Runner::new(patched.into_optimized()?, [])?;
        let mut jobs = GoldenRunner::new(system)?;
        let rate = best_rate(&inputs, rounds, |x| {
            runner.run(tvec!(x), Some(&mut jobs))?;
            Ok(())
        })?;
        golden.push(GoldenThroughput {
            design: system.name(),
            per_second: rate,
            vs_tract_optimised: rate / tract_optimised,
        });
    }
    Ok(Throughput {
        inputs: inputs.len(),
        rounds,
        tract_optimised_per_second: tract_optimised,
        tract_decluttered_per_second: tract_decluttered,
        golden,
    })
}
