//! One socket's loop.
//!
//! The socket owns a cursor into the user's log. The hub hands it each batch of appended
//! events; a batch that starts right after the cursor (same epoch) is sent as it is, one that
//! ends at or before the cursor was already sent, and anything else makes the socket read
//! `XRANGE (cursor +`, as it also does when woken, when Redis becomes ready again, and once at
//! start. The cursor only moves forward past events that were sent, which is why delivery is
//! exactly-once per socket no matter how many notifications arrive or are lost.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use futures_util::SinkExt;
use redis_ssot::{ConnState, Error, UserId};
use serde_json::{Value, json};

use super::frames::{self, ClientFrame};
use super::{Resume, message};
use crate::events::{ErrorCode, error_event};
use crate::extract::Authed;
use crate::hub::{ControlSender, Delivery, SocketGuard};
use crate::ids::EventId;
use crate::notice::Batch;
use crate::state::AppState;

/// Events read per XRANGE.
const BATCH: usize = 200;

/// How long a socket closed for an oversized message lingers before it is dropped (see
/// `Conn::close_too_large`).
const CLOSE_LINGER: std::time::Duration = std::time::Duration::from_millis(250);

/// The socket was closed by the peer or failed; stop the loop.
struct Gone;

/// Where delivery stands.
enum Cursor {
    /// Not yet positioned (the start-up read failed); holds the client's resume point.
    Pending(Resume),
    /// Deliver events after this id (`None`: from the start of the log).
    At(Option<EventId>),
}

struct Conn {
    app: AppState,
    socket: WebSocket,
    who: Authed,
    cursor: Cursor,
    epoch: Option<String>,
    told_unavailable: bool,
    control: ControlSender,
}

/// Where a new socket starts delivering, found before the upgrade is answered.
///
/// Why before: a client may send a message the moment it sees the `101`, and a second socket
/// of the same user must receive that run's events too. Positioning at the head of the log
/// after the upgrade raced with that first append (the load generator lost a `user_message`
/// that way); positioning before it cannot. The socket is registered with the hub first, so
/// no notification between the two is missed either.
pub struct Start {
    at: Option<EventId>,
    epoch: Option<String>,
    /// `(lost, last_event_id)` when the client resumed.
    replay: Option<(bool, EventId)>,
}

/// Finds where a socket of `user` resuming from `resume` starts.
pub async fn locate(app: &AppState, user: &UserId, resume: &Resume) -> Result<Start, Error> {
    let log = app.log();
    match resume.last_event_id {
        Some(last) => {
            let check = log
                .replay_check(user, last, resume.epoch.as_deref())
                .await?;
            Ok(Start {
                at: if check.lost { None } else { Some(last) },
                epoch: check.epoch,
                replay: Some((check.lost, last)),
            })
        }
        None => {
            let (head, epoch) = tokio::join!(log.head(user), log.epoch(user));
            Ok(Start {
                at: head?,
                epoch: epoch?,
                replay: None,
            })
        }
    }
}

/// Serves one upgraded socket until it closes. `start` is where [`locate`] put it (when
/// that failed, the socket positions itself once Redis answers).
pub async fn run(
    app: AppState,
    socket: WebSocket,
    who: Authed,
    resume: Resume,
    mut guard: SocketGuard,
    start: Result<Start, Error>,
) {
    let mut conn = Conn {
        app,
        socket,
        who,
        cursor: Cursor::Pending(resume),
        epoch: None,
        told_unavailable: false,
        control: guard.control.clone(),
    };
    if let Ok(start) = start {
        Box::pin(conn.begin(start)).await;
    }
    let _ = run_loop(&mut conn, &mut guard).await;
    drop(guard);
}

/// The socket's loop. Everything but waiting is boxed: a socket is idle most of its life,
/// and its task's size is what it costs while idle; the work of a delivery or a message
/// (Redis futures included) is allocated only while it runs.
async fn run_loop(conn: &mut Conn, guard: &mut SocketGuard) -> Result<(), Gone> {
    let mut state = conn.app.manager().watch_state();
    let mut breaker = conn.app.manager().watch_breaker();
    Box::pin(conn.deliver()).await?;
    // The session ends at its expiry (never later than the JWT it came from), and so does
    // the socket: it does not wait for the next message to find out.
    let left = conn
        .who
        .session
        .expires_at_ms
        .saturating_sub(crate::events::now_ms());
    let expiry = tokio::time::sleep(std::time::Duration::from_millis(left));
    tokio::pin!(expiry);
    loop {
        tokio::select! {
            biased;
            () = &mut expiry => {
                return conn.close(close_code::POLICY, "session expired").await;
            }
            msg = conn.socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => Box::pin(conn.on_text(t.as_str())).await?,
                Some(Ok(Message::Binary(_))) => {
                    conn.send(&error_event(ErrorCode::MalformedFrame, "binary frames are not supported", None)).await?;
                }
                Some(Ok(Message::Close(frame))) => {
                    crate::metrics::count_close(frame.map_or(close_code::STATUS, |f| f.code));
                    return conn.acknowledge_close().await;
                }
                Some(Err(e)) if super::is_too_large(&e) => {
                    return conn.close_too_large().await;
                }
                None | Some(Err(_)) => {
                    crate::metrics::count_close(close_code::ABNORMAL);
                    return Err(Gone);
                }
                Some(Ok(_)) => {}
            },
            Some(d) = guard.queue.recv() => match d {
                Delivery::Batch(batch) => Box::pin(conn.deliver_batch(&batch)).await?,
                Delivery::Control(v) => conn.send(&v).await?,
            },
            () = guard.signal.wake.notified() => {
                if guard.signal.is_closed() {
                    return conn.close(close_code::POLICY, "logged out").await;
                }
                Box::pin(conn.deliver()).await?;
            }
            changed = state.changed() => {
                if changed.is_err() {
                    return conn.close(close_code::AWAY, "gateway shutting down").await;
                }
                let now = *state.borrow_and_update();
                conn.send_status().await?;
                if now == ConnState::Ready {
                    Box::pin(conn.check_epoch()).await?;
                    Box::pin(conn.deliver()).await?;
                }
            }
            Ok(()) = breaker.changed() => {
                breaker.borrow_and_update();
                conn.send_status().await?;
            }
        }
    }
}

impl Conn {
    fn user(&self) -> &UserId {
        &self.who.session.uid
    }

    async fn send(&mut self, v: &Value) -> Result<(), Gone> {
        self.socket
            .send(Message::Text(v.to_string().into()))
            .await
            .map_err(|_| Gone)
    }

    /// Tells the client the manager's readiness changed (`status`: `ready`, `state`,
    /// `breaker`), as it happens, so a page shows an outage the moment the gateway knows.
    async fn send_status(&mut self) -> Result<(), Gone> {
        let m = self.app.manager();
        let v = json!({
            "type": "status", "ready": m.is_ready(), "state": m.state(),
            "breaker": m.breaker_state(), "timestamp": crate::events::now_ms(),
        });
        self.send(&v).await
    }

    async fn close(&mut self, code: u16, reason: &'static str) -> Result<(), Gone> {
        crate::metrics::count_close(code);
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = self.socket.send(Message::Close(Some(frame))).await;
        Err(Gone)
    }

    /// Closes with 1009 and a plain reason when the client sent a message past the transport
    /// limit (which is not read: its header says how long it is). The close frame is flushed,
    /// then the socket lingers a moment before it is dropped: dropping a TCP socket with
    /// unread input (the rest of that message) resets the connection at once, and a reset
    /// can overtake the close frame, which the client would then see as 1006.
    async fn close_too_large(&mut self) -> Result<(), Gone> {
        crate::metrics::count_close(close_code::SIZE);
        let limit = super::transport_limit(self.app.config());
        tracing::debug!(user = %self.who.session.user, limit, "message past the transport limit; closing with 1009");
        let frame = CloseFrame {
            code: close_code::SIZE,
            reason: super::too_large_reason(limit).into(),
        };
        let _ = self.socket.send(Message::Close(Some(frame))).await;
        tokio::time::sleep(CLOSE_LINGER).await;
        Err(Gone)
    }

    /// Completes a client-initiated closing handshake. On receiving the client's Close,
    /// tungstenite queues the echo itself and refuses further sends (`SendAfterClosing`), so
    /// answering with our own Close frame never reaches the wire and dropping the socket then
    /// looks like a 1006 to the client. Flushing sends the queued echo (the client's own
    /// code, normally 1000).
    async fn acknowledge_close(&mut self) -> Result<(), Gone> {
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            SinkExt::flush(&mut self.socket),
        )
        .await;
        Err(Gone)
    }

    /// Tells the client once per outage that Redis cannot serve it right now.
    async fn unavailable(&mut self, e: &Error) -> Result<(), Gone> {
        if self.told_unavailable {
            return Ok(());
        }
        self.told_unavailable = true;
        tracing::debug!(error = %e, "socket waits for redis");
        let msg = "Redis cannot serve right now; events will follow when it is back";
        self.send(&error_event(ErrorCode::RedisUnavailable, msg, None))
            .await
    }

    /// Positions the cursor (see [`locate`]) when that failed before the upgrade.
    async fn position(&mut self, resume: &Resume) -> Result<(), Error> {
        let start = locate(&self.app, self.user(), resume).await?;
        self.begin(start).await;
        Ok(())
    }

    /// Takes the start position and greets the client: `welcome`, then `replay` after a
    /// resume.
    async fn begin(&mut self, start: Start) {
        self.cursor = Cursor::At(start.at);
        self.epoch = start.epoch;
        self.send_welcome().await;
        if let Some((lost, last)) = start.replay {
            let _ = self
                .send(&json!({
                    "type": "replay", "lost": lost, "epoch": self.epoch,
                    "last_event_id": last,
                }))
                .await;
        }
    }

    async fn send_welcome(&mut self) {
        let hello = json!({
            "type": "welcome", "user_id": self.who.session.user, "epoch": self.epoch,
            "instance": self.app.instance(),
        });
        let _ = self.send(&hello).await;
    }

    /// After a reconnect: if the log's epoch changed, the history is gone; say so and start
    /// over from the new log's beginning instead of silently skipping.
    async fn check_epoch(&mut self) -> Result<(), Gone> {
        let Cursor::At(_) = self.cursor else {
            return Ok(());
        };
        let Some(known) = self.epoch.clone() else {
            return Ok(());
        };
        match self.app.log().epoch(self.user()).await {
            Ok(now) if now.as_deref() != Some(known.as_str()) => {
                self.epoch = now.clone();
                self.cursor = Cursor::At(None);
                self.send(&json!({"type": "replay", "lost": true, "epoch": now}))
                    .await
            }
            Ok(_) => Ok(()),
            Err(e) if e.is_unavailable() => self.unavailable(&e).await,
            Err(e) => {
                tracing::warn!(error = %e, "epoch check failed");
                Ok(())
            }
        }
    }

    /// Sends a notified batch if it continues exactly where the cursor is; skips it if it
    /// was already sent; otherwise reads the log from the cursor.
    async fn deliver_batch(&mut self, batch: &Batch) -> Result<(), Gone> {
        let Cursor::At(after) = self.cursor else {
            return self.deliver().await;
        };
        if batch.last() <= after {
            return Ok(());
        }
        let same_epoch = match &self.epoch {
            Some(known) => *known == batch.epoch,
            None => true,
        };
        if !same_epoch {
            self.check_epoch().await?;
            return self.deliver().await;
        }
        if batch.prev != after {
            return self.deliver().await;
        }
        self.epoch = Some(batch.epoch.clone());
        self.send_events(&batch.events, false).await
    }

    /// Sends stored events (one flush for all), advancing the cursor past each one;
    /// `replayed` when they were read back from the log rather than pushed live.
    async fn send_events(
        &mut self,
        events: &[(EventId, Utf8Bytes)],
        replayed: bool,
    ) -> Result<(), Gone> {
        for (id, text) in events {
            self.socket
                .feed(Message::Text(text.clone()))
                .await
                .map_err(|_| Gone)?;
            self.cursor = Cursor::At(Some(*id));
        }
        crate::metrics::count_events(events.len(), replayed);
        SinkExt::flush(&mut self.socket).await.map_err(|_| Gone)
    }

    /// Sends every event after the cursor, advancing it past each one sent.
    async fn deliver(&mut self) -> Result<(), Gone> {
        if let Cursor::Pending(resume) = &self.cursor {
            let resume = resume.clone();
            match self.position(&resume).await {
                Ok(()) => {}
                Err(e) if e.is_unavailable() => return self.unavailable(&e).await,
                Err(e) => {
                    tracing::error!(error = %e, "cannot position socket");
                    return self.unavailable(&e).await;
                }
            }
        }
        loop {
            let Cursor::At(after) = self.cursor else {
                return Ok(());
            };
            let log = self.app.log().clone();
            let batch = match log.read_wire_after(self.user(), after, BATCH).await {
                Ok(b) => b,
                Err(e) => return self.unavailable(&e).await,
            };
            self.told_unavailable = false;
            let full = batch.len() == BATCH;
            self.send_events(&batch, true).await?;
            if self.epoch.is_none() && !batch.is_empty() {
                self.epoch = log.epoch(self.user()).await.ok().flatten();
            }
            if !full {
                return Ok(());
            }
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<(), Gone> {
        match frames::parse(text, self.app.config().max_frame_bytes) {
            Err(error) => {
                crate::metrics::count_message("invalid");
                self.send(&error.to_value()).await
            }
            Ok(ClientFrame::Ping) => self.send(&json!({"type": "pong"})).await,
            Ok(ClientFrame::UserMessage {
                thread_id,
                text,
                client_ref,
            }) => {
                // Boxed: the checks' futures are large and a socket is idle most of its
                // life; unboxed they would sit in every socket's task all the time.
                let answer = Box::pin(message::handle(
                    &self.app,
                    &self.who,
                    &self.control,
                    thread_id,
                    text,
                    client_ref,
                ))
                .await;
                match answer {
                    message::Answer::Send(v) => self.send(&v).await,
                    message::Answer::SessionEnded => {
                        self.close(close_code::POLICY, "session ended").await
                    }
                }
            }
        }
    }
}
