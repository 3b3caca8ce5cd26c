//! The server's pipelined limit, measured in the same run: `redis-benchmark -P 16` (Debian's
//! redis-tools) against the same server with as many connections as the bench has tasks. It is
//! what one server does for a client that sends 16 commands per round trip and spends almost
//! nothing per command itself, so the manager's ops/s as a fraction of it says how much of the
//! server a client through the manager can use.

use std::process::Command;

use redis_ssot::{ServerAddr, Topology};

/// SET and GET ops/s of `redis-benchmark -P 16` (their mean), or why it was not measured.
pub fn pipelined_limit(topology: &Topology, clients: usize, ops: usize) -> Result<f64, String> {
    let Topology::Standalone(addr) = topology else {
        return Err("only measured against a standalone server".into());
    };
    let mut cmd = Command::new("redis-benchmark");
    match addr {
        ServerAddr::Tcp { host, port } => {
            cmd.args(["-h", host, "-p", &port.to_string()]);
        }
        ServerAddr::Unix(path) => {
            cmd.arg("-s").arg(path);
        }
    }
    let out = cmd
        .args(["-t", "set,get", "-P", "16", "-q", "-d", "16"])
        .args(["-c", &clients.clamp(1, 10_000).to_string()])
        .args(["-n", &ops.max(1000).to_string()])
        .output()
        .map_err(|e| format!("redis-benchmark did not run ({e}); it is in Debian's redis-tools"))?;
    if !out.status.success() {
        return Err(format!(
            "redis-benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let rates: Vec<f64> = ["SET", "GET"]
        .iter()
        .filter_map(|name| rate(&text, name))
        .collect();
    if rates.len() != 2 {
        return Err(format!("unexpected redis-benchmark output: {text:?}"));
    }
    Ok(rates.iter().sum::<f64>() / 2.0)
}

/// `NAME: 123.45 requests per second` in redis-benchmark's `-q` output (progress lines are
/// separated by carriage returns).
fn rate(text: &str, name: &str) -> Option<f64> {
    text.rsplit(['\r', '\n'])
        .filter_map(|line| line.trim().strip_prefix(name)?.strip_prefix(": "))
        .filter_map(|rest| rest.split_once(" requests per second"))
        .find_map(|(n, _)| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_rate_is_read_past_the_progress_lines() {
        let out = "SET: rps=0.0 (overall: 0.0) avg_msec=-nan\rSET: rps=262438.2 (overall: 261396.8)\rSET: 272108.84 requests per second, p50=2.167 msec\n\
                   GET: rps=14980.1 (overall: 250666.7)\rGET: 323101.78 requests per second, p50=1.887 msec\n";
        assert_eq!(rate(out, "SET"), Some(272108.84));
        assert_eq!(rate(out, "GET"), Some(323101.78));
        assert_eq!(rate(out, "INCR"), None);
    }
}
