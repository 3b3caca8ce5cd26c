//! `redis-ssot bench`: the manager against a plain redis-rs connection, in the same run, and
//! against fred (the other Rust client) when the target is one server on TCP.
//!
//! Every mode sends the same SET/GET mix of 16-byte values from N concurrent tasks over one
//! connection with the same socket options (TCP_NODELAY off: the default of redis-rs and of
//! fred), and rounds rotate the mode order so drift (thermal, other load) hits all alike. The
//! figure that matters is the ratio manager/raw: what the choke point costs, or saves.
//!
//! This module is the one place outside the manager crate allowed to open a raw redis-rs or
//! fred connection (see `ssot.toml`): they are the baselines.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use redis_ssot::{Config, Conn, RedisManager, ServerAddr, Topology};
use serde::Serialize;

use crate::embedded::Listen;
use crate::target::RedisTarget;

const KEYS_PER_TASK: usize = 100;

/// Arguments of `redis-ssot bench`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    /// Load a chat gateway instead (`redis-ssot bench gateway --help`).
    #[command(subcommand)]
    pub target: Option<BenchTarget>,
    /// What to run: kv (manager against raw redis-rs) or a store workload.
    #[arg(long, value_enum, default_value = "kv")]
    pub workload: crate::bench_workloads::Workload,
    /// Redis URL (default: $REDIS_URL, else an embedded redis-server on loopback TCP).
    #[arg(long)]
    pub redis_url: Option<String>,
    /// Concurrent tasks.
    #[arg(long, default_value_t = 50)]
    pub clients: usize,
    /// Operations per mode per round.
    #[arg(long, default_value_t = 200_000)]
    pub ops: usize,
    /// Measured rounds per mode (the median round is reported).
    #[arg(long, default_value_t = 11)]
    pub rounds: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Give the raw connection no response timeout (redis-rs's default is a 500 ms timer per
    /// request), for reference: raw redis-rs with no deadline at all, against the manager,
    /// which always has one. Standalone targets only.
    #[arg(long)]
    pub raw_no_timeout: bool,
    /// Install the Prometheus recorder first (as `serve` does), so the manager's per-command
    /// duration histogram is really recorded; without it the `metrics` facade drops it.
    #[arg(long)]
    pub metrics: bool,
    /// Run only one mode (for profilers: instruction counts of one mode alone).
    #[arg(long, hide = true)]
    pub only: Option<String>,
}

/// Subcommands of `bench`.
#[derive(Debug, clap::Subcommand)]
pub enum BenchTarget {
    /// Open many WebSockets against a gateway and measure message → reply latency.
    Gateway(crate::bench_gateway::GatewayBenchArgs),
}

/// One mode's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ModeReport {
    /// Throughput of the median round.
    pub ops_per_sec: f64,
    /// Latency percentiles over all measured rounds, in microseconds.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// This process's CPU time (user + system, all threads) per operation, median over
    /// rounds, in microseconds: the client's cost, which is what limits throughput here.
    pub cpu_us_per_op: f64,
}

/// The whole report (`--json`).
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// Concurrent tasks.
    pub clients: usize,
    /// Operations per mode per round.
    pub ops: usize,
    /// Measured rounds per mode.
    pub rounds: usize,
    /// Through the manager's choke point.
    pub manager: ModeReport,
    /// A plain redis-rs multiplexed connection.
    pub raw: ModeReport,
    /// fred 10.1 with its defaults (one connection, commands pipelined, no command timeout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fred: Option<ModeReport>,
    /// The median over rounds of manager ops/s ÷ fred ops/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fred_ratio: Option<f64>,
    /// Why fred was not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fred_missing: Option<String>,
    /// The median over rounds of (manager ops/s ÷ raw ops/s) of the two back-to-back runs of
    /// one round: on a shared machine, drift between rounds moves both runs of a round alike,
    /// so this is steadier than the ratio of the two medians.
    pub ratio: f64,
    /// Median manager ops/s ÷ median raw ops/s.
    pub ratio_of_medians: f64,
    /// Every round's ratio, in round order.
    pub round_ratios: Vec<f64>,
    /// A distribution-free interval for `ratio` (two order statistics of `round_ratios`) and
    /// how sure it is; absent with too few rounds for 95%. A target outside it is shown met or
    /// missed; inside it, this run cannot tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_interval: Option<MedianInterval>,
    /// raw CPU per op ÷ manager CPU per op (median of per-round ratios): the same question
    /// as `ratio`, asked of the client's CPU time instead of the wall clock, so much less
    /// sensitive to what else the machine is doing.
    pub cpu_ratio: f64,
    /// `redis-benchmark -P 16` against the same server in the same run (mean of its SET and
    /// GET ops/s), when it could be measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipelined_limit: Option<f64>,
    /// Why the pipelined limit was not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipelined_limit_missing: Option<String>,
    /// Commands the manager sent coalesced into pipelines, and the mean pipeline length
    /// (measured rounds only).
    pub coalesced_commands: u64,
    /// Mean commands per coalesced pipeline.
    pub mean_batch: f64,
    /// Socket options used by both modes.
    pub socket: String,
    /// The raw connection's per-request deadline (the manager's is `command_timeout`, 1 s by
    /// default, on every command).
    pub raw_response_timeout: String,
    /// Where Redis was (credentials redacted).
    pub target: String,
    /// For a cluster target: the same benchmark on an embedded standalone server, in the same
    /// run, so the cluster's cost can be read off beside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standalone: Option<Box<BenchReport>>,
}

/// An interval that holds the median of what the rounds sample with probability `confidence`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MedianInterval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// The probability that it covers the median, from the binomial distribution (≥ 0.95).
    pub confidence: f64,
}

#[derive(Clone)]
enum Mode {
    Manager(RedisManager),
    /// A plain redis-rs connection: multiplexed for one server, cluster-async for a cluster.
    Raw(Conn),
    /// A fred client (one connection to one server).
    Fred(fred::clients::Client),
}

/// A fred client of the standalone TCP server at `url`, with fred's defaults, connected.
async fn fred_client(url: &str, topology: &Topology) -> Result<fred::clients::Client, String> {
    use fred::interfaces::ClientLike;
    if !matches!(topology, Topology::Standalone(ServerAddr::Tcp { .. })) {
        return Err("fred is only run against one server on TCP".into());
    }
    let config = fred::types::config::Config::from_url(url)
        .map_err(|e| format!("fred cannot reach this target: {e}"))?;
    let client = fred::types::Builder::from_config(config)
        .build()
        .map_err(|e| format!("fred: {e}"))?;
    client
        .init()
        .await
        .map_err(|e| format!("fred did not connect: {e}"))?;
    Ok(client)
}

/// Runs the benchmark and prints the report.
pub async fn run(args: BenchArgs) -> Result<i32, String> {
    if let Some(BenchTarget::Gateway(g)) = args.target {
        return crate::bench_gateway::run(g).await;
    }
    if args.clients == 0 || args.ops == 0 || args.rounds == 0 {
        return Err("--clients, --ops and --rounds must be at least 1".into());
    }
    let _upkeep = args.metrics.then(|| {
        let handle =
            gateway::metrics::prometheus().ok_or("another metrics recorder is installed")?;
        Ok::<_, String>(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                handle.run_upkeep();
            }
        }))
    });
    let target = RedisTarget::resolve(args.redis_url.clone(), Listen::Tcp, None)?;
    let config = target.config()?;
    let manager = RedisManager::connect(config).map_err(|e| e.to_string())?;
    manager
        .wait_ready(Duration::from_secs(10))
        .await
        .map_err(|e| e.to_string())?;
    if args.workload != crate::bench_workloads::Workload::Kv {
        let report =
            crate::bench_workloads::run(manager.clone(), args.workload, args.clients, args.ops)
                .await?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string(&report).map_err(|e| e.to_string())?
            );
        } else {
            println!(
                "{:?}: {:.0} ops/s  p50 {} µs  p99 {} µs  (manager SET/GET in the same run: {:.0} ops/s; {} clients, {} ops)",
                report.workload,
                report.ops_per_sec,
                report.p50_us,
                report.p99_us,
                report.baseline_kv_ops_per_sec,
                report.clients,
                report.ops
            );
        }
        manager.shutdown(Duration::from_secs(1)).await;
        return Ok(0);
    }
    let only = args.only.as_deref();
    let Some(mut report) = bench_kv(&target, manager, &args, only).await? else {
        return Ok(0);
    };
    if matches!(Config::from_url(target.url()), Ok(c) if matches!(c.topology, Topology::Cluster(_)))
    {
        // The standalone figure beside the cluster's, in the same run.
        let local = RedisTarget::resolve(None, Listen::Tcp, None)?;
        let config = local.config()?;
        let manager = RedisManager::connect(config).map_err(|e| e.to_string())?;
        manager
            .wait_ready(Duration::from_secs(10))
            .await
            .map_err(|e| e.to_string())?;
        report.standalone = bench_kv(&local, manager, &args, None).await?.map(Box::new);
    }
    print_report(&report, args.json)?;
    Ok(0)
}

/// A raw redis-rs connection to `url`, with redis-rs defaults, as a user of the plain library
/// would have it (or, with `no_timeout`, without the default 500 ms response timer).
async fn raw_connection(url: &str, no_timeout: bool) -> Result<Conn, String> {
    let config = Config::from_url(url).map_err(|e| e.to_string())?;
    match &config.topology {
        Topology::Cluster(_) if no_timeout => {
            Err("--raw-no-timeout is for standalone targets".into())
        }
        Topology::Cluster(nodes) => {
            let urls: Vec<String> = nodes
                .iter()
                .map(|n| match n {
                    ServerAddr::Tcp { host, port } => Ok(format!("redis://{host}:{port}")),
                    ServerAddr::Unix(_) => Err("cluster nodes are TCP addresses".to_string()),
                })
                .collect::<Result<_, _>>()?;
            let client = redis::cluster::ClusterClient::new(urls).map_err(|e| e.to_string())?;
            let conn = client
                .get_async_connection()
                .await
                .map_err(|e| e.to_string())?;
            Ok(Conn::Cluster(conn))
        }
        _ => {
            let client = redis::Client::open(url).map_err(|e| e.to_string())?;
            let conn = if no_timeout {
                let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
                client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
            } else {
                client.get_multiplexed_async_connection().await
            };
            Ok(Conn::Single(conn.map_err(|e| e.to_string())?))
        }
    }
}

/// The kv benchmark (raw against manager) on one target. `None` when `only` ran one mode.
async fn bench_kv(
    target: &RedisTarget,
    manager: RedisManager,
    args: &BenchArgs,
    only: Option<&str>,
) -> Result<Option<BenchReport>, String> {
    let redacted = manager.config().redacted_url();
    let raw = raw_connection(target.url(), args.raw_no_timeout).await?;
    let fred = fred_client(target.url(), &manager.config().topology).await;
    let mut modes = vec![Mode::Raw(raw), Mode::Manager(manager.clone())];
    let fred_missing = match fred {
        Ok(client) => {
            modes.push(Mode::Fred(client));
            None
        }
        Err(why) => Some(why),
    };
    if let Some(only) = only {
        let mode = match only {
            "raw" => &modes[0],
            "manager" => &modes[1],
            "fred" => modes
                .get(2)
                .ok_or_else(|| fred_missing.clone().unwrap_or_default())?,
            other => return Err(format!("--only takes raw, manager or fred, not {other:?}")),
        };
        let (rate, hist, cpu) = run_round(mode, args.clients, args.ops).await?;
        println!(
            "{only}: {rate:.0} ops/s p50 {} µs, {cpu:.3} µs CPU/op",
            hist.value_at_quantile(0.5)
        );
        return Ok(None);
    }

    // Warm-up: connections, allocator, script caches.
    for m in &modes {
        run_round(m, args.clients, (args.ops / 10).max(args.clients)).await?;
    }
    let n = modes.len();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut cpus: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut hists = (0..n).map(|_| new_hist()).collect::<Result<Vec<_>, _>>()?;
    let before = manager.status();
    for round in 0..args.rounds {
        // Each mode goes first, second, … in turn: raw, manager, fred, then manager, fred,
        // raw, … (with two modes: raw first, then manager first).
        for k in 0..n {
            let i = (round + k) % n;
            let (rate, hist, cpu) = run_round(&modes[i], args.clients, args.ops).await?;
            rates[i].push(rate);
            cpus[i].push(cpu);
            hists[i].add(&hist).map_err(|e| e.to_string())?;
        }
    }
    let report_of = |i: usize| ModeReport {
        ops_per_sec: median(&rates[i]),
        p50_us: hists[i].value_at_quantile(0.50),
        p99_us: hists[i].value_at_quantile(0.99),
        p999_us: hists[i].value_at_quantile(0.999),
        cpu_us_per_op: median(&cpus[i]),
    };
    let (raw_r, mgr_r) = (report_of(0), report_of(1));
    let fred_r = (n > 2).then(|| report_of(2));
    let fred_ratio = (n > 2).then(|| median(&per_round(&rates[1], &rates[2])));
    let round_ratios = per_round(&rates[1], &rates[0]);
    let cpu_ratios = per_round(&cpus[0], &cpus[1]);
    let after = manager.status();
    let limit =
        crate::bench_peer::pipelined_limit(&manager.config().topology, args.clients, args.ops);
    let batches = after.coalesced_batches - before.coalesced_batches;
    let coalesced_commands = after.coalesced_commands - before.coalesced_commands;
    manager.shutdown(Duration::from_secs(1)).await;
    if let Some(Mode::Fred(client)) = modes.get(2) {
        use fred::interfaces::ClientLike;
        let _ = client.quit().await;
    }
    Ok(Some(BenchReport {
        clients: args.clients,
        ops: args.ops,
        rounds: args.rounds,
        ratio: median(&round_ratios),
        ratio_interval: median_interval(&round_ratios),
        ratio_of_medians: mgr_r.ops_per_sec / raw_r.ops_per_sec,
        round_ratios,
        cpu_ratio: median(&cpu_ratios),
        manager: mgr_r,
        raw: raw_r,
        fred: fred_r,
        fred_ratio,
        fred_missing,
        coalesced_commands,
        mean_batch: coalesced_commands as f64 / batches.max(1) as f64,
        pipelined_limit: limit.as_ref().ok().copied(),
        pipelined_limit_missing: limit.err(),
        socket: "TCP_NODELAY off, keepalive off (redis-rs and fred defaults), one multiplexed \
                 connection (per node on a cluster), every mode"
            .into(),
        raw_response_timeout: if args.raw_no_timeout {
            "none".into()
        } else {
            "500 ms (redis-rs default)".into()
        },
        target: redacted,
        standalone: None,
    }))
}

fn print_report(r: &BenchReport, json: bool) -> Result<(), String> {
    if json {
        println!("{}", serde_json::to_string(r).map_err(|e| e.to_string())?);
        return Ok(());
    }
    println!(
        "target: {}  clients: {}  ops/round: {}  rounds: {}",
        r.target, r.clients, r.ops, r.rounds
    );
    println!("socket: {}", r.socket);
    println!("raw response timeout: {}", r.raw_response_timeout);
    println!(
        "{:<8} {:>12} {:>8} {:>8} {:>8} {:>10}",
        "mode", "ops/s", "p50 µs", "p99 µs", "p999 µs", "CPU µs/op"
    );
    let rows = [
        ("raw", Some(&r.raw)),
        ("manager", Some(&r.manager)),
        ("fred", r.fred.as_ref()),
    ];
    for (name, m) in rows.into_iter().filter_map(|(n, m)| Some((n, m?))) {
        println!(
            "{:<8} {:>12.0} {:>8} {:>8} {:>8} {:>10.3}",
            name, m.ops_per_sec, m.p50_us, m.p99_us, m.p999_us, m.cpu_us_per_op
        );
    }
    let rounds: Vec<String> = r.round_ratios.iter().map(|x| format!("{x:.3}")).collect();
    println!(
        "ratio manager/raw: {:.3} (median of per-round ratios [{}]; ratio of medians {:.3})",
        r.ratio,
        rounds.join(" "),
        r.ratio_of_medians
    );
    match r.ratio_interval {
        Some(i) => println!(
            "  {:.0}% interval of that median: {:.3} to {:.3} (a target inside it is neither met nor missed by this run)",
            100.0 * i.confidence,
            i.low,
            i.high
        ),
        None => println!("  too few rounds for a 95% interval of that median (6 or more give one)"),
    }
    println!(
        "client CPU per op, raw/manager: {:.3} (median of per-round ratios)",
        r.cpu_ratio
    );
    match (r.fred_ratio, &r.fred_missing) {
        (Some(ratio), _) => println!(
            "ratio manager/fred: {ratio:.3} (median of per-round ratios; fred 10.1 defaults: no command timeout)"
        ),
        (None, Some(why)) => println!("fred: not run ({why})"),
        (None, None) => {}
    }
    match (r.pipelined_limit, &r.pipelined_limit_missing) {
        (Some(limit), _) => println!(
            "server's pipelined limit (redis-benchmark -P 16, same run): {limit:.0} ops/s; manager at {:.1}% of it, raw at {:.1}%",
            100.0 * r.manager.ops_per_sec / limit,
            100.0 * r.raw.ops_per_sec / limit
        ),
        (None, Some(why)) => println!("server's pipelined limit: not measured ({why})"),
        (None, None) => {}
    }
    // Each task runs ops ÷ clients rounded up, so a round runs a few more than --ops.
    let total = (r.ops.div_ceil(r.clients) * r.clients * r.rounds) as f64;
    println!(
        "manager coalescing: {:.1}% of commands went out in pipelines of {:.1} on average",
        100.0 * r.coalesced_commands as f64 / total.max(1.0),
        r.mean_batch
    );
    if let Some(alone) = &r.standalone {
        println!();
        println!("beside it, the same run on an embedded standalone server:");
        print_report(alone, false)?;
        println!(
            "cluster/standalone, manager ops/s: {:.3}",
            r.manager.ops_per_sec / alone.manager.ops_per_sec
        );
    }
    Ok(())
}

fn new_hist() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())
}

/// Round by round, `num ÷ den` (two modes' figures of the same rounds).
fn per_round(num: &[f64], den: &[f64]) -> Vec<f64> {
    num.iter().zip(den).map(|(a, b)| a / b).collect()
}

/// The narrowest interval between two order statistics of `v`, `k`-th from each end, that
/// covers the median of the distribution `v` was drawn from with probability ≥ 0.95: it
/// misses only if at least `n - k + 1` draws fall on one side, `2 · P(Bin(n, ½) < k)`.
fn median_interval(v: &[f64]) -> Option<MedianInterval> {
    let n = v.len();
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    // P(Bin(n, ½) ≤ j) for j = 0, 1, …, accumulated in f64 (n is a few dozen at most).
    let total = 2f64.powi(n as i32);
    let mut below = 0.0; // P(Bin(n, ½) < k)
    let mut choose = 1.0; // C(n, k - 1)
    let mut best = None;
    for k in 1..=n / 2 {
        below += choose / total;
        choose = choose * (n - k + 1) as f64 / k as f64;
        let confidence = 1.0 - 2.0 * below;
        if confidence < 0.95 {
            break;
        }
        best = Some(MedianInterval {
            low: s[k - 1],
            high: s[n - k],
            confidence,
        });
    }
    best
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

/// This process's CPU time so far (user + system, every thread).
fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct we hand it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// One round of one mode: `ops` operations spread over `clients` tasks. Returns ops/s, the
/// latency histogram and the process's CPU microseconds per op.
async fn run_round(
    mode: &Mode,
    clients: usize,
    ops: usize,
) -> Result<(f64, Histogram<u64>, f64), String> {
    let per_task = ops.div_ceil(clients);
    let cpu_before = process_cpu();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for t in 0..clients {
        let mode = mode.clone();
        tasks.push(tokio::spawn(async move { task(mode, t, per_task).await }));
    }
    let mut hist = new_hist()?;
    let mut done = 0usize;
    for t in tasks {
        let (h, n) = t.await.map_err(|e| e.to_string())??;
        hist.add(&h).map_err(|e| e.to_string())?;
        done += n;
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = (process_cpu() - cpu_before).as_secs_f64() * 1e6 / done.max(1) as f64;
    Ok((done as f64 / secs, hist, cpu))
}

/// One task's operations: SET then GET of the same key, over its own 100 keys in turn, each
/// key with a value of its own. Every GET must return what its SET wrote, so a reply that
/// reached the wrong caller fails the bench instead of passing unseen.
async fn task(mode: Mode, t: usize, n: usize) -> Result<(Histogram<u64>, usize), String> {
    let keys: Vec<(String, [u8; 16])> = (0..KEYS_PER_TASK)
        .map(|k| {
            let mut value = [0u8; 16];
            value.copy_from_slice(format!("{t:08x}{k:08x}").as_bytes());
            (format!("bench:{t}:{k}"), value)
        })
        .collect();
    // Operation i: a SET when i is even, then the GET of that key.
    let op = |i: usize| (i.is_multiple_of(2), &keys[(i / 2) % KEYS_PER_TASK]);
    let mut hist = new_hist()?;
    match mode {
        Mode::Manager(m) => {
            for i in 0..n {
                let (set, (key, value)) = op(i);
                let start = Instant::now();
                if set {
                    m.set(key, value.as_slice())
                        .await
                        .map_err(|e| e.to_string())?;
                } else {
                    let got: Option<Vec<u8>> = m.get(key).await.map_err(|e| e.to_string())?;
                    check(key, got, value)?;
                }
                record(&mut hist, start);
            }
        }
        Mode::Raw(mut c) => {
            // `Conn` is redis-rs's own connection types behind one enum; nothing of the
            // manager runs here.
            for i in 0..n {
                let (set, (key, value)) = op(i);
                let start = Instant::now();
                if set {
                    let () = redis::cmd("SET")
                        .arg(key)
                        .arg(value.as_slice())
                        .query_async(&mut c)
                        .await
                        .map_err(|e| e.to_string())?;
                } else {
                    let got: Option<Vec<u8>> = redis::cmd("GET")
                        .arg(key)
                        .query_async(&mut c)
                        .await
                        .map_err(|e| e.to_string())?;
                    check(key, got, value)?;
                }
                record(&mut hist, start);
            }
        }
        Mode::Fred(c) => {
            use fred::interfaces::KeysInterface;
            for i in 0..n {
                let (set, (key, value)) = op(i);
                let start = Instant::now();
                if set {
                    let () = c
                        .set(key.as_str(), value.as_slice(), None, None, false)
                        .await
                        .map_err(|e| e.to_string())?;
                } else {
                    let got: Option<Vec<u8>> =
                        c.get(key.as_str()).await.map_err(|e| e.to_string())?;
                    check(key, got, value)?;
                }
                record(&mut hist, start);
            }
        }
    }
    Ok((hist, n))
}

/// A GET's reply against the value its SET wrote just before.
fn check(key: &str, got: Option<Vec<u8>>, want: &[u8; 16]) -> Result<(), String> {
    match got {
        Some(v) if v == want => Ok(()),
        other => Err(format!(
            "GET {key} returned {:?}, not the {:?} its SET wrote",
            other.as_deref().map(String::from_utf8_lossy),
            String::from_utf8_lossy(want)
        )),
    }
}

fn record(hist: &mut Histogram<u64>, start: Instant) {
    let us = start.elapsed().as_micros().max(1) as u64;
    hist.saturating_record(us);
}

#[cfg(test)]
mod tests {
    use super::{MedianInterval, check, median_interval};

    #[test]
    fn the_median_interval_is_two_order_statistics_with_their_binomial_coverage() {
        // 11 rounds: the 2nd and 10th smallest cover the median with 1 - 2·12/2048.
        let rounds = [1.2, 0.9, 1.1, 1.0, 0.8, 1.3, 0.95, 1.05, 1.15, 0.85, 1.25];
        assert_eq!(
            median_interval(&rounds),
            Some(MedianInterval {
                low: 0.85,
                high: 1.25,
                confidence: 1.0 - 24.0 / 2048.0
            })
        );
        // 6 rounds: only the extremes, 1 - 2/64; 5 rounds cannot reach 95%.
        let six = [3.0, 1.0, 2.0, 6.0, 5.0, 4.0];
        assert_eq!(
            median_interval(&six),
            Some(MedianInterval {
                low: 1.0,
                high: 6.0,
                confidence: 1.0 - 2.0 / 64.0
            })
        );
        assert_eq!(median_interval(&six[..5]), None);
        assert_eq!(median_interval(&[]), None);
        // 20 rounds: the 6th from each end (P(Bin(20, ½) ≤ 5) = 21,700 / 2^20).
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        let i = median_interval(&twenty).expect("20 rounds give an interval");
        assert_eq!((i.low, i.high), (6.0, 15.0));
        assert!((i.confidence - (1.0 - 2.0 * 21_700.0 / 1_048_576.0)).abs() < 1e-12);
    }

    #[test]
    fn a_get_that_returns_another_value_or_nothing_fails_the_bench() {
        let want = b"0000000100000002";
        assert_eq!(check("bench:1:2", Some(want.to_vec()), want), Ok(()));
        assert_eq!(
            check("bench:1:2", Some(b"0000000100000003".to_vec()), want),
            Err(
                "GET bench:1:2 returned Some(\"0000000100000003\"), not the \"0000000100000002\" its SET wrote"
                    .to_string()
            )
        );
        assert_eq!(
            check("bench:1:2", None, want),
            Err(
                "GET bench:1:2 returned None, not the \"0000000100000002\" its SET wrote"
                    .to_string()
            )
        );
    }
}
