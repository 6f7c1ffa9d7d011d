//! The targets, each judged once from the figures that measure it: the table that opens
//! PERFORMANCE.md.

use std::collections::BTreeMap;

use super::peer::PeerFigures;
use super::render::{megabytes, thousands};
use super::scan::{find, number};
use super::sections::{ANALYTICS_REDIRECT, TUNE_AGREEMENT, pbkdf2_rows};
use super::{NOT_MEASURED, ZIP_LIMIT_BYTES};

pub(super) fn targets(
    out: &mut Vec<String>,
    log: &[String],
    peer: &PeerFigures,
    zips: &BTreeMap<String, (u64, String)>,
) {
    out.push("## Targets from the issue".to_owned());
    out.push(String::new());
    out.push("| Target | Measured | Verdict |".to_owned());
    out.push("|---|---|---|".to_owned());
    let cpu_target =
        "Shortener CPU per create + redirect ≤ 0.2 × the Node.js peer's (steady state)";
    let floor_target =
        "Shortener CPU per create + redirect ≤ 1.15 × the same DynamoDB calls made raw";
    match peer.cpu {
        Some([rust, raw, node, rust_node, rust_raw, raw_node]) => {
            let floor_note = if number(raw_node) > 0.2 {
                format!(
                    " The raw SDK calls alone are × {raw_node} of the peer: the SDK is the floor, above 0.2."
                )
            } else {
                String::new()
            };
            out.push(format!(
                "| {cpu_target} | {rust} µs vs {node} µs: **× {rust_node}**.{floor_note} | {} |",
                verdict(number(rust_node) <= 0.2)
            ));
            out.push(format!(
                "| {floor_target} | {rust} µs vs {raw} µs: **× {rust_raw}** | {} |",
                verdict(number(rust_raw) <= 1.15)
            ));
        }
        None => {
            out.push(format!("| {cpu_target} | {NOT_MEASURED} | – |"));
            out.push(format!("| {floor_target} | {NOT_MEASURED} | – |"));
        }
    }
    out.push(match peer.rss {
        Some([binary, ..]) => format!(
            "| Peak RSS ≤ 30 MB | {binary} MB (release `shortener` binary, VmHWM) | {} |",
            verdict(number(binary) <= 30.0)
        ),
        None => format!("| Peak RSS ≤ 30 MB | {NOT_MEASURED} | – |"),
    });
    let quota_target = "p50 under the 128 MB CPU quota ≤ 0.3 × the peer's";
    out.push(match peer.quota {
        Some([_, _, rust_p50, _, node_p50, _, ratio_p50, ..]) => format!(
            "| {quota_target} (steady state) | {rust_p50} ms vs {node_p50} ms: **× {ratio_p50}** | {} |",
            verdict(number(ratio_p50) <= 0.3)
        ),
        None => {
            let reason = peer
                .quota_skipped
                .map(|reason| format!(" ({reason})"))
                .unwrap_or_default();
            format!("| {quota_target} (steady state) | {NOT_MEASURED}{reason} | – |")
        }
    });
    let tune_target =
        "`tune local` by duty cycling within 10 % of the cgroup quota (mean duration per size)";
    out.push(match find::<2>(log, TUNE_AGREEMENT) {
        Some([duty, wall]) => format!(
            "| {tune_target} | largest difference: duty-cycle {duty} %, duty-cycle-wall {wall} % | {} |",
            verdict(number(duty) <= 10.0)
        ),
        None => format!("| {tune_target} | {NOT_MEASURED} | – |"),
    });
    let analytics_target = "Redirect p50 with analytics ≤ 1.2 × the counting redirect (issue 18)";
    out.push(match find::<8>(log, ANALYTICS_REDIRECT) {
        Some([p50, _, whole_p50, _, counting_p50, _, ratio, whole_ratio]) => format!(
            "| {analytics_target} | response {p50} ms vs {counting_p50} ms (`GetItem` + count write): **× {ratio}**; the whole invocation, with the writes after the response, {whole_p50} ms (× {whole_ratio}) | {} |",
            verdict(number(ratio) <= 1.2)
        ),
        None => format!("| {analytics_target} | {NOT_MEASURED} | – |"),
    });
    out.push(match peer.cold {
        Some([_, first_next, first_answer, ..]) => format!(
            "| Cold start ≤ 30 ms locally | {first_answer} ms spawn → first create answered ({first_next} ms to the first `next`) | {} |",
            verdict(number(first_answer) <= 30.0)
        ),
        None => format!("| Cold start ≤ 30 ms locally | {NOT_MEASURED} | – |"),
    });
    let pbkdf2 = pbkdf2_rows(log);
    let pbkdf2_target = "PBKDF2 candidate ≤ 0.85 × the control";
    if pbkdf2.is_empty() {
        out.push(format!("| {pbkdf2_target} | {NOT_MEASURED} | – |"));
    } else {
        let measured: Vec<String> = pbkdf2
            .iter()
            .map(|row| {
                format!(
                    "**× {}** at {} iterations ({} vs {} ms)",
                    row.candidate_control,
                    thousands(row.iterations),
                    row.candidate,
                    row.control
                )
            })
            .collect();
        let met = pbkdf2
            .iter()
            .all(|row| number(row.candidate_control) <= 0.85);
        out.push(format!(
            "| {pbkdf2_target} | {} | {} |",
            measured.join(", "),
            verdict(met)
        ));
    }
    match zips.values().map(|(size, _)| *size).max() {
        Some(biggest) => out.push(format!(
            "| Each deployment zip ≤ 6 MB | largest {} MB of {} | {} |",
            megabytes(biggest),
            zips.len(),
            verdict(biggest <= ZIP_LIMIT_BYTES)
        )),
        None => out.push(format!(
            "| Each deployment zip ≤ 6 MB | {NOT_MEASURED} (no `target/lambda-arm64/lambda/<function>/bootstrap.zip`) | – |"
        )),
    }
    out.push(String::new());
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**not met**" }
}
