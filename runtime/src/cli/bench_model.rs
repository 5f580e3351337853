//! `kiln bench model`: golden-backend inferences per second against tract.

use clap::Args;
use kiln::model::throughput::measure;

use super::super::model_args::{systems_of, ModelArgs};
use super::super::output::print_json;
use super::super::Outcome;

#[derive(Debug, Args)]
pub struct ModelBenchArgs {
    #[command(flatten)]
    data: ModelArgs,
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
    anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
    let data = args.data.load()?;
    let systems = systems_of(&args.designs)?;
    let t = measure(
        &data.model,
        data.input_shapes.as_deref(),
        &data.inputs,
        &data.calibration,
        &systems,
        args.rounds,
    )?;
    if args.json {
        print_json(&t)?;
        return Ok(Outcome::Passed);
    }
    let model = data.model;
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
