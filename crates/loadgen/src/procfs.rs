//! What the kernel says about the processes under load and their sockets (Linux `/proc`).
//!
//! Why from `/proc` rather than from inside the gateway: the numbers must include what the
//! gateway cannot see about itself (allocator slack, the kernel's side of each socket), and
//! they must be read the same way for the gateway, redis-server and the load generator.

use serde::{Deserialize, Serialize};

/// Clock ticks per second of `/proc/<pid>/stat` times (`sysconf(_SC_CLK_TCK)`, 100 on every
/// Linux this project runs on; the kernel's USER_HZ).
pub const CLOCK_TICKS_PER_SEC: u64 = 100;

/// Resident set size of `pid` in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time (user + system) `pid` has used, in microseconds (10 ms resolution).
pub fn cpu_us(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after its `)` are plain.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the whole line (utime, stime) are the 12th and 13th after `)`.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 1_000_000 / CLOCK_TICKS_PER_SEC)
}

/// This process's id.
pub fn own_pid() -> u32 {
    std::process::id()
}

/// The direct children of `pid` (from `/proc/<pid>/task/*/children`).
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The command name of `pid` (`/proc/<pid>/comm`).
pub fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// The kernel's socket memory at one moment: `/proc/net/sockstat` and the slab caches that
/// grow with each TCP socket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelSockets {
    /// TCP sockets in use (`TCP: inuse`), every process's.
    pub tcp_inuse: u64,
    /// Pages of socket buffers charged to TCP (`TCP: mem`).
    pub tcp_mem_pages: u64,
    /// Bytes held by the slab caches of a TCP socket (`TCP`, `sock_inode_cache`, `filp`,
    /// `eventpoll_epi`, `eventpoll_pwq`: the socket, its inode, its open file and its epoll
    /// registration), `None` when `/proc/slabinfo` is not readable (it needs root).
    pub slab_bytes: Option<u64>,
}

/// Slab caches that grow by one object per open TCP socket.
const SOCKET_SLABS: [&str; 5] = [
    "TCP",
    "sock_inode_cache",
    "filp",
    "eventpoll_epi",
    "eventpoll_pwq",
];

/// Reads [`KernelSockets`] now.
pub fn kernel_sockets() -> KernelSockets {
    let mut k = KernelSockets::default();
    if let Ok(s) = std::fs::read_to_string("/proc/net/sockstat") {
        for line in s.lines() {
            let Some(rest) = line.strip_prefix("TCP:") else {
                continue;
            };
            let words: Vec<&str> = rest.split_whitespace().collect();
            for pair in words.chunks(2) {
                if let [name, value] = pair {
                    let v = value.parse().unwrap_or(0);
                    match *name {
                        "inuse" => k.tcp_inuse = v,
                        "mem" => k.tcp_mem_pages = v,
                        _ => {}
                    }
                }
            }
        }
    }
    k.slab_bytes = std::fs::read_to_string("/proc/slabinfo")
        .ok()
        .map(|s| slab_bytes(&s, &SOCKET_SLABS));
    k
}

/// Bytes in active objects of the named caches of a `/proc/slabinfo` text.
fn slab_bytes(text: &str, names: &[&str]) -> u64 {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let name = f.next()?;
            if !names.contains(&name) {
                return None;
            }
            let active: u64 = f.next()?.parse().ok()?;
            let _num = f.next()?;
            let size: u64 = f.next()?.parse().ok()?;
            Some(active * size)
        })
        .sum()
}

/// The open-file limit (soft, hard) of this process.
pub fn fd_limit() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut f = line["Max open files".len()..].split_whitespace();
    Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slab_bytes_sums_active_objects_times_size_of_the_named_caches() {
        let text = "slabinfo - version: 2.1\n\
            # name <active_objs> <num_objs> <objsize> ...\n\
            TCP                  10     12   2368   13    8 : tunables 0 0 0\n\
            filp                100    128    256   16    1 : tunables 0 0 0\n\
            dentry             9999   9999    192   21    1 : tunables 0 0 0\n";
        assert_eq!(slab_bytes(text, &["TCP", "filp"]), 10 * 2368 + 100 * 256);
    }

    #[test]
    fn this_process_has_a_cpu_time_a_resident_size_and_a_file_limit() {
        let pid = own_pid();
        assert!(cpu_us(pid).is_some());
        assert!(rss_kib(pid).is_some_and(|kib| kib > 0));
        let (soft, hard) = fd_limit().expect("the limits file");
        assert!(soft <= hard);
    }
}
