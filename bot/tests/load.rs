//! The load driver runs from the repository: a short run on each backend
//! prints every figure, each a measurement (operations did happen), with
//! the fake platforms finding nothing wrong in what the outbox sent.

#[path = "../benches/load/driver/mod.rs"]
mod driver;

fn figure(lines: &[String], name: &str) -> f64 {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name:?} in {lines:#?}"))
}

fn ratio(lines: &[String], name: &str) -> f64 {
    lines
        .iter()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split("ratio=").nth(1))
        .and_then(|r| r.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no ratio for {name} in {lines:#?}"))
}

fn run(backend: &str) -> Vec<String> {
    let args = [
        "--backend",
        backend,
        "--ops",
        "30",
        "--clients",
        "1,2",
        "--chat",
        "20",
        "--steady",
        "2",
        "--soak",
        "400",
        "--server-env",
        "OUTBOX_PARALLEL=2",
    ];
    let o = driver::Options::parse(args.map(String::from)).expect("options");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(driver::run(&o)).expect("the driver runs").lines
}

#[test]
fn the_load_driver_measures_the_portal_chat_and_a_soak_on_both_backends() {
    for backend in ["sqlite", "postgres"] {
        let out = run(backend);
        for clients in [1, 2] {
            for scenario in ["healthz", "open", "reply"] {
                let name = format!("BENCH {backend} {scenario}_{clients} ");
                assert!(figure(&out, &name) > 0.0, "{out:#?}");
                assert!(ratio(&out, &name) > 0.0, "{out:#?}");
                let p50 = figure(
                    &out,
                    &format!("BENCH {backend} {scenario}_{clients}_p50_ms "),
                );
                let p99 = figure(
                    &out,
                    &format!("BENCH {backend} {scenario}_{clients}_p99_ms "),
                );
                assert!(p50 > 0.0 && p99 >= p50, "{out:#?}");
            }
            // a write costs the server more than answering /healthz.
            let cpu = |s: &str| {
                figure(
                    &out,
                    &format!("BENCH {backend} {s}_{clients}_cpu_ms_per_op "),
                )
            };
            assert!(cpu("reply") > cpu("healthz"), "{out:#?}");
        }
        assert!(figure(&out, &format!("BENCH {backend} rss_start_kib ")) > 0.0);

        // chat: 20 people at once, then steadily, while 8 clients write.
        for phase in ["burst", "steady"] {
            let name = format!("BENCH {backend} chat_{phase}_20 ");
            assert!(figure(&out, &name) > 0.0, "{out:#?}");
            for p in ["p50_ms", "p99_ms", "slack_p99_ms", "discord_p99_ms"] {
                let f = figure(&out, &format!("BENCH {backend} chat_{phase}_20_{p} "));
                assert!(f > 0.0, "{p}: {out:#?}");
            }
        }
        // every request of the burst was answered late, after its acknowledgement.
        assert!(
            figure(
                &out,
                &format!("BENCH {backend} chat_burst_20_all_answered_ms ")
            ) > 0.0,
            "{out:#?}"
        );
        assert!(figure(&out, &format!("BENCH {backend} chat_writers_8 ")) > 0.0);
        // the opened tickets made outbox work, and it all went out.
        assert!(figure(&out, &format!("BENCH {backend} chat_outbox_pending_max ")) >= 0.0);
        assert_eq!(
            figure(&out, &format!("BENCH {backend} chat_outbox_failed ")),
            0.0
        );
        assert!(figure(&out, &format!("BENCH {backend} chat_outbox_drain_s ")) >= 0.0);

        // the soak: 400 events over 4 tickets, sampled at every tenth.
        assert_eq!(
            figure(&out, &format!("BENCH {backend} soak_events ")),
            400.0
        );
        for at in [0, 40, 200, 400] {
            assert!(figure(&out, &format!("BENCH {backend} soak_rss_kib_at_{at} ")) > 0.0);
            // the server runs without transparent huge pages.
            assert_eq!(
                figure(&out, &format!("BENCH {backend} soak_huge_kib_at_{at} ")),
                0.0
            );
        }
        assert!(
            figure(
                &out,
                &format!("BENCH {backend} soak_rss_max_vs_first_tenth ")
            ) > 0.0
        );
    }
}

#[test]
fn server_settings_given_to_the_driver_reach_the_server() {
    let bad = ["--server-env", "OUTBOX_PARALLEL"].map(String::from);
    assert!(
        driver::Options::parse(bad).is_err(),
        "NAME=VALUE or nothing"
    );
    // a setting the server refuses (1 to 20 workers): it does not start,
    // so the driver fails rather than measure a server without it.
    let args = [
        "--ops",
        "5",
        "--clients",
        "1",
        "--chat",
        "0",
        "--server-env",
        "OUTBOX_PARALLEL=0",
    ];
    let o = driver::Options::parse(args.map(String::from)).expect("options");
    assert_eq!(
        o.server_env,
        [("OUTBOX_PARALLEL".to_owned(), "0".to_owned())]
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    assert!(rt.block_on(driver::run(&o)).is_err());
    let fine = args.map(String::from).map(|a| {
        if a == "OUTBOX_PARALLEL=0" {
            "OUTBOX_PARALLEL=3".to_owned()
        } else {
            a
        }
    });
    let o = driver::Options::parse(fine).expect("options");
    let out = rt.block_on(driver::run(&o)).expect("the driver runs").lines;
    assert!(figure(&out, "BENCH sqlite open_1 ") > 0.0, "{out:#?}");
}
