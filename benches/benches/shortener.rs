//! The shortener's handlers in-process against DynamoDB Local, next to the raw DynamoDB calls
//! each one needs, measured in the same run; and the write counts per create and per redirect.
//!
//! Needs a DynamoDB Local with the links table: `./build.sh bench` starts one and sets
//! `AWS_ENDPOINT_URL_DYNAMODB` and `LINKS_TABLE`. DynamoDB Local is not DynamoDB: absolute
//! latencies here are the emulator's (a Java process on this machine), so read the ratios and the
//! counts, not the milliseconds.

use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use criterion::{Criterion, criterion_group};
use lambda_http::{Body, Request, Response};
use shortener::App;
use tokio::runtime::Runtime;

const BLOCK_SIZE: &str = "100";
const CREATES_COUNTED: u64 = 1_000;
const REDIRECTS_COUNTED: u64 = 1_000;
const SUMMARY_SAMPLES: usize = 300;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn table() -> String {
    std::env::var("LINKS_TABLE").expect("LINKS_TABLE (./build.sh bench sets it)")
}

async fn app(count_visits: bool) -> App {
    app_with(count_visits, true).await
}

/// `visit_analytics`: the per-day analytics write next to the count (`VISIT_ANALYTICS`).
async fn app_with(count_visits: bool, visit_analytics: bool) -> App {
    let table = table();
    let count = if count_visits { "true" } else { "false" };
    let analytics = if visit_analytics { "true" } else { "false" };
    let config = shortener::config::Config::from_env(&[
        ("LINKS_TABLE", table.as_str()),
        (
            "APPLE_APP_SITE_ASSOCIATION",
            r#"{"applinks":{"details":[]}}"#,
        ),
        ("CODE_KEY", "bench-code-key-0123456789abcdef"),
        ("CREATE_API_KEY", API_KEY),
        ("SHORT_URL_BASE", "https://sho.rt"),
        ("ID_BLOCK_SIZE", BLOCK_SIZE),
        ("COUNT_VISITS", count),
        ("VISIT_ANALYTICS", analytics),
    ])
    .expect("configuration");
    let sdk = shared::aws::sdk_config().await;
    App::new(config, aws_sdk_dynamodb::Client::new(&sdk))
}

/// Creates carry the API key, as a deployed shortener's clients do.
const API_KEY: &str = "bench-api-key-0123456789abcdef";

fn request(method: &str, path: &str, body: Option<String>) -> Request {
    let builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(format!("https://sho.rt{path}"))
        .header("content-type", "application/json")
        .header("x-api-key", API_KEY);
    builder
        .body(body.map(Body::from).unwrap_or(Body::Empty))
        .expect("request")
}

fn unique_url() -> String {
    format!(
        "https://example.com/bench/{}",
        uuid::Uuid::new_v4().simple()
    )
}

async fn create(app: &App, url: &str) -> Response<Body> {
    let body = serde_json::json!({ "url": url }).to_string();
    let response = shortener::handler(app, request("POST", "/", Some(body))).await;
    assert_eq!(response.status(), 201, "create failed");
    response
}

async fn created_code(app: &App) -> String {
    let response = create(app, &unique_url()).await;
    let body: serde_json::Value =
        serde_json::from_slice(shared::http::body_bytes(response.body())).expect("JSON");
    body["code"].as_str().expect("code").to_owned()
}

/// A redirect up to its response: the visit writes it defers are still running.
async fn redirect(app: &App, code: &str) {
    let response = shortener::handler(app, request("GET", &format!("/{code}"), None)).await;
    assert_eq!(response.status(), 308, "redirect failed");
}

/// A whole redirect invocation: the response, then the writes deferred past it (what Lambda bills,
/// and what the redirect cost when those writes came before the response).
async fn redirect_settled(app: &App, code: &str) {
    redirect(app, code).await;
    app.after.drain().await;
}

/// The raw calls a create makes: the dedupe lookup and the two-item conditional transaction
/// (the id lease is amortised over a block and left out).
async fn raw_create(client: &aws_sdk_dynamodb::Client, table: &str) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(format!("url#raw-{id}")))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem");
    let put = |pk: String| {
        let put = Put::builder()
            .table_name(table)
            .item("pk", AttributeValue::S(pk))
            .item("url", AttributeValue::S(unique_url()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("put");
        TransactWriteItem::builder().put(put).build()
    };
    client
        .transact_write_items()
        .transact_items(put(format!("link#raw-{id}")))
        .transact_items(put(format!("url#raw-{id}")))
        .send()
        .await
        .expect("TransactWriteItems");
}

/// The raw read a redirect makes.
async fn raw_get(client: &aws_sdk_dynamodb::Client, table: &str, code: &str) {
    client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(format!("link#{code}")))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem");
}

/// The raw write a counted visit adds.
async fn raw_count(client: &aws_sdk_dynamodb::Client, table: &str, code: &str) {
    client
        .update_item()
        .table_name(table)
        .key("pk", AttributeValue::S(format!("visits#{code}#0")))
        .update_expression("ADD #c :one")
        .expression_attribute_names("#c", "count")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .expect("UpdateItem");
}

fn bench_shortener(c: &mut Criterion) {
    let rt = runtime();
    let counted = rt.block_on(app(true));
    let uncounted = rt.block_on(app(false));
    let client = counted.store.client().clone();
    let table = table();
    let code = rt.block_on(created_code(&counted));

    let mut group = c.benchmark_group("shortener/create");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("handler", |b| {
        b.iter(|| rt.block_on(create(&counted, &unique_url())))
    });
    group.bench_function("raw-getitem+transactwrite", |b| {
        b.iter(|| rt.block_on(raw_create(&client, &table)))
    });
    group.finish();

    let mut group = c.benchmark_group("shortener/redirect");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("handler-counting-visits-whole-invocation", |b| {
        b.iter(|| rt.block_on(redirect_settled(&counted, black_box(&code))))
    });
    group.bench_function("handler-not-counting", |b| {
        b.iter(|| rt.block_on(redirect(&uncounted, black_box(&code))))
    });
    group.bench_function("raw-getitem", |b| {
        b.iter(|| rt.block_on(raw_get(&client, &table, black_box(&code))))
    });
    group.bench_function("raw-getitem+updateitem", |b| {
        b.iter(|| {
            rt.block_on(async {
                raw_get(&client, &table, &code).await;
                raw_count(&client, &table, &code).await;
            })
        })
    });
    group.finish();
}

/// Median and 99th percentile of `samples` sequential runs.
fn percentiles(rt: &Runtime, samples: usize, f: impl AsyncFnMut()) -> (Duration, Duration) {
    percentiles_settled(rt, samples, f, async || {})
}

/// Like [`percentiles`], with `settle` run after each timed run, untimed (a redirect's deferred
/// writes: the next invocation of an instance starts only after them, on Lambda as here).
fn percentiles_settled(
    rt: &Runtime,
    samples: usize,
    mut f: impl AsyncFnMut(),
    mut settle: impl AsyncFnMut(),
) -> (Duration, Duration) {
    let mut times: Vec<Duration> = rt.block_on(async {
        let mut times = Vec::with_capacity(samples);
        for _ in 0..samples {
            let started = Instant::now();
            f().await;
            times.push(started.elapsed());
            settle().await;
        }
        times
    });
    times.sort();
    let at = |q| measure::percentile_of_sorted(&times, q).expect("samples");
    (at(0.5), at(0.99))
}

fn print_summary() {
    let rt = runtime();
    let counted = rt.block_on(app(true));
    let uncounted = rt.block_on(app(false));
    let client = counted.store.client().clone();
    let table = table();

    // Write counts: a fresh instance, so its counters hold only these requests.
    let fresh = rt.block_on(app(true));
    let code = rt.block_on(async {
        for _ in 0..CREATES_COUNTED {
            create(&fresh, &unique_url()).await;
        }
        created_code(&fresh).await
    });
    let writes = &fresh.store.writes;
    let creates = CREATES_COUNTED + 1;
    let counter = writes.counter.load(Ordering::Relaxed);
    let links = writes.links.load(Ordering::Relaxed);
    let visits_before = writes.visits.load(Ordering::Relaxed);
    rt.block_on(async {
        for _ in 0..REDIRECTS_COUNTED {
            redirect_settled(&fresh, &code).await;
        }
    });
    let visit_writes = writes.visits.load(Ordering::Relaxed) - visits_before;
    let links_after = writes.links.load(Ordering::Relaxed);
    let uncounted_before = uncounted.store.writes.visits.load(Ordering::Relaxed);
    rt.block_on(async {
        for _ in 0..REDIRECTS_COUNTED {
            redirect_settled(&uncounted, &code).await;
        }
    });
    let uncounted_writes = uncounted.store.writes.visits.load(Ordering::Relaxed) - uncounted_before;

    println!("\nsummary (same process, DynamoDB Local):");
    println!(
        "creates: {creates} with ID_BLOCK_SIZE={BLOCK_SIZE}: counter writes/create {:.4} ({counter} ADDs), \
         link write requests/create {:.3} (each one TransactWriteItems of link + dedupe item)",
        counter as f64 / creates as f64,
        links as f64 / creates as f64,
    );
    println!(
        "redirects: {REDIRECTS_COUNTED}: DynamoDB writes/redirect {:.3} counting visits, {:.3} with COUNT_VISITS=false; \
         link-item writes {}",
        visit_writes as f64 / REDIRECTS_COUNTED as f64,
        uncounted_writes as f64 / REDIRECTS_COUNTED as f64,
        links_after - links,
    );

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (create_p50, create_p99) = percentiles(&rt, SUMMARY_SAMPLES, async || {
        create(&counted, &unique_url()).await;
    });
    let (raw_create_p50, raw_create_p99) = percentiles(&rt, SUMMARY_SAMPLES, async || {
        raw_create(&client, &table).await
    });
    let (counted_p50, counted_p99) = percentiles_settled(
        &rt,
        SUMMARY_SAMPLES,
        async || redirect(&counted, &code).await,
        async || counted.after.drain().await,
    );
    let (counted_whole_p50, counted_whole_p99) = percentiles(&rt, SUMMARY_SAMPLES, async || {
        redirect_settled(&counted, &code).await
    });
    let (uncounted_p50, uncounted_p99) = percentiles(&rt, SUMMARY_SAMPLES, async || {
        redirect(&uncounted, &code).await
    });
    let counted_only = rt.block_on(app_with(true, false));
    let (count_only_p50, count_only_p99) = percentiles(&rt, SUMMARY_SAMPLES, async || {
        redirect_settled(&counted_only, &code).await
    });
    let (get_p50, get_p99) = percentiles(&rt, SUMMARY_SAMPLES, async || {
        raw_get(&client, &table, &code).await
    });
    println!(
        "create p50 {:.3} ms p99 {:.3} ms | raw GetItem+TransactWriteItems p50 {:.3} ms p99 {:.3} ms | handler/raw p50 {:.3}",
        ms(create_p50),
        ms(create_p99),
        ms(raw_create_p50),
        ms(raw_create_p99),
        create_p50.as_secs_f64() / raw_create_p50.as_secs_f64(),
    );
    println!(
        "redirect p50 {:.3} ms p99 {:.3} ms counting visits | {:.3} ms / {:.3} ms not counting | \
         raw GetItem {:.3} ms / {:.3} ms | counting/not p50 {:.3} | not-counting/raw p50 {:.3}",
        ms(counted_p50),
        ms(counted_p99),
        ms(uncounted_p50),
        ms(uncounted_p99),
        ms(get_p50),
        ms(get_p99),
        counted_p50.as_secs_f64() / uncounted_p50.as_secs_f64(),
        uncounted_p50.as_secs_f64() / get_p50.as_secs_f64(),
    );
    println!(
        "redirect with analytics (the default): response p50 {:.3} ms p99 {:.3} ms, whole invocation p50 {:.3} ms \
         p99 {:.3} ms | counting only, whole invocation (GetItem + count write, the counting redirect before its writes \
         moved after the response) p50 {:.3} ms p99 {:.3} ms | response/that p50 {:.3} (target <= 1.2) | whole/that p50 {:.3}",
        ms(counted_p50),
        ms(counted_p99),
        ms(counted_whole_p50),
        ms(counted_whole_p99),
        ms(count_only_p50),
        ms(count_only_p99),
        counted_p50.as_secs_f64() / count_only_p50.as_secs_f64(),
        counted_whole_p50.as_secs_f64() / count_only_p50.as_secs_f64(),
    );
}

criterion_group!(benches, bench_shortener);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_summary();
}
