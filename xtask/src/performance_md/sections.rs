//! The sections of the benches other than `--bench peer` (tune methods, shortener, PBKDF2,
//! domain, proxy) and of the deployment zips, each read from its summary lines.

use std::collections::BTreeMap;

use super::render::{megabytes, thousands};
use super::scan::{find, last, number, scan, scan_exact};
use super::{NOT_MEASURED, NOT_MEASURED_SENTENCE};

pub(super) const TUNE_AGREEMENT: &str = "tune methods agreement: largest difference from cgroup-v1 in mean duration: duty-cycle {N} %, duty-cycle-wall {N} % (target <= 10 %)";

pub(super) fn tune_section(out: &mut Vec<String>, log: &[String]) {
    out.push("## Local memory tuning: the throttling methods against each other (`--bench tune_methods`)".to_owned());
    out.push(String::new());
    out.push("The release `pbkdf2-control` (100,000 iterations) at each size, held to MB/1769 of a core by the".to_owned());
    out.push("cgroup v1 quota (the reference) and by `tune`'s two duty-cycling methods (SIGSTOP/SIGCONT, no root,".to_owned());
    out.push("no cgroups), interleaved per size, each invocation at a random phase of the 20 ms period; mean warm".to_owned());
    out.push("duration after outliers, as the tune report shows it.".to_owned());
    out.push(String::new());
    out.push("| Memory (MB) | cgroup-v1 (ms) | duty-cycle (ms) | duty-cycle / cgroup | duty-cycle-wall (ms) | duty-cycle-wall / cgroup |".to_owned());
    out.push("|---:|---:|---:|---:|---:|---:|".to_owned());
    let rows: Vec<[&str; 6]> = log
        .iter()
        .filter_map(|line| {
            scan_exact(
                line,
                "tune methods {D} MB: cgroup-v1 {N} ms, duty-cycle {N} ms ({N}), duty-cycle-wall {N} ms ({N})",
            )
            .map(|(captured, _)| captured)
        })
        .collect();
    if rows.is_empty() {
        out.push(format!("| – | {NOT_MEASURED} | | | | |"));
    }
    for [mb, cgroup, duty, duty_ratio, wall, wall_ratio] in rows {
        out.push(format!(
            "| {mb} | {cgroup} | {duty} | {duty_ratio} | {wall} | {wall_ratio} |"
        ));
    }
    out.push(String::new());
}

/// The shortener bench's line for issue 18's target: the redirect with analytics against the
/// counting redirect's `GetItem` + count write.
pub(super) const ANALYTICS_REDIRECT: &str = "redirect with analytics (the default): response p50 {N} ms p99 {N} ms, whole invocation p50 {N} ms p99 {N} ms | counting only, whole invocation (GetItem + count write, the counting redirect before its writes moved after the response) p50 {N} ms p99 {N} ms | response/that p50 {N} (target <= 1.2) | whole/that p50 {N}";

pub(super) fn shortener_section(out: &mut Vec<String>, log: &[String]) {
    out.push(
        "## The shortener's handlers against their raw DynamoDB calls (`--bench shortener`)"
            .to_owned(),
    );
    out.push(String::new());
    let create = find(
        log,
        "create p50 {N} ms p99 {N} ms | raw GetItem+TransactWriteItems p50 {N} ms p99 {N} ms | handler/raw p50 {N}",
    );
    let redirect = find(
        log,
        "redirect p50 {N} ms p99 {N} ms counting visits | {N} ms / {N} ms not counting | raw GetItem {N} ms / {N} ms | counting/not p50 {N} | not-counting/raw p50 {N}",
    );
    let create_writes = find(
        log,
        "creates: {D} with ID_BLOCK_SIZE={D}: counter writes/create {N} ({D} ADDs), link write requests/create {N}",
    );
    let redirect_writes = find(
        log,
        "redirects: {D}: DynamoDB writes/redirect {N} counting visits, {N} with COUNT_VISITS=false; link-item writes {D}",
    );
    out.push(
        "| Figure | Handler p50 / p99 | Floor (raw calls) p50 / p99 | Handler / floor (p50) |"
            .to_owned(),
    );
    out.push("|---|---|---|---|".to_owned());
    out.push(match create {
        Some([p50, p99, raw_p50, raw_p99, ratio]) => format!(
            "| Create | {p50} / {p99} ms | `GetItem` + `TransactWriteItems`: {raw_p50} / {raw_p99} ms | {ratio} |"
        ),
        None => format!("| Create | {NOT_MEASURED} | | |"),
    });
    match redirect {
        Some(
            [
                counting_p50,
                counting_p99,
                p50,
                p99,
                raw_p50,
                raw_p99,
                counting_ratio,
                ratio,
            ],
        ) => {
            out.push(format!(
                "| Redirect, `COUNT_VISITS=false` | {p50} / {p99} ms | `GetItem`: {raw_p50} / {raw_p99} ms | {ratio} |"
            ));
            out.push(format!(
                "| Redirect, counting visits | {counting_p50} / {counting_p99} ms | the not-counting redirect | {counting_ratio} |"
            ));
        }
        None => out.push(format!("| Redirect | {NOT_MEASURED} | | |")),
    }
    if let Some(
        [
            p50,
            p99,
            whole_p50,
            whole_p99,
            counting_p50,
            counting_p99,
            ratio,
            whole_ratio,
        ],
    ) = find(log, ANALYTICS_REDIRECT)
    {
        out.push(format!(
            "| Redirect with analytics (the default), up to its response | {p50} / {p99} ms | counting only, `GetItem` + count write: {counting_p50} / {counting_p99} ms | {ratio} |"
        ));
        out.push(format!(
            "| Redirect with analytics, whole invocation (count + analytics writes after the response; billed) | {whole_p50} / {whole_p99} ms | the same | {whole_ratio} |"
        ));
    }
    if let Some([creates, block_size, counter, adds, links]) = create_writes {
        out.push(format!(
            "| Writes per create ({creates} creates, `ID_BLOCK_SIZE={block_size}`) | counter {counter} ({adds} `ADD`s), link transactions {links} | | |"
        ));
    }
    if let Some([redirects, counting, not_counting, link_writes]) = redirect_writes {
        out.push(format!(
            "| Writes per redirect ({redirects} redirects) | {counting} counting, {not_counting} not counting; link-item writes {link_writes} | | |"
        ));
    }
    out.push(String::new());
}

pub(super) fn pbkdf2_section(out: &mut Vec<String>, log: &[String]) {
    out.push("## PBKDF2 (`--bench pbkdf2`)".to_owned());
    out.push(String::new());
    out.push("| Iterations | Control (`pbkdf2` crate) | Candidate | Floor (2 × N SHA-256 compressions) | Candidate / control | Candidate / floor | Control / floor |".to_owned());
    out.push("|---|---|---|---|---|---|---|".to_owned());
    let rows = pbkdf2_rows(log);
    for row in &rows {
        out.push(format!(
            "| {} | {} ms | {} ms | {} ms | {} | {} | {} |",
            thousands(row.iterations),
            row.control,
            row.candidate,
            row.floor,
            row.candidate_control,
            row.candidate_floor,
            row.control_floor
        ));
    }
    if rows.is_empty() {
        out.push(format!("| – | {NOT_MEASURED} | | | | | |"));
    }
    out.push(String::new());
}

pub(super) fn domain_section(out: &mut Vec<String>, log: &[String]) {
    out.push("## Workshop functions and the code mapping (`--bench domain`)".to_owned());
    out.push(String::new());
    out.push("| Figure | Measured | Floor | Ratio |".to_owned());
    out.push("|---|---|---|---|".to_owned());
    let rows = [
        (
            "FizzBuzz 1..=1000, handler",
            "fizzbuzz 1..={D}: handler {N} us, domain {N} us | handler/domain {N}",
            "domain `render`",
        ),
        (
            "Sort 1,000 numbers, handler",
            "sort {D} numbers: handler {N} us, domain {N} us | handler/domain {N}",
            "domain parse + sort + JSON",
        ),
        (
            "Round 62.5, handler",
            "round {F}: handler {N} us, domain {N} us | handler/domain {N}",
            "domain parse + round + JSON",
        ),
        (
            "`ShortCode::generate` (keyed Feistel)",
            "code mapping: generate {N} us, base62 {N} us | generate/base62 {N}",
            "plain base62 of the id, padded",
        ),
    ];
    for (label, pattern, floor_name) in rows {
        // The first three patterns also capture the loop size or the input; the figures are the
        // last three captures.
        let figures = last(log, |line| {
            let (captured, _) = scan(line, pattern)?;
            captured.last_chunk::<3>().copied()
        });
        out.push(match figures {
            Some([measured, floor, ratio]) => format!(
                "| {label} | {:.3} µs | {floor_name}: {:.3} µs | {ratio} |",
                number(measured),
                number(floor)
            ),
            None => format!("| {label} | {NOT_MEASURED} | {floor_name} | – |"),
        });
    }
    out.push(String::new());
}

pub(super) fn proxy_section(out: &mut Vec<String>, log: &[String]) {
    out.push("## The experiment proxy against the control called directly".to_owned());
    out.push(String::new());
    let proxy = last(log, |line| {
        let ([requests], between) = scan_exact(line, "proxy {D} requests ")?;
        // The description between the count and the figures is free text, so try each place the
        // figures could start, the last first.
        between.rmatch_indices("direct control p50 ").find_map(|(at, _)| {
            let (figures, rest) = scan_exact::<7>(
                &between[at..],
                "direct control p50 {F} ms p99 {F} ms | through the proxy p50 {F} ms p99 {F} ms | added p50 {S} ms p99 {S} ms | proxied/direct p50 {F}",
            )?;
            rest.is_empty().then_some((requests, figures))
        })
    });
    match proxy {
        Some((
            requests,
            [
                direct_p50,
                direct_p99,
                proxied_p50,
                proxied_p99,
                added_p50,
                added_p99,
                ratio,
            ],
        )) => {
            out.push(format!("{requests} requests, one at a time, through `cargo lambda watch` (release builds) to the `chaos` experiment,"));
            out.push("whose candidates panic, sleep 2 s, answer 500 and answer garbage; every proxied answer was asserted".to_owned());
            out.push(
                "equal to the control's. Target: the proxy adds under 10 ms at p50.".to_owned(),
            );
            out.push(String::new());
            out.push("| Path | p50 | p99 |".to_owned());
            out.push("|---|---|---|".to_owned());
            out.push(format!(
                "| `round-control` called directly | {direct_p50} ms | {direct_p99} ms |"
            ));
            out.push(format!(
                "| through `experiment-proxy` | {proxied_p50} ms | {proxied_p99} ms |"
            ));
            out.push(format!(
                "| added by the proxy | **{added_p50} ms** | {added_p99} ms |"
            ));
            out.push(String::new());
            out.push(format!("Proxied / direct at p50: {ratio}."));
        }
        None => out.push(format!(
            "{NOT_MEASURED_SENTENCE} (run `./build.sh bench` without arguments)."
        )),
    }
    out.push(String::new());
}

pub(super) fn zips_section(out: &mut Vec<String>, zips: &BTreeMap<String, (u64, String)>) {
    out.push("## Deployment zips".to_owned());
    out.push(String::new());
    if zips.is_empty() {
        out.push(format!("{NOT_MEASURED_SENTENCE}: there was no `target/lambda-arm64/lambda/<function>/bootstrap.zip` (the"));
        out.push("build `./build.sh deploy` makes) in this checkout.".to_owned());
    } else {
        out.push("| Function | Zip size | Source |".to_owned());
        out.push("|---|---|---|".to_owned());
        for (name, (size, source)) in zips {
            out.push(format!(
                "| {name} | {} MB ({} bytes) | {source} |",
                megabytes(*size),
                thousands(&size.to_string())
            ));
        }
    }
    out.push(String::new());
}

/// One `pbkdf2 iterations=…` summary line.
pub(super) struct Pbkdf2Row<'a> {
    pub(super) iterations: &'a str,
    pub(super) control: &'a str,
    pub(super) candidate: &'a str,
    pub(super) floor: &'a str,
    pub(super) candidate_control: &'a str,
    pub(super) control_floor: &'a str,
    pub(super) candidate_floor: &'a str,
}

/// Every PBKDF2 line in the log, in order: one per iteration count the bench ran.
pub(super) fn pbkdf2_rows(log: &[String]) -> Vec<Pbkdf2Row<'_>> {
    log.iter()
        .filter_map(|line| {
            let ([iterations, control, candidate, floor, candidate_control], rest) = scan_exact(
                line,
                "pbkdf2 iterations={D}: control {N} ms, candidate-fast {N} ms, floor {N} ms | candidate/control {N}",
            )?;
            // The bench may follow the ratio with its own verdict, " (target <= 0.85: met)".
            let rest = rest
                .strip_prefix(" (")
                .and_then(|verdict| verdict.split_once(')'))
                .map_or(rest, |(_, after)| after);
            let ([control_floor, candidate_floor], _) =
                scan_exact(rest, " | control/floor {N} | candidate/floor {N}")?;
            Some(Pbkdf2Row {
                iterations,
                control,
                candidate,
                floor,
                candidate_control,
                control_floor,
                candidate_floor,
            })
        })
        .collect()
}
