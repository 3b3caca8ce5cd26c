//! One `user_message`: every check before anything is stored, then the run.
//!
//! The checks go out together, so the manager's connection writes them in one flush and
//! Redis answers them in one read (one round trip before the run): the session is still
//! live (`SessionStore::still_live`), the thread is one of the user's (the same answer as
//! REST: `not_found`), the user is within the message limits (`RateLimiter::admit`: runs per
//! second and runs in flight), and the thread's history for the agent. A refused message is
//! answered with an `error` event carrying its `client_ref` (and `retry_after` when it is a
//! limit); nothing of it is stored, the socket stays open, and the client still has the text.
//! A message refused for another reason (an unknown thread) still counts towards the rate,
//! since its admission ran together with the other checks; its lease is given back at once.

use redis_ssot::stores::{Admission, Refusal};
use serde_json::{Value, json};

use crate::agent::runner::{self, ControlSender, RunRequest};
use crate::events::{ErrorCode, ErrorEvent};
use crate::extract::Authed;
use crate::ids::ThreadId;
use crate::state::AppState;

/// What to do after a message.
pub(super) enum Answer {
    /// Send this (`accepted`, or an `error` event) and go on.
    Send(Value),
    /// The session ended: close the socket with 1008.
    SessionEnded,
}

/// Checks and, if admitted, starts the run for one message.
pub(super) async fn handle(
    app: &AppState,
    who: &Authed,
    control: &ControlSender,
    thread_id: ThreadId,
    text: String,
    client_ref: Option<String>,
) -> Answer {
    let user = &who.session.uid;
    let (live, exists, admission, history) = tokio::join!(
        app.access().still_live(&who.token, &who.session),
        app.threads().exists(user, thread_id.as_str()),
        app.access().admit_run(user),
        app.threads()
            .said(user, thread_id.as_str(), runner::HISTORY)
    );
    let refusal = match (&live, &exists, &admission) {
        (Ok(false), _, _) => None,
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            tracing::debug!(error = %e, "message refused: redis unavailable");
            let mut event = ErrorEvent::new(
                ErrorCode::RedisUnavailable,
                "Redis cannot serve right now, so the message was not accepted; send it again in a moment",
            );
            event.retry_after = Some(std::time::Duration::from_secs(1));
            Some(("redis_unavailable", event))
        }
        (_, Ok(false), _) => {
            let mut event = ErrorEvent::new(
                ErrorCode::NotFound,
                crate::history::no_such_thread(thread_id.as_str()),
            );
            event.field = Some("thread_id");
            Some(("unknown_thread", event))
        }
        (
            _,
            _,
            Ok(Admission::Refused {
                reason,
                retry_after,
            }),
        ) => {
            let limit = app.config().message_limit;
            let (outcome, message) = match reason {
                Refusal::Rate => (
                    "rate_limited",
                    format!(
                        "you are sending more than {} message{} per second; send this one again in {:.1} s",
                        limit.per_second,
                        if limit.per_second == 1 { "" } else { "s" },
                        retry_after.as_secs_f64()
                    ),
                ),
                Refusal::InFlight => (
                    "too_many_in_flight",
                    format!(
                        "you already have {} run{} in progress; send this one when one has finished",
                        limit.in_flight,
                        if limit.in_flight == 1 { "" } else { "s" }
                    ),
                ),
            };
            let mut event = ErrorEvent::new(ErrorCode::RateLimited, message);
            event.retry_after = Some(*retry_after);
            Some((outcome, event))
        }
        (Ok(true), Ok(true), Ok(Admission::Admitted(_))) => None,
    };
    let lease = match admission {
        Ok(Admission::Admitted(lease)) => Some(lease),
        _ => None,
    };
    let session_ended = matches!(live, Ok(false));
    if session_ended || refusal.is_some() {
        if let Some(lease) = &lease {
            app.access().release_run(lease).await;
        }
        if session_ended {
            crate::metrics::count_message("session_ended");
            return Answer::SessionEnded;
        }
    }
    if let Some((outcome, event)) = refusal {
        crate::metrics::count_message(outcome);
        return Answer::Send(event.for_ref(client_ref.as_deref()).to_value());
    }
    crate::metrics::count_message("accepted");
    let req = RunRequest {
        uid: user.clone(),
        user_id: who.session.user.clone(),
        thread_id: thread_id.to_string(),
        text,
        history: history.ok(),
        lease,
    };
    let run_id = runner::spawn(app.clone(), req, control.clone());
    Answer::Send(json!({
        "type": "accepted", "run_id": run_id, "thread_id": thread_id,
        "client_ref": client_ref,
    }))
}
