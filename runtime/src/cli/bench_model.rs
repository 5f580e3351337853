//! `kiln bench model`: golden-backend inferences per second against tract.

use std::path::PathBuf;

use clap::Args;
use kiln::model::npy::read_f32;
use kiln::model::throughput::measure;
use kiln_spec::Design;

use super::super::output::print_json;
use super::super::run::bundled;
use super::super::Outcome;

#[derive(Debug, Args)]
pub struct ModelBenchArgs {
    /// The ONNX model (default: the bundled digits CNN and its test set).
    model: Option<PathBuf>,
    /// Inputs (.npy, samples along axis 0); required with a model.
    #[arg(long)]
    inputs: Option<PathBuf>,
    /// Design for the golden backend; repeat for several.
    #[arg(long = "design", default_values_t = ["gemm-pot-8x8".to_string(), "gemm-mac-dsp-8x8".to_string()])]
    designs: Vec<String>,
    /// Passes over the inputs; the fastest is reported.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    #[arg(long)]
    json: bool,
}

pub fn run(args: ModelBenchArgs) -> anyhow::Result<Outcome> {
    let (model, inputs, calibration) = match (&args.model, &args.inputs) {
        (None, None) => (
            bundled("digits-cnn.onnx"),
            bundled("test-images.npy"),
            bundled("calib-images.npy"),
        ),
        (Some(m), Some(i)) => (m.clone(), i.clone(), i.clone()),
        _ => anyhow::bail!(
            "give a model together with --inputs FILE.npy, or neither for the bundled one"
        ),
    };
    anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
    let designs = args
        .designs
        .iter()
        .map(|d| Design::by_name(d))
        .collect::<Result<Vec<_>, _>>()?;
    let t = measure(
        &model,
        &read_f32(&inputs)?,
        &read_f32(&calibration)?,
        &designs,
        args.rounds,
    )?;
    if args.json {
        print_json(&t)?;
        return Ok(Outcome::Passed);
    }
    println!(
        "kiln bench model: {} ({} inputs, best of {} passes)",
        model.display(),
        t.inputs,
        t.rounds
    );
    println!(
        "  tract f32, optimised plan:        {:>10.0} inferences/s",
        t.tract_optimised_per_second
    );
    println!(
        "  tract f32, decluttered (kiln run): {:>9.0} inferences/s",
        t.tract_decluttered_per_second
    );
    for g in &t.golden {
        println!(
            "  golden backend, {:<17} {:>9.0} inferences/s ({:.2}x tract optimised)",
            format!("{}:", g.design),
            g.per_second,
            g.vs_tract_optimised
        );
    }
    Ok(Outcome::Passed)
}
