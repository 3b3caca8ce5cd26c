use super::*;

fn field_of(err: Error) -> String {
    match err {
        Error::Config { field, .. } => field,
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn plain_url_gets_the_documented_defaults() {
    let c = Config::from_url("redis://127.0.0.1:6380/2").unwrap();
    assert_eq!(
        c.topology,
        Topology::Standalone(ServerAddr::Tcp {
            host: "127.0.0.1".into(),
            port: 6380
        })
    );
    assert_eq!(c.db, 2);
    assert_eq!(c.command_timeout, Duration::from_secs(1));
    assert_eq!(c.backoff_base, Duration::from_millis(50));
    assert_eq!(c.backoff_cap, Duration::from_secs(2));
    assert_eq!(c.breaker_failure_threshold, 5);
    assert_eq!(c.breaker_cooldown, Duration::from_secs(2));
    assert_eq!(c.breaker_success_threshold, 2);
    assert_eq!(c.max_in_flight, 10_000);
    assert_eq!(c.health_interval, Duration::from_secs(1));
    assert_eq!(c.health_timeout, Duration::from_millis(500));
    assert!(c.tls.is_none());
}

#[test]
fn password_never_shows_in_debug_display_or_redacted_url() {
    let c = Config::from_url("redis://alice:s3cr%40t-pw@db.internal:6379/0").unwrap();
    assert_eq!(c.password.as_ref().unwrap().expose(), "s3cr@t-pw");
    for text in [format!("{c:?}"), format!("{c}"), c.redacted_url()] {
        assert!(!text.contains("s3cr"), "leaked in {text}");
        assert!(text.contains("alice:***@"), "{text}");
    }
}

#[test]
fn all_url_forms_parse_to_their_topology() {
    let unix = Config::from_url("redis+unix:///tmp/r.sock?db=3&pass=pw").unwrap();
    assert_eq!(
        unix.topology,
        Topology::Standalone(ServerAddr::Unix("/tmp/r.sock".into()))
    );
    assert_eq!(unix.db, 3);
    assert_eq!(unix.password.unwrap().expose(), "pw");

    let cluster = Config::from_url("redis+cluster://a:7000,b:7001,[::1]:7002").unwrap();
    let Topology::Cluster(nodes) = cluster.topology else {
        panic!("not a cluster")
    };
    assert_eq!(nodes.len(), 3);
    assert_eq!(
        nodes[2],
        ServerAddr::Tcp {
            host: "::1".into(),
            port: 7002
        }
    );

    let sentinel = Config::from_url("redis+sentinel://s1:26379,s2:26380/mymaster").unwrap();
    assert_eq!(
        sentinel.topology,
        Topology::Sentinel {
            sentinels: vec![
                ServerAddr::Tcp {
                    host: "s1".into(),
                    port: 26379
                },
                ServerAddr::Tcp {
                    host: "s2".into(),
                    port: 26380
                },
            ],
            master_name: "mymaster".into(),
        }
    );

    let tls = Config::from_url("rediss://h:6379?ca_file=/ca.pem&cert_file=/c.pem&key_file=/k.pem")
        .unwrap();
    let t = tls.tls.unwrap();
    assert_eq!(t.ca_file.unwrap(), PathBuf::from("/ca.pem"));
    assert_eq!(t.key_file.unwrap(), PathBuf::from("/k.pem"));
}

#[test]
fn a_password_with_a_raw_question_mark_is_refused_without_quoting_any_of_it() {
    for url in [
        "redis://default:Zx9?Kq2!vLm@redis.internal:6379/0",
        "redis://:hunter2?x@127.0.0.1:6391",
        "redis://:ab?c=d@h:1",
        "redis+unix://:pw?x@/tmp/redis.sock",
    ] {
        let err = Config::from_url(url).unwrap_err();
        let text = err.to_string();
        assert_eq!(field_of(err), "url", "{url}");
        for piece in ["Zx9", "Kq2", "hunter2", "ab", "c=d", "pw"] {
            assert!(!text.contains(piece), "{url}: {text}");
        }
        assert!(text.contains("%3F"), "{text}");
    }
    // An encoded '?' is the way to write it, and an '@' in a query value after real user
    // info is still fine.
    let c = Config::from_url("redis://:hunter2%3Fx@127.0.0.1:6391").unwrap();
    assert_eq!(c.password.as_ref().map(|p| p.expose()), Some("hunter2?x"));
    let c = Config::from_url("redis://u:p@h:1?pass=a@b").unwrap();
    assert_eq!(c.password.as_ref().map(|p| p.expose()), Some("a@b"));
}

#[test]
fn bad_urls_name_the_field_at_fault() {
    assert_eq!(
        field_of(Config::from_url("127.0.0.1:6379").unwrap_err()),
        "url"
    );
    assert_eq!(
        field_of(Config::from_url("http://h:1").unwrap_err()),
        "scheme"
    );
    assert_eq!(
        field_of(Config::from_url("redis://h:notaport").unwrap_err()),
        "port"
    );
    assert_eq!(
        field_of(Config::from_url("redis://h:0").unwrap_err()),
        "port"
    );
    assert_eq!(
        field_of(Config::from_url("redis://h:1/x").unwrap_err()),
        "db"
    );
    assert_eq!(
        field_of(Config::from_url("redis://a:1,b:2").unwrap_err()),
        "host"
    );
    assert_eq!(
        field_of(Config::from_url("redis+cluster://a:1/3").unwrap_err()),
        "db"
    );
    assert_eq!(
        field_of(Config::from_url("redis+sentinel://a:1").unwrap_err()),
        "master_name"
    );
    assert_eq!(
        field_of(Config::from_url("redis://h:1?ca_file=/x").unwrap_err()),
        "ca_file"
    );
    assert_eq!(
        field_of(Config::from_url("rediss://h:1?cert_file=/x").unwrap_err()),
        "key_file"
    );
    assert_eq!(
        field_of(Config::from_url("redis://h:1?bogus=1").unwrap_err()),
        "bogus"
    );
    assert_eq!(
        field_of(Config::from_url("redis+unix://relative").unwrap_err()),
        "path"
    );
    assert_eq!(
        field_of(Config::from_url("redis://alice@h:1").unwrap_err()),
        "password"
    );
}

#[test]
fn every_setting_read_is_listed_and_an_unknown_one_is_refused_with_the_closest_name() {
    // What from_lookup asks for is exactly SETTINGS.
    let asked = std::sync::Mutex::new(Vec::new());
    Config::from_lookup(|name| {
        asked.lock().unwrap().push(name.to_string());
        (name == "REDIS_URL").then(|| "redis://h:1".to_string())
    })
    .unwrap();
    let mut asked: Vec<String> = asked
        .into_inner()
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with("REDIS_SSOT_"))
        .collect();
    asked.sort();
    let mut listed: Vec<String> = SETTINGS.iter().map(|n| n.to_string()).collect();
    listed.sort();
    assert_eq!(asked, listed);

    let names = |list: &[&str]| list.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert!(
        check_env_names(
            names(&[
                "PATH",
                "REDIS_SSOT_COMMAND_TIMEOUT_MS",
                "REDIS_SSOT_JWT_SECRET"
            ])
            .into_iter()
        )
        .is_ok()
    );
    match check_env_names(names(&["REDIS_SSOT_COMAND_TIMEOUT_MS"]).into_iter()) {
        Err(Error::Config { field, message }) => {
            assert_eq!(field, "REDIS_SSOT_COMAND_TIMEOUT_MS");
            assert_eq!(
                message,
                "is not a setting redis-ssot reads, so it would be ignored; did you mean REDIS_SSOT_COMMAND_TIMEOUT_MS?"
            );
        }
        other => panic!("expected a config error, got {other:?}"),
    }
    match check_env_names(names(&["REDIS_SSOT_BOGUS"]).into_iter()) {
        Err(Error::Config { field, message }) => {
            assert_eq!(field, "REDIS_SSOT_BOGUS");
            assert!(
                message.starts_with("is not a setting redis-ssot reads, so it would be ignored; the settings are REDIS_SSOT_SENTINEL_USERNAME, "),
                "{message}"
            );
            assert!(message.ends_with("REDIS_SSOT_POOL_SIZE"), "{message}");
        }
        other => panic!("expected a config error, got {other:?}"),
    }
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("", "abc"), 3);
}

#[test]
fn env_names_are_read_and_bad_values_name_the_variable() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let c = Config::from_lookup(env(&[
        ("REDIS_URL", "redis://h:1"),
        ("REDIS_SSOT_COMMAND_TIMEOUT_MS", "250"),
        ("REDIS_SSOT_MAX_IN_FLIGHT", "7"),
        ("REDIS_PASSWORD", "pw"),
    ]))
    .unwrap();
    assert_eq!(c.command_timeout, Duration::from_millis(250));
    assert_eq!(c.max_in_flight, 7);
    assert_eq!(c.password.unwrap().expose(), "pw");

    assert_eq!(
        field_of(Config::from_lookup(env(&[])).unwrap_err()),
        "REDIS_URL"
    );
    let bad = Config::from_lookup(env(&[
        ("REDIS_URL", "redis://h:1"),
        ("REDIS_SSOT_COMMAND_TIMEOUT_MS", "soon"),
    ]));
    assert_eq!(field_of(bad.unwrap_err()), "REDIS_SSOT_COMMAND_TIMEOUT_MS");
    let zero = Config::from_lookup(env(&[
        ("REDIS_URL", "redis://h:1"),
        ("REDIS_SSOT_COMMAND_TIMEOUT_MS", "0"),
    ]));
    assert_eq!(field_of(zero.unwrap_err()), "command_timeout");
    let url = Config::from_lookup(env(&[("REDIS_URL", "nope")]));
    assert_eq!(field_of(url.unwrap_err()), "REDIS_URL (url)");
}

#[test]
fn validate_rejects_bad_tunables() {
    let mut c = Config::from_url("redis://h:1").unwrap();
    c.backoff_cap = Duration::from_millis(1);
    assert_eq!(field_of(c.validate().unwrap_err()), "backoff_cap");
    let mut c = Config::from_url("redis://h:1").unwrap();
    c.max_in_flight = 0;
    assert_eq!(field_of(c.validate().unwrap_err()), "max_in_flight");
    let mut c = Config::from_url("redis://h:1").unwrap();
    c.breaker_failure_threshold = 0;
    assert_eq!(
        field_of(c.validate().unwrap_err()),
        "breaker_failure_threshold"
    );
}

#[test]
fn sentinel_credentials_are_read_checked_and_never_shown() {
    let c = Config::from_url(
        "redis+sentinel://h1:26379,h2:26379/mymaster?sentinel_user=watcher&sentinel_pass=s3cret",
    )
    .unwrap();
    assert_eq!(c.sentinel_username.as_deref(), Some("watcher"));
    assert_eq!(
        c.sentinel_password.as_ref().map(|p| p.expose()),
        Some("s3cret")
    );
    assert_eq!(c.password, None, "the data nodes' password is separate");
    for shown in [format!("{c:?}"), c.to_string(), c.redacted_url()] {
        assert!(!shown.contains("s3cret"), "{shown}");
    }
    assert!(
        c.redacted_url()
            .ends_with("?sentinel_user=watcher&sentinel_pass=***")
    );

    let from_env = Config::from_lookup(|name: &str| match name {
        "REDIS_URL" => Some("redis+sentinel://h1:26379/mymaster".to_string()),
        "REDIS_SSOT_SENTINEL_PASSWORD" => Some("envpass".to_string()),
        _ => None,
    })
    .unwrap();
    assert_eq!(
        from_env.sentinel_password.as_ref().map(|p| p.expose()),
        Some("envpass")
    );

    assert_eq!(
        field_of(Config::from_url("redis://h:6379?sentinel_pass=x").unwrap_err()),
        "sentinel_password",
        "a sentinel password without sentinels is a mistake, not ignored"
    );
    assert_eq!(
        field_of(
            Config::from_url("redis+sentinel://h1:26379/mymaster?sentinel_user=watcher")
                .unwrap_err()
        ),
        "sentinel_password"
    );
}
