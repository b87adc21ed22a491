//! Service targets: how soon staff should answer. A first-response target
//! (nobody on staff has answered yet) and a next-response target (the
//! customer wrote again), per department with a default, counted in
//! business hours where the deployment has them (working days and hours in
//! a time zone). A ticket waiting for staff (open, client replied) has a
//! due time; the clock stops when staff answer or set another status.

use crate::time::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use std::fmt;

/// How long staff have, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// To answer a new ticket.
    pub first_minutes: i64,
    /// To answer a customer who wrote again.
    pub next_minutes: i64,
}

/// When staff work: these weekdays, between these times, in this zone.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    /// Monday first.
    days: [bool; 7],
    open: Time,
    close: Time,
    zone: TimeZone,
    /// The zone's name, for logs.
    zone_name: String,
}

/// The deployment's service targets (none by default).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceTargets {
    default: Option<Target>,
    /// Lower-cased department names.
    departments: Vec<(String, Target)>,
    hours: Option<BusinessHours>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `90m`, `4h`, `1d` (a day is 24 hours of the clock that counts), or a
/// plain number of minutes.
pub(crate) fn minutes(text: &str) -> Result<i64, String> {
    let t = text.trim().to_ascii_lowercase();
    let (number, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t.as_str(), "m"),
    };
    let n: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a time like 30m, 4h or 1d"))?;
    let per = match unit.trim() {
        "m" | "min" => 1,
        "h" => 60,
        "d" => 24 * 60,
        _ => return Err(format!("{text:?} is not a time like 30m, 4h or 1d")),
    };
    match n.checked_mul(per) {
        Some(m) if m > 0 && m <= 365 * 24 * 60 => Ok(m),
        _ => Err(format!("{text:?} is not between a minute and a year")),
    }
}

/// `4h/8h`, or `4h` for both.
fn target(text: &str) -> Result<Target, String> {
    let (first, next) = text.split_once('/').unwrap_or((text, text));
    Ok(Target {
        first_minutes: minutes(first)?,
        next_minutes: minutes(next)?,
    })
}

fn day(word: &str) -> Result<usize, String> {
    DAYS.iter()
        .position(|d| word.trim().to_ascii_lowercase().starts_with(d))
        .ok_or_else(|| format!("{word:?} is not a weekday (mon … sun)"))
}

fn clock(text: &str) -> Result<Time, String> {
    let (h, m) = text
        .trim()
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not a time like 09:00"))?;
    let (h, m): (i8, i8) = (
        h.parse()
            .map_err(|_| format!("{text:?} is not a time like 09:00"))?,
        m.parse()
            .map_err(|_| format!("{text:?} is not a time like 09:00"))?,
    );
    if h == 24 && m == 0 {
        return Ok(Time::MAX);
    }
    Time::new(h, m, 0, 0).map_err(|_| format!("{text:?} is not a time like 09:00"))
}

impl BusinessHours {
    /// `mon-fri 09:00-17:00` (days as a range or a list: `mon,wed,fri`),
    /// in the zone named (IANA, like `Europe/Berlin`; `UTC` when `None`).
    pub fn parse(text: &str, zone: Option<&str>) -> Result<Self, String> {
        let (days_text, times) = text
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("{text:?} is not like \"mon-fri 09:00-17:00\""))?;
        let mut days = [false; 7];
        for part in days_text.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a)?, day(b)?);
                    let mut d = a;
                    loop {
                        days[d] = true;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => days[day(part)?] = true,
            }
        }
        let (open, close) = times
            .trim()
            .split_once('-')
            .ok_or_else(|| format!("{times:?} is not like 09:00-17:00"))?;
        let (open, close) = (clock(open)?, clock(close)?);
        if open >= close {
            return Err(format!("{times:?}: the day must end after it starts"));
        }
        let zone_name = zone.unwrap_or("UTC").trim().to_owned();
        let zone = TimeZone::get(&zone_name)
            .map_err(|_| format!("{zone_name:?} is not a time zone this machine knows"))?;
        Ok(BusinessHours {
            days,
            open,
            close,
            zone,
            zone_name,
        })
    }

    /// `minutes` of working time after `start`.
    fn add(&self, start: Timestamp, minutes: i64) -> Timestamp {
        let Ok(start_ts) = jiff::Timestamp::from_microsecond(start.0) else {
            return start;
        };
        let mut left = jiff::SignedDuration::from_mins(minutes);
        let mut at = start_ts;
        let mut date: Date = start_ts.to_zoned(self.zone.clone()).date();
        // at most ten years of days: a target is at most a year of work.
        for _ in 0..3_660 {
            let weekday = date.weekday().to_monday_zero_offset() as usize;
            if self.days[weekday] {
                let open = date.to_datetime(self.open).to_zoned(self.zone.clone());
                let close = date.to_datetime(self.close).to_zoned(self.zone.clone());
                if let (Ok(open), Ok(close)) = (open, close) {
                    let from = at.max(open.timestamp());
                    let to = close.timestamp();
                    if from < to {
                        let window = from.duration_until(to);
                        if left <= window {
                            return from
                                .checked_add(left)
                                .map(|t| Timestamp(t.as_microsecond()))
                                .unwrap_or(start);
                        }
                        left -= window;
                        at = to;
                    }
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        start
    }
}

impl fmt::Display for BusinessHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days: Vec<&str> = DAYS
            .iter()
            .zip(self.days)
            .filter(|(_, on)| *on)
            .map(|(d, _)| *d)
            .collect();
        write!(
            f,
            "{} {}-{} {}",
            days.join(","),
            self.open.strftime("%H:%M"),
            self.close.strftime("%H:%M"),
            self.zone_name
        )
    }
}

impl ServiceTargets {
    /// Targets as configured: `4h/8h` for every department, or a list
    /// `default=4h/8h, Billing=1h/4h` (first/next; one time for both);
    /// business hours as [`BusinessHours::parse`] reads them.
    pub fn parse(
        targets: &str,
        hours: Option<&str>,
        zone: Option<&str>,
    ) -> Result<ServiceTargets, String> {
        let mut out = ServiceTargets::default();
        for part in targets.split(',').filter(|p| !p.trim().is_empty()) {
            match part.split_once('=') {
                None => out.default = Some(target(part)?),
                Some((name, t)) if name.trim().eq_ignore_ascii_case("default") => {
                    out.default = Some(target(t)?)
                }
                Some((name, t)) => {
                    let name = name.trim().to_lowercase();
                    if name.is_empty() {
                        return Err(format!("{part:?} names no department"));
                    }
                    out.departments.push((name, target(t)?));
                }
            }
        }
        out.hours = match hours.map(str::trim).filter(|h| !h.is_empty()) {
            Some(h) => Some(BusinessHours::parse(h, zone)?),
            None => None,
        };
        Ok(out)
    }

    /// Whether any ticket has a target.
    pub fn is_on(&self) -> bool {
        self.default.is_some() || !self.departments.is_empty()
    }

    /// The target of a department (by name), or the default.
    pub fn target(&self, department: Option<&str>) -> Option<Target> {
        department
            .and_then(|d| {
                let d = d.to_lowercase();
                self.departments
                    .iter()
                    .find(|(name, _)| *name == d)
                    .map(|(_, t)| *t)
            })
            .or(self.default)
    }

    /// When staff should have answered a ticket waiting since `since`:
    /// `first` while nobody on staff has answered it yet.
    pub fn due(
        &self,
        department: Option<&str>,
        first: bool,
        since: Timestamp,
    ) -> Option<Timestamp> {
        let t = self.target(department)?;
        let minutes = if first {
            t.first_minutes
        } else {
            t.next_minutes
        };
        Some(match &self.hours {
            Some(h) => h.add(since, minutes),
            None => since.plus_millis(minutes.saturating_mul(60_000)),
        })
    }

    /// The business hours, if any.
    pub fn hours(&self) -> Option<&BusinessHours> {
        self.hours.as_ref()
    }
}

/// "due in 2 h", "due in 35 min", "overdue 1 d 3 h", as staff read a due
/// time at `now`.
pub fn due_words(due: Timestamp, now: Timestamp) -> String {
    let minutes = (due.0 - now.0) / 60_000_000;
    let span = |m: i64| {
        let m = m.abs();
        match m {
            0 => "less than a minute".to_owned(),
            m if m < 60 => format!("{m} min"),
            m if m < 24 * 60 => {
                let (h, rest) = (m / 60, m % 60);
                if rest == 0 || h >= 10 {
                    format!("{h} h")
                } else {
                    format!("{h} h {rest} min")
                }
            }
            m => {
                let (d, h) = (m / (24 * 60), m % (24 * 60) / 60);
                if h == 0 {
                    format!("{d} d")
                } else {
                    format!("{d} d {h} h")
                }
            }
        }
    };
    if due.0 >= now.0 {
        format!("due in {}", span(minutes))
    } else {
        format!("overdue {}", span(minutes))
    }
}

/// A due time as cards show it, which stay as drawn until the ticket
/// changes: "due in 2 h (by 2026-11-30 14:05 UTC)".
pub fn due_text(due: Timestamp, now: Timestamp) -> String {
    let by = jiff::Timestamp::from_microsecond(due.0)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    format!("{} (by {by})", due_words(due, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        let t: jiff::Timestamp = text.parse().unwrap();
        Timestamp(t.as_microsecond())
    }

    #[test]
    fn targets_read_per_department_with_a_default() {
        let s = ServiceTargets::parse("default=4h/8h, Billing=30m/1d", None, None).unwrap();
        assert!(s.is_on());
        assert_eq!(
            s.target(Some("billing")),
            Some(Target {
                first_minutes: 30,
                next_minutes: 24 * 60
            })
        );
        assert_eq!(s.target(Some("Other")).unwrap().first_minutes, 240);
        assert_eq!(s.target(None).unwrap().next_minutes, 480);
        let both = ServiceTargets::parse("90", None, None).unwrap();
        assert_eq!(both.target(None).unwrap().next_minutes, 90);
        assert!(!ServiceTargets::default().is_on());
        for bad in ["4x", "=4h", "0m", "-1h", "4h/"] {
            assert!(ServiceTargets::parse(bad, None, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn round_the_clock_targets_add_wall_time() {
        let s = ServiceTargets::parse("4h/1h", None, None).unwrap();
        let since = at("2026-11-27T16:00:00Z");
        assert_eq!(s.due(None, true, since), Some(at("2026-11-27T20:00:00Z")));
        assert_eq!(s.due(None, false, since), Some(at("2026-11-27T17:00:00Z")));
    }

    #[test]
    fn business_hours_skip_nights_and_weekends_in_the_zone() {
        let s = ServiceTargets::parse("4h/2h", Some("mon-fri 09:00-17:00"), Some("Europe/Berlin"))
            .unwrap();
        // Friday 2026-11-27 15:00 in Berlin (UTC+1): 2 h left that day,
        // 2 h on Monday from 09:00.
        let since = at("2026-11-27T14:00:00Z");
        assert_eq!(s.due(None, true, since), Some(at("2026-11-30T10:00:00Z")));
        // written on Saturday: the clock starts on Monday.
        let saturday = at("2026-11-28T12:00:00Z");
        assert_eq!(
            s.due(None, false, saturday),
            Some(at("2026-11-30T10:00:00Z"))
        );
        // across the change to summer time (2026-03-29): 09:00 is 07:00 UTC.
        let before = at("2026-03-27T15:00:00Z");
        assert_eq!(s.due(None, false, before), Some(at("2026-03-30T08:00:00Z")));
        assert_eq!(
            s.hours().unwrap().to_string(),
            "mon,tue,wed,thu,fri 09:00-17:00 Europe/Berlin"
        );
        for (hours, zone) in [
            ("mon-fri 17:00-09:00", None),
            ("someday 09:00-17:00", None),
            ("mon-fri 9-17", None),
            ("mon-fri 09:00-17:00", Some("Mars/Olympus")),
        ] {
            assert!(BusinessHours::parse(hours, zone).is_err(), "{hours}");
        }
    }

    #[test]
    fn due_times_read_as_words() {
        let now = at("2026-11-27T12:00:00Z");
        assert_eq!(due_words(now.plus_millis(2 * 3_600_000), now), "due in 2 h");
        assert_eq!(
            due_words(now.plus_millis(35 * 60_000), now),
            "due in 35 min"
        );
        assert_eq!(
            due_words(now.plus_millis(-35 * 60_000), now),
            "overdue 35 min"
        );
        assert_eq!(
            due_words(now.plus_millis(-27 * 3_600_000), now),
            "overdue 1 d 3 h"
        );
        assert_eq!(
            due_words(now.plus_millis(90 * 60_000), now),
            "due in 1 h 30 min"
        );
        assert_eq!(
            due_text(now.plus_millis(2 * 3_600_000), now),
            "due in 2 h (by 2026-11-27 14:00 UTC)"
        );
    }
}
