//! Counters the engine keeps about itself: commands by operation and
//! outcome. Plain memory, no I/O; the binary renders them for `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Commands run, by `(operation, outcome)`; the outcome is `ok` or the
/// error's [`kind`](crate::EngineError::kind).
#[derive(Debug, Default)]
pub struct Metrics {
    commands: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl Metrics {
    /// Counts one command.
    pub fn record_command(&self, op: &'static str, outcome: &'static str) {
        // a poisoned counter map is still a usable counter map.
        let mut map = self.commands.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((op, outcome)).or_default() += 1;
    }

    /// Every `(operation, outcome, count)` so far, sorted.
    pub fn commands(&self) -> Vec<(&'static str, &'static str, u64)> {
        let map = self.commands.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .map(|((op, outcome), n)| (*op, *outcome, *n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_operation_and_outcome_apart() {
        let m = Metrics::default();
        m.record_command("reply", "ok");
        m.record_command("reply", "ok");
        m.record_command("reply", "ticket_closed");
        m.record_command("close", "ok");
        assert_eq!(
            m.commands(),
            vec![
                ("close", "ok", 1),
                ("reply", "ok", 2),
                ("reply", "ticket_closed", 1)
            ]
        );
    }
}
