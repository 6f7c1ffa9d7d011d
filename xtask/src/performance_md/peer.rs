//! What `--bench peer` measured (the shortener against its Node.js peer and the raw SDK calls),
//! read from its summary lines, and the section that shows it.

use super::NOT_MEASURED;
use super::scan::{find, last, scan};

/// The `--bench peer` figures: the shortener against its Node.js peer and the raw SDK calls.
pub(super) struct PeerFigures<'a> {
    /// Steady state: rust µs, raw SDK µs, node µs, rust/node, rust/raw, raw/node.
    pub(super) cpu: Option<[&'a str; 6]>,
    /// First pairs: how many, rust µs, raw SDK µs, node µs, rust/node, rust/raw.
    pub(super) cpu_first: Option<[&'a str; 6]>,
    /// Steady state: rust p50, rust p99, node p50, node p99, rust/node p50, rust/node p99.
    pub(super) unconstrained: Option<[&'a str; 6]>,
    /// The same over the first pairs.
    pub(super) unconstrained_first: Option<[&'a str; 6]>,
    /// Steady state: quota MB, full-core MB, then as `unconstrained`, then throttled periods
    /// rust, node and CPU µs per pair rust, node.
    pub(super) quota: Option<[&'a str; 12]>,
    /// The first pairs of a process started under the quota: as `quota` with their count third.
    pub(super) quota_first: Option<[&'a str; 13]>,
    /// Why the quota run was skipped.
    pub(super) quota_skipped: Option<&'a str>,
    /// binary MB, pairs, rust driver MB, node driver MB, node pairs, binary/node.
    pub(super) rss: Option<[&'a str; 6]>,
    /// starts, rust to first next, rust to first answer, node import, node to first answer,
    /// rust/node first answer.
    pub(super) cold: Option<[&'a str; 6]>,
}

impl<'a> PeerFigures<'a> {
    pub(super) fn find(log: &'a [String]) -> Self {
        const LATENCY: &str =
            "rust p50 {N} ms p99 {N} ms, node p50 {N} ms p99 {N} ms | rust/node p50 {N}";
        const QUOTA_TAIL: &str = " (target <= 0.3) p99 {N} | throttled periods rust {D} node {D}; cpu per pair rust {N} us node {N} us";
        PeerFigures {
            cpu: find(
                log,
                "peer cpu per create+redirect steady state: rust {N} us, raw sdk {N} us, node {N} us | rust/node {N} (target <= 0.2) | rust/raw {N} (target <= 1.15) | raw/node {N}",
            ),
            cpu_first: find(
                log,
                "peer cpu per create+redirect first {D} pairs: rust {N} us, raw sdk {N} us, node {N} us | rust/node {N} | rust/raw {N}",
            ),
            unconstrained: find(
                log,
                &format!("peer latency per pair unconstrained steady state: {LATENCY} p99 {{N}}"),
            ),
            unconstrained_first: find(
                log,
                &format!("peer latency per pair unconstrained first pairs: {LATENCY} p99 {{N}}"),
            ),
            quota: find(
                log,
                &format!(
                    "peer latency per pair under {{D}}/{{D}} of a core steady state: {LATENCY}{QUOTA_TAIL}"
                ),
            ),
            quota_first: find(
                log,
                &format!(
                    "peer latency per pair under {{D}}/{{D}} of a core first {{D}} pairs: {LATENCY}{QUOTA_TAIL}"
                ),
            ),
            quota_skipped: last(log, |line| {
                let (_, rest) = scan(
                    line,
                    "peer latency per pair under {D}/{D} of a core: not measured (",
                )?;
                rest.strip_suffix(')')
            }),
            rss: find(
                log,
                "peer peak rss: rust shortener binary {N} MB after 1 + {D} pairs, rust driver {N} MB, node driver {N} MB after {D} pairs | rust binary/node {N}",
            ),
            cold: find(
                log,
                "peer cold start (median of {D}): rust binary spawn to first next {N} ms, to first create answered {N} ms; node import of handler+SDK {N} ms, process start to first create answered {N} ms | rust/node first answer {N}",
            ),
        }
    }
}

pub(super) fn peer_section(out: &mut Vec<String>, peer: &PeerFigures) {
    out.extend(
        [
            "## The shortener against its Node.js peer (`--bench peer`)",
            "",
            "The peer (`benches/node-peer`) is the seed's design on Node.js with the AWS SDK for JavaScript v3:",
            "create = `UpdateItem ADD` on a counter + conditional `PutItem`, redirect = `GetItem` + 308. Both",
            "handlers are called in-process, each by a driver in a fresh process, against the same DynamoDB",
            "Local table; the Rust shortener runs with `COUNT_VISITS=false` so its redirect is one `GetItem`",
            "too. CPU is `getrusage(RUSAGE_SELF)` user + system of the driver process over the timed pairs.",
            "",
            "Each driver runs its first pairs (a fresh instance: cold JIT for Node), then windows of 500 pairs",
            "until two consecutive windows' CPU per pair agree within 5 % (the `peer warm-up` lines below say",
            "whether each settled), then the timed steady-state pairs. The raw SDK driver makes the shortener's",
            "exact DynamoDB calls directly, on the same SDK configuration: the floor for Rust. Rust and raw run",
            "before and after Node and their means are shown, so load changes fall on both sides of a ratio.",
            "",
            "| Figure | Rust shortener | Node.js peer | Rust / Node |",
            "|---|---|---|---|",
        ]
        .map(str::to_owned),
    );
    if let Some([rust, raw, node, rust_node, rust_raw, raw_node]) = peer.cpu {
        out.push(format!(
            "| CPU per create + redirect, steady state | {rust} µs | {node} µs | {rust_node} |"
        ));
        out.push(format!(
            "| CPU per create + redirect, steady state, raw SDK calls (the floor) | {raw} µs (shortener / raw {rust_raw}) | {node} µs | {raw_node} |"
        ));
    }
    if let Some([first, rust, raw, node, rust_node, rust_raw]) = peer.cpu_first {
        out.push(format!(
            "| CPU per create + redirect, first {first} pairs of a process | {rust} µs (raw SDK {raw} µs, shortener / raw {rust_raw}) | {node} µs | {rust_node} |"
        ));
    }
    for (label, figures) in [
        ("steady state", peer.unconstrained),
        ("first pairs", peer.unconstrained_first),
    ] {
        if let Some([rust_p50, rust_p99, node_p50, node_p99, ratio_p50, ratio_p99]) = figures {
            out.push(format!(
                "| Latency per pair, p50, unconstrained, {label} | {rust_p50} ms | {node_p50} ms | {ratio_p50} |"
            ));
            out.push(format!(
                "| Latency per pair, p99, unconstrained, {label} | {rust_p99} ms | {node_p99} ms | {ratio_p99} |"
            ));
        }
    }
    if let Some(
        [
            quota_mb,
            full_core_mb,
            rust_p50,
            rust_p99,
            node_p50,
            node_p99,
            ratio_p50,
            ratio_p99,
            rust_throttled,
            node_throttled,
            rust_cpu,
            node_cpu,
        ],
    ) = peer.quota
    {
        let share = format!("{quota_mb}/{full_core_mb} of a core");
        out.push(format!(
            "| Latency per pair, p50, under {share}, steady state | {rust_p50} ms | {node_p50} ms | {ratio_p50} |"
        ));
        out.push(format!(
            "| Latency per pair, p99, under {share}, steady state | {rust_p99} ms | {node_p99} ms | {ratio_p99} |"
        ));
        out.push(format!(
            "| CPU per pair under the quota, steady state (periods throttled) | {rust_cpu} µs ({rust_throttled}) | {node_cpu} µs ({node_throttled}) | – |"
        ));
        if let Some(
            [
                _,
                _,
                first,
                rust_p50,
                rust_p99,
                node_p50,
                node_p99,
                ratio_p50,
                ratio_p99,
                rust_throttled,
                node_throttled,
                rust_cpu,
                node_cpu,
            ],
        ) = peer.quota_first
        {
            out.push(format!(
                "| Latency per pair, p50 / p99, under {share}, first {first} pairs of a process started in it | {rust_p50} / {rust_p99} ms | {node_p50} / {node_p99} ms | {ratio_p50} / {ratio_p99} |"
            ));
            out.push(format!(
                "| CPU per pair under the quota, first {first} pairs (periods throttled) | {rust_cpu} µs ({rust_throttled}) | {node_cpu} µs ({node_throttled}) | – |"
            ));
        }
    } else if let Some(reason) = peer.quota_skipped {
        out.push(format!(
            "| Latency under the 128 MB CPU quota | {NOT_MEASURED}: {reason} | | |"
        ));
    }
    if let Some([binary, pairs, rust_driver, node_driver, node_pairs, ratio]) = peer.rss {
        out.push(format!(
            "| Peak RSS (VmHWM) | {binary} MB (release binary after 1 + {pairs} pairs; in-process driver {rust_driver} MB) | {node_driver} MB (driver after {node_pairs} pairs) | {ratio} |"
        ));
    }
    if let Some(
        [
            starts,
            first_next,
            first_answer,
            node_import,
            node_first_answer,
            ratio,
        ],
    ) = peer.cold
    {
        out.push(format!(
            "| Start-up, median of {starts} | spawn → first `next` {first_next} ms; → first create answered {first_answer} ms | import of handler + SDK {node_import} ms; process start → first create answered {node_first_answer} ms | {ratio} (first answer) |"
        ));
    }
    // The quota figures alone do not count: without the others this table has no row.
    if peer.cpu.is_none()
        && peer.cpu_first.is_none()
        && peer.unconstrained.is_none()
        && peer.rss.is_none()
        && peer.cold.is_none()
    {
        out.push(format!("| all | {NOT_MEASURED} | | |"));
    }
    out.extend(
        [
            "",
            "Start-up: the Rust figure is the release `shortener` binary started behind a local Lambda Runtime",
            "API (`benches/tune`'s), from `spawn` to its first `GET …/invocation/next` and to its first create",
            "answered (first DynamoDB connection included). The Node figure is `performance.now()` in the driver:",
            "the `import()` of the handler module with the SDK, and the time from the process's start to its",
            "first create answered. Neither includes a Lambda sandbox's own start.",
            "",
        ]
        .map(str::to_owned),
    );
}
