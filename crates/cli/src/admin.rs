//! `redis-ssot admin reconnect|reset-breaker --gateway URL`: the operator controls of a
//! running gateway (`POST /api/admin/reconnect`, `POST /api/admin/breaker/reset`).

/// Arguments of `redis-ssot admin`.
#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
    /// The gateway (http://host:port).
    #[arg(long, global = true, default_value = "http://127.0.0.1:8080")]
    pub gateway: String,
    /// The gateway's admin token.
    #[arg(
        long,
        global = true,
        env = "REDIS_SSOT_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
}

/// An operator control.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Replace the manager's connection, make-before-break (callers see no error).
    Reconnect,
    /// Close the circuit breaker and clear its counts.
    ResetBreaker,
}

/// Calls the route; prints the gateway's verdict; exit 0 on success, 1 otherwise.
pub async fn run(args: AdminArgs) -> Result<i32, String> {
    let token = args
        .admin_token
        .filter(|t| !t.is_empty())
        .ok_or("an admin token is required: --admin-token or REDIS_SSOT_ADMIN_TOKEN")?;
    let path = match args.action {
        Action::Reconnect => "/api/admin/reconnect",
        Action::ResetBreaker => "/api/admin/breaker/reset",
    };
    let answer = crate::http::call("POST", &args.gateway, path, Some(&token)).await?;
    match answer.status {
        200 => {
            let verdict = answer.json["verdict"].as_str().unwrap_or("done");
            crate::say(&format!("ok: {verdict}"));
            Ok(0)
        }
        404 => {
            eprintln!(
                "error: the gateway at {} has no admin routes (start it with --admin-token)",
                args.gateway
            );
            Ok(1)
        }
        code => {
            eprintln!("error: the gateway answered {code}: {}", answer.message());
            Ok(1)
        }
    }
}
