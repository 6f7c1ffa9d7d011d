//! `tune`: wiring only; see the library's [`tune::app`].

use std::process::ExitCode;

use tune::app::{self, Context, Outcome};
use tune::options::{self, Command, USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match options::parse(&args, |path| {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("error: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let context = Context {
        cargo_target_dir: std::env::var("CARGO_TARGET_DIR").ok(),
        cgroup_root: tune::local::CGROUP_CPU_ROOT.into(),
    };
    match app::run(&options, &context) {
        Ok(Outcome::DryRun(lines)) => {
            println!("{}", lines.join("\n"));
            ExitCode::SUCCESS
        }
        Ok(Outcome::Report(folder)) => {
            println!("report: {}", folder.join("report.md").display());
            println!("chart:  {}", folder.join("chart.svg").display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("\nerror: {error}");
            ExitCode::FAILURE
        }
    }
}
