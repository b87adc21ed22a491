//! Timestamps: microseconds since the Unix epoch, UTC, stored as `bigint` so
//! both backends order them the same way.

use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time, in microseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0);
        Timestamp(i64::try_from(micros).unwrap_or(i64::MAX))
    }

    /// This time plus a number of minutes.
    pub fn plus_minutes(self, minutes: i64) -> Self {
        self.plus_millis(minutes.saturating_mul(60_000))
    }

    /// This time plus a number of milliseconds.
    pub fn plus_millis(self, millis: i64) -> Self {
        Timestamp(self.0.saturating_add(millis.saturating_mul(1000)))
    }
}

/// The engine's clock: the system's, moved by an offset that tests set, so
/// that time-based work (automatic closing, rating windows, service
/// targets) is tested by moving time, never by sleeping. Clones share the
/// offset: two engines built with one clock (two replicas in a test) see
/// the same time.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Clock::default()
    }

    /// The time now, by this clock.
    pub fn now(&self) -> Timestamp {
        let offset = self
            .offset_micros
            .load(std::sync::atomic::Ordering::Relaxed);
        Timestamp(Timestamp::now().0.saturating_add(offset))
    }

    /// Moves this clock (and its clones) forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.offset_micros
            .fetch_add(micros, std::sync::atomic::Ordering::Relaxed);
    }

    /// Moves this clock back by `by` (a test writing history "ten days ago").
    pub fn rewind(&self, by: std::time::Duration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.offset_micros
            .fetch_sub(micros, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A span of minutes in words: `3 days`, `36 hours`, `1 day`, `45 minutes`.
pub fn span(minutes: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if minutes % (24 * 60) == 0 {
        plural(minutes / (24 * 60), "day")
    } else if minutes % 60 == 0 {
        plural(minutes / 60, "hour")
    } else {
        plural(minutes, "minute")
    }
}

/// A UTC time, to the minute (`2026-11-23 14:05 UTC`).
pub fn when(t: Timestamp) -> String {
    let secs = t.0.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The start (00:00 UTC) of a date written `YYYY-MM-DD`, as date inputs
/// send it.
pub fn day_start(text: &str) -> Option<Timestamp> {
    let mut parts = text.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    if civil_from_days(days) != (if m <= 2 { y + 1 } else { y }, m as u32, d as u32) {
        // 2026-02-31 and the like.
        return None;
    }
    Some(Timestamp(days * 86_400 * 1_000_000))
}

/// A date as a date input shows it (`2026-11-23`).
pub fn day(t: Timestamp) -> String {
    let (y, m, d) = civil_from_days(t.0.div_euclid(86_400 * 1_000_000));
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_their_first_moment() {
        assert_eq!(day_start("1970-01-01"), Some(Timestamp(0)));
        let t = day_start("2026-11-23").unwrap();
        assert_eq!(when(t), "2026-11-23 00:00 UTC");
        assert_eq!(day(t), "2026-11-23");
        assert_eq!(
            day_start("2024-02-29").map(day).as_deref(),
            Some("2024-02-29")
        );
        for bad in ["2026-02-31", "2026-13-01", "yesterday", "", "2026-11"] {
            assert_eq!(day_start(bad), None, "{bad}");
        }
    }

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(when(Timestamp(0)), "1970-01-01 00:00 UTC");
        // 2026-11-21 14:05:09 UTC
        assert_eq!(
            when(Timestamp(1_795_269_909_000_000)),
            "2026-11-21 14:05 UTC"
        );
        assert_eq!(when(Timestamp(951_782_400_000_000)), "2000-02-29 00:00 UTC");
    }
}
