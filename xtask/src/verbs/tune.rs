//! `./build.sh tune`: memory-size tuning by the `tune` binary, built in release mode first.

use anyhow::Result;

use crate::cmd::Cmd;
use crate::log;
use crate::tools::{self, Paths};

/// `./build.sh tune local|<env> <region> <profile> [options]` (benches/tune/README.md).
pub fn run(paths: &Paths, args: &[String]) -> Result<()> {
    let function = args
        .iter()
        .position(|a| a == "--function")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--function=").map(str::to_owned))
        })
        .unwrap_or_else(|| "pbkdf2-control".to_owned());
    let plan_or_help = args
        .iter()
        .any(|a| matches!(a.as_str(), "--dry-run" | "--help" | "-h"));
    if plan_or_help {
        // The plan and the help need no optimised build: ./build.sh has built every binary in
        // debug.
        return Cmd::new(paths.target.join("debug/tune").display().to_string())
            .args(args.iter().cloned())
            .env("PATH", paths.path_var())
            .run();
    }
    log!(
        "building the tuning tool (and for `local` the function) in release mode: the first time, both took 3m38s \
         on a 2-core machine (2026-12-04); seconds after"
    );
    Cmd::new("cargo")
        .args(["build", "--quiet", "--release", "-p", "tune"])
        .run()?;
    if args.first().map(String::as_str) == Some("local") {
        log!("building {function} (release)");
        Cmd::new("cargo")
            .args(["build", "--quiet", "--release", "--bin", &function])
            .run()?;
    } else {
        tools::ensure_awscli(paths)?;
    }
    Cmd::new(paths.target.join("release/tune").display().to_string())
        .args(args.iter().cloned())
        .env("PATH", paths.path_var())
        .run()
}
