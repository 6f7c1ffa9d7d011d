//! The workspace's tooling, behind `./build.sh` (the `cargo xtask` pattern): pinned tools, the
//! local stack, the tests in both modes, deploy and remove plans, benches, tuning, traffic,
//! experiment uploads and new workshop candidates. `main` is wiring: parse the command line,
//! stop every background process on the way out, map errors to exit codes.

mod arm64_smoke;
mod aws;
mod check;
mod cli;
mod cmd;
mod docs;
mod explore;
mod front;
mod gate_cases;
mod load;
mod local;
mod new_candidate;
mod performance_md;
mod privilege;
mod procs;
mod rehearsal;
mod release;
mod releases;
mod scaffolded;
mod scan;
mod suite;
mod template;
mod tools;
mod url_permissions;
mod verbs;
mod workshop_states;

use std::process::ExitCode;

use clap::Parser;

/// When the tool started, for the time in its log lines.
pub static STARTED: std::sync::LazyLock<std::time::Instant> =
    std::sync::LazyLock::new(std::time::Instant::now);

/// `==> [m:ss] message` in bold on stderr: what the tool is doing now, and since when.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {{
        let elapsed = $crate::STARTED.elapsed().as_secs();
        eprintln!(
            "\x1b[1m==> [{}:{:02}] {}\x1b[0m",
            elapsed / 60,
            elapsed % 60,
            format!($($arg)*)
        )
    }};
}

fn main() -> ExitCode {
    std::sync::LazyLock::force(&STARTED);
    let cli = cli::Cli::parse();
    let _guard = match procs::install_signal_handler() {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    match cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
