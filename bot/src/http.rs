//! The HTTP listener's own routes: `/healthz`, `/readyz` and `/metrics`
//! (Prometheus text), and the request counter every route goes through.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use threadesk_core::outbox::Outbox;
use threadesk_core::time::Timestamp;
use threadesk_core::Engine;

/// Requests served, by method, route pattern and status.
#[derive(Debug, Default)]
pub struct RequestCounter {
    counts: Mutex<BTreeMap<(String, String, u16), u64>>,
}

impl RequestCounter {
    fn record(&self, method: &str, route: &str, status: u16) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
    }

    fn snapshot(&self) -> Vec<((String, String, u16), u64)> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

/// What the ops routes read.
#[derive(Clone)]
pub struct Ops {
    /// The engine (its database and command counters).
    pub engine: Engine,
    /// Request counts.
    pub requests: Arc<RequestCounter>,
}

/// The ops routes.
pub fn routes(ops: Ops) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(ops)
}

async fn ready(State(ops): State<Ops>) -> Response {
    if ops.engine.db().ping().await {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
    }
}

/// Counts every request by its route pattern (never the raw path, which
/// would hold ticket numbers and grow without bound).
pub async fn count_requests(
    State(counter): State<Arc<RequestCounter>>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(req).await;
    counter.record(&method, &route, response.status().as_u16());
    response
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Overdue tickets per department, and the first-response histogram.
fn service_metrics(out: &mut String, f: &threadesk_core::engine::ServiceFigures) {
    use threadesk_core::engine::FIRST_RESPONSE_BUCKETS;
    let _ = writeln!(
        out,
        "# HELP threadesk_tickets_overdue Open tickets past their service target, by department."
    );
    let _ = writeln!(out, "# TYPE threadesk_tickets_overdue gauge");
    for (dept, n) in &f.overdue {
        let _ = writeln!(
            out,
            "threadesk_tickets_overdue{{department=\"{}\"}} {n}",
            label(dept)
        );
    }
    let _ = writeln!(
        out,
        "# HELP threadesk_first_response_seconds Time to the first staff answer, tickets opened in the last 30 days, by department."
    );
    let _ = writeln!(out, "# TYPE threadesk_first_response_seconds histogram");
    for (dept, counts, n, total) in &f.first_response {
        let dept = label(dept);
        for (bound, count) in FIRST_RESPONSE_BUCKETS.iter().zip(counts) {
            let _ = writeln!(
                out,
                "threadesk_first_response_seconds_bucket{{department=\"{dept}\",le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "threadesk_first_response_seconds_bucket{{department=\"{dept}\",le=\"+Inf\"}} {n}"
        );
        let _ = writeln!(
            out,
            "threadesk_first_response_seconds_sum{{department=\"{dept}\"}} {total}"
        );
        let _ = writeln!(
            out,
            "threadesk_first_response_seconds_count{{department=\"{dept}\"}} {n}"
        );
    }
}

/// Ratings given, by department, owner and score (a rating changed counts
/// once, as it is now). Over a period: the increase between two scrapes,
/// or the staff report page.
fn rating_metrics(out: &mut String, counts: &[(Option<String>, Option<String>, i64, i64)]) {
    let _ = writeln!(
        out,
        "# HELP threadesk_ratings Satisfaction ratings of closed tickets, by department, owner and score (1 to 5)."
    );
    let _ = writeln!(out, "# TYPE threadesk_ratings gauge");
    for (department, owner, score, n) in counts {
        let _ = writeln!(
            out,
            "threadesk_ratings{{department=\"{}\",owner=\"{}\",score=\"{score}\"}} {n}",
            label(department.as_deref().unwrap_or("none")),
            label(owner.as_deref().unwrap_or("none"))
        );
    }
}

async fn metrics(State(ops): State<Ops>) -> Response {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP threadesk_http_requests_total HTTP requests served."
    );
    let _ = writeln!(out, "# TYPE threadesk_http_requests_total counter");
    for ((method, route, status), n) in ops.requests.snapshot() {
        let _ = writeln!(
            out,
            "threadesk_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
            label(&method),
            label(&route)
        );
    }
    let _ = writeln!(
        out,
        "# HELP threadesk_commands_total Engine commands by operation and outcome."
    );
    let _ = writeln!(out, "# TYPE threadesk_commands_total counter");
    for (op, outcome, n) in ops.engine.metrics().commands() {
        let _ = writeln!(
            out,
            "threadesk_commands_total{{op=\"{op}\",outcome=\"{outcome}\"}} {n}"
        );
    }
    if let Some(stats) = ops.engine.db().commit_stats() {
        let _ = writeln!(
            out,
            "# HELP threadesk_write_transactions_total Write transactions on the SQLite file.\n\
             # TYPE threadesk_write_transactions_total counter\n\
             threadesk_write_transactions_total {}\n\
             # HELP threadesk_write_commits_total Commits (each one sync) that carried them: waiting writers share one.\n\
             # TYPE threadesk_write_commits_total counter\n\
             threadesk_write_commits_total {}",
            stats.transactions, stats.commits
        );
    }
    match ops.engine.service_figures(Timestamp::now()).await {
        Ok(f) => service_metrics(&mut out, &f),
        Err(e) => tracing::warn!(error = %e, "service figures unavailable"),
    }
    match ops.engine.rating_counts().await {
        Ok(counts) => rating_metrics(&mut out, &counts),
        Err(e) => tracing::warn!(error = %e, "ratings unavailable"),
    }
    let outbox = Outbox::new(ops.engine.db().clone());
    let mut lags = Vec::new();
    match outbox.consumers().await {
        Ok(consumers) => {
            for c in consumers {
                match outbox.lag(&c).await {
                    Ok(lag) => lags.push((c, lag)),
                    Err(e) => tracing::warn!(error = %e, "outbox lag unavailable"),
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "outbox consumers unavailable"),
    }
    let by = |f: fn(&threadesk_core::outbox::Lag) -> String| {
        lags.iter()
            .map(|(c, l)| (c.as_str(), f(l)))
            .collect::<Vec<_>>()
    };
    gauge(
        &mut out,
        "threadesk_outbox_pending",
        "Events a consumer has not handled yet.",
        "consumer",
        &by(|l| l.pending.to_string()),
    );
    gauge(
        &mut out,
        "threadesk_outbox_oldest_pending_seconds",
        "Age of the oldest event a consumer has not handled.",
        "consumer",
        &by(|l| format!("{:.3}", l.oldest_ms as f64 / 1000.0)),
    );
    gauge(
        &mut out,
        "threadesk_outbox_failed",
        "Events a consumer gave up on (kept for staff).",
        "consumer",
        &by(|l| l.failed.to_string()),
    );
    inbound_metrics(&mut out, &ops).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// A gauge with one value per `label` (values written as given).
fn gauge(out: &mut String, name: &str, help: &str, label: &str, values: &[(&str, String)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (key, value) in values {
        let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {value}", self::label(key));
    }
}

/// Chat requests acknowledged first and not yet handled, by platform.
async fn inbound_metrics(out: &mut String, ops: &Ops) {
    let inbound = threadesk_core::inbound::Inbound::new(ops.engine.db().clone());
    let backlogs = match inbound.backlogs().await {
        // the platforms that acknowledge first, at 0 when nothing waits.
        Ok(mut b) => {
            for p in ["discord", "slack"] {
                if !b.iter().any(|(q, _)| q == p) {
                    b.push((p.to_owned(), Default::default()));
                }
            }
            b.sort_by(|x, y| x.0.cmp(&y.0));
            b
        }
        Err(e) => {
            tracing::warn!(error = %e, "stored chat requests unavailable");
            return;
        }
    };
    let by = |f: fn(&threadesk_core::inbound::Backlog) -> String| {
        backlogs
            .iter()
            .map(|(p, b)| (p.as_str(), f(b)))
            .collect::<Vec<_>>()
    };
    gauge(
        out,
        "threadesk_inbound_pending",
        "Chat requests acknowledged and not yet handled and answered.",
        "platform",
        &by(|b| b.pending.to_string()),
    );
    gauge(
        out,
        "threadesk_inbound_oldest_pending_seconds",
        "Age of the oldest of them.",
        "platform",
        &by(|b| format!("{:.3}", b.oldest_ms as f64 / 1000.0)),
    );
    gauge(
        out,
        "threadesk_inbound_failed",
        "Chat requests whose answer could not be shown; set aside.",
        "platform",
        &by(|b| b.failed.to_string()),
    );
}
