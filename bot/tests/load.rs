//! The load driver runs from the repository: a short run on each backend
//! prints every figure, each a measurement (operations did happen).

use std::process::Command;

fn run(backend: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_threadesk-load"))
        .args(["--backend", backend, "--ops", "30", "--clients", "1,2"])
        .env("THREADESK_BIN", env!("CARGO_BIN_EXE_threadesk"))
        .output()
        .expect("threadesk-load runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn figure(out: &str, line: &str) -> f64 {
    out.lines()
        .find_map(|l| l.strip_prefix(line))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {line:?} in {out}"))
}

#[test]
fn the_load_driver_measures_the_portal_on_both_backends() {
    for backend in ["sqlite", "postgres"] {
        let out = run(backend);
        for clients in [1, 2] {
            for scenario in ["healthz", "open", "reply"] {
                let name = format!("BENCH {backend} {scenario}_{clients} ");
                assert!(figure(&out, &name) > 0.0, "{out}");
                let ratio = out
                    .lines()
                    .find(|l| l.starts_with(&name))
                    .and_then(|l| l.split("ratio=").nth(1))
                    .and_then(|r| r.parse::<f64>().ok())
                    .unwrap_or_else(|| panic!("no ratio for {name} in {out}"));
                assert!(ratio > 0.0, "{out}");
                let p50 = figure(
                    &out,
                    &format!("BENCH {backend} {scenario}_{clients}_p50_ms "),
                );
                let p99 = figure(
                    &out,
                    &format!("BENCH {backend} {scenario}_{clients}_p99_ms "),
                );
                assert!(p50 > 0.0 && p99 >= p50, "{out}");
            }
            // a write costs the server more than answering /healthz.
            let cpu = |s: &str| {
                figure(
                    &out,
                    &format!("BENCH {backend} {s}_{clients}_cpu_ms_per_op "),
                )
            };
            assert!(cpu("reply") > cpu("healthz"), "{out}");
        }
        assert!(figure(&out, &format!("BENCH {backend} rss_start_kib ")) > 0.0);
    }
}
