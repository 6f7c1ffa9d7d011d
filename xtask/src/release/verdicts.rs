//! `./build.sh verdict`: the verdicts of an experiment's report, printed with the numbers behind
//! them and, for a candidate still collecting, how long it needs and what a deadline takes.

use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::Value;

use super::Stack;

/// The verdicts of the report, or the one of `candidate`.
pub(super) fn verdicts<'a>(report: &'a Value, candidate: Option<&str>) -> Result<Vec<&'a Value>> {
    let all: Vec<&Value> = report["verdicts"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    match candidate {
        None => Ok(all),
        Some(id) => {
            let found: Vec<&Value> = all.into_iter().filter(|v| v["candidate"] == id).collect();
            if found.is_empty() {
                let known: Vec<&str> = report["verdicts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v["candidate"].as_str())
                    .collect();
                bail!(
                    "experiment {} has no candidate {id} (its candidates: {})",
                    report["experiment"].as_str().unwrap_or("?"),
                    known.join(", ")
                );
            }
            Ok(found)
        }
    }
}

/// The sentence and the numbers behind it, as printed.
pub fn describe(verdict: &Value) -> String {
    let c = &verdict["correctness"];
    let percent = |v: &Value| {
        v.as_f64()
            .map_or("-".to_owned(), |x| format!("{:.2} %", x * 100.0))
    };
    let mut lines = vec![
        verdict["sentence"].as_str().unwrap_or_default().to_owned(),
        format!(
            "  correctness: {} ({} failures in {} comparisons; rate {}; always-valid 95 % bound {} - {}; threshold {})",
            c["state"].as_str().unwrap_or("?"),
            c["failures"],
            c["comparisons"],
            percent(&c["rate"]),
            percent(&c["alwaysValid"]["low"]),
            percent(&c["alwaysValid"]["high"]),
            percent(&c["maxMismatchRate"]),
        ),
    ];
    let inputs: Vec<&str> = c["latestDiffering"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["input"].as_str())
        .collect();
    if !inputs.is_empty() {
        lines.push(format!("  latest differing inputs: {}", inputs.join(", ")));
    }
    let p = &verdict["performance"];
    if p["onlyTimeouts"] == true {
        lines.push(format!(
            "  performance: {} (timed out in {} comparisons: no duration ratio, a timeout only bounds the duration from below; tolerance {})",
            p["state"].as_str().unwrap_or("?"),
            verdict["timeouts"],
            p["maxDurationRatio"],
        ));
    } else if p.is_object() {
        lines.push(format!(
            "  performance: {} (p50 ratio {:.3}, 95 % interval {:.3} - {:.3}, tolerance {}: decides; p99 ratio {:.3}: shown, not decided on)",
            p["state"].as_str().unwrap_or("?"),
            p["p50Ratio"]["value"].as_f64().unwrap_or(f64::NAN),
            p["p50Ratio"]["low"].as_f64().unwrap_or(f64::NAN),
            p["p50Ratio"]["high"].as_f64().unwrap_or(f64::NAN),
            p["maxDurationRatio"],
            p["p99Ratio"]["value"].as_f64().unwrap_or(f64::NAN),
        ));
    } else {
        lines.push("  performance: not enough timed comparisons yet".to_owned());
    }
    lines.push(format!(
        "  may be promoted: {}",
        if verdict["promotable"] == true {
            "yes".to_owned()
        } else {
            match verdict["notReleasableBecause"].as_str() {
                Some(why) => format!("no: {why}"),
                None => "no".to_owned(),
            }
        }
    ));
    lines.join("\n")
}

/// For a candidate still collecting: how long the clean comparisons it needs take at the
/// experiment's recent pace, and with a deadline, the sample percentage that would make it and
/// its extra cost ([`experiments::domain::pace`]). `None` for a decided candidate.
pub(super) fn time_to_verdict(
    report: &Value,
    verdict: &Value,
    by: Option<std::time::Duration>,
) -> Option<String> {
    use experiments::domain::pace::{self, Pace};
    let more = verdict["correctness"]["moreNeeded"].as_u64()?;
    let Ok(pace) = serde_json::from_value::<Pace>(report["pace"].clone()) else {
        return Some(format!(
            "  time to a verdict: {more} more clean comparisons; no pace yet (too few recent comparisons to tell how long)"
        ));
    };
    let mut line = format!(
        "  time to a verdict: about {} for {more} more clean comparisons at the recent pace ({:.0} comparisons an hour, {:.0} requests served at {} % sampled), if no failure comes",
        pace::words(pace::seconds_for(more, &pace)),
        pace.compared_per_hour,
        pace.served_per_hour,
        pace.sample_percent,
    );
    if let Some(deadline) = by {
        let usd = report["usdPerComparison"].as_f64();
        let advice = pace::by_deadline(more, &pace, deadline.as_secs_f64(), usd);
        let within = pace::words(deadline.as_secs_f64());
        line.push_str(&match advice.sample_percent {
            Some(percent) if percent <= pace.sample_percent => {
                format!("\n  by {within}: the current sample percentage makes it")
            }
            Some(percent) => format!(
                "\n  by {within}: sample {percent:.1} % of requests (now {} %){}",
                pace.sample_percent,
                advice.extra_usd_per_hour.map_or_else(
                    || ", at an extra cost not known (a memory size is unknown)".to_owned(),
                    |usd| format!(", about ${usd:.4} an hour more in invocations"),
                )
            ),
            None => format!(
                "\n  by {within}: not possible at this traffic; even 100 % sampled takes about {}",
                pace::words(advice.seconds_at_full_sample)
            ),
        });
    }
    Some(line)
}

/// `./build.sh verdict`: 0 when the candidate (or, without one, any candidate) may be promoted,
/// 1 when not, 2 on error.
pub fn verdict(
    stack: &Stack,
    experiment: &str,
    candidate: Option<&str>,
    by: Option<std::time::Duration>,
) -> ExitCode {
    let run = || -> Result<bool> {
        let runtime = tokio::runtime::Runtime::new()?;
        let report = stack.report(&runtime, experiment)?;
        let verdicts = verdicts(&report, candidate)?;
        for verdict in &verdicts {
            println!("{}", describe(verdict));
            if let Some(line) = time_to_verdict(&report, verdict, by) {
                println!("{line}");
            }
        }
        Ok(verdicts.iter().any(|v| v["promotable"] == true))
    };
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
