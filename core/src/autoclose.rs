//! Automatic closing: a ticket that waits on its customer (awaiting client)
//! with no reply from the customer side for a while gets a reminder on
//! every surface the customer follows it on ("we'll close this in 3 days
//! unless you reply"), then closes after a second period, with a line that
//! says why. A reply from the customer side stops it (the ticket no longer
//! waits on them); staff may pause it per ticket.
//!
//! The periods are per department with a default, from configuration
//! (`AUTO_CLOSE`); unset, nothing closes by itself. The due time of each
//! ticket's next step is in its row, so any replica can do it, after any
//! restart; [`crate::Engine::run_auto_close`] does each step in one
//! transaction with the ticket's row locked (and claimed with
//! `skip locked` on PostgreSQL), so no step happens twice and none after a
//! reply that committed first.

use crate::service::minutes;
use std::fmt;

/// How long a ticket may wait on its customer, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periods {
    /// With no reply for this long, the customer is reminded.
    pub remind_after: i64,
    /// And this long after the reminder, the ticket closes.
    pub close_after: i64,
}

impl Periods {
    /// The whole silence that closes a ticket, in minutes.
    pub fn total(&self) -> i64 {
        self.remind_after.saturating_add(self.close_after)
    }
}

/// The deployment's automatic closing (off by default).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AutoClose {
    default: Option<Periods>,
    /// Lower-cased department names; `None`: off for that department.
    departments: Vec<(String, Option<Periods>)>,
}

/// `7d/3d` (remind after 7 days, close 3 days later), or `7d` for both.
fn periods(text: &str) -> Result<Option<Periods>, String> {
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let (remind, close) = text.split_once('/').unwrap_or((text, text));
    Ok(Some(Periods {
        remind_after: minutes(remind)?,
        close_after: minutes(close)?,
    }))
}

impl AutoClose {
    /// As configured: `7d/3d` for every department, or a list
    /// `default=7d/3d, Billing=14d/7d, Sales=off`; times as service
    /// targets take them (`90m`, `4h`, `1d`).
    pub fn parse(text: &str) -> Result<AutoClose, String> {
        let mut out = AutoClose::default();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            match part.split_once('=') {
                None => out.default = periods(part)?,
                Some((name, p)) if name.trim().eq_ignore_ascii_case("default") => {
                    out.default = periods(p)?
                }
                Some((name, p)) => {
                    let name = name.trim().to_lowercase();
                    if name.is_empty() {
                        return Err(format!("{part:?} names no department"));
                    }
                    out.departments.push((name, periods(p)?));
                }
            }
        }
        Ok(out)
    }

    /// Whether any ticket may close by itself.
    pub fn is_on(&self) -> bool {
        self.default.is_some() || self.departments.iter().any(|(_, p)| p.is_some())
    }

    /// The periods of a department (by name), or the default.
    pub fn periods(&self, department: Option<&str>) -> Option<Periods> {
        if let Some(name) = department {
            let name = name.to_lowercase();
            if let Some((_, p)) = self.departments.iter().find(|(n, _)| *n == name) {
                return *p;
            }
        }
        self.default
    }
}

impl fmt::Display for AutoClose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |p: &Option<Periods>| match p {
            Some(p) => format!("{}m/{}m", p.remind_after, p.close_after),
            None => "off".to_owned(),
        };
        write!(f, "default={}", show(&self.default))?;
        for (name, p) in &self.departments {
            write!(f, ", {name}={}", show(p))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_read_per_department_with_a_default() {
        assert!(!AutoClose::parse("").unwrap().is_on());
        let a = AutoClose::parse("default=7d/3d, Billing=14d/2d, Sales=off").unwrap();
        assert!(a.is_on());
        let week = Periods {
            remind_after: 7 * 24 * 60,
            close_after: 3 * 24 * 60,
        };
        assert_eq!(a.periods(None), Some(week));
        assert_eq!(a.periods(Some("Support")), Some(week));
        assert_eq!(
            a.periods(Some("billing")).unwrap().remind_after,
            14 * 24 * 60
        );
        assert_eq!(a.periods(Some("SALES")), None);
        let both = AutoClose::parse("2d").unwrap().periods(None).unwrap();
        assert_eq!((both.remind_after, both.close_after), (2880, 2880));
        assert_eq!(week.total(), 10 * 24 * 60);
        // only a department switched on: on, but not by default.
        let one = AutoClose::parse("default=off, Billing=1d/1d").unwrap();
        assert!(one.is_on());
        assert_eq!(one.periods(Some("Other")), None);
        for bad in ["7x", "=7d", "0d", "7d/soon"] {
            assert!(AutoClose::parse(bad).is_err(), "{bad}");
        }
    }
}
