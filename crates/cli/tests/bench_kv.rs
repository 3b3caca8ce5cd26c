//! `redis-ssot bench` (the kv workload), run as a user runs it: the real binary against a real
//! server, its JSON report read back. Small rounds: this checks what the report says and that
//! every mode really ran, not how fast (the figures are in docs/BENCHMARKS.md).

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use testkit::Value as Resp;
use testkit::{RedisCluster, RedisServer, RespClient, ServerOptions};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_redis-ssot"));
    for var in ["REDIS_URL", "REDIS_PASSWORD", "REDIS_USERNAME"] {
        c.env_remove(var);
    }
    c.env("RUST_LOG", "off");
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().expect("the binary runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

/// 4 tasks × 3 rounds of 802 operations per mode (`ops ÷ clients` rounded up: 201 per task,
/// so a round runs 804): each task SETs and GETs each of its 100 keys at least once.
const ARGS: [&str; 7] = ["bench", "--clients", "4", "--ops", "802", "--rounds", "3"];

#[test]
fn the_report_has_every_mode_and_counts_the_coalesced_commands_of_the_manager_only() {
    let server = RedisServer::start_with(ServerOptions::new().requirepass("bench-pass-7")).unwrap();
    let url = server.url_with_password();
    let (code, out, err) = run(bin().args(ARGS).args(["--json", "--redis-url", &url]));
    assert_eq!(code, 0, "{out}\n{err}");
    let r: Value = serde_json::from_str(&out).expect("one JSON object");
    assert!(!out.contains("bench-pass-7") && !err.contains("bench-pass-7"));
    for mode in ["raw", "manager", "fred"] {
        let ops = r[mode]["ops_per_sec"].as_f64().unwrap_or(0.0);
        assert!(ops > 0.0, "{mode} ran no operations: {out}");
        let cpu = r[mode]["cpu_us_per_op"].as_f64().unwrap_or(0.0);
        assert!(cpu > 0.0, "{mode}'s CPU was not measured: {out}");
    }
    assert_eq!(r["round_ratios"].as_array().map(Vec::len), Some(3), "{out}");
    // Three rounds are too few for a 95% interval of the median (six are the fewest).
    assert!(r.get("ratio_interval").is_none(), "{out}");
    assert!(r["fred_ratio"].as_f64().is_some_and(|x| x > 0.0), "{out}");
    assert!(r.get("fred_missing").is_none(), "{out}");
    // Only the manager's rounds count: raw redis-rs and fred go nowhere near the coalescer.
    let coalesced = r["coalesced_commands"].as_u64().expect("a count");
    assert!(
        coalesced <= 3 * 804,
        "{coalesced} > the manager's 2,412 commands"
    );
    // The server was the one asked: every mode's keys are there.
    let mut conn = RespClient::connect(server.addr().unwrap(), Duration::from_secs(5)).unwrap();
    conn.command_ok(&["AUTH", "bench-pass-7"]).unwrap();
    let keys = conn.command(&["DBSIZE"]).unwrap();
    assert_eq!(
        keys,
        Resp::Int(400),
        "4 tasks × 100 keys each, shared by the modes"
    );
    let value = conn.command(&["GET", "bench:3:99"]).unwrap();
    assert_eq!(
        value,
        Resp::Bulk(b"0000000300000063".to_vec()),
        "task 3's key 99 holds its own value"
    );
}

#[test]
fn fred_is_left_out_of_a_cluster_and_says_why() {
    let cluster = RedisCluster::start(3, 0).unwrap();
    cluster.wait_ok(Duration::from_secs(30)).unwrap();
    let url = cluster.seed_url();
    let (code, out, err) = run(bin().args(ARGS).args(["--json", "--redis-url", &url]));
    assert_eq!(code, 0, "{out}\n{err}");
    let r: Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(
        r["fred_missing"], "fred is only run against one server on TCP",
        "{out}"
    );
    assert!(
        r.get("fred").is_none() && r.get("fred_ratio").is_none(),
        "{out}"
    );
    assert!(
        r["manager"]["ops_per_sec"].as_f64().unwrap_or(0.0) > 0.0,
        "{out}"
    );
    // The standalone run beside the cluster's has fred again.
    let alone = &r["standalone"];
    assert!(
        alone["fred"]["ops_per_sec"].as_f64().unwrap_or(0.0) > 0.0,
        "{out}"
    );
}

#[test]
fn bad_bench_arguments_are_refused_in_plain_words() {
    let server = RedisServer::start().unwrap();
    let (code, out, err) =
        run(bin()
            .args(ARGS)
            .args(["--redis-url", &server.url(), "--only", "nope"]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert_eq!(
        err,
        "error: --only takes raw, manager or fred, not \"nope\""
    );
    let (code, out, err) = run(bin().args(["bench", "--clients", "0"]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert_eq!(
        err,
        "error: --clients, --ops and --rounds must be at least 1"
    );
}
