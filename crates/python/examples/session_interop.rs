//! Writes or reads a session with the Rust `SessionStore`, for the Python interop test
//! (`python/tests/test_stores.py`): a session made here is read by Python, and the reverse.
//!
//! ```text
//! session_interop create <redis-url> <user-id> <json-data>   # prints the token
//! session_interop get <redis-url> <token>                    # prints the session JSON, or `none`
//! session_interop revoke <redis-url> <token> <seconds>       # blacklists the token
//! session_interop revoked <redis-url> <token>                # prints true/false
//! ```

use std::process::ExitCode;
use std::time::Duration;

use redis_ssot::{Config, RedisManager, SessionStore, SessionToken, TokenBlacklist, UserId};

async fn run(args: &[String]) -> Result<String, String> {
    let [cmd, url, rest @ ..] = args else {
        return Err("usage: session_interop create|get|revoke|revoked <redis-url> ...".into());
    };
    let manager = RedisManager::connect(Config::from_url(url).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    manager
        .wait_ready(Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    let sessions = SessionStore::new(manager.clone());
    let blacklist = TokenBlacklist::new(manager.clone());
    let out = match (cmd.as_str(), rest) {
        ("create", [user, data]) => {
            let user = UserId::new(user).map_err(|e| e.to_string())?;
            let data = serde_json::from_str(data).map_err(|e| format!("data is not JSON: {e}"))?;
            let (token, _) = sessions
                .create(&user, data)
                .await
                .map_err(|e| e.to_string())?;
            token.as_str().to_string()
        }
        ("get", [token]) => {
            let token = SessionToken::parse(token).map_err(|e| e.to_string())?;
            match sessions.get(&token).await.map_err(|e| e.to_string())? {
                Some(s) => serde_json::to_string(&s).map_err(|e| e.to_string())?,
                None => "none".into(),
            }
        }
        ("revoke", [token, secs]) => {
            let secs: u64 = secs.parse().map_err(|_| "seconds must be a whole number")?;
            blacklist
                .revoke(token, Duration::from_secs(secs))
                .await
                .map_err(|e| e.to_string())?;
            "ok".into()
        }
        ("revoked", [token]) => blacklist
            .is_revoked(token)
            .await
            .map_err(|e| e.to_string())?
            .to_string(),
        _ => return Err(format!("unknown command or arguments: {cmd} {rest:?}")),
    };
    manager.shutdown(Duration::from_secs(1)).await;
    Ok(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("session_interop: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("session_interop: {e}");
            ExitCode::FAILURE
        }
    }
}
