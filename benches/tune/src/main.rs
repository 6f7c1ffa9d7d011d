//! `tune`: wiring only; see the library's [`tune::app`].

use std::process::ExitCode;

use tune::app::{self, Context, Outcome};
use tune::options;

fn main() -> ExitCode {
    let options = options::parse(std::env::args_os().skip(1), |path| {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    })
    // `--help` to stdout with status 0; a bad option to stderr, with the usage, status 2.
    .unwrap_or_else(|error| error.exit());
    let context = Context {
        cargo_target_dir: std::env::var("CARGO_TARGET_DIR").ok(),
        cgroup_root: tune::local::CGROUP_CPU_ROOT.into(),
    };
    match app::run(&options, &context) {
        Ok(Outcome::DryRun(lines)) => {
            println!("{}", lines.join("\n"));
            ExitCode::SUCCESS
        }
        Ok(Outcome::Report { folder, gate }) => {
            println!("report: {}", folder.join("report.md").display());
            println!("chart:  {}", folder.join("chart.svg").display());
            // A failed gate is an error: its lines go to stderr.
            for line in gate.lines() {
                if gate.broken.is_empty() {
                    println!("{line}");
                } else {
                    eprintln!("{line}");
                }
            }
            if gate.broken.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("\nerror: {error}");
            ExitCode::FAILURE
        }
    }
}
