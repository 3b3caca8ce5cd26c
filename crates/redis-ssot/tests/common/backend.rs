//! One store test, two backends: a private standalone server or the binary's shared cluster.
//!
//! [`Fixture`] hands a test a connected [`RedisManager`] and a way to look at the server
//! behind it (`redis-cli` on the node that owns a key, `--scan` on every master). The
//! [`on_both_backends!`](crate::on_both_backends) macro turns one `async fn name(fx: &Fixture)`
//! into two `#[tokio::test]`s, `name::standalone` and `name::cluster`.
//!
//! ## Why one cluster per test binary, and what that costs the tests
//! Starting a cluster takes seconds, so every cluster test of a binary shares one
//! [`RedisCluster::start(3, 0)`](testkit::RedisCluster::start), held in a `OnceLock`. Those
//! tests run at the same time in one process, so each must touch data no other test of the
//! binary touches (its own user ids, namespaces, limiter keys), must never `FLUSHALL`, and
//! cannot assume the keyspace holds only its own keys: [`Fixture::whole_keyspace`] is `None`
//! on the cluster. A standalone fixture owns its server, exactly as the tests always had.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use redis_ssot::RedisManager;
use testkit::{RedisCluster, RedisServer, key_slot};

use crate::common::{connected_manager, fast_config};

/// Which deployment a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A private `redis-server` started for this test.
    Standalone,
    /// The binary's shared three-master cluster (`redis+cluster://`).
    Cluster,
}

enum Target {
    Standalone(Box<RedisServer>),
    Cluster(&'static RedisCluster),
}

/// A connected manager and the server (or cluster) behind it.
pub struct Fixture {
    target: Target,
    m: RedisManager,
}

/// The one cluster of this test binary; started on first use (blocking, seconds).
pub fn shared_cluster() -> &'static RedisCluster {
    static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| RedisCluster::start(3, 0).expect("cluster starts"))
}

impl Fixture {
    /// Starts (standalone) or joins (cluster) the backend and connects a manager to it with
    /// [`fast_config`].
    pub async fn start(backend: Backend) -> Fixture {
        let target = match backend {
            Backend::Standalone => {
                Target::Standalone(Box::new(RedisServer::start().expect("server starts")))
            }
            Backend::Cluster => Target::Cluster(
                tokio::task::spawn_blocking(shared_cluster)
                    .await
                    .expect("cluster start did not panic"),
            ),
        };
        let url = match &target {
            Target::Standalone(server) => server.url(),
            Target::Cluster(cluster) => cluster.seed_url(),
        };
        let m = connected_manager(fast_config(&url)).await;
        Fixture { target, m }
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self.target {
            Target::Standalone(_) => Backend::Standalone,
            Target::Cluster(_) => Backend::Cluster,
        }
    }

    /// The manager under test.
    pub fn manager(&self) -> &RedisManager {
        &self.m
    }

    /// `redis-cli args…` on the node that owns the key `args[1]` (the first argument after
    /// the command name), trimmed. Panics if the command fails: inspection is not under test.
    pub fn cli(&self, args: &[&str]) -> String {
        let server = match &self.target {
            Target::Standalone(server) => server,
            Target::Cluster(cluster) => {
                let key = args.get(1).expect("a keyed command: COMMAND key ...");
                let owner = cluster
                    .master_for_slot(key_slot(key.as_bytes()))
                    .expect("a master serves the key's slot");
                cluster.node(owner)
            }
        };
        server
            .cli(args)
            .unwrap_or_else(|e| panic!("redis-cli {args:?}: {e}"))
            .trim()
            .to_string()
    }

    /// Every key matching `pattern` (`redis-cli --scan`, on the server or on every master).
    pub fn keys(&self, pattern: &str) -> BTreeSet<String> {
        let servers: Vec<&RedisServer> = match &self.target {
            Target::Standalone(server) => vec![server],
            Target::Cluster(cluster) => cluster
                .masters()
                .expect("cluster topology")
                .into_iter()
                .map(|i| cluster.node(i))
                .collect(),
        };
        servers
            .into_iter()
            .flat_map(|s| {
                s.cli(&["--scan", "--pattern", pattern])
                    .expect("SCAN")
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Every key of the deployment, when this test is its only user (standalone); `None` on
    /// the shared cluster, where other tests' keys are there too.
    pub fn whole_keyspace(&self) -> Option<BTreeSet<String>> {
        match self.target {
            Target::Standalone(_) => Some(self.keys("*")),
            Target::Cluster(_) => None,
        }
    }
}

/// For each named `async fn name(fx: &Fixture)`, defines a module `name` holding two
/// `#[tokio::test]`s, `name::standalone` and `name::cluster`, that run it against a private
/// server and against the binary's shared cluster. (A module and a function may share a name:
/// they live in different namespaces. The body stays an ordinary function, so rustfmt and
/// the compiler's diagnostics treat it like any other test.)
///
/// ```ignore
/// on_both_backends!(cache_round_trips);
/// async fn cache_round_trips(fx: &Fixture) { /* ... */ }
/// ```
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use $crate::common::backend::{Backend, Fixture};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn standalone() {
                super::$name(&Fixture::start(Backend::Standalone).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn cluster() {
                super::$name(&Fixture::start(Backend::Cluster).await).await
            }
        }
    )+};
}
