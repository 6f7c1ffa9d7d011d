//! PERFORMANCE.md, written from the summary lines the benches print (`./build.sh bench`).
//!
//! Every figure in the file comes from the bench log, from `/proc/cpuinfo`, or from the
//! deployment zips `cargo lambda build --release --arm64 --output-format zip` leaves at
//! `target/lambda-arm64/lambda/<function>/bootstrap.zip` (the build `./build.sh deploy` makes; the test's
//! unoptimised build is elsewhere). A figure whose line is missing from the log is
//! written as "not measured in this run", never filled in.
//!
//! The log is read the way the summary lines are printed: each pattern (beside the section that
//! reads it) is the bench's `println!` format with a placeholder (`{N}`, see [`scan::scan`]) where
//! it prints a figure, and the last matching line wins, so a re-run appended to the same log
//! overrides the earlier figures.
//!
//! This file reads the inputs and writes the file; [`render`](mod@render) lays it out,
//! [`targets`] judges the targets, [`peer`] and [`sections`] are the benches' sections,
//! [`scan`] reads the lines.

mod peer;
mod render;
mod scan;
mod sections;
mod targets;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use render::render;

const NOT_MEASURED: &str = "not measured in this run";
/// The same words opening a sentence.
const NOT_MEASURED_SENTENCE: &str = "Not measured in this run";
const ZIP_SOURCE: &str = "cargo lambda build --output-format zip";
/// Lambda's limit for a zip uploaded directly, which the issue sets as the target.
const ZIP_LIMIT_BYTES: u64 = 6_000_000;

/// The machine the benches ran on, as `/proc/cpuinfo` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub model: String,
    pub cores: usize,
}

impl Machine {
    /// The first `model name` ("unknown CPU" when there is none, as on most ARM kernels) and
    /// one core per `processor` line.
    pub fn from_cpuinfo(text: &str) -> Machine {
        let model = text
            .lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split_once(':'))
            .map_or_else(
                || "unknown CPU".to_owned(),
                |(_, model)| model.trim().to_owned(),
            );
        let cores = text
            .lines()
            .filter(|line| line.starts_with("processor"))
            .count();
        Machine { model, cores }
    }
}

/// Size in bytes and source description of each function's deployment zip, by function name.
///
/// Empty when `target_dir/lambda` holds no `<function>/bootstrap.zip`, e.g. before the first
/// `cargo lambda build`.
pub fn zip_sizes(target_dir: &Path) -> BTreeMap<String, (u64, String)> {
    let Ok(entries) = std::fs::read_dir(target_dir.join("lambda")) else {
        return BTreeMap::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let zip = std::fs::metadata(entry.path().join("bootstrap.zip")).ok()?;
            zip.is_file().then(|| {
                let name = entry.file_name().to_string_lossy().into_owned();
                (name, (zip.len(), ZIP_SOURCE.to_owned()))
            })
        })
        .collect()
}

/// Reads the log, /proc/cpuinfo, the zips under `target_dir`, writes `out`.
///
/// The date written is today's in UTC.
pub fn write(log_path: &Path, target_dir: &Path, out: &Path) -> Result<()> {
    let log = std::fs::read(log_path)
        .with_context(|| format!("reading the bench log {}", log_path.display()))?;
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").context("reading /proc/cpuinfo")?;
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is set before 1970")?;
    // u64::MAX seconds is under 2^48 days: the cast cannot wrap.
    let days = (since_epoch.as_secs() / 86_400) as i64;
    let text = render(
        &String::from_utf8_lossy(&log),
        &Machine::from_cpuinfo(&cpuinfo),
        &iso_date(days),
        &zip_sizes(target_dir),
    );
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))
}

/// The proleptic Gregorian date `days` after 1970-01-01, as "YYYY-MM-DD" (Howard Hinnant's
/// `civil_from_days`).
fn iso_date(days: i64) -> String {
    let shifted = days + 719_468; // days since 0000-03-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
