//! `redis-ssot garden …`: the gardener's command line, from the `garden-cli` crate (which also
//! builds the `redis-ssot-garden` binary of the Python wheel), so both commands are one.

pub use garden_cli::{GardenArgs, run};
