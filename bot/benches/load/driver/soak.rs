//! The soak: many engine events through the portal (opens, replies and
//! closes over one ticket per 100 events), the outbox delivering them to
//! the fake Slack and Discord, and the server's memory and the outbox's
//! lag read at every tenth of the way (every 100,000 events of a million).

use super::portal::Browser;
use super::{chat, outbox, server, Options, Report};
use anyhow::bail;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Portal clients writing at once.
const WRITERS: usize = 8;
/// Requests, messages other than cards and files each fake remembers
/// during a soak.
const KEEP_LATEST: usize = 1_000;
/// Events per ticket: its opening, its replies and its closing.
const PER_TICKET: u64 = 100;

pub async fn run(o: &Options, r: &mut Report) -> anyhow::Result<()> {
    let (platforms, server) = chat::Platforms::with_server(o).await?;
    // the fakes keep what the server posted (to edit it and find it again)
    // but not a million requests.
    platforms.slack.keep_latest(KEEP_LATEST);
    platforms.discord.keep_latest(KEEP_LATEST);
    let outcome = soak(o, r, &server, &platforms).await;
    platforms.finish(server, outcome).await
}

/// One sample: events so far, resident memory (its own and mapped from
/// files, and how much is in huge pages), the server's threads, events
/// pending, the oldest pending one's age.
struct Sample {
    events: u64,
    rss_kib: u64,
    anon_kib: u64,
    file_kib: u64,
    huge_kib: u64,
    threads: u64,
    pending: u64,
    oldest_s: f64,
}

fn print_sample(r: &mut Report, s: &Sample) {
    r.line(&format!("soak_rss_kib_at_{}", s.events), s.rss_kib);
    r.line(&format!("soak_rss_anon_kib_at_{}", s.events), s.anon_kib);
    r.line(&format!("soak_rss_file_kib_at_{}", s.events), s.file_kib);
    r.line(&format!("soak_huge_kib_at_{}", s.events), s.huge_kib);
    r.line(&format!("soak_threads_at_{}", s.events), s.threads);
    r.line(&format!("soak_outbox_pending_at_{}", s.events), s.pending);
    r.line(
        &format!("soak_outbox_oldest_s_at_{}", s.events),
        format!("{:.2}", s.oldest_s),
    );
}

async fn soak(
    o: &Options,
    r: &mut Report,
    server: &server::Server,
    platforms: &chat::Platforms,
) -> anyhow::Result<()> {
    platforms.connected().await?;
    let http = reqwest::Client::new();
    let hook = platforms.slack.response_url();
    // the writers are chat people first: the portal lists them then.
    for i in 0..WRITERS {
        let who = chat::User::nth(platforms, i, WRITERS);
        chat::send(&http, &server.base, &hook, &who, chat::Ask::Open, i as u64).await?;
    }
    let mut browsers = vec![];
    for i in 0..WRITERS {
        browsers.push(Arc::new(Browser::sign_in(&server.base, i).await?));
    }
    let per = o.soak.clamp(3, PER_TICKET);
    let tickets = (o.soak / per).max(1);
    let target = tickets * per;
    let step = (target / 10).max(1);
    let deadline = Instant::now() + Duration::from_secs(o.soak_minutes * 60);
    let events = Arc::new(AtomicU64::new(0));
    let late = Arc::new(AtomicBool::new(false));

    let http = &http;
    // the memory is read before the outbox's figures are asked for: the
    // server's answer to that request (its queries, its text) is memory
    // of the sample's own making, about 1.3 MiB read just after it.
    let sample = move |events: u64| async move {
        let (rss_kib, huge_kib) = (server.rss_kib(), server.huge_kib());
        let (anon_kib, file_kib) = server.rss_parts_kib();
        let threads = server.threads();
        let (pending, oldest_s, _) = outbox(http, &server.base).await?;
        Ok::<_, anyhow::Error>(Sample {
            events,
            rss_kib,
            anon_kib,
            file_kib,
            huge_kib,
            threads,
            pending,
            oldest_s,
        })
    };
    let start = sample(0).await?;
    let rss_start = start.rss_kib;
    let cpu_before = server.cpu_ms();
    let began = Instant::now();
    // with a rate: each event has its moment, taken in turn.
    let slots = Arc::new(AtomicU64::new(0));
    let rate = o.soak_rate;
    let mut tasks = tokio::task::JoinSet::new();
    for (w, b) in browsers.iter().enumerate() {
        let (b, events, late) = (b.clone(), events.clone(), late.clone());
        let slots = slots.clone();
        let paced = move || {
            let slots = slots.clone();
            async move {
                if rate > 0 {
                    let n = slots.fetch_add(1, Ordering::Relaxed);
                    let at = began + Duration::from_secs_f64(n as f64 / rate as f64);
                    tokio::time::sleep_until(at.into()).await;
                }
            }
        };
        tasks.spawn(async move {
            // this writer's tickets (every WRITERS-th), all in each round:
            // opened first, then a reply on each in turn, then closed, so
            // that many tickets are in play at once, as on a help desk.
            let mine: Vec<u64> = (w as u64..tickets).step_by(WRITERS).collect();
            let mut numbers = Vec::with_capacity(mine.len());
            for k in 0..per {
                for (j, &t) in mine.iter().enumerate() {
                    if Instant::now() > deadline {
                        late.store(true, Ordering::Relaxed);
                        return Ok::<_, anyhow::Error>(());
                    }
                    paced().await;
                    if k == 0 {
                        numbers.push(b.open_direct(&format!("soak-{t}-open"), t).await?);
                    } else if k == per - 1 {
                        b.close(&numbers[j]).await?;
                    } else {
                        b.reply_direct(&numbers[j], &format!("soak-{t}-{k}"), k)
                            .await?;
                    }
                    events.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(())
        });
    }
    print_sample(r, &start);
    let mut samples = vec![start];
    let mut checkpoint = step;
    loop {
        let finished = tokio::select! {
            done = tasks.join_next() => match done {
                None => true,
                Some(outcome) => {
                    outcome??;
                    false
                }
            },
            _ = tokio::time::sleep(Duration::from_millis(200)) => false,
        };
        let now = events.load(Ordering::Relaxed);
        while now >= checkpoint && checkpoint <= target {
            let s = sample(checkpoint).await?;
            // printed as it comes: a long soak shows where it is.
            print_sample(r, &s);
            samples.push(s);
            checkpoint += step;
        }
        if finished {
            break;
        }
    }
    let wall = began.elapsed().as_secs_f64();
    let cpu = server.cpu_ms() - cpu_before;
    let done = events.load(Ordering::Relaxed);
    let end = sample(done).await?;
    let drain = super::drained(&server.base, Duration::from_secs(300)).await?;

    r.line("soak_events", done);
    r.line("soak_events_per_s", format!("{:.1}", done as f64 / wall));
    r.line(
        "soak_cpu_ms_per_event",
        format!("{:.3}", cpu / done.max(1) as f64),
    );
    r.line("soak_rss_kib_end", end.rss_kib);
    // from the first tenth on: the caches have filled by then.
    let settled = samples.get(1).unwrap_or(&end).rss_kib.max(1) as f64;
    let most = samples.iter().skip(1).map(|s| s.rss_kib).max().unwrap_or(0);
    let most = most.max(end.rss_kib) as f64;
    r.line("soak_rss_growth_from_start", {
        format!("{:.3}", end.rss_kib as f64 / rss_start.max(1) as f64)
    });
    r.line(
        "soak_rss_max_vs_first_tenth",
        format!("{:.3}", most / settled),
    );
    // the same for its own memory alone (code mapped in later is no memory
    // in use).
    let settled_anon = samples.get(1).unwrap_or(&end).anon_kib.max(1) as f64;
    let most_anon = samples
        .iter()
        .skip(1)
        .chain([&end])
        .map(|s| s.anon_kib)
        .max()
        .unwrap_or(0) as f64;
    r.line(
        "soak_rss_anon_max_vs_first_tenth",
        format!("{:.3}", most_anon / settled_anon),
    );
    let worst = samples
        .iter()
        .chain([&end])
        .map(|s| s.oldest_s)
        .fold(0.0, f64::max);
    r.line("soak_outbox_oldest_max_s", format!("{worst:.2}"));
    r.line("soak_outbox_drain_s", format!("{drain:.2}"));
    if late.load(Ordering::Relaxed) {
        bail!(
            "the soak stopped at its time limit ({} minutes) after {done} of {target} events",
            o.soak_minutes
        );
    }
    Ok(())
}
