//! `./build.sh load`: a bounded load and soak test of the local shortener.
//!
//! Starts its own stack on loopback (DynamoDB Local in memory, `cargo lambda watch` with several
//! shortener instances), then several clients send a fixed number of creates and redirects,
//! spread evenly (a redirect asks for a link made earlier in the run), within a time limit. It
//! reports errors, latency percentiles, throughput and the resident memory of the shortener
//! processes and of DynamoDB Local, sampled from `/proc`, and fails on any error, on the time
//! limit, or when a shortener's memory grows more than [`RSS_GROWTH_LIMIT`] from the sample after
//! the first 10 % of the requests to the end.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::local::{self, DataStack};
use crate::log;
use crate::tools::{self, Paths};

/// The most a process's RSS may grow from the 10 % sample to the end.
pub const RSS_GROWTH_LIMIT: f64 = 1.2;

/// What to send, how hard, and for how long at most.
#[derive(Debug, Clone)]
pub struct Options {
    pub redirects: u64,
    pub creates: u64,
    /// The run fails if it takes longer.
    pub seconds: u64,
    /// Concurrent clients.
    pub clients: usize,
    /// Shortener instances (watch's `--concurrency`).
    pub instances: u32,
}

/// Whether request `i` of `total` is one of the `creates` creates: they are spread evenly, and
/// request 0 is always one, so a redirect always has a link to ask for.
pub fn is_create(i: u64, total: u64, creates: u64) -> bool {
    if total == 0 || creates == 0 {
        return false;
    }
    let i = u128::from(i);
    let (total, creates) = (u128::from(total), u128::from(creates));
    (i * creates).div_ceil(total) != ((i + 1) * creates).div_ceil(total)
}

/// One memory sample: requests done so far and RSS in kB by process.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub done: u64,
    pub shortener_kb: BTreeMap<u32, u64>,
    pub dynamodb_kb: u64,
}

/// The first sample taken after `fraction` of `total` requests, and the last.
pub fn early_and_end(samples: &[Sample], total: u64, fraction: f64) -> Option<(&Sample, &Sample)> {
    let threshold = (total as f64 * fraction).ceil() as u64;
    let early = samples.iter().find(|s| s.done >= threshold)?;
    Some((early, samples.last()?))
}

/// The shortener processes whose RSS grew more than `limit` times from `early` to `end`
/// (processes in both samples), as `(pid, early kB, end kB)`.
pub fn grown(early: &Sample, end: &Sample, limit: f64) -> Vec<(u32, u64, u64)> {
    early
        .shortener_kb
        .iter()
        .filter_map(|(pid, &before)| {
            let after = *end.shortener_kb.get(pid)?;
            (after as f64 > before as f64 * limit).then_some((*pid, before, after))
        })
        .collect()
}

/// RSS in kB from the text of `/proc/<pid>/status`.
pub fn rss_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn read_rss(pid: u32) -> Option<u64> {
    rss_kb(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// Processes whose executable's file name is `name` and whose environment has `marker`.
fn pids_of(name: &str, marker: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            let named = exe.is_some_and(|p| {
                p.file_name()
                    .is_some_and(|f| f.to_string_lossy().trim_end_matches(" (deleted)") == name)
            });
            named
                && std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                    env.split(|b| *b == 0)
                        .any(|entry| entry == marker.as_bytes())
                })
        })
        .collect()
}

/// The java process serving DynamoDB Local on `port`.
fn dynamodb_pid(port: u16) -> Option<u32> {
    let entries = std::fs::read_dir("/proc").ok()?;
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
                args.iter().any(|a| a.ends_with(b"DynamoDBLocal.jar"))
                    && args
                        .windows(2)
                        .any(|w| w[0] == b"-port" && w[1] == port.to_string().as_bytes())
            })
        })
}

struct Probe {
    /// `AWS_ENDPOINT_URL_DYNAMODB=...` of this stack: tells its shorteners from other stacks'.
    marker: String,
    dynamodb_pid: Option<u32>,
}

impl Probe {
    fn sample(&self, done: u64) -> Sample {
        Sample {
            done,
            shortener_kb: pids_of("shortener", &self.marker)
                .into_iter()
                .filter_map(|pid| Some((pid, read_rss(pid)?)))
                .collect(),
            dynamodb_kb: self.dynamodb_pid.and_then(read_rss).unwrap_or(0),
        }
    }
}

/// What the clients measured.
#[derive(Default)]
struct Tally {
    create_us: Vec<u64>,
    redirect_us: Vec<u64>,
    errors: u64,
    first_errors: Vec<String>,
}

/// `./build.sh load`: see the module documentation.
pub fn run(paths: &Paths, options: &Options) -> Result<()> {
    if options.clients == 0 || options.creates == 0 {
        bail!("--clients and --creates must be at least 1");
    }
    tools::ensure_local_tools(paths)?;
    let dynamodb_port = local::free_port()?;
    let data = DataStack::start(paths, dynamodb_port, false, "load-")?;
    let watch_port = local::free_port()?;
    let endpoints = paths
        .local
        .join(format!("endpoints-load-{watch_port}.json"));
    let watch = local::start_watch_with(
        paths,
        &data,
        watch_port,
        &endpoints,
        false,
        options.instances,
        // The load test measures the shortener itself, not the HTTP API's throttling.
        &local::Gate::unthrottled(),
    )?;
    let probe = Probe {
        marker: format!("AWS_ENDPOINT_URL_DYNAMODB={}", data.dynamodb.endpoint),
        dynamodb_pid: dynamodb_pid(dynamodb_port),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let base = format!("http://127.0.0.1:{}", watch.port);
    let outcome = runtime.block_on(drive(&base, options, &probe))?;
    report(options, &outcome)
}

struct Outcome {
    tally: Tally,
    samples: Vec<Sample>,
    elapsed: Duration,
    timed_out: bool,
}

async fn drive(base: &str, options: &Options, probe: &Probe) -> Result<Outcome> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()?;
    let total = options.redirects + options.creates;
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let codes: Arc<Mutex<Vec<String>>> = Arc::default();
    let tally: Arc<Mutex<Tally>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(options.seconds);

    // One link first: watch starts the instances as concurrent requests need them.
    let first = create(&client, base, u64::MAX)
        .await
        .context("first create")?;
    codes.lock().expect("codes").push(first);

    log!(
        "{} creates and {} redirects from {} clients, {} shortener instance(s), at most {} s",
        options.creates,
        options.redirects,
        options.clients,
        options.instances,
        options.seconds
    );
    let started = Instant::now();
    let progress = indicatif::ProgressBar::new(total);
    let mut clients = Vec::new();
    for _ in 0..options.clients {
        let (client, base) = (client.clone(), base.to_owned());
        let (next, done, codes, tally) = (next.clone(), done.clone(), codes.clone(), tally.clone());
        let creates = options.creates;
        let progress = progress.clone();
        clients.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || Instant::now() > deadline {
                    break;
                }
                let sent = Instant::now();
                let outcome = if is_create(i, total, creates) {
                    create(&client, &base, i).await.map(|code| {
                        codes.lock().expect("codes").push(code);
                        true
                    })
                } else {
                    let code = {
                        // Any earlier link, scattered by a multiplicative hash of i.
                        let codes = codes.lock().expect("codes");
                        let pick = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
                        codes[(pick % codes.len() as u64) as usize].clone()
                    };
                    redirect(&client, &base, &code).await.map(|()| false)
                };
                let micros = sent.elapsed().as_micros() as u64;
                let mut tally = tally.lock().expect("tally");
                match outcome {
                    Ok(true) => tally.create_us.push(micros),
                    Ok(false) => tally.redirect_us.push(micros),
                    Err(error) => {
                        tally.errors += 1;
                        if tally.first_errors.len() < 5 {
                            tally.first_errors.push(format!("{error:#}"));
                        }
                    }
                }
                drop(tally);
                done.fetch_add(1, Ordering::Relaxed);
                progress.inc(1);
            }
        }));
    }
    let mut samples = Vec::new();
    loop {
        let finished = clients.iter().all(tokio::task::JoinHandle::is_finished);
        samples.push(probe.sample(done.load(Ordering::Relaxed)));
        if finished {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for client in clients {
        client.await.context("a client panicked")?;
    }
    progress.finish_and_clear();
    let elapsed = started.elapsed();
    let tally = std::mem::take(&mut *tally.lock().expect("tally"));
    let timed_out = done.load(Ordering::Relaxed) < total;
    Ok(Outcome {
        tally,
        samples,
        elapsed,
        timed_out,
    })
}

async fn create(client: &reqwest::Client, base: &str, i: u64) -> Result<String> {
    // Distinct targets in every run, so no create is answered by reusing a link.
    let url = format!("https://example.com/load/{}/{i}", std::process::id());
    let response = client
        .post(format!("{base}/"))
        .header("x-api-key", local::LOCAL_API_KEY)
        .json(&serde_json::json!({ "url": url }))
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.context("create: body")?;
    if !status.is_success() {
        bail!("create answered {status}: {body}");
    }
    body["code"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("create answered without a code: {body}"))
}

async fn redirect(client: &reqwest::Client, base: &str, code: &str) -> Result<()> {
    let response = client.get(format!("{base}/{code}")).send().await?;
    let status = response.status();
    if !status.is_redirection() || response.headers().get("location").is_none() {
        bail!("GET /{code} answered {status}, not a redirect");
    }
    response.bytes().await?;
    Ok(())
}

fn millis(micros: Option<u64>) -> String {
    micros.map_or("-".to_owned(), |us| format!("{:.1} ms", us as f64 / 1000.0))
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

fn report(options: &Options, outcome: &Outcome) -> Result<()> {
    let Outcome {
        tally,
        samples,
        elapsed,
        timed_out,
    } = outcome;
    let total = options.redirects + options.creates;
    let mut all: Vec<u64> = tally
        .create_us
        .iter()
        .chain(&tally.redirect_us)
        .copied()
        .collect();
    let mut creates = tally.create_us.clone();
    let mut redirects = tally.redirect_us.clone();
    for values in [&mut all, &mut creates, &mut redirects] {
        values.sort_unstable();
    }
    let done = all.len() as u64 + tally.errors;
    println!(
        "\n{} requests ({} creates, {} redirects) in {:.1} s: {:.0} requests/s, {} errors",
        done,
        creates.len(),
        redirects.len(),
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64(),
        tally.errors
    );
    for (what, values) in [
        ("all", &all),
        ("create", &creates),
        ("redirect", &redirects),
    ] {
        println!(
            "  {what:<9} p50 {}  p95 {}  p99 {}  max {}",
            millis(measure::percentile_of_sorted(values, 0.5)),
            millis(measure::percentile_of_sorted(values, 0.95)),
            millis(measure::percentile_of_sorted(values, 0.99)),
            millis(values.last().copied()),
        );
    }
    for error in &tally.first_errors {
        println!("  error: {error}");
    }
    let mut failures = Vec::new();
    match early_and_end(samples, total, 0.1) {
        Some((early, end)) => {
            println!(
                "  RSS after {} requests: shortener {} ({} process(es)), DynamoDB Local {}",
                early.done,
                early
                    .shortener_kb
                    .iter()
                    .map(|(pid, kb)| format!("{pid}: {}", mb(*kb)))
                    .collect::<Vec<_>>()
                    .join(", "),
                early.shortener_kb.len(),
                mb(early.dynamodb_kb)
            );
            println!(
                "  RSS at the end ({} requests): shortener {} ({} process(es)), DynamoDB Local {}",
                end.done,
                end.shortener_kb
                    .iter()
                    .map(|(pid, kb)| format!("{pid}: {}", mb(*kb)))
                    .collect::<Vec<_>>()
                    .join(", "),
                end.shortener_kb.len(),
                mb(end.dynamodb_kb)
            );
            if early.shortener_kb.is_empty() {
                failures.push("no shortener process found in /proc".to_owned());
            }
            for (pid, before, after) in grown(early, end, RSS_GROWTH_LIMIT) {
                failures.push(format!(
                    "shortener {pid} grew from {} to {} (more than {RSS_GROWTH_LIMIT}x)",
                    mb(before),
                    mb(after)
                ));
            }
        }
        None => failures.push("no memory sample after the first 10 % of requests".to_owned()),
    }
    if tally.errors > 0 {
        failures.push(format!("{} requests failed", tally.errors));
    }
    if *timed_out {
        failures.push(format!(
            "only {done} of {total} requests within {} s",
            options.seconds
        ));
    }
    if !failures.is_empty() {
        bail!("load test failed: {}", failures.join("; "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_are_spread_evenly_and_the_first_request_is_one() {
        for (total, creates) in [(22_000, 2_000), (10, 10), (7, 3), (1, 1), (100, 1)] {
            let picked: Vec<u64> = (0..total)
                .filter(|&i| is_create(i, total, creates))
                .collect();
            assert_eq!(picked.len() as u64, creates, "case {total}/{creates}");
            assert_eq!(picked[0], 0, "case {total}/{creates}");
            let gaps: Vec<u64> = picked.windows(2).map(|w| w[1] - w[0]).collect();
            let (lo, hi) = (total / creates, total.div_ceil(creates));
            assert!(
                gaps.iter().all(|g| (lo..=hi).contains(g)),
                "case {total}/{creates}: gaps {gaps:?}"
            );
        }
        assert!(!is_create(0, 0, 0));
    }

    fn sample(done: u64, shortener: &[(u32, u64)]) -> Sample {
        Sample {
            done,
            shortener_kb: shortener.iter().copied().collect(),
            dynamodb_kb: 200_000,
        }
    }

    #[test]
    fn the_early_sample_is_the_first_after_ten_percent() {
        let samples = [
            sample(0, &[]),
            sample(50, &[(1, 10)]),
            sample(100, &[(1, 11)]),
            sample(900, &[(1, 12)]),
            sample(1000, &[(1, 13)]),
        ];
        let (early, end) = early_and_end(&samples, 1000, 0.1).unwrap();
        assert_eq!((early.done, end.done), (100, 1000));
        assert!(early_and_end(&samples[..2], 1000, 0.1).is_none());
    }

    #[test]
    fn growth_over_the_limit_is_reported_per_process() {
        let early = sample(100, &[(1, 10_000), (2, 10_000), (3, 10_000)]);
        // 1 stays within 1.2x, 2 grows past it, 3 is gone; 4 started later and is not compared.
        let end = sample(1000, &[(1, 12_000), (2, 12_001), (4, 50_000)]);
        assert_eq!(grown(&early, &end, 1.2), vec![(2, 10_000, 12_001)]);
        assert!(grown(&early, &early, 1.2).is_empty());
    }

    #[test]
    fn rss_is_read_from_proc_status() {
        let status = "Name:\tshortener\nVmPeak:\t  20000 kB\nVmRSS:\t    8123 kB\nThreads:\t1\n";
        assert_eq!(rss_kb(status), Some(8123));
        assert_eq!(rss_kb("Name:\tkthreadd\n"), None);
        let own = read_rss(std::process::id()).expect("this process's RSS");
        assert!(own > 0);
    }
}
