//! `traffic <experiment> [--count N]`: sends representative requests through the experiment proxy
//! named in `ENDPOINTS_FILE`, so the experiment's dashboard fills. `./build.sh traffic` runs it.
//!
//! round: ties, negative ties and plain numbers; fizzbuzz: ranges across multiples of 15; sort:
//! lists of numbers of mixed widths, of integers past 2^53 that f64 cannot tell apart, and of
//! words; pbkdf2: small derivations. Two requests in flight at a time; at most 10,000 requests;
//! stops by itself.
//!
//! Then it waits (at most two minutes, less when nothing moves) until the comparator has caught up
//! with what this run sampled, and ends with the report's line: `compared X of Y requests`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;

const MAX_COUNT: usize = 10_000;

/// An experiment's counters as the report gives them (`counts`), with its sentence (`compared`).
#[derive(Debug, Clone, Default, PartialEq)]
struct Counts {
    served: u64,
    sampled: u64,
    compared: u64,
    skipped: u64,
    sentence: String,
}

impl Counts {
    fn from_report(report: &serde_json::Value) -> Option<Self> {
        let n = |name: &str| report["counts"][name].as_u64();
        Some(Self {
            served: n("served")?,
            sampled: n("sampled")?,
            compared: n("compared")?,
            skipped: n("skipped")?,
            sentence: report["compared"].as_str()?.to_owned(),
        })
    }

    /// Whether every request this run sent (`answered` of them reached the proxy) and sampled,
    /// counted from `before`, has been compared or skipped.
    fn caught_up(&self, before: &Counts, answered: u64) -> bool {
        self.served >= before.served + answered && self.compared + self.skipped >= self.sampled
    }

    /// This run's share: `compared X of Y requests sent now`.
    fn run_line(&self, before: &Counts) -> String {
        let skipped = self.skipped.saturating_sub(before.skipped);
        let mut line = format!(
            "this run: compared {} of {} requests",
            self.compared.saturating_sub(before.compared),
            self.served.saturating_sub(before.served)
        );
        if skipped > 0 {
            line.push_str(&format!(
                " ({skipped} skipped: answered but not compared, because the proxy's comparison \
                 queue was full, the job was over the Event payload limit, or the control failed; \
                 the proxy's log says which: .local/watch-*.log locally, its CloudWatch log group \
                 on AWS)"
            ));
        }
        line
    }
}

async fn counts(http: &reqwest::Client, report: &str) -> Result<Counts, String> {
    let response = http.get(report).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {body}"));
    }
    Counts::from_report(&body).ok_or_else(|| format!("no counts in {body}"))
}

/// Method, path and body of the `i`-th request of an experiment.
fn request(experiment: &str, i: usize) -> Option<(&'static str, String, Option<String>)> {
    let n = i as i64;
    Some(match experiment {
        "round" | "round-noise" | "round-unsampled" | "chaos" => {
            let number = match i % 4 {
                0 => format!("{}.5", n % 100),
                1 => format!("-{}.5", n % 50),
                2 => format!("{}.25", n % 1000),
                _ => "0.49999999999999994".to_owned(),
            };
            let path = match experiment {
                "round" => "/round",
                "round-noise" => "/round-noise",
                "round-unsampled" => "/round-unsampled",
                _ => "/chaos",
            };
            ("GET", format!("{path}?number={number}"), None)
        }
        "fizzbuzz" => {
            let from = 1 + (n * 7) % 90;
            (
                "GET",
                format!("/fizzbuzz?from={from}&to={}", from + (n % 30)),
                None,
            )
        }
        "sort" => {
            let body = match i % 3 {
                0 => json!(["pear", "apple", "fig", "banana"]),
                1 => {
                    let list: Vec<i64> = (0..6)
                        .map(|k| (n * 37 + k * 53) % (10_i64.pow((k % 4) as u32 + 1)))
                        .collect();
                    json!(list)
                }
                _ => {
                    // Past 2^53 an f64 holds only even integers: 2^53 + 4m + 1 rounds to 2^53 + 4m,
                    // so a sort through f64 sees each pair as equal and leaves it in this order.
                    let base = (1_i64 << 53) + 4 * (n % 1000);
                    json!([base + 1, base, 10, -base, -(base + 1), 9])
                }
            };
            ("POST", "/sort".to_owned(), Some(body.to_string()))
        }
        "pbkdf2" | "pbkdf2-memory" => {
            let body = json!({"password": format!("pw-{i}"), "salt": "NaCl", "iterations": 1000 + (i % 5) * 1000, "keyLength": 32});
            ("POST", format!("/{experiment}"), Some(body.to_string()))
        }
        _ => return None,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: traffic <round|sort|fizzbuzz|pbkdf2|pbkdf2-memory|chaos|round-noise|round-unsampled> [--count N]";
    let Some(experiment) = args.first().cloned() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let count = match args.get(1..).unwrap_or_default() {
        [] => 100,
        [flag, n] if flag == "--count" => match n.parse::<usize>() {
            Ok(n) if (1..=MAX_COUNT).contains(&n) => n,
            _ => {
                eprintln!("--count must be 1..={MAX_COUNT}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    if request(&experiment, 0).is_none() {
        eprintln!("no traffic for experiment {experiment:?}; {usage}");
        return ExitCode::from(2);
    }
    let Ok(path) = std::env::var("ENDPOINTS_FILE") else {
        eprintln!("ENDPOINTS_FILE must name the stack's endpoints (./build.sh traffic sets it)");
        return ExitCode::from(2);
    };
    let endpoints: serde_json::Value = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(value) => value,
        Err(error) => {
            eprintln!("{path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let Some(proxy) = endpoints["experiment-proxy"]
        .as_str()
        .map(|s| s.trim_end_matches('/').to_owned())
    else {
        eprintln!("{path} has no experiment-proxy endpoint");
        return ExitCode::FAILURE;
    };
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("HTTP client");
    // An AWS_IAM stack's proxy URL takes only signed requests.
    let signer = match shared::function_url::IamUrls::from_endpoints(&endpoints)
        .filter(|urls| urls.wants_signature("experiment-proxy"))
    {
        Some(urls) => match shared::function_url::Signer::from_environment(&urls.region).await {
            Ok(signer) => Some(signer),
            Err(error) => {
                eprintln!("the proxy's Function URL is AWS_IAM, and {error}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let report = endpoints["experiment-report"]
        .as_str()
        .map(|base| format!("{}/experiments/{experiment}", base.trim_end_matches('/')));
    // The counts this run starts from, once the comparisons of earlier requests (a curl a moment
    // ago) are done, so that this run's line counts only this run's (at most 10 s of waiting).
    let before = match &report {
        Some(report) => {
            eprintln!(
                "reading the experiment's counts (waiting up to 10 s for earlier comparisons)"
            );
            let waited = Instant::now();
            loop {
                match counts(&http, report).await {
                    Ok(now)
                        if now.compared + now.skipped < now.sampled
                            && waited.elapsed() < Duration::from_secs(10) =>
                    {
                        tokio::time::sleep(Duration::from_millis(200)).await
                    }
                    settled => break settled.ok(),
                }
            }
        }
        None => None,
    };
    let started = Instant::now();
    let mut statuses: std::collections::BTreeMap<String, usize> = Default::default();
    let mut sent = 0;
    let mut stream = futures::stream::iter(0..count)
        .map(|i| {
            let (method, path, body) = request(&experiment, i).expect("checked above");
            let url = format!("{proxy}{path}");
            let mut builder = http.request(method.parse().expect("method"), &url);
            let headers: Vec<(String, String)> = match body {
                Some(_) => vec![("content-type".to_owned(), "application/json".to_owned())],
                None => Vec::new(),
            };
            for (name, value) in &headers {
                builder = builder.header(name, value);
            }
            let body = body.unwrap_or_default();
            let signer = signer.clone();
            async move {
                if let Some(signer) = signer {
                    match signer
                        .headers_for(method, &url, &headers, body.as_bytes())
                        .await
                    {
                        Ok(signature) => {
                            for (name, value) in signature {
                                builder = builder.header(name, value);
                            }
                        }
                        Err(error) => return format!("not signed ({error})"),
                    }
                }
                if !body.is_empty() {
                    builder = builder.body(body);
                }
                match builder.send().await {
                    Ok(response) => response.status().as_u16().to_string(),
                    Err(error) => format!(
                        "error ({})",
                        if error.is_timeout() {
                            "timeout"
                        } else {
                            "connect"
                        }
                    ),
                }
            }
        })
        .buffer_unordered(2);

    // Drawn only on a terminal (indicatif hides itself otherwise), so logs stay readable.
    let progress = indicatif::ProgressBar::new(count as u64).with_style(
        indicatif::ProgressStyle::with_template("[{bar:30}] {pos}/{len} {per_sec}")
            .expect("a valid template")
            .progress_chars("#>-"),
    );
    while let Some(status) = stream.next().await {
        sent += 1;
        *statuses.entry(status).or_default() += 1;
        progress.inc(1);
    }
    progress.finish_and_clear();
    let summary: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    eprintln!(
        "sent {sent} requests to {proxy} ({experiment}) in {:.1} s; {}",
        started.elapsed().as_secs_f64(),
        summary.join(", ")
    );
    let (Some(report), Some(before)) = (report, before) else {
        eprintln!("no report to read the comparisons from (experiment-report in {path})");
        return ExitCode::SUCCESS;
    };
    let answered = statuses
        .iter()
        .filter(|(status, _)| !status.starts_with("error"))
        .map(|(_, n)| *n as u64)
        .sum();
    eprintln!(
        "waiting for the comparator to compare them in the background (up to 2 minutes; a slow \
         candidate, such as chaos's, holds each comparison until its timeout)"
    );
    let waited = Instant::now();
    let mut last = (Instant::now(), Counts::default());
    let now = loop {
        match counts(&http, &report).await {
            Ok(now) if now.caught_up(&before, answered) => break now,
            Ok(now) => {
                // Give up when nothing has moved for 20 s, or after two minutes.
                if now != last.1 {
                    last = (Instant::now(), now.clone());
                }
                if last.0.elapsed().as_secs() >= 20 || waited.elapsed().as_secs() >= 120 {
                    eprintln!("the comparator has not caught up; the report so far:");
                    break now;
                }
            }
            Err(error) => {
                eprintln!("{report}: {error}");
                return ExitCode::FAILURE;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    eprintln!("{}", now.run_line(&before));
    println!("{experiment}: {}", now.sentence);
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The integers of the `i`-th sort request, if it is a list of integers.
    fn integers(i: usize) -> Option<Vec<i64>> {
        let (_, _, body) = request("sort", i)?;
        serde_json::from_str(&body?).ok()
    }

    fn counts(served: u64, sampled: u64, compared: u64, skipped: u64) -> Counts {
        Counts {
            served,
            sampled,
            compared,
            skipped,
            sentence: String::new(),
        }
    }

    #[test]
    fn the_run_has_caught_up_once_every_request_is_served_and_every_sample_compared_or_skipped() {
        let before = counts(100, 100, 100, 0);
        let cases = [
            ("nothing counted yet", counts(100, 100, 100, 0), false),
            ("served, still comparing", counts(300, 300, 250, 0), false),
            ("all compared", counts(300, 300, 300, 0), true),
            ("compared or skipped", counts(300, 300, 290, 10), true),
            ("sampled at 0 %", counts(300, 100, 100, 0), true),
        ];
        for (case, now, expected) in cases {
            assert_eq!(now.caught_up(&before, 200), expected, "{case}");
        }
        assert_eq!(
            counts(300, 300, 290, 10).run_line(&before),
            "this run: compared 190 of 200 requests (10 skipped: answered but not compared, because the proxy's comparison queue was full, the job was over the Event payload limit, or the control failed; the proxy's log says which: .local/watch-*.log locally, its CloudWatch log group on AWS)"
        );
    }

    #[test]
    fn a_third_of_the_sort_traffic_has_integers_out_of_order_that_f64_cannot_tell_apart() {
        // A sort that compares through f64 keeps such a pair in this order; the control does not.
        let exposing = (0..300)
            .filter(|&i| {
                integers(i).is_some_and(|list| {
                    list.windows(2)
                        .any(|pair| pair[0] > pair[1] && pair[0] as f64 == pair[1] as f64)
                })
            })
            .count();
        assert_eq!(exposing, 100);
    }
}
