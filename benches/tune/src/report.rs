//! The Markdown report and the raw samples as CSV, from the summarised results.

use std::fmt::Write;

use crate::cost::PriceTable;
pub use crate::model::Flagged;
use crate::options::{Options, Strategy};
use crate::recommend::{self, Point};
use crate::report_line::Sample;
use crate::throttle::Method;
use crate::tuning::MemoryResult;

/// Where the measurements were taken, in words.
#[derive(Debug, Clone, PartialEq)]
pub enum Venue {
    Local {
        cpu_model: String,
        cores: usize,
        kernel: String,
        load_before: String,
        load_after: String,
        method: Method,
    },
    Aws {
        stack: String,
        region: String,
        profile: String,
    },
}

pub struct Report<'a> {
    pub options: &'a Options,
    pub venue: Venue,
    pub started_utc: String,
    pub elapsed_s: u64,
    pub results: &'a [MemoryResult],
    pub flagged: &'a [Flagged],
    pub prices: &'a PriceTable,
}

impl Report<'_> {
    pub fn points(&self) -> Vec<Point> {
        self.results.iter().map(MemoryResult::point).collect()
    }

    /// Each strategy's pick (all three, the balanced one at the given weight), among the sizes
    /// whose figures can be trusted: a size whose quota could not be seen ([`quota_unseen`]) is
    /// never recommended, nor held to a gate (an attendee's `tune local` recommended, and its gate
    /// passed, the very size its report called optimistic). Indices are into `results`.
    pub fn picks(&self) -> Vec<(Strategy, usize)> {
        let trusted: Vec<usize> = (0..self.results.len())
            .filter(|&i| quota_unseen(&self.results[i]).is_none())
            .collect();
        let points: Vec<Point> = trusted.iter().map(|&i| self.results[i].point()).collect();
        recommend::all_strategies(self.options.weight)
            .into_iter()
            .filter_map(|s| recommend::recommend(&points, s).map(|i| (s, trusted[i])))
            .collect()
    }

    pub fn title(&self) -> String {
        match &self.venue {
            Venue::Local { method, .. } => format!(
                "Memory tuning: {} (local, Lambda CPU share by {})",
                self.options.function,
                method.name()
            ),
            Venue::Aws { stack, region, .. } => format!(
                "Memory tuning: {stack}-{}-<MB> (AWS {region})",
                self.options.function
            ),
        }
    }

    pub fn cost_label(&self) -> String {
        match self.venue {
            Venue::Local { .. } => format!(
                "what these durations would cost on Lambda {} ({}), per 1M invocations",
                self.prices.architecture, self.prices.region
            ),
            Venue::Aws { .. } => format!(
                "cost per 1M invocations at {} {} prices",
                self.prices.architecture, self.prices.region
            ),
        }
    }
}

fn strategy_label(strategy: Strategy) -> String {
    match strategy {
        Strategy::Balanced(w) => format!("balanced (weight {})", w.get()),
        other => other.name().to_string(),
    }
}

fn rule(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::Cost => "lowest mean cost per invocation",
        Strategy::Speed => {
            "lowest mean duration; of the sizes within its noise (95 % intervals of the mean overlap), the cheapest"
        }
        Strategy::Balanced(_) => "lowest w·cost/max cost + (1−w)·duration/max duration",
    }
}

fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or("–".to_string(), |v| v.to_string())
}

/// For a size held below a full core whose quota barely held it back: what was measured, as the
/// report says it. A CPU-bound invocation at a share `s` of a core is stopped about `1 − s` of
/// its duration; when the kernel stopped it less than half of that, the invocations were short
/// against the throttling period (they could run a whole invocation on one period's quota), so
/// its duration shows less of the quota than Lambda's would. (The first rule, "the median fits
/// in one period's budget", missed `tune local`'s 1024 MB at 12.0 ms against an 11.6 ms budget
/// per 20 ms period, throttled 3 ms in all where about 61 ms was due.)
pub fn quota_unseen(r: &MemoryResult) -> Option<String> {
    let q = r.cpu_quota?;
    let share = q.quota_us as f64 / q.period_us as f64;
    if share >= 1.0 {
        return None;
    }
    let due_ms = r.duration.median * (1.0 - share) * r.invocations as f64;
    (q.throttled_ms < due_ms / 2.0).then(|| {
        format!(
            "throttled {:.0} ms in all where about {due_ms:.0} ms was due for a CPU-bound function at {:.1}% of a core, median {:.1} ms",
            q.throttled_ms,
            share * 100.0,
            r.duration.median,
        )
    })
}

pub fn markdown(report: &Report) -> String {
    let o = report.options;
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", report.title());
    let _ = writeln!(
        md,
        "- **When:** {} UTC, {} s",
        report.started_utc, report.elapsed_s
    );
    match &report.venue {
        Venue::Local {
            cpu_model,
            cores,
            kernel,
            load_before,
            load_after,
            method,
        } => {
            let _ = writeln!(
                md,
                "- **Where:** this machine, not AWS: {cpu_model}, {cores} cores, Linux {kernel}; load \
                 average (1/5/15 min) {load_before} before, {load_after} after. The release binary ran \
                 behind a local Lambda Runtime API, held to MB/1769 of one core per {} ms period by \
                 {}.\n- **Method:** `{}`; known error: {}.",
                method.period_us(o.cpu_period_us) as f64 / 1000.0,
                method.describe(),
                method.name(),
                method.known_error()
            );
        }
        Venue::Aws {
            stack,
            region,
            profile,
        } => {
            let _ = writeln!(
                md,
                "- **Where:** AWS, stack `{stack}`, region `{region}`, profile `{profile}`; figures from \
                 each invocation's `REPORT` line (`aws lambda invoke --log-type Tail`)."
            );
        }
    }
    let _ = writeln!(
        md,
        "- **Request:** `POST {}` (HTTP API v2 event), body `{}`",
        o.path,
        crate::event::redacted(&o.payload)
    );
    let _ = writeln!(
        md,
        "- **Invocations:** up to {} per memory size, one after another, {}. A cold start's init is \
         shown apart and its invocation left out of the means; p95 and p99 include it (init + \
         duration). Outliers: Tukey's fences on duration (outside Q1 − 1.5·IQR … Q3 + 1.5·IQR), never \
         more than half of a size's invocations. Every answer is compared: a size that fails or \
         answers differently is flagged and left out, never averaged in.",
        o.invocations,
        match o.stop_at_ci_percent {
            Some(p) => format!(
                "stopping once the 95 % confidence interval of the mean warm duration is within {p} % of \
                 the mean (at least {} invocations)",
                crate::options::MIN_INVOCATIONS_BEFORE_STOP
            ),
            None => "all of them (no early stop)".to_string(),
        }
    );
    let _ = writeln!(
        md,
        "- **Prices:** {} {}: ${} per GB-second, ${} per request ({}). Billed duration is whole \
         milliseconds{}.\n",
        report.prices.architecture,
        report.prices.region,
        report.prices.usd_per_gb_second,
        report.prices.usd_per_request,
        report.prices.source,
        match report.venue {
            Venue::Local { .. } => ", measured duration rounded up as Lambda does",
            Venue::Aws { .. } => " as Lambda reported it",
        }
    );

    let local = matches!(report.venue, Venue::Local { .. });
    let _ = writeln!(md, "## Results\n");
    if local {
        let _ = writeln!(
            md,
            "| Memory (MB) | CPU quota | Mean (ms) | Median (ms) | Min–max (ms) | p95 / p99 with cold (ms) | Kept / run | Init, cold (ms) | Peak RSS (MB) | Throttled periods | Mean billed (ms) | Cost / 1M invocations (USD) |"
        );
        let _ = writeln!(
            md,
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
    } else {
        let _ = writeln!(
            md,
            "| Memory (MB) | Mean (ms) | Median (ms) | Min–max (ms) | p95 / p99 with cold (ms) | Kept / run | Init, cold (ms) | Max memory used (MB) | Mean billed (ms) | Cost / 1M invocations (USD) |"
        );
        let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    }
    for r in report.results {
        let quota = r.cpu_quota.map_or(("–".to_string(), "–".to_string()), |q| {
            let given = q.quota_us as f64 / q.period_us as f64 * 100.0;
            let lambda = f64::from(r.memory_mb) / f64::from(crate::model::FULL_CORE_MB) * 100.0;
            // Duty cycling stops or runs the whole process, so it gives at most one core.
            let capped = if lambda - given > 0.5 {
                format!(" (capped; Lambda gives {lambda:.1}%)")
            } else {
                String::new()
            };
            (
                format!("{given:.1}% of a core{capped}"),
                format!("{} ({:.0} ms)", q.throttled_periods, q.throttled_ms),
            )
        });
        let common = format!(
            "{:.1} | {:.1} | {:.1}–{:.1} | {:.1} / {:.1} | {} / {} | {} | {}",
            r.duration.mean,
            r.duration.median,
            r.duration.min,
            r.duration.max,
            r.p95_ms,
            r.p99_ms,
            r.kept,
            r.invocations,
            opt(r.init_ms.map(|i| format!("{i:.1}"))),
            opt(r.max_memory_used_mb),
        );
        let money = format!("{:.1} | {:.2}", r.billed_mean_ms, r.cost_usd * 1e6);
        if local {
            let _ = writeln!(
                md,
                "| {} | {} | {common} | {} | {money} |",
                r.memory_mb, quota.0, quota.1
            );
        } else {
            let _ = writeln!(md, "| {} | {common} | {money} |", r.memory_mb);
        }
    }

    for f in report.flagged {
        let _ = writeln!(
            md,
            "| {} | **flagged, left out:** {} |||||||||||",
            f.memory_mb, f.reason
        );
    }
    let unseen: Vec<String> = report
        .results
        .iter()
        .filter_map(|r| quota_unseen(r).map(|why| format!("{} MB ({why})", r.memory_mb)))
        .collect();
    if !unseen.is_empty() {
        let _ = writeln!(
            md,
            "\n**The quota could not be seen at {}:** a typical invocation ended within one \
             throttling period's budget, so the quota barely held it back and these figures may be \
             optimistic against Lambda; such a size is left out of the recommendation (and so of \
             any gate). Measure them with a payload whose invocations take longer than a period \
             (for PBKDF2, more `iterations`).",
            unseen.join(", ")
        );
    }

    let points = report.points();
    let picks = report.picks();
    let _ = writeln!(md, "\n## Recommendation\n");
    let _ = writeln!(
        md,
        "| Strategy | Rule | Memory (MB) | Mean (ms) | Cost / 1M (USD) |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|");
    for &(strategy, i) in &picks {
        let p = points[i];
        let chosen = if strategy.name() == o.strategy.name() {
            " ← chosen (--strategy)"
        } else {
            ""
        };
        let _ = writeln!(
            md,
            "| {}{chosen} | {} | **{}** | {:.1} | {:.2} |",
            strategy_label(strategy),
            rule(strategy),
            p.memory_mb,
            p.duration_ms,
            p.cost_usd * 1e6
        );
    }
    if let Some(&(_, cheapest)) = picks.iter().find(|(s, _)| matches!(s, Strategy::Cost)) {
        let c = points[cheapest];
        let _ = writeln!(
            md,
            "\nCost is lowest at **{} MB** (${:.2} per 1M invocations, {:.1} ms).",
            c.memory_mb,
            c.cost_usd * 1e6,
            c.duration_ms
        );
    }
    if let Some(&(_, i)) = picks.iter().find(|(s, _)| matches!(s, Strategy::Speed)) {
        let fastest = (0..points.len())
            .min_by(|&a, &b| points[a].duration_ms.total_cmp(&points[b].duration_ms))
            .unwrap_or(i);
        if fastest != i {
            let (f, p) = (points[fastest], points[i]);
            let _ = writeln!(
                md,
                "\n{} MB was the fastest on average ({:.1} ms), {:.1} ms ahead of {} MB: within the \
                 noise of the two means (±{:.1} ms and ±{:.1} ms, 95 %), so speed takes the cheaper \
                 {} MB.",
                f.memory_mb,
                f.duration_ms,
                p.duration_ms - f.duration_ms,
                p.memory_mb,
                f.duration_margin_ms,
                p.duration_margin_ms,
                p.memory_mb
            );
        }
    }
    if let Some(&(strategy, i)) = picks.iter().find(|(s, _)| s.name() == o.strategy.name()) {
        let flags = match strategy {
            Strategy::Balanced(w) => format!("--strategy balanced --weight {}", w.get()),
            other => format!("--strategy {}", other.name()),
        };
        let _ = writeln!(
            md,
            "With `{flags}` the recommendation is **{} MB**.",
            points[i].memory_mb
        );
    }
    let _ = writeln!(
        md,
        "\n![Duration and cost against memory size](chart.svg)\n"
    );
    let _ = writeln!(md, "## Reading it\n");
    if let Venue::Local {
        cores, load_before, ..
    } = &report.venue
    {
        let load: f64 = load_before
            .split_whitespace()
            .next()
            .and_then(|l| l.parse().ok())
            .unwrap_or(0.0);
        if load >= *cores as f64 * 0.5 {
            let _ = writeln!(
                md,
                "- **The machine was busy** (1-minute load {load} on {cores} cores when the run began): \
                 other processes competed for the CPU, which inflates durations and their spread, most \
                 visibly at the sizes the quota does not limit (1769 MB and up)."
            );
        }
    }
    if local {
        let _ = writeln!(
            md,
            "- These are wall-clock times on this machine's cores, not on Lambda's Graviton cores, and \
             the machine was shared: absolute figures differ from AWS. What carries over is the shape: \
             a single-threaded CPU-bound function gets faster in proportion to memory up to 1769 MB \
             (one full core) and no faster beyond.\n\
             - Cost is what these durations would cost on Lambda arm64; Lambda would bill its own \
             durations.\n\
             - Throttled periods (from the cgroup's `cpu.stat`, or the periods the duty cycle stopped \
             the function in) show the limit was in force.\n\
             - Raw samples: `samples.csv`; the function's own logs: `function-<MB>.log`."
        );
    } else {
        let _ = writeln!(
            md,
            "- Durations and billed durations are Lambda's own, from each `REPORT` line.\n\
             - Cost uses the price table above (first tier, no free tier, no Savings Plans).\n\
             - Raw samples: `samples.csv`; the functions' answers: `answers/`."
        );
    }
    md
}

/// One line per invocation.
pub fn samples_csv(samples: &[(u32, Vec<Sample>)]) -> String {
    let mut csv =
        String::from("memory_mb,invocation,duration_ms,billed_ms,init_ms,max_memory_used_mb\n");
    for (memory_mb, list) in samples {
        for (i, s) in list.iter().enumerate() {
            let _ = writeln!(
                csv,
                "{memory_mb},{},{:.3},{},{},{}",
                i + 1,
                s.duration_ms,
                s.billed_ms,
                s.init_ms.map_or(String::new(), |v| format!("{v:.3}")),
                s.max_memory_used_mb
                    .map_or(String::new(), |v| v.to_string())
            );
        }
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::ARM64_US_EAST_1;
    use crate::options::parse;
    use crate::tuning::{CpuQuota, summarise};

    fn options(line: &str) -> Options {
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        parse(&args, |_| Err(String::new())).unwrap_or_else(|e| panic!("{e}"))
    }

    fn results() -> Vec<MemoryResult> {
        [(128u32, 160.0), (1769, 11.8), (3008, 11.6)]
            .into_iter()
            .map(|(mb, ms): (u32, f64)| {
                let samples: Vec<Sample> = (0..5)
                    .map(|i| Sample {
                        duration_ms: ms + f64::from(i) * 0.1,
                        billed_ms: (ms + f64::from(i) * 0.1).ceil() as u64,
                        memory_mb: mb,
                        max_memory_used_mb: Some(14),
                        init_ms: (i == 0).then_some(4.0),
                    })
                    .collect();
                let mut r = summarise(mb, &samples, &ARM64_US_EAST_1).unwrap();
                r.cpu_quota = Some(CpuQuota {
                    quota_us: crate::model::quota_us(mb, 100_000).unwrap(),
                    period_us: 100_000,
                    throttled_periods: 3,
                    // What a CPU-bound 160 ms invocation at 7.2% of a core is stopped, 5 times.
                    throttled_ms: 740.0,
                });
                r
            })
            .collect()
    }

    fn local_venue() -> Venue {
        Venue::Local {
            cpu_model: "AMD EPYC".into(),
            cores: 2,
            kernel: "6.18".into(),
            load_before: "0.50 0.40 0.30".into(),
            load_after: "0.90 0.50 0.30".into(),
            method: Method::DutyCycle,
        }
    }

    /// The markdown of a local report of `results` on [`local_venue`], with nothing flagged.
    fn local_markdown(o: &Options, results: &[MemoryResult]) -> String {
        markdown(&Report {
            options: o,
            venue: local_venue(),
            started_utc: "2026-11-22 02:00:00".into(),
            elapsed_s: 60,
            results,
            flagged: &[],
            prices: &ARM64_US_EAST_1,
        })
    }

    #[test]
    fn a_size_whose_quota_barely_held_it_back_is_flagged() {
        let o = options("local");
        let mut results = results();
        // 1769 MB (11.8 ms) is a full core: nothing to see. 128 MB at 160 ms: throttled.
        let md = local_markdown(&o, &results);
        assert!(!md.contains("The quota could not be seen"), "{md}");
        // As an attendee's `tune local` measured 1024 MB (2026-12-05): 12 ms invocations,
        // 20 ms periods, 3 ms throttled in all: more than one period's 11.6 ms budget, yet
        // barely held back.
        let mut small = results[1].clone();
        small.memory_mb = 1024;
        small.invocations = 12;
        small.cpu_quota = Some(CpuQuota {
            quota_us: crate::model::quota_us(1024, 20_000).unwrap(),
            period_us: 20_000,
            throttled_periods: 2,
            throttled_ms: 3.0,
        });
        results.push(small);
        let md = local_markdown(&o, &results);
        assert!(
            md.contains(
                "**The quota could not be seen at 1024 MB (throttled 3 ms in all where about 61 ms was due for a CPU-bound function at 57.9% of a core, median 12.0 ms):**"
            ),
            "{md}"
        );
        // Never recommended, so never what a gate checks: 1024 MB is the cheapest of the
        // attendee's sizes on paper, and the fastest but for 3008 MB.
        let report = Report {
            options: &o,
            venue: local_venue(),
            started_utc: String::new(),
            elapsed_s: 0,
            results: &results,
            flagged: &[],
            prices: &ARM64_US_EAST_1,
        };
        let picked: Vec<u32> = report
            .picks()
            .iter()
            .map(|&(_, i)| results[i].memory_mb)
            .collect();
        assert_eq!(picked.len(), 3);
        assert!(!picked.contains(&1024), "{picked:?}");
    }

    #[test]
    fn a_share_duty_cycling_cannot_give_is_labelled_capped() {
        let o = options("local --throttle duty-cycle");
        let mut results = results();
        // Duty cycling runs or stops the whole process: at most one core, where Lambda gives 1.7.
        for r in &mut results {
            if let Some(q) = &mut r.cpu_quota {
                q.quota_us = q.quota_us.min(q.period_us);
            }
        }
        let md = local_markdown(&o, &results);
        assert!(
            md.contains("| 3008 | 100.0% of a core (capped; Lambda gives 170.0%) |"),
            "{md}"
        );
        assert!(md.contains("| 1769 | 100.0% of a core |"), "{md}");
        assert!(md.contains("| 128 | 7.2% of a core |"), "{md}");
    }

    #[test]
    fn the_local_report_names_the_machine_the_picks_and_the_cheapest_size() {
        let o = options("local --strategy speed");
        let results = results();
        let md = local_markdown(&o, &results);
        for text in [
            "AMD EPYC, 2 cores",
            "not AWS",
            "per 20 ms period",
            "7.2% of a core",
            "170.0% of a core",
            "| 128 | 7.2% of a core | 160.2 |",
            "Cost is lowest at **128 MB**",
            "| speed ← chosen (--strategy) | lowest mean duration; of the sizes within its noise (95 % intervals of the mean overlap), the cheapest | **1769** |",
            // 3008 MB's mean is 0.2 ms lower, within both means' 95 % intervals.
            "3008 MB was the fastest on average (11.8 ms), 0.2 ms ahead of 1769 MB: within the noise",
            "With `--strategy speed` the recommendation is **1769 MB**.",
            "would cost on Lambda arm64",
            "![Duration and cost against memory size](chart.svg)",
            "\"password\":\"<redacted>\"",
        ] {
            assert!(md.contains(text), "missing {text:?} in\n{md}");
        }
        assert!(!md.contains("correct horse"));
        assert!(
            !md.contains("machine was busy"),
            "load 0.5 on 2 cores is quiet"
        );
    }

    #[test]
    fn a_busy_machine_is_called_out_in_the_local_report() {
        let o = options("local");
        let results = results();
        let Venue::Local {
            cpu_model,
            kernel,
            load_after,
            ..
        } = local_venue()
        else {
            unreachable!()
        };
        let report = Report {
            options: &o,
            venue: Venue::Local {
                cpu_model,
                cores: 2,
                kernel,
                load_before: "3.10 2.90 3.00".into(),
                load_after,
                method: Method::CgroupV1,
            },
            started_utc: "t".into(),
            elapsed_s: 1,
            results: &results,
            flagged: &[],
            prices: &ARM64_US_EAST_1,
        };
        let md = markdown(&report);
        assert!(
            md.contains("**The machine was busy** (1-minute load 3.1 on 2 cores"),
            "{md}"
        );
    }

    #[test]
    fn the_aws_report_credits_lambdas_report_lines() {
        let o = options("dev eu-west-1 work");
        let results = results();
        let report = Report {
            options: &o,
            venue: Venue::Aws {
                stack: "rust-serverless-dev".into(),
                region: "eu-west-1".into(),
                profile: "work".into(),
            },
            started_utc: "t".into(),
            elapsed_s: 1,
            results: &results,
            flagged: &[],
            prices: &ARM64_US_EAST_1,
        };
        let md = markdown(&report);
        assert!(md.contains("AWS, stack `rust-serverless-dev`"), "{md}");
        assert!(md.contains("`REPORT` line"), "{md}");
        assert!(!md.contains("of a core"), "{md}");
        assert!(md.contains("balanced (weight 0.5) ← chosen"), "{md}");
    }

    #[test]
    fn samples_csv_has_one_row_per_invocation() {
        let s = Sample {
            duration_ms: 1.5,
            billed_ms: 2,
            memory_mb: 128,
            max_memory_used_mb: None,
            init_ms: Some(3.25),
        };
        let csv = samples_csv(&[(128, vec![s.clone(), Sample { init_ms: None, ..s }])]);
        assert_eq!(
            csv,
            "memory_mb,invocation,duration_ms,billed_ms,init_ms,max_memory_used_mb\n128,1,1.500,2,3.250,\n128,2,1.500,2,,\n"
        );
    }
}
