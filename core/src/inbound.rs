//! Chat requests acknowledged before they are handled.
//!
//! A platform wants its acknowledgement within a few seconds and shows the
//! person nothing until then; under a burst, handling every request before
//! answering it makes the last one wait for all the others. So a chat
//! adapter may store a request here, durably (in a shared commit on SQLite,
//! [`crate::writer`]), acknowledge it, and handle it afterwards, answering
//! through the platform's own way of answering late (Slack's
//! `response_url`, Discord's edit of the original response).
//!
//! A stored request is leased to the process that stored it; once handled
//! and answered it is removed ([`Inbound::done`]). A process that dies in
//! between leaves it stored, and any process takes it up again when its
//! lease lapses ([`Inbound::claim`]). Handling a request twice (a crash
//! after the engine's commit, or a lease that lapsed on a slow handler)
//! acts once: every engine command carries the platform's id of the
//! request as its idempotency key, and the late answers replace what they
//! answer rather than adding to it.

use crate::db::{Backend, Db};
use crate::error::Result;
use crate::time::Timestamp;
use sqlx::Row;
use std::time::Duration;

/// One stored request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The platform's id of it (also the engine's idempotency key).
    pub key: String,
    /// What the adapter stored: the request as received.
    pub payload: String,
    /// When it arrived.
    pub received_at: Timestamp,
    /// How many times it was handed out, this time included.
    pub attempts: i64,
}

/// What is waiting to be handled on a platform.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Requests stored and not yet handled (given-up ones excluded).
    pub pending: i64,
    /// Age of the oldest of them, in milliseconds.
    pub oldest_ms: i64,
    /// Requests whose handling gave up.
    pub failed: i64,
}

/// The most requests [`Inbound::store_many`] writes at once.
pub const MAX_BATCH: usize = 64;

/// The store of acknowledged requests.
#[derive(Debug, Clone)]
pub struct Inbound {
    db: Db,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Inbound {
    /// The store on a database.
    pub fn new(db: Db) -> Inbound {
        Inbound { db }
    }

    /// Stores a request of `platform` under its `key`, leased to this
    /// process for `lease`; returns once it is durable. `false` when the
    /// key is stored already (a redelivery of a request not yet handled:
    /// the stored one will be, and this one must not be handled too).
    pub async fn store(
        &self,
        platform: &str,
        key: &str,
        payload: &str,
        lease: Duration,
    ) -> Result<bool> {
        let fresh = self.store_many(&[(platform, key, payload)], lease).await?;
        Ok(fresh.first().copied().unwrap_or(false))
    }

    /// Stores several requests (`(platform, key, payload)`) in one
    /// statement and one commit, each leased to this process for `lease`:
    /// for each, whether it was new (as [`Inbound::store`]). At most
    /// [`MAX_BATCH`] at once.
    pub async fn store_many(
        &self,
        requests: &[(&str, &str, &str)],
        lease: Duration,
    ) -> Result<Vec<bool>> {
        if requests.is_empty() {
            return Ok(vec![]);
        }
        let now = self.db.now();
        let until = now.plus_millis(millis(lease));
        let rows = (0..requests.len().min(MAX_BATCH))
            .map(|i| {
                let b = i * 5;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, 1)",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "insert into inbound_requests (request_key, platform, payload, received_at, available_at, attempts) \
             values {rows} on conflict (request_key) do nothing returning request_key"
        );
        // one text per number of rows: kept for one row only (see
        // `crate::db`).
        let mut q = sqlx::query(&sql).persistent(requests.len() == 1);
        for (platform, key, payload) in requests.iter().take(MAX_BATCH) {
            q = q
                .bind(*key)
                .bind(*platform)
                .bind(*payload)
                .bind(now.0)
                .bind(until.0);
        }
        // the people who sent them wait for this commit: it goes first.
        let mut tx = self.db.begin_urgent().await?;
        let stored = q.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let fresh: std::collections::HashSet<String> = stored
            .iter()
            .map(|r| r.try_get::<String, _>("request_key"))
            .collect::<std::result::Result<_, _>>()?;
        // a key twice in one batch: the first is the new one.
        let mut seen = std::collections::HashSet::new();
        Ok(requests
            .iter()
            .take(MAX_BATCH)
            .map(|(_, key, _)| fresh.contains(*key) && seen.insert(*key))
            .collect())
    }

    /// Takes up to `max` requests of `platform` whose lease has lapsed (their
    /// process died, or gave up for now), oldest first, each leased to
    /// this process for `lease`.
    pub async fn claim(&self, platform: &str, max: u32, lease: Duration) -> Result<Vec<Stored>> {
        let now = self.db.now();
        let skip_locked = match self.db.backend() {
            Backend::Postgres => " for update skip locked",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "update inbound_requests set available_at = $3, attempts = attempts + 1 \
             where request_key in ( \
                 select request_key from inbound_requests \
                 where platform = $1 and failed_at is null and available_at <= $2 \
                 order by available_at limit $4{skip_locked}) \
             returning request_key, payload, received_at, attempts"
        );
        let mut tx = self.db.begin().await?;
        let rows = sqlx::query(&sql)
            .bind(platform)
            .bind(now.0)
            .bind(now.plus_millis(millis(lease)).0)
            .bind(i64::from(max))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(Stored {
                    key: r.try_get("request_key")?,
                    payload: r.try_get("payload")?,
                    received_at: Timestamp(r.try_get("received_at")?),
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|s| s.received_at);
        Ok(out)
    }

    /// Lengthens the leases of requests this process still holds (those
    /// not forgotten meanwhile), so no other process takes them up.
    pub async fn renew(&self, keys: &[String], lease: Duration) -> Result<()> {
        let until = self.db.now().plus_millis(millis(lease));
        for chunk in keys.chunks(MAX_BATCH) {
            let list = (0..chunk.len())
                .map(|i| format!("${}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "update inbound_requests set available_at = $1 \
                 where request_key in ({list}) and failed_at is null"
            );
            let mut q = sqlx::query(&sql).persistent(chunk.len() == 1).bind(until.0);
            for k in chunk {
                q = q.bind(k.as_str());
            }
            self.db.write(q).await?;
        }
        Ok(())
    }

    /// The request is handled and answered: forgotten.
    pub async fn done(&self, key: &str) -> Result<()> {
        self.db
            .write(sqlx::query("delete from inbound_requests where request_key = $1").bind(key))
            .await?;
        Ok(())
    }

    /// Handling failed: tried again after `retry_in`, or never again when
    /// `give_up` (the request stays, marked, for a look).
    pub async fn failed(
        &self,
        key: &str,
        error: &str,
        retry_in: Duration,
        give_up: bool,
    ) -> Result<()> {
        let now = self.db.now();
        self.db
            .write(
                sqlx::query(
                    "update inbound_requests set last_error = $2, available_at = $3, failed_at = $4 \
                     where request_key = $1",
                )
                .bind(key)
                .bind(error.chars().take(500).collect::<String>())
                .bind(now.plus_millis(millis(retry_in)).0)
                .bind(give_up.then_some(now.0)),
            )
            .await?;
        Ok(())
    }

    /// What is waiting on `platform`.
    pub async fn backlog(&self, platform: &str) -> Result<Backlog> {
        Ok(self
            .backlogs()
            .await?
            .into_iter()
            .find(|(p, _)| p == platform)
            .map(|(_, b)| b)
            .unwrap_or_default())
    }

    /// What is waiting, by platform (platforms with nothing stored left out).
    pub async fn backlogs(&self) -> Result<Vec<(String, Backlog)>> {
        let rows = sqlx::query(
            "select platform, count(*) filter (where failed_at is null) as pending, \
                    min(received_at) filter (where failed_at is null) as oldest, \
                    count(*) filter (where failed_at is not null) as failed \
             from inbound_requests group by platform order by platform",
        )
        .fetch_all(self.db.pool())
        .await?;
        let now = self.db.now().0;
        rows.iter()
            .map(|row| {
                let oldest: Option<i64> = row.try_get("oldest")?;
                Ok((
                    row.try_get("platform")?,
                    Backlog {
                        pending: row.try_get("pending")?,
                        oldest_ms: oldest.map(|t| (now - t).max(0) / 1000).unwrap_or(0),
                        failed: row.try_get("failed")?,
                    },
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{harness, Kind};

    async fn both(check: impl AsyncFn(Inbound)) {
        for kind in [Kind::Sqlite, Kind::Postgres] {
            let h = harness(kind).await;
            check(Inbound::new(h.engine.db().clone())).await;
        }
    }

    #[tokio::test]
    async fn a_stored_request_is_taken_up_again_only_once_its_lease_lapses() {
        both(async |inbound: Inbound| {
            let long = Duration::from_secs(60);
            assert!(inbound
                .store("slack", "slack:cmd:1", "{\"a\":1}", long)
                .await
                .unwrap());
            // a redelivery while it is stored is not stored again.
            assert!(!inbound
                .store("slack", "slack:cmd:1", "{\"a\":2}", long)
                .await
                .unwrap());
            assert!(inbound
                .store("slack", "slack:cmd:2", "{}", Duration::ZERO)
                .await
                .unwrap());
            assert!(inbound
                .store("discord", "discord:interaction:3", "{}", Duration::ZERO)
                .await
                .unwrap());
            let backlog = inbound.backlog("slack").await.unwrap();
            assert_eq!((backlog.pending, backlog.failed), (2, 0));
            // only the lapsed one of that platform, leased anew.
            let taken = inbound.claim("slack", 10, long).await.unwrap();
            assert_eq!(taken.len(), 1);
            assert_eq!(taken[0].key, "slack:cmd:2");
            assert_eq!(taken[0].attempts, 2);
            assert!(inbound.claim("slack", 10, long).await.unwrap().is_empty());
            // a held one renewed with no time left is lapsed; renewed, not.
            inbound
                .renew(&["slack:cmd:2".to_owned()], Duration::ZERO)
                .await
                .unwrap();
            inbound
                .renew(&["slack:cmd:1".to_owned()], long)
                .await
                .unwrap();
            let again = inbound.claim("slack", 10, long).await.unwrap();
            assert_eq!(again.len(), 1);
            assert_eq!(
                (again[0].key.as_str(), again[0].attempts),
                ("slack:cmd:2", 3)
            );
            inbound.done("slack:cmd:2").await.unwrap();
            assert_eq!(inbound.backlog("slack").await.unwrap().pending, 1);
            // once handled, a redelivery is a new request (the engine's
            // idempotency key makes it act once).
            assert!(inbound
                .store("slack", "slack:cmd:2", "{}", long)
                .await
                .unwrap());
        })
        .await;
    }

    #[tokio::test]
    async fn requests_stored_together_are_each_new_once() {
        both(async |inbound: Inbound| {
            let long = Duration::from_secs(60);
            inbound.store("slack", "k1", "{}", long).await.unwrap();
            let fresh = inbound
                .store_many(
                    &[
                        ("slack", "k1", "{}"),
                        ("slack", "k2", "{\"b\":2}"),
                        ("discord", "k3", "{}"),
                        ("slack", "k2", "{}"),
                    ],
                    Duration::ZERO,
                )
                .await
                .unwrap();
            assert_eq!(fresh, [false, true, true, false]);
            let taken = inbound.claim("slack", 10, long).await.unwrap();
            assert_eq!(taken.len(), 1);
            assert_eq!(
                (taken[0].key.as_str(), taken[0].payload.as_str()),
                ("k2", "{\"b\":2}")
            );
            assert_eq!(inbound.backlog("discord").await.unwrap().pending, 1);
        })
        .await;
    }

    #[tokio::test]
    async fn a_failed_request_is_retried_later_or_kept_aside_when_given_up() {
        both(async |inbound: Inbound| {
            let zero = Duration::ZERO;
            inbound.store("discord", "d:1", "{}", zero).await.unwrap();
            inbound.store("discord", "d:2", "{}", zero).await.unwrap();
            assert_eq!(inbound.claim("discord", 10, zero).await.unwrap().len(), 2);
            inbound
                .failed(
                    "d:1",
                    "the platform said no",
                    Duration::from_secs(60),
                    false,
                )
                .await
                .unwrap();
            inbound.failed("d:2", "hopeless", zero, true).await.unwrap();
            assert!(inbound.claim("discord", 10, zero).await.unwrap().is_empty());
            let backlog = inbound.backlog("discord").await.unwrap();
            assert_eq!((backlog.pending, backlog.failed), (1, 1));
        })
        .await;
    }
}
