//! The workshop functions (FizzBuzz, sort, round) as pure domain calls and as in-process handlers,
//! and the shortener's counter → code mapping (`ShortCode::generate`, the keyed Feistel
//! permutation) next to its floor, plain base62 of the id padded to the same length.
//!
//! Run with `cargo bench -p benches --bench domain`. After criterion's report a summary line per
//! pair gives the ratio of each figure to its floor, measured in the same process with a plain
//! timed loop: the handler against the domain call it wraps (what parsing the request, tracing and
//! building the response add), the code mapping against base62 alone.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use fizzbuzz::domain::{self as fizz, Range};
use lambda_http::{Body, Request, Response};
use round::domain::{self as rounding, Number};
use shortener::domain::code::{CODE_LEN, CodeKey, ShortCode};
use sort::domain::{self as sorting, SortableList};
use tokio::runtime::Runtime;

const FIZZBUZZ_TO: &str = "1000";
const SORT_LEN: usize = 1_000;
const ROUND_NUMBER: &str = "62.5";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

fn request(method: &str, uri: &str, body: Option<String>) -> Request {
    lambda_http::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map(Body::from).unwrap_or(Body::Empty))
        .expect("request")
}

fn ok(response: Response<Body>) -> Response<Body> {
    assert_eq!(response.status(), 200, "the handler failed");
    response
}

/// A list of `SORT_LEN` integers in a fixed pseudo-random order, as a JSON body.
fn sort_body() -> String {
    let numbers: Vec<u64> = (0..SORT_LEN as u64)
        .map(|i| i.wrapping_mul(2_654_435_761) % 1_000_003)
        .collect();
    serde_json::to_string(&numbers).expect("JSON")
}

fn fizzbuzz_domain() -> String {
    let range = Range::parse(Some("1"), Some(FIZZBUZZ_TO)).expect("valid range");
    fizz::render(range, fizz::control_line)
}

async fn fizzbuzz_handler() -> Response<Body> {
    let uri = format!("https://x.invalid/fizzbuzz?from=1&to={FIZZBUZZ_TO}");
    ok(fizzbuzz::fizzbuzz_control(request("GET", &uri, None)).await)
}

fn sort_domain(body: &str) -> String {
    let list = SortableList::parse(body.as_bytes()).expect("a sortable list");
    sorting::sorted(list).to_json()
}

async fn sort_handler(body: &str) -> Response<Body> {
    let request = request("POST", "https://x.invalid/sort", Some(body.to_owned()));
    ok(sort::sort_control(request).await)
}

fn round_domain() -> String {
    let number = Number::parse(black_box(ROUND_NUMBER)).expect("a number");
    serde_json::to_string(&rounding::round_half_away_from_zero(number)).expect("JSON")
}

async fn round_handler() -> Response<Body> {
    let uri = format!("https://x.invalid/round?number={ROUND_NUMBER}");
    ok(round::round_control(request("GET", &uri, None)).await)
}

fn code_key() -> CodeKey {
    CodeKey::new(b"bench-code-key-0123456789abcdef").expect("a long enough key")
}

/// The floor of the mapping: the id itself in base62, padded like a code.
fn plain_base62(id: u64) -> String {
    format!("{:0>CODE_LEN$}", base62::encode(id))
}

fn bench_domain(c: &mut Criterion) {
    let rt = runtime();
    let body = sort_body();
    let key = code_key();

    let mut group = c.benchmark_group(format!("fizzbuzz/1..={FIZZBUZZ_TO}"));
    group.bench_function("domain", |b| b.iter(fizzbuzz_domain));
    group.bench_function("handler", |b| b.iter(|| rt.block_on(fizzbuzz_handler())));
    group.finish();

    let mut group = c.benchmark_group(format!("sort/{SORT_LEN}-numbers"));
    group.bench_function("domain", |b| b.iter(|| sort_domain(black_box(&body))));
    group.bench_function("handler", |b| {
        b.iter(|| rt.block_on(sort_handler(black_box(&body))))
    });
    group.finish();

    let mut group = c.benchmark_group("round/62.5");
    group.bench_function("domain", |b| b.iter(round_domain));
    group.bench_function("handler", |b| b.iter(|| rt.block_on(round_handler())));
    group.finish();

    let mut group = c.benchmark_group("code");
    let mut id = 1_000_000_u64;
    group.bench_function("shortcode-generate", |b| {
        b.iter(|| {
            id += 1;
            ShortCode::generate(&key, black_box(id)).expect("id in range")
        })
    });
    group.bench_function("floor-plain-base62", |b| {
        b.iter(|| {
            id += 1;
            plain_base62(black_box(id))
        })
    });
    group.finish();
}

/// Time per call: the fastest of `runs` loops of `calls` calls each.
fn per_call<T>(runs: usize, calls: u32, mut f: impl FnMut(u32) -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            for i in 0..calls {
                black_box(f(i));
            }
            started.elapsed() / calls
        })
        .min()
        .unwrap_or_default()
}

fn line(name: &str, (a_name, a): (&str, Duration), (b_name, b): (&str, Duration)) {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{name}: {b_name} {:.3} us, {a_name} {:.3} us | {b_name}/{a_name} {:.3}",
        us(b),
        us(a),
        b.as_secs_f64() / a.as_secs_f64(),
    );
}

fn print_summary() {
    const RUNS: usize = 7;
    let rt = runtime();
    let body = sort_body();
    let key = code_key();
    println!("\nsummary (best of {RUNS} timed loops each, same process):");
    line(
        &format!("fizzbuzz 1..={FIZZBUZZ_TO}"),
        ("domain", per_call(RUNS, 200, |_| fizzbuzz_domain())),
        (
            "handler",
            per_call(RUNS, 200, |_| rt.block_on(fizzbuzz_handler())),
        ),
    );
    line(
        &format!("sort {SORT_LEN} numbers"),
        ("domain", per_call(RUNS, 100, |_| sort_domain(&body))),
        (
            "handler",
            per_call(RUNS, 100, |_| rt.block_on(sort_handler(&body))),
        ),
    );
    line(
        &format!("round {ROUND_NUMBER}"),
        ("domain", per_call(RUNS, 20_000, |_| round_domain())),
        (
            "handler",
            per_call(RUNS, 20_000, |_| rt.block_on(round_handler())),
        ),
    );
    let first = 5_000_000_u64;
    line(
        "code mapping",
        (
            "base62",
            per_call(RUNS, 20_000, |i| plain_base62(first + u64::from(i))),
        ),
        (
            "generate",
            per_call(RUNS, 20_000, |i| {
                ShortCode::generate(&key, first + u64::from(i)).expect("id in range")
            }),
        ),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_domain
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_summary();
}
