//! The gardener: finds and fixes code that bypasses the one Redis manager.

pub mod cli {
    //! Command-line entry point for `redis-ssot garden`.

    /// Arguments of `redis-ssot garden`.
    #[derive(Debug, clap::Args)]
    pub struct GardenArgs {}

    /// Runs `redis-ssot garden` and returns the process exit code.
    pub fn run(_args: GardenArgs) -> i32 {
        2
    }
}
