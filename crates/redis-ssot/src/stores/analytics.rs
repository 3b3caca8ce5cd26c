//! `Analytics`: cached report data and capped daily event lists.
//!
//! Why lists per day with a cap: event volume is unbounded, memory is not. Each push is
//! `LPUSH` + `LTRIM` + `PEXPIRE` in one MULTI/EXEC, so a list is never seen above its cap or
//! without its TTL, even with many writers or a connection cut between the commands.

use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ttl_ms;
use crate::commands::SetOptions;
use crate::error::{Error, Result};
use crate::keys;
use crate::manager::RedisManager;

/// Cached analytics JSON and daily event lists.
#[derive(Debug, Clone)]
pub struct Analytics {
    manager: RedisManager,
    event_cap: u32,
    event_ttl: Duration,
}

impl Analytics {
    /// Default newest-events kept per stream and day.
    pub const DEFAULT_EVENT_CAP: u32 = 1000;
    /// Default life of a day's event list (7 days).
    pub const DEFAULT_EVENT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

    /// Analytics with the default cap and TTL.
    pub fn new(manager: RedisManager) -> Analytics {
        Analytics {
            manager,
            event_cap: Self::DEFAULT_EVENT_CAP,
            event_ttl: Self::DEFAULT_EVENT_TTL,
        }
    }

    /// Keeps at most `cap` (≥ 1) newest events per stream and day.
    pub fn with_event_cap(mut self, cap: u32) -> Analytics {
        self.event_cap = cap.max(1);
        self
    }

    /// Sets how long a day's list lives after its last push.
    pub fn with_event_ttl(mut self, ttl: Duration) -> Analytics {
        self.event_ttl = ttl;
        self
    }

    /// Stores `value` as JSON at `analytics:<key>` for `ttl`.
    pub async fn cache_analytics_data<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<()> {
        let full = keys::analytics(key)?;
        let json = serde_json::to_string(value)?;
        let opts = SetOptions {
            ttl: Some(Duration::from_millis(ttl_ms(ttl))),
            ..SetOptions::default()
        };
        self.manager.set_with(&full, json, opts).await.map(|_| ())
    }

    /// The JSON at `analytics:<key>`; `Err(Error::Decode)` if it is not a `T`.
    pub async fn get_analytics_data<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let full = keys::analytics(key)?;
        let raw: Option<String> = self.manager.get(&full).await?;
        raw.map(|j| serde_json::from_str(&j).map_err(Error::from))
            .transpose()
    }

    /// Appends `event` to today's (UTC) list of `stream`; returns the list length after the
    /// cap was applied.
    pub async fn record_event<T: Serialize>(&self, stream: &str, event: &T) -> Result<u64> {
        self.record_event_on(stream, &utc_day(SystemTime::now()), event)
            .await
    }

    /// Appends `event` to the list of `stream` for `day` (`YYYY-MM-DD`), trims it to the cap
    /// and refreshes its TTL, atomically.
    pub async fn record_event_on<T: Serialize>(
        &self,
        stream: &str,
        day: &str,
        event: &T,
    ) -> Result<u64> {
        let key = keys::analytics_events(stream, day)?;
        let json = serde_json::to_string(event)?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .lpush(&key, json)
            .ltrim(&key, 0, self.event_cap as isize - 1)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl_ms(self.event_ttl))
            .ignore();
        let (len,): (u64,) = self.manager.pipeline(&pipe).await?;
        Ok(len.min(u64::from(self.event_cap)))
    }

    /// One page of `stream`'s events for `day`, newest first (`page` counts from 0). Reading
    /// does not change the list.
    pub async fn events<T: DeserializeOwned>(
        &self,
        stream: &str,
        day: &str,
        page: u32,
        per_page: u32,
    ) -> Result<Vec<T>> {
        let key = keys::analytics_events(stream, day)?;
        if per_page == 0 {
            return Ok(Vec::new());
        }
        let start = i64::from(page) * i64::from(per_page);
        let stop = start + i64::from(per_page) - 1;
        let raws: Vec<String> = self.manager.lrange(&key, start, stop).await?;
        raws.iter()
            .map(|j| serde_json::from_str(j).map_err(Error::from))
            .collect()
    }

    /// How many events `stream` holds for `day`.
    pub async fn event_count(&self, stream: &str, day: &str) -> Result<u64> {
        self.manager
            .llen(&keys::analytics_events(stream, day)?)
            .await
    }
}

/// The UTC calendar day of `t` as `YYYY-MM-DD` (the suffix of event list keys).
pub fn utc_day(t: SystemTime) -> String {
    let d = time::OffsetDateTime::from(t).date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn utc_day_formats_known_instants() {
        assert_eq!(utc_day(UNIX_EPOCH), "1970-01-01");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29T00:00:00Z
        assert_eq!(utc_day(leap), "2000-02-29");
        let late = UNIX_EPOCH + Duration::from_secs(1_735_689_599); // 2024-12-31T23:59:59Z
        assert_eq!(utc_day(late), "2024-12-31");
    }
}
