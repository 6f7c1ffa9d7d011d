//! `./build.sh bench`: the benches on their own local stack, their output kept in
//! `.local/bench.log`, and PERFORMANCE.md written from it.

use anyhow::{Result, bail};

use crate::cmd::Cmd;
use crate::local::{self, DataStack};
use crate::log;
use crate::tools::{self, Paths};

/// `./build.sh bench [cargo bench args]`: with no arguments every bench runs and PERFORMANCE.md
/// is written from their summary lines; with arguments only those run.
pub fn run(paths: &Paths, args: &[String]) -> Result<()> {
    tools::ensure_local_tools(paths)?;
    let peer = paths.root.join("benches/node-peer");
    if !peer.join("node_modules").is_dir() {
        log!("installing the Node.js peer's dependencies (npm ci in benches/node-peer)");
        Cmd::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .dir(&peer)
            .run()?;
    }
    log!(
        "building the release shortener and pbkdf2-control binaries (the peer and tune_methods benches start them)"
    );
    Cmd::new("cargo")
        .args([
            "build",
            "--quiet",
            "--release",
            "--bin",
            "shortener",
            "--bin",
            "pbkdf2-control",
        ])
        .run()?;
    let data = DataStack::start(paths, local::free_port()?, false, "bench-")?;
    // The proxy bench goes through cargo lambda watch (release builds), as a local client does;
    // the others need no watch, so a single one of them does not build every binary.
    let mut env = data.env();
    let _watch = if args.is_empty() || args.iter().any(|a| a == "proxy") {
        let file = paths.local.join("endpoints-bench.json");
        let watch = local::start_watch(
            paths,
            &data,
            local::free_port()?,
            &file,
            true,
            &local::Gate::unthrottled(),
        )?;
        env.push(("ENDPOINTS_FILE".into(), file.display().to_string()));
        Some(watch)
    } else {
        None
    };
    let out = paths.local.join("bench.log");
    log!(
        "cargo bench {} (output also in {})",
        args.join(" "),
        out.display()
    );
    let output = Cmd::new("cargo")
        .args(["bench", "-p", "benches"])
        .args(args.iter().cloned())
        .envs(env)
        .command()
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    tee(output, &out)?;
    crate::procs::stop_all();
    if args.is_empty() {
        crate::performance_md::write(&out, &paths.artifacts(), &paths.root.join("PERFORMANCE.md"))?;
        log!("wrote PERFORMANCE.md");
    }
    Ok(())
}

/// `./build.sh bench --report-only`: PERFORMANCE.md from the last run's log, e.g. once the
/// deployment zips it reports have been built (`./build.sh deploy` builds them).
pub fn report(paths: &Paths) -> Result<()> {
    let log = paths.local.join("bench.log");
    if !log.is_file() {
        bail!("no {}: run ./build.sh bench first", log.display());
    }
    crate::performance_md::write(&log, &paths.artifacts(), &paths.root.join("PERFORMANCE.md"))?;
    log!("wrote PERFORMANCE.md from {}", log.display());
    Ok(())
}

/// Copies a child's stdout to ours and to `file`; fails when the child fails.
fn tee(mut child: std::process::Child, file: &std::path::Path) -> Result<()> {
    use std::io::{BufRead, Write};
    let mut log = std::fs::File::create(file)?;
    let stdout = child.stdout.take().expect("piped");
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        writeln!(log, "{line}")?;
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("cargo bench failed ({status})");
    }
    Ok(())
}
