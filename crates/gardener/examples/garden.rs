//! Runs `garden` without the `redis-ssot` binary, for development and benchmarks:
//! `cargo run --release -p gardener --example garden -- scan .`

use clap::Parser;

/// `garden …` as a standalone command.
#[derive(Parser)]
#[command(name = "garden")]
struct Cli {
    #[command(flatten)]
    args: gardener::cli::GardenArgs,
}

fn main() {
    std::process::exit(gardener::cli::run(Cli::parse().args));
}
