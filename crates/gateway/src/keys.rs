//! The chat's Redis key and channel names.
//!
//! Every chat key lives in the user's space of `redis_ssot::keys` (`{u:<encoded>}:chat:...`),
//! so one user's chat keys share a cluster slot with the rest of that user's data (sessions
//! index, agent state), the append script may touch them all, and a sweep of the user's space
//! finds them. The encoding is redis-ssot's ([`UserId`]), so no user can reach another's keys.
//! Thread ids are checked segments (`[A-Za-z0-9_.@-]`, see [`crate::ids::ThreadId`]).

use redis_ssot::UserId;

/// The user's delivery log (all threads).
pub fn user_log(user: &UserId) -> String {
    format!("{}chat:log", user.space_prefix())
}

/// One thread's history.
pub fn thread_log(user: &UserId, thread: &str) -> String {
    format!("{}chat:t:{thread}", user.space_prefix())
}

/// The epoch of the user's log.
pub fn epoch(user: &UserId) -> String {
    format!("{}chat:epoch", user.space_prefix())
}

/// The user's chat threads, scored by last activity.
pub fn threads(user: &UserId) -> String {
    format!("{}chat:threads", user.space_prefix())
}

/// Thread titles.
pub fn titles(user: &UserId) -> String {
    format!("{}chat:titles", user.space_prefix())
}

/// The texts of the user's messages in one thread, oldest first, capped: what the agent is
/// shown as history (written by the append script with the messages themselves).
pub fn said(user: &UserId, thread: &str) -> String {
    format!("{}chat:said:{thread}", user.space_prefix())
}

/// Dedupe record of one run's appended events.
pub fn run_dedupe(user: &UserId, run: &str) -> String {
    format!("{}chat:run:{run}", user.space_prefix())
}

/// The pub/sub channel that tells every gateway a user has news.
pub fn notify_channel(user: &UserId) -> String {
    format!("chat:notify:{}", user.encoded())
}

/// The pattern every gateway subscribes to (encoded ids contain no glob characters).
pub const NOTIFY_PATTERN: &str = "chat:notify:*";

/// The encoded user id named by a notification channel.
pub fn user_of_channel(channel: &str) -> Option<&str> {
    channel.strip_prefix("chat:notify:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_keys_live_in_the_users_space() {
        let alice = UserId::new("alice").unwrap();
        assert_eq!(user_log(&alice), "{u:alice}:chat:log");
        assert_eq!(thread_log(&alice, "t1"), "{u:alice}:chat:t:t1");
        let odd = UserId::new("a/b").unwrap();
        assert_eq!(notify_channel(&odd), "chat:notify:a%2Fb");
        assert_eq!(user_of_channel(&notify_channel(&odd)), Some("a%2Fb"));
    }
}
