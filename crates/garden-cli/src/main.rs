//! `redis-ssot-garden`: the gardener alone, as the Python wheel installs it (`pip install`
//! gives this command; `pre-commit` runs it). Same commands as `redis-ssot garden`.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc, as in `redis-ssot`: the scan allocates a syntax tree per file on every thread.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `redis-ssot-garden <command>`.
#[derive(Debug, Parser)]
#[command(
    name = "redis-ssot-garden",
    version,
    about = "Find and fix code that bypasses the one Redis manager"
)]
struct Cli {
    #[command(flatten)]
    garden: garden_cli::GardenArgs,
}

fn main() -> ExitCode {
    let code = garden_cli::run(Cli::parse().garden);
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}
