//! The `kiln` command line. Errors exit with status 2; a check that ran and
//! found mismatches exits with status 1.

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(cli::Outcome::Passed) => {}
        Ok(cli::Outcome::Failed) => std::process::exit(1),
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::exit(2);
        }
    }
}
