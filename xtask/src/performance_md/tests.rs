//! PERFORMANCE.md rendered from a sample of every summary line the benches print, with lines
//! left out, verdicts at their edges, and the helpers that read the log and format figures.

use super::render::thousands;
use super::scan::{log_lines, scan};
use super::*;

/// One of every summary line the benches print, as they print it.
const SAMPLE_LOG: &str = "\
peer: 1000 timed pairs after 100 warm-up pairs per driver, unconstrained
summary (best of 7 timed loops each, same process):
fizzbuzz 1..=1000: handler 30.226 us, domain 28.210 us | handler/domain 1.071
sort 1000 numbers: handler 57.962 us, domain 56.069 us | handler/domain 1.034
round 62.5: handler 1.881 us, domain 0.027 us | handler/domain 69.667
code mapping: generate 0.430 us, base62 0.041 us | generate/base62 10.488
pbkdf2 iterations=10000: control 1.082 ms, candidate-fast 0.935 ms, floor 0.849 ms | candidate/control 0.864 (target <= 0.85: NOT met) | control/floor 1.274 | candidate/floor 1.101
pbkdf2 iterations=100000: control 11.132 ms, candidate-fast 9.350 ms, floor 7.979 ms | candidate/control 0.840 (target <= 0.85: met) | control/floor 1.395 | candidate/floor 1.172
peer load average (1/5/15 min): 4.85 4.77 4.41 at the start, 5.01 4.90 4.50 at the end
peer warm-up node: stable after 4 x 500 pairs [3153, 1954, 1800, 1763 us]; first 100 pairs 4769.4 us/pair, steady 1653.4 us/pair
peer cpu per create+redirect steady state: rust 502.2 us, raw sdk 431.3 us, node 1653.4 us | rust/node 0.304 (target <= 0.2) | rust/raw 1.164 (target <= 1.15) | raw/node 0.261
peer cpu per create+redirect first 100 pairs: rust 594.6 us, raw sdk 572.5 us, node 4769.4 us | rust/node 0.125 | rust/raw 1.039
peer latency per pair unconstrained steady state: rust p50 2.197 ms p99 10.983 ms, node p50 4.886 ms p99 16.607 ms | rust/node p50 0.450 p99 0.661
peer latency per pair unconstrained first pairs: rust p50 1.159 ms p99 80.231 ms, node p50 5.898 ms p99 38.666 ms | rust/node p50 0.197 p99 2.075
peer latency per pair under 128/1769 of a core steady state: rust p50 2.284 ms p99 85.896 ms, node p50 100.375 ms p99 391.267 ms | rust/node p50 0.023 (target <= 0.3) p99 0.220 | throttled periods rust 26 node 338; cpu per pair rust 834.6 us node 9552.1 us
peer latency per pair under 128/1769 of a core first 50 pairs: rust p50 1.279 ms p99 84.297 ms, node p50 95.969 ms p99 402.606 ms | rust/node p50 0.013 (target <= 0.3) p99 0.209 | throttled periods rust 4 node 64; cpu per pair rust 538.6 us node 5832.4 us
tune methods: pbkdf2-control (PBKDF2, 100,000 iterations), 20 invocations per size and method, 20 ms periods, interleaved; load average at start 4.1 3.2 3.0
tune methods 128 MB: cgroup-v1 188.5 ms, duty-cycle 190.1 ms (1.008), duty-cycle-wall 199.9 ms (1.060)
tune methods agreement: largest difference from cgroup-v1 in mean duration: duty-cycle 0.8 %, duty-cycle-wall 6.0 % (target <= 10 %)
peer peak rss: rust shortener binary 10.5 MB after 1 + 200 pairs, rust driver 9.5 MB, node driver 106.6 MB after 1100 pairs | rust binary/node 0.098 (target <= 30 MB)
peer cold start (median of 5): rust binary spawn to first next 8.0 ms, to first create answered 13.0 ms; node import of handler+SDK 118.3 ms, process start to first create answered 242.2 ms | rust/node first answer 0.054 (target: rust <= 30 ms)
creates: 1001 with ID_BLOCK_SIZE=100: counter writes/create 0.0110 (11 ADDs), link write requests/create 1.000 (each one TransactWriteItems of link + dedupe item)
redirects: 1000: DynamoDB writes/redirect 1.000 counting visits, 0.000 with COUNT_VISITS=false; link-item writes 0
create p50 1.932 ms p99 3.752 ms | raw GetItem+TransactWriteItems p50 2.000 ms p99 3.683 ms | handler/raw p50 0.966
redirect p50 1.258 ms p99 1.928 ms counting visits | 0.605 ms / 0.902 ms not counting | raw GetItem 0.572 ms / 0.777 ms | counting/not p50 2.079 | not-counting/raw p50 1.057
redirect with analytics (the default): response p50 0.640 ms p99 0.990 ms, whole invocation p50 1.551 ms p99 8.100 ms | counting only, whole invocation (GetItem + count write, the counting redirect before its writes moved after the response) p50 1.151 ms p99 5.600 ms | response/that p50 0.556 (target <= 1.2) | whole/that p50 1.348
proxy 300 requests (experiment chaos: candidates panic, sleep 2 s, answer 500, answer garbage; same answers asserted): direct control p50 1.21 ms p99 2.40 ms | through the proxy p50 1.56 ms p99 3.02 ms | added p50 0.35 ms p99 -0.12 ms | proxied/direct p50 1.29
";

fn machine() -> Machine {
    Machine {
        model: "AMD EPYC".to_owned(),
        cores: 2,
    }
}

fn rendered(log: &str) -> String {
    render(log, &machine(), "2026-11-30", &BTreeMap::new())
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[test]
fn sample_log_yields_every_row() {
    let text = rendered(SAMPLE_LOG);
    let expected = [
        "| Shortener CPU per create + redirect ≤ 0.2 × the Node.js peer's (steady state) | 502.2 µs vs 1653.4 µs: **× 0.304**. The raw SDK calls alone are × 0.261 of the peer: the SDK is the floor, above 0.2. | **not met** |",
        "| Shortener CPU per create + redirect ≤ 1.15 × the same DynamoDB calls made raw | 502.2 µs vs 431.3 µs: **× 1.164** | **not met** |",
        "| `tune local` by duty cycling within 10 % of the cgroup quota (mean duration per size) | largest difference: duty-cycle 0.8 %, duty-cycle-wall 6.0 % | met |",
        "| 128 | 188.5 | 190.1 | 1.008 | 199.9 | 1.060 |",
        "**Load while `--bench peer` ran:** load average (1/5/15 min) 4.85 4.77 4.41 at its start, 5.01 4.90 4.50 at its end, on 2 cores.",
        "| CPU per create + redirect, steady state, raw SDK calls (the floor) | 431.3 µs (shortener / raw 1.164) | 1653.4 µs | 0.261 |",
        "| CPU per create + redirect, first 100 pairs of a process | 594.6 µs (raw SDK 572.5 µs, shortener / raw 1.039) | 4769.4 µs | 0.125 |",
        "| Latency per pair, p50 / p99, under 128/1769 of a core, first 50 pairs of a process started in it | 1.279 / 84.297 ms | 95.969 / 402.606 ms | 0.013 / 0.209 |",
        "| Peak RSS ≤ 30 MB | 10.5 MB (release `shortener` binary, VmHWM) | met |",
        "| p50 under the 128 MB CPU quota ≤ 0.3 × the peer's (steady state) | 2.284 ms vs 100.375 ms: **× 0.023** | met |",
        "| Cold start ≤ 30 ms locally | 13.0 ms spawn → first create answered (8.0 ms to the first `next`) | met |",
        "| PBKDF2 candidate ≤ 0.85 × the control | **× 0.864** at 10,000 iterations (0.935 vs 1.082 ms), **× 0.840** at 100,000 iterations (9.350 vs 11.132 ms) | **not met** |",
        "| CPU per create + redirect, steady state | 502.2 µs | 1653.4 µs | 0.304 |",
        "| Latency per pair, p50, unconstrained, steady state | 2.197 ms | 4.886 ms | 0.450 |",
        "| Latency per pair, p99, unconstrained, steady state | 10.983 ms | 16.607 ms | 0.661 |",
        "| Latency per pair, p50, unconstrained, first pairs | 1.159 ms | 5.898 ms | 0.197 |",
        "| Latency per pair, p50, under 128/1769 of a core, steady state | 2.284 ms | 100.375 ms | 0.023 |",
        "| Latency per pair, p99, under 128/1769 of a core, steady state | 85.896 ms | 391.267 ms | 0.220 |",
        "| CPU per pair under the quota, steady state (periods throttled) | 834.6 µs (26) | 9552.1 µs (338) | – |",
        "| Peak RSS (VmHWM) | 10.5 MB (release binary after 1 + 200 pairs; in-process driver 9.5 MB) | 106.6 MB (driver after 1100 pairs) | 0.098 |",
        "| Start-up, median of 5 | spawn → first `next` 8.0 ms; → first create answered 13.0 ms | import of handler + SDK 118.3 ms; process start → first create answered 242.2 ms | 0.054 (first answer) |",
        "| Create | 1.932 / 3.752 ms | `GetItem` + `TransactWriteItems`: 2.000 / 3.683 ms | 0.966 |",
        "| Redirect, `COUNT_VISITS=false` | 0.605 / 0.902 ms | `GetItem`: 0.572 / 0.777 ms | 1.057 |",
        "| Redirect, counting visits | 1.258 / 1.928 ms | the not-counting redirect | 2.079 |",
        "| Redirect with analytics (the default), up to its response | 0.640 / 0.990 ms | counting only, `GetItem` + count write: 1.151 / 5.600 ms | 0.556 |",
        "| Redirect with analytics, whole invocation (count + analytics writes after the response; billed) | 1.551 / 8.100 ms | the same | 1.348 |",
        "| Redirect p50 with analytics ≤ 1.2 × the counting redirect (issue 18) | response 0.640 ms vs 1.151 ms (`GetItem` + count write): **× 0.556**; the whole invocation, with the writes after the response, 1.551 ms (× 1.348) | met |",
        "| Writes per create (1001 creates, `ID_BLOCK_SIZE=100`) | counter 0.0110 (11 `ADD`s), link transactions 1.000 | | |",
        "| Writes per redirect (1000 redirects) | 1.000 counting, 0.000 not counting; link-item writes 0 | | |",
        "| 10,000 | 1.082 ms | 0.935 ms | 0.849 ms | 0.864 | 1.101 | 1.274 |",
        "| 100,000 | 11.132 ms | 9.350 ms | 7.979 ms | 0.840 | 1.172 | 1.395 |",
        "| FizzBuzz 1..=1000, handler | 30.226 µs | domain `render`: 28.210 µs | 1.071 |",
        "| Sort 1,000 numbers, handler | 57.962 µs | domain parse + sort + JSON: 56.069 µs | 1.034 |",
        "| Round 62.5, handler | 1.881 µs | domain parse + round + JSON: 0.027 µs | 69.667 |",
        "| `ShortCode::generate` (keyed Feistel) | 0.430 µs | plain base62 of the id, padded: 0.041 µs | 10.488 |",
        "300 requests, one at a time, through `cargo lambda watch` (release builds) to the `chaos` experiment,",
        "| `round-control` called directly | 1.21 ms | 2.40 ms |",
        "| through `experiment-proxy` | 1.56 ms | 3.02 ms |",
        "| added by the proxy | **0.35 ms** | -0.12 ms |",
        "Proxied / direct at p50: 1.29.",
        "**Machine:** AMD EPYC, 2 cores (`/proc/cpuinfo`), 2026-11-30. The cores are shared with",
    ];
    for line in expected {
        assert!(has_line(&text, line), "missing line:\n{line}\nin:\n{text}");
    }
    // Only the zips are unmeasured: none were given.
    assert_eq!(text.matches(NOT_MEASURED).count(), 1, "{text}");
    assert_eq!(text.matches(NOT_MEASURED_SENTENCE).count(), 1, "{text}");
}

#[test]
fn summary_section_repeats_the_summary_lines_verbatim() {
    let text = rendered(SAMPLE_LOG);
    let (_, section) = text
        .split_once("```text\n")
        .expect("the summary section is there");
    let kept: Vec<&str> = SAMPLE_LOG
        .lines()
        .filter(|line| {
            !["summary", "proxy ", "peer:"]
                .iter()
                .any(|p| line.starts_with(p))
        })
        .collect();
    assert_eq!(section, format!("{}\n```\n", kept.join("\n")));
}

#[test]
fn a_missing_figure_is_not_measured_and_never_filled_in() {
    // (line left out of the log, a figure only that line holds, the row that must say so)
    let cases = [
        (
            "peer cpu per create+redirect steady",
            "431.3",
            "| Shortener CPU per create + redirect ≤ 0.2 × the Node.js peer's (steady state) | not measured in this run | – |",
        ),
        (
            "peer cpu per create+redirect steady",
            "431.3",
            "| Shortener CPU per create + redirect ≤ 1.15 × the same DynamoDB calls made raw | not measured in this run | – |",
        ),
        (
            "tune methods",
            "199.9",
            "| `tune local` by duty cycling within 10 % of the cgroup quota (mean duration per size) | not measured in this run | – |",
        ),
        ("peer load", "4.85", "**Load:** not measured in this run."),
        (
            "peer peak rss",
            "106.6",
            "| Peak RSS ≤ 30 MB | not measured in this run | – |",
        ),
        (
            "peer latency per pair under",
            "391.267",
            "| p50 under the 128 MB CPU quota ≤ 0.3 × the peer's (steady state) | not measured in this run | – |",
        ),
        (
            "peer cold start",
            "242.2",
            "| Cold start ≤ 30 ms locally | not measured in this run | – |",
        ),
        (
            "pbkdf2 ",
            "11.132",
            "| PBKDF2 candidate ≤ 0.85 × the control | not measured in this run | – |",
        ),
        (
            "pbkdf2 ",
            "7.979",
            "| – | not measured in this run | | | | | |",
        ),
        (
            "create p50",
            "3.683",
            "| Create | not measured in this run | | |",
        ),
        (
            "redirect p50",
            "0.777",
            "| Redirect | not measured in this run | | |",
        ),
        (
            "redirect with analytics",
            "1.551",
            "| Redirect p50 with analytics ≤ 1.2 × the counting redirect (issue 18) | not measured in this run | – |",
        ),
        (
            "fizzbuzz",
            "28.210",
            "| FizzBuzz 1..=1000, handler | not measured in this run | domain `render` | – |",
        ),
        (
            "sort ",
            "56.069",
            "| Sort 1,000 numbers, handler | not measured in this run | domain parse + sort + JSON | – |",
        ),
        (
            "round ",
            "69.667",
            "| Round 62.5, handler | not measured in this run | domain parse + round + JSON | – |",
        ),
        (
            "code mapping",
            "10.488",
            "| `ShortCode::generate` (keyed Feistel) | not measured in this run | plain base62 of the id, padded | – |",
        ),
        (
            "proxy ",
            "3.02",
            "Not measured in this run (run `./build.sh bench` without arguments).",
        ),
    ];
    for (left_out, figure, row) in cases {
        let log: String = SAMPLE_LOG
            .lines()
            .filter(|line| !line.starts_with(left_out))
            .map(|line| format!("{line}\n"))
            .collect();
        let text = rendered(&log);
        assert!(
            has_line(&text, row),
            "without {left_out:?}: no row\n{row}\nin:\n{text}"
        );
        assert!(
            !text.contains(figure),
            "without {left_out:?}: {figure} still appears"
        );
    }
}

#[test]
fn an_empty_log_measures_nothing() {
    let text = rendered("");
    for row in [
        "| all | not measured in this run | | |",
        "| Create | not measured in this run | | |",
        "| Each deployment zip ≤ 6 MB | not measured in this run (no `target/lambda-arm64/lambda/<function>/bootstrap.zip`) | – |",
        "Not measured in this run: there was no `target/lambda-arm64/lambda/<function>/bootstrap.zip` (the",
    ] {
        assert!(has_line(&text, row), "no row\n{row}\nin:\n{text}");
    }
    assert!(text.ends_with("```text\n```\n"), "{text}");
}

#[test]
fn a_skipped_quota_run_gives_its_reason() {
    let log =
        "peer latency per pair under 128/1769 of a core: not measured (no cgroup v2 (try sudo))\n";
    let text = rendered(log);
    for row in [
        "| p50 under the 128 MB CPU quota ≤ 0.3 × the peer's (steady state) | not measured in this run (no cgroup v2 (try sudo)) | – |",
        "| Latency under the 128 MB CPU quota | not measured in this run: no cgroup v2 (try sudo) | | |",
        "| all | not measured in this run | | |",
    ] {
        assert!(has_line(&text, row), "no row\n{row}\nin:\n{text}");
    }
}

#[test]
fn verdicts_compare_with_the_target_inclusively() {
    // (summary line, target row it decides, verdict)
    let cases = [
        (
            "peer cpu per create+redirect steady state: rust 1 us, raw sdk 1 us, node 5 us | rust/node 0.2 (target <= 0.2) | rust/raw 1.15 (target <= 1.15) | raw/node 0.2",
            "Shortener CPU per create + redirect ≤ 0.2",
            "met",
        ),
        (
            "peer cpu per create+redirect steady state: rust 1 us, raw sdk 1 us, node 4 us | rust/node 0.250 (target <= 0.2) | rust/raw 1.15 (target <= 1.15) | raw/node 0.2",
            "Shortener CPU per create + redirect ≤ 0.2",
            "**not met**",
        ),
        (
            "peer cpu per create+redirect steady state: rust 1 us, raw sdk 1 us, node 5 us | rust/node 0.2 (target <= 0.2) | rust/raw 1.15 (target <= 1.15) | raw/node 0.2",
            "Shortener CPU per create + redirect ≤ 1.15",
            "met",
        ),
        (
            "peer cpu per create+redirect steady state: rust 1 us, raw sdk 1 us, node 5 us | rust/node 0.2 (target <= 0.2) | rust/raw 1.151 (target <= 1.15) | raw/node 0.2",
            "Shortener CPU per create + redirect ≤ 1.15",
            "**not met**",
        ),
        (
            "tune methods agreement: largest difference from cgroup-v1 in mean duration: duty-cycle 10.0 %, duty-cycle-wall 30 % (target <= 10 %)",
            "`tune local`",
            "met",
        ),
        (
            "tune methods agreement: largest difference from cgroup-v1 in mean duration: duty-cycle 10.1 %, duty-cycle-wall 3 % (target <= 10 %)",
            "`tune local`",
            "**not met**",
        ),
        (
            "peer peak rss: rust shortener binary 30.0 MB after 1 + 2 pairs, rust driver 1 MB, node driver 2 MB after 3 pairs | rust binary/node 15",
            "Peak RSS",
            "met",
        ),
        (
            "peer peak rss: rust shortener binary 30.1 MB after 1 + 2 pairs, rust driver 1 MB, node driver 2 MB after 3 pairs | rust binary/node 15",
            "Peak RSS",
            "**not met**",
        ),
        (
            "peer latency per pair under 128/1769 of a core steady state: rust p50 3 ms p99 4 ms, node p50 10 ms p99 20 ms | rust/node p50 0.3 (target <= 0.3) p99 0.2 | throttled periods rust 1 node 2; cpu per pair rust 5 us node 6 us",
            "p50 under",
            "met",
        ),
        (
            "peer latency per pair under 128/1769 of a core steady state: rust p50 4 ms p99 4 ms, node p50 10 ms p99 20 ms | rust/node p50 0.4 (target <= 0.3) p99 0.2 | throttled periods rust 1 node 2; cpu per pair rust 5 us node 6 us",
            "p50 under",
            "**not met**",
        ),
        (
            "peer cold start (median of 5): rust binary spawn to first next 8 ms, to first create answered 30.0 ms; node import of handler+SDK 1 ms, process start to first create answered 2 ms | rust/node first answer 15",
            "Cold start",
            "met",
        ),
        (
            "peer cold start (median of 5): rust binary spawn to first next 8 ms, to first create answered 30.5 ms; node import of handler+SDK 1 ms, process start to first create answered 2 ms | rust/node first answer 15",
            "Cold start",
            "**not met**",
        ),
        (
            "pbkdf2 iterations=10: control 1 ms, candidate-fast 0.85 ms, floor 0.5 ms | candidate/control 0.85 | control/floor 2 | candidate/floor 1.7",
            "PBKDF2",
            "met",
        ),
        (
            "pbkdf2 iterations=10: control 1 ms, candidate-fast 0.86 ms, floor 0.5 ms | candidate/control 0.86 | control/floor 2 | candidate/floor 1.7",
            "PBKDF2",
            "**not met**",
        ),
    ];
    for (line, target, expected) in cases {
        let text = rendered(&format!("{line}\n"));
        let row = text
            .lines()
            .find(|row| row.starts_with(&format!("| {target}")))
            .unwrap_or_else(|| panic!("no {target} row for {line:?}"));
        assert!(
            row.ends_with(&format!("| {expected} |")),
            "{line:?}: expected {expected}, got\n{row}"
        );
    }
}

#[test]
fn zip_table_lists_each_function_and_judges_the_largest() {
    let zips = BTreeMap::from([
        ("shortener".to_owned(), (2_345_678, ZIP_SOURCE.to_owned())),
        ("fizzbuzz".to_owned(), (6_000_001, ZIP_SOURCE.to_owned())),
    ]);
    let text = render("", &machine(), "2026-11-30", &zips);
    for row in [
        "| Each deployment zip ≤ 6 MB | largest 6.00 MB of 2 | **not met** |",
        "| fizzbuzz | 6.00 MB (6,000,001 bytes) | cargo lambda build --output-format zip |",
        "| shortener | 2.35 MB (2,345,678 bytes) | cargo lambda build --output-format zip |",
    ] {
        assert!(has_line(&text, row), "no row\n{row}\nin:\n{text}");
    }
    let within = BTreeMap::from([("a".to_owned(), (6_000_000, ZIP_SOURCE.to_owned()))]);
    let text = render("", &machine(), "2026-11-30", &within);
    assert!(has_line(
        &text,
        "| Each deployment zip ≤ 6 MB | largest 6.00 MB of 1 | met |"
    ));
}

#[test]
fn zip_sizes_reads_each_functions_bootstrap_zip() {
    let target = std::env::temp_dir().join(format!("performance-md-{}", std::process::id()));
    let lambda = target.join("lambda");
    for (function, size) in [
        ("shortener", Some(7_000_000)),
        ("round", Some(12)),
        ("empty", None),
    ] {
        std::fs::create_dir_all(lambda.join(function)).expect("scratch dir");
        if let Some(size) = size {
            std::fs::File::create(lambda.join(function).join("bootstrap.zip"))
                .and_then(|zip| zip.set_len(size))
                .expect("scratch zip");
        }
    }
    let sizes = zip_sizes(&target);
    std::fs::remove_dir_all(&target).expect("scratch dir removed");
    let expected = BTreeMap::from([
        ("round".to_owned(), (12, ZIP_SOURCE.to_owned())),
        ("shortener".to_owned(), (7_000_000, ZIP_SOURCE.to_owned())),
    ]);
    assert_eq!(sizes, expected);
    assert!(zip_sizes(&target).is_empty(), "no lambda dir, no zips");
}

#[test]
fn machine_comes_from_cpuinfo() {
    let x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7R13 Processor\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7R13 Processor\n";
    assert_eq!(
        Machine::from_cpuinfo(x86),
        Machine {
            model: "AMD EPYC 7R13 Processor".to_owned(),
            cores: 2
        }
    );
    let arm = "processor\t: 0\nBogoMIPS\t: 243.75\nCPU implementer\t: 0x41\n\nprocessor\t: 1\nBogoMIPS\t: 243.75\n\nprocessor\t: 2\n";
    assert_eq!(
        Machine::from_cpuinfo(arm),
        Machine {
            model: "unknown CPU".to_owned(),
            cores: 3
        }
    );
}

#[test]
fn colour_codes_and_carriage_returns_do_not_hide_a_line() {
    let log = "Benchmarking x\rcode mapping: \x1b[1mgenerate\x1b[0m 0.430 us, base62 0.041 us | generate/base62 10.488\r\n\x1b[2Kbroken \x1b[9x\n";
    assert_eq!(
        log_lines(log),
        [
            "Benchmarking x",
            "code mapping: generate 0.430 us, base62 0.041 us | generate/base62 10.488",
            // Only colour codes go: other escapes stay as the bench printed them.
            "\x1b[2Kbroken \x1b[9x",
        ]
    );
    assert!(has_line(
        &rendered(log),
        "| `ShortCode::generate` (keyed Feistel) | 0.430 µs | plain base62 of the id, padded: 0.041 µs | 10.488 |"
    ));
}

#[test]
fn the_last_matching_line_wins() {
    let log = "peer cpu per create+redirect steady state: rust 1.0 us, raw sdk 1 us, node 2.0 us | rust/node 0.5 (target <= 0.2) | rust/raw 1 (target <= 1.15) | raw/node 0.5\n\
                   peer cpu per create+redirect steady state: rust 3.0 us, raw sdk 1 us, node 4.0 us | rust/node 0.75 (target <= 0.2) | rust/raw 3 (target <= 1.15) | raw/node 0.25\n";
    assert!(has_line(
        &rendered(log),
        "| CPU per create + redirect, steady state | 3.0 µs | 4.0 µs | 0.75 |"
    ));
}

#[test]
fn domain_figures_are_shown_to_three_decimals() {
    let log = "round 62.5: handler 2 us, domain 0.0625 us | handler/domain 32\n";
    assert!(has_line(
        &rendered(log),
        "| Round 62.5, handler | 2.000 µs | domain parse + round + JSON: 0.062 µs | 32 |"
    ));
}

#[test]
fn scan_takes_whole_numbers_and_stops_at_the_pattern_text() {
    /// The captures and the rest of the line, None when the line does not match.
    type Expected = Option<(&'static [&'static str], &'static str)>;
    let cases: [(&str, &str, Expected); 6] = [
        ("a 12.5 ms", "a {N} ms", Some((&["12.5"], ""))),
        ("a 12. ms", "a {N} ms", None),
        ("a 12.x", "a {N}", Some((&["12"], ".x"))),
        ("a .5 ms", "a {N} ms", None),
        ("b 1/2 of", "b {D}/{D} of", Some((&["1", "2"], ""))),
        (
            "c -0.5 ms, 1.2.3",
            "c {S} ms, {F}",
            Some((&["-0.5", "1.2.3"], "")),
        ),
    ];
    for (line, pattern, expected) in cases {
        let got = scan(line, pattern);
        let got = got
            .as_ref()
            .map(|(captured, rest)| (captured.as_slice(), *rest));
        assert_eq!(got, expected, "{line:?} against {pattern:?}");
    }
}

#[test]
fn thousands_groups_like_an_integer() {
    for (digits, expected) in [
        ("0", "0"),
        ("7", "7"),
        ("999", "999"),
        ("1000", "1,000"),
        ("0100000", "100,000"),
        ("1234567", "1,234,567"),
    ] {
        assert_eq!(thousands(digits), expected, "{digits}");
    }
}

#[test]
fn iso_date_converts_days_since_the_epoch() {
    for (days, expected) in [
        (0, "1970-01-01"),
        (-1, "1969-12-31"),
        (11_016, "2000-02-29"),
        (11_017, "2000-03-01"),
        (20_787, "2026-11-30"),
        (47_541, "2100-03-01"),
        (-135_081, "1600-02-29"),
    ] {
        assert_eq!(iso_date(days), expected, "{days} days");
    }
}
