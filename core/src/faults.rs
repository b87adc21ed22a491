//! Crash points: named places in delivery where a test can have the
//! process die, to show that a crash there loses nothing and repeats
//! nothing.
//!
//! `THREADESK_CRASH_AT=<point>:<n>` makes the process abort, as a
//! `kill -9` would (no destructor runs, nothing is flushed), the `n`th
//! time it passes `<point>` (`n` defaults to 1). With
//! `THREADESK_CRASH_LOG=<file>` as well, it aborts the first time it
//! passes `<point>` for a step (named by its key) that the file does not
//! list yet, after adding it: started again and again, processes crash once
//! at every step's `<point>`, one after the other. Unset, a crash point
//! costs one atomic load. `THREADESK_CRASH_STEP=<prefix>` narrows it to
//! the steps whose key starts with `<prefix>` (`card:7:p3`: that card).
//! The points of a delivery step are
//! [`BEFORE_CALL`] (its intent written down, the platform not called yet),
//! [`AFTER_CALL`] (the platform accepted it, nothing recorded yet) and
//! [`AFTER_RECORD`] (recorded; its intent not closed yet).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The variable that arms a crash point.
pub const VARIABLE: &str = "THREADESK_CRASH_AT";
/// The file of steps already crashed at.
pub const LOG_VARIABLE: &str = "THREADESK_CRASH_LOG";
/// The start of the keys of the only steps to crash in.
pub const STEP_VARIABLE: &str = "THREADESK_CRASH_STEP";
/// An intent is written down; the platform is about to be called.
pub const BEFORE_CALL: &str = "delivery.before_call";
/// The platform accepted the call; its result is not recorded yet.
pub const AFTER_CALL: &str = "delivery.after_call";
/// The result is recorded; the intent is not closed yet.
pub const AFTER_RECORD: &str = "delivery.after_record";
/// Every delivery crash point, in the order a step passes them.
pub const DELIVERY: [&str; 3] = [BEFORE_CALL, AFTER_CALL, AFTER_RECORD];

struct Armed {
    point: String,
    at: u64,
    passed: AtomicU64,
    /// Only steps whose key starts with it.
    step: Option<String>,
    /// The log file and the steps it lists.
    log: Option<(std::path::PathBuf, std::collections::HashSet<String>)>,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let value = std::env::var(VARIABLE).ok()?;
            let log = std::env::var_os(LOG_VARIABLE).map(std::path::PathBuf::from);
            let log = log.map(|path| {
                let done = std::fs::read_to_string(&path).unwrap_or_default();
                let done = done.lines().map(str::to_owned).collect();
                (path, done)
            });
            let step = std::env::var(STEP_VARIABLE).ok().filter(|s| !s.is_empty());
            parse(&value).map(|(point, at)| Armed {
                point,
                at,
                passed: AtomicU64::new(0),
                step,
                log,
            })
        })
        .as_ref()
}

/// `<point>[:<n>]`; `None` when it is not that.
pub fn parse(value: &str) -> Option<(String, u64)> {
    let value = value.trim();
    let (point, at) = match value.rsplit_once(':') {
        Some((p, n)) => (p, n.parse::<u64>().ok().filter(|n| *n > 0)?),
        None => (value, 1),
    };
    (!point.is_empty()).then(|| (point.to_owned(), at))
}

/// Passes the crash point `point` in the step `step` (its key): aborts the
/// process if it is armed there and this is the time.
pub fn crash_point(point: &str, step: &str) {
    let Some(armed) = armed() else { return };
    if armed.point != point || armed.step.as_ref().is_some_and(|s| !step.starts_with(s)) {
        return;
    }
    if let Some((path, done)) = &armed.log {
        if done.contains(step) || step.contains('\n') {
            return;
        }
        let logged = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| {
                use std::io::Write;
                writeln!(f, "{step}")?;
                f.sync_all()
            });
        if logged.is_ok() {
            eprintln!("{VARIABLE}: crashing at {point} in {step}");
            std::process::abort();
        }
        return;
    }
    if armed.passed.fetch_add(1, Ordering::SeqCst) + 1 == armed.at {
        eprintln!(
            "{VARIABLE}: crashing at {point} in {step} (time {})",
            armed.at
        );
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_is_named_with_an_optional_count() {
        assert_eq!(
            parse("delivery.after_call:3"),
            Some(("delivery.after_call".into(), 3))
        );
        assert_eq!(
            parse("delivery.before_call"),
            Some(("delivery.before_call".into(), 1))
        );
        assert_eq!(parse("delivery.before_call:0"), None);
        assert_eq!(parse("x:y"), None);
        assert_eq!(parse(""), None);
    }
}
