//! `redis-ssot`: the one binary. Thin wiring over the library crates.
//!
//! - `serve`: the chat gateway (embedded redis-server when no URL is given).
//! - `status`: is Redis ready for a service configured like this (or: ask a running gateway).
//! - `admin`: a running gateway's operator controls (reconnect, reset the breaker).
//! - `bench`: the manager against a raw redis-rs connection and fred, same run, same sockets.
//! - `garden`: the SSOT scanner and fixer (front end in `garden.rs`, engine in crate `gardener`).

mod admin;
mod bench;
mod bench_gateway;
mod bench_peer;
mod bench_workloads;
mod embedded;
mod garden;
mod http;
mod serve;
mod status;
mod target;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc rather than glibc malloc: the gateway allocates per frame, per event and per
/// Redis reply, and under `bench gateway` glibc's malloc/free were about a third of its CPU
/// (and of the load generator's, which runs in this binary too).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "redis-ssot",
    version,
    about = "One Redis manager per process, and its tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the chat gateway (embedded redis-server when no URL is given).
    Serve(serve::ServeArgs),
    /// Is Redis ready? One-line verdict; exit 0 only if ready (embedded redis-server when no
    /// URL is given; --gateway asks a running gateway).
    Status(status::StatusArgs),
    /// A running gateway's operator controls.
    Admin(admin::AdminArgs),
    /// Benchmark the manager against a raw redis-rs connection and fred, in the same run.
    Bench(bench::BenchArgs),
    /// Find and fix code that bypasses the one manager.
    Garden(garden::GardenArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Garden(args) = cli.command {
        return exit(garden::run(args));
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    raise_fd_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(a) => serve::run(a).await,
            Command::Status(a) => status::run(a).await,
            Command::Admin(a) => admin::run(a).await,
            Command::Bench(a) => bench::run(a).await,
            Command::Garden(_) => Ok(2),
        }
    });
    match result {
        Ok(code) => exit(code),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Prints a line to stdout; a closed pipe (`| head`) ends the output quietly instead of a
/// panic.
pub(crate) fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}")
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write the output: {e}");
    }
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

/// Raises the open-file limit to its hard maximum: a gateway with a thousand sockets (and the
/// load generator that opens them) needs more than the usual soft limit of 1024.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
