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
    // The golden rate is measured on one thread, then at 1, 2, 4, .. up
    // to --jobs threads.
    let jobs = kiln::parallel::jobs();
    let data = args.data.load()?;
    let systems = systems_of(&args.designs)?;
    let t = measure(
        &data.model,
        data.input_shapes.as_deref(),
        &data.inputs,
        &data.calibration,
        &systems,
        args.rounds,
        jobs,
    )?;
    if args.json {
        print_json(&t)?;
        return Ok(Outcome::Passed);
    }
    let model = data.model;
    println!(
        "kiln bench model: {} ({} inputs, {:.1} M MACs each, best of {} passes, one thread unless said)",
        model.display(),
        t.inputs,
        t.macs_per_inference as f64 / 1e6,
        t.rounds
    );
    println!(
        "  tract f32, optimised plan:          {:>9.1} inferences/s",
        t.tract_optimised_per_second
    );
    println!(
        "  kiln reference (same plan, tapped): {:>9.1} inferences/s (costs {:.2}x tract)",
        t.reference_per_second, t.reference_cost
    );
    for g in &t.golden {
        println!(
            "  golden backend, {:<19} {:>9.1} inferences/s ({:.2}x tract optimised)",
            format!("{}:", g.design),
            g.per_second,
            g.vs_tract_optimised
        );
        for s in g.scaling.iter().filter(|s| s.jobs > 1) {
            println!(
                "    with {} jobs: {:>9.1} inferences/s ({:.2}x one job)",
                s.jobs, s.per_second, s.speedup
            );
        }
    }
    Ok(Outcome::Passed)
}
