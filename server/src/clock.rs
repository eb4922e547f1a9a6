//! The one clock of the server and its formats, one per use:
//! - [`unix_now`]: seconds since the epoch as `f64`, bluesky's and the queue's time (documents,
//!   `time_start`, dispatch rows, the console);
//! - [`Timestamp::record`]: RFC 3339 as stored in account, session and audit rows (compared as
//!   text, so it must not change for rows already written);
//! - [`Timestamp::reply`]: RFC 3339 in UTC with milliseconds and `Z`, as JSON replies and files
//!   show it (datasets, applets, the stream's time, the status board's `hutch.updated_at` uses
//!   [`Timestamp::precise`] for microseconds).

use chrono::{DateTime, Duration, SecondsFormat, Utc};

/// Seconds since the Unix epoch (0 if the system clock is before it).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A moment in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now())
    }

    /// `secs` seconds earlier (saturating at the earliest representable time).
    pub fn seconds_ago(secs: i64) -> Self {
        let now = Utc::now();
        Timestamp(
            Duration::try_seconds(secs)
                .and_then(|d| now.checked_sub_signed(d))
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        )
    }

    /// `d` later (saturating at the latest representable time).
    pub fn plus(self, d: Duration) -> Self {
        Timestamp(
            self.0
                .checked_add_signed(d)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }

    /// The stored-row format (`2026-12-04T03:50:43.123456789+00:00`).
    pub fn record(self) -> String {
        self.0.to_rfc3339()
    }

    /// The reply format (`2026-12-04T03:50:43.123Z`).
    pub fn reply(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// The reply format with microseconds (`2026-12-04T03:50:43.123456Z`).
    pub fn precise(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_has_its_shape() {
        let t = Timestamp(DateTime::from_timestamp(1_764_820_243, 123_456_789).unwrap());
        assert_eq!(t.record(), "2025-12-04T03:50:43.123456789+00:00");
        assert_eq!(t.reply(), "2025-12-04T03:50:43.123Z");
        assert_eq!(t.precise(), "2025-12-04T03:50:43.123456Z");
        assert!(Timestamp::seconds_ago(i64::MAX) < t);
        assert!(t.plus(Duration::MAX) > t);
    }
}
