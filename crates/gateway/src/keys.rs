//! The chat's Redis key and channel names.
//!
//! Every key of a user carries the user in a hash tag (`{alice}`), so one user's keys live in
//! one cluster slot and the append script may touch them all. User names cannot contain `{`,
//! `}` or `:` (see [`crate::ids`]), so one user cannot address another user's keys.

/// The user's delivery log (all threads).
pub fn user_log(user: &str) -> String {
    format!("chat:{{{user}}}:log")
}

/// One thread's history.
pub fn thread_log(user: &str, thread: &str) -> String {
    format!("chat:{{{user}}}:t:{thread}")
}

/// The epoch of the user's log.
pub fn epoch(user: &str) -> String {
    format!("chat:{{{user}}}:epoch")
}

/// The user's threads, scored by last activity.
pub fn threads(user: &str) -> String {
    format!("chat:{{{user}}}:threads")
}

/// Thread titles.
pub fn titles(user: &str) -> String {
    format!("chat:{{{user}}}:titles")
}

/// Dedupe record of one run's appended events.
pub fn run_dedupe(user: &str, run: &str) -> String {
    format!("chat:{{{user}}}:run:{run}")
}

/// The pub/sub channel that tells every gateway a user has news.
pub fn notify_channel(user: &str) -> String {
    format!("chat:notify:{user}")
}

/// The pattern every gateway subscribes to.
pub const NOTIFY_PATTERN: &str = "chat:notify:*";

/// The user named by a notification channel.
pub fn user_of_channel(channel: &str) -> Option<&str> {
    channel.strip_prefix("chat:notify:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_keys_of_a_user_share_one_hash_tag() {
        assert_eq!(user_log("alice"), "chat:{alice}:log");
        assert_eq!(thread_log("alice", "t1"), "chat:{alice}:t:t1");
        assert_eq!(user_of_channel(&notify_channel("bob")), Some("bob"));
    }
}
