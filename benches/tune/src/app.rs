//! One run from options to report: measure (or, for `--dry-run`, list what would be done),
//! summarise, recommend, write `report.md`, `chart.svg` and `samples.csv`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::aws::{self, AwsError};
use crate::cost::ARM64_US_EAST_1;
use crate::local::{self, LocalError};
use crate::options::{Options, Target};
use crate::progress::Progress;
use crate::report::{self, Flagged, Report, Venue};
use crate::report_line::Sample;
use crate::svg::{self, Chart, Column};
use crate::throttle::{Host, Method};
use crate::tuning::{self, CpuQuota, MemoryResult};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Chart(#[from] svg::ChartError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// What the caller's environment contributes.
pub struct Context {
    pub cargo_target_dir: Option<String>,
    pub cgroup_root: PathBuf,
}

pub enum Outcome {
    /// `--dry-run`: the lines to print; nothing was run or written.
    DryRun(Vec<String>),
    /// The folder holding the report, and what the gate found (nothing when no limit is set).
    Report {
        folder: PathBuf,
        gate: crate::gate::Checked,
    },
}

/// The current UTC time as (`20261122-021500`, `2026-11-22 02:15:00`).
fn now_utc() -> (String, String) {
    let t = time::OffsetDateTime::now_utc();
    let (date, clock) = (
        (t.year(), u8::from(t.month()), t.day()),
        (t.hour(), t.minute(), t.second()),
    );
    (
        format!(
            "{:04}{:02}{:02}-{:02}{:02}{:02}",
            date.0, date.1, date.2, clock.0, clock.1, clock.2
        ),
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            date.0, date.1, date.2, clock.0, clock.1, clock.2
        ),
    )
}

fn output_dir(options: &Options) -> PathBuf {
    options
        .output
        .clone()
        .unwrap_or_else(|| Path::new("results").join(format!("tune-{}", now_utc().0)))
}

fn write(path: &Path, contents: &str) -> Result<(), AppError> {
    fs::write(path, contents).map_err(|source| AppError::Write {
        path: path.display().to_string(),
        source,
    })
}

fn create_dir(path: &Path) -> Result<(), AppError> {
    fs::create_dir_all(path).map_err(|source| AppError::Write {
        path: path.display().to_string(),
        source,
    })
}

pub fn run(options: &Options, context: &Context) -> Result<Outcome, AppError> {
    let out = output_dir(options);
    let total = options.memory.get().len() * options.invocations as usize;
    if options.dry_run {
        return Ok(Outcome::DryRun(dry_run(options, context, &out)?));
    }
    let started_utc = now_utc().1;
    let clock = Instant::now();
    let mut progress = Progress::new(total);
    let mut flagged = Vec::new();
    let (venue, measured) = match &options.target {
        Target::Local => {
            let host = Host::probe(&context.cgroup_root);
            let method = local::preflight(options, &host, &context.cgroup_root)?;
            eprintln!(
                "holding the function to its CPU share by {} (--throttle {})",
                method.describe(),
                method.name()
            );
            if method == Method::CgroupV1 {
                for name in local::remove_stale_cgroups(&context.cgroup_root) {
                    eprintln!("removed the cgroup {name} left by an interrupted run");
                }
            }
            create_dir(&out)?;
            let binary = local::binary_path(options, context.cargo_target_dir.as_deref());
            let load_before = read_trimmed("/proc/loadavg", 3);
            let mut measured = Vec::new();
            let mut answers = Vec::new();
            for &mb in options.memory.get() {
                let run = local::measure(
                    options,
                    method,
                    mb,
                    &binary,
                    &context.cgroup_root,
                    host.cgroup_v2_dir.as_deref(),
                    &out,
                    &mut progress,
                )?;
                answers.push((mb, run.answer, run.failure));
                measured.push((mb, run.samples, run.quota));
            }
            flagged = tuning::flag_sizes(&answers);
            (local_venue(load_before, method), measured)
        }
        Target::Aws {
            region, profile, ..
        } => {
            create_dir(&out.join("answers"))?;
            let event_file = out.join("event.json");
            let event = crate::event::http_api_event(&options.path, &options.payload, "tune");
            write(&event_file, &event.to_string())?;
            let calls = aws::plan(options, &event_file, &out)?;
            let mut measured: Vec<(u32, Vec<Sample>, Option<CpuQuota>)> = options
                .memory
                .get()
                .iter()
                .map(|&mb| (mb, Vec::new(), None))
                .collect();
            for call in &calls {
                let done = measured
                    .iter()
                    .find(|(mb, _, _)| *mb == call.memory_mb)
                    .is_some_and(|(_, samples, _)| {
                        local::enough(samples, options.stop_at_ci_percent)
                    });
                if done {
                    continue;
                }
                let sample = aws::invoke(call)?;
                progress.tick(call.memory_mb, &sample);
                if let Some(entry) = measured.iter_mut().find(|(mb, _, _)| *mb == call.memory_mb) {
                    entry.1.push(sample);
                }
            }
            let venue = Venue::Aws {
                stack: options.stack_name().unwrap_or_default(),
                region: region.clone(),
                profile: profile.clone(),
            };
            (venue, measured)
        }
    };

    let results: Vec<MemoryResult> = measured
        .iter()
        .filter(|(mb, _, _)| !flagged.iter().any(|f: &Flagged| f.memory_mb == *mb))
        .filter_map(|(mb, samples, quota)| {
            let mut result = tuning::summarise(*mb, samples, &ARM64_US_EAST_1)?;
            result.cpu_quota = *quota;
            Some(result)
        })
        .collect();
    let report = Report {
        options,
        venue: match venue {
            Venue::Local {
                cpu_model,
                cores,
                kernel,
                load_before,
                method,
                ..
            } => Venue::Local {
                cpu_model,
                cores,
                kernel,
                load_before,
                load_after: read_trimmed("/proc/loadavg", 3),
                method,
            },
            aws => aws,
        },
        started_utc,
        elapsed_s: clock.elapsed().as_secs(),
        results: &results,
        flagged: &flagged,
        prices: &ARM64_US_EAST_1,
    };
    let columns: Vec<Column> = results
        .iter()
        .map(|r| Column {
            memory_mb: r.memory_mb,
            mean_ms: r.duration.mean,
            min_ms: r.duration.min,
            max_ms: r.duration.max,
            cost_usd: r.cost_usd,
        })
        .collect();
    let picks = report.picks();
    let subtitle = format!(
        "POST {} · {} invocations per size · {} · {}",
        options.path,
        options.invocations,
        match &report.venue {
            Venue::Local {
                cpu_model,
                cores,
                method,
                ..
            } => format!(
                "local: {cpu_model}, {cores} cores, CPU share MB/1769 by {}",
                method.name()
            ),
            Venue::Aws { region, .. } => format!("AWS {region}"),
        },
        report.started_utc
    );
    let chart = svg::render(&Chart {
        title: &report.title(),
        subtitle: &subtitle,
        cost_label: &report.cost_label(),
        columns: &columns,
        picks: &picks,
    })?;
    write(&out.join("chart.svg"), &chart)?;
    write(&out.join("report.md"), &report::markdown(&report))?;
    let samples: Vec<(u32, Vec<Sample>)> = measured.into_iter().map(|(mb, s, _)| (mb, s)).collect();
    write(&out.join("samples.csv"), &report::samples_csv(&samples))?;
    let chosen = picks
        .iter()
        .find(|(s, _)| s.name() == options.strategy.name())
        .map(|&(_, i)| &results[i]);
    Ok(Outcome::Report {
        folder: out,
        gate: crate::gate::check(&options.gate, chosen),
    })
}

fn dry_run(options: &Options, context: &Context, out: &Path) -> Result<Vec<String>, AppError> {
    let mut lines = vec![format!(
        "dry run: nothing is invoked or written; a run would write its report to {}",
        out.display()
    )];
    match &options.target {
        Target::Local => {
            let binary = local::binary_path(options, context.cargo_target_dir.as_deref());
            let host = Host::probe(&context.cgroup_root);
            let method = options
                .throttle
                .unwrap_or_else(|| crate::throttle::detect(&host));
            if let Some(reason) = crate::throttle::unavailable(method, &host, &context.cgroup_root)
            {
                lines.push(format!("note: a real run would stop here: {reason}"));
            }
            lines.extend(local::plan(
                options,
                method,
                &binary,
                &context.cgroup_root,
                host.cgroup_v2_dir.as_deref(),
            )?);
        }
        Target::Aws { .. } => {
            let event_file = out.join("event.json");
            lines.push(format!(
                "write {}: HTTP API v2 event, POST {}, body {}",
                event_file.display(),
                options.path,
                crate::event::redacted(&options.payload)
            ));
            let calls = aws::plan(options, &event_file, out)?;
            lines.push(format!("{} invocations:", calls.len()));
            lines.extend(calls.iter().map(aws::InvokeCall::shell_line));
        }
    }
    Ok(lines)
}

fn read_trimmed(path: &str, fields: usize) -> String {
    fs::read_to_string(path)
        .map(|s| {
            s.split_whitespace()
                .take(fields)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

fn local_venue(load_before: String, method: Method) -> Venue {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| {
            let (key, value) = l.split_once(':')?;
            (key.trim() == "model name").then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    Venue::Local {
        cpu_model,
        cores,
        kernel: read_trimmed("/proc/sys/kernel/osrelease", 1),
        load_before,
        load_after: String::new(),
        method,
    }
}
