//! `traffic <experiment> [--count N]`: sends representative requests through the experiment proxy
//! named in `ENDPOINTS_FILE`, so the experiment's dashboard fills. `./build.sh traffic` runs it.
//!
//! round: ties, negative ties and plain numbers; fizzbuzz: ranges across multiples of 15; sort:
//! lists of numbers of mixed widths, of integers past 2^53 that f64 cannot tell apart, and of
//! words; pbkdf2: small derivations. Two requests in flight at a time; at most 10,000 requests;
//! stops by itself.

use std::process::ExitCode;
use std::time::Instant;

use futures::StreamExt;
use serde_json::json;

const MAX_COUNT: usize = 10_000;

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
    let started = Instant::now();
    let mut statuses: std::collections::BTreeMap<String, usize> = Default::default();
    let mut sent = 0;
    let mut stream = futures::stream::iter(0..count)
        .map(|i| {
            let (method, path, body) = request(&experiment, i).expect("checked above");
            let mut builder =
                http.request(method.parse().expect("method"), format!("{proxy}{path}"));
            if let Some(body) = body {
                builder = builder
                    .header("content-type", "application/json")
                    .body(body);
            }
            async move {
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
