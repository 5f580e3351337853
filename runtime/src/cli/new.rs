//! `kiln new DIR`: a project of your own PEs and designs.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::output::print_json;
use super::Outcome;

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The project's folder (new, or empty); its name is the project's.
    dir: PathBuf,
    /// Print the files written as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Created {
    project: PathBuf,
    files: Vec<PathBuf>,
}

pub fn run(args: NewArgs) -> anyhow::Result<Outcome> {
    let files = kiln::new::scaffold(&args.dir)?;
    if args.json {
        print_json(&Created {
            project: args.dir.clone(),
            files,
        })?;
    } else {
        println!("created project {}:", args.dir.display());
        for f in &files {
            println!("  {}", f.display());
        }
        println!(
            "next: cd {} && kiln pe verify --pe pot3 (see its README.md)",
            args.dir.display()
        );
    }
    Ok(Outcome::Passed)
}
