//! The load driver: `cargo bench -p threadesk-bot --bench load`, with its
//! options after `--` (`-- --backend postgres`, `-- --soak 1000000`; see
//! [`driver::USAGE`]). It builds and starts `threadesk` itself.

mod driver;

fn main() -> std::process::ExitCode {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("usage: {}", driver::USAGE);
        return std::process::ExitCode::SUCCESS;
    }
    let o = match driver::Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("load: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("load: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(driver::run(&o)) {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("load: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
