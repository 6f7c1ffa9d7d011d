//! The Rust shortener next to its Node.js peer (`benches/node-peer`: the seed's design on Node.js 20
//! with the AWS SDK for JavaScript v3), and next to the raw DynamoDB calls it makes (the floor),
//! against the same DynamoDB Local and the same table, in one run.
//!
//! Each driver runs in its own fresh process: this binary re-runs itself with `PEER_DRIVER=rust`
//! (`shortener::handler` on a current-thread tokio runtime, as `main.rs` runs it) or `PEER_DRIVER=raw`
//! (the same DynamoDB calls made directly with the SDK, on the same SDK configuration), and
//! `node benches/node-peer/driver.mjs` imports the peer's handler. Every driver follows one plan
//! (the same in `driver.mjs`) and reports one `PEER_RESULT {json}` line:
//!
//! 1. **first requests:** its first `FIRST` create + redirect pairs from process start (a fresh
//!    Lambda instance: cold JIT for Node, cold connection pool for both);
//! 2. **warm-up until stable:** windows of `WINDOW` pairs until two consecutive windows' CPU per pair
//!    are within 5 % of each other, at most `MAX_WINDOWS` (the result says whether it settled);
//! 3. **steady state:** `PAIRS` timed pairs.
//!
//! CPU per pair is `getrusage(RUSAGE_SELF)` user + system around each phase (Node's
//! `process.cpuUsage()` is the same call), every thread of the process included. Under the 128 MB
//! quota (cgroup v1, 128/1769 of one core) the first requests come from a process started inside
//! the cgroup; the steady state from a process warmed unconstrained that then moves itself into the
//! cgroup (`cgroup.procs`) before its timed pairs, so the bench stays bounded in time. Where the quota
//! cannot be set (no cgroup v1 CPU controller, not root) those figures are reported as not measured.
//!
//! Peak RSS: `VmHWM` of the Node driver; for Rust, of the release `shortener` binary itself.
//! Start-up: Node's `import()` of the handler module with the SDK and its time from process start to
//! the first create answered; Rust: the release `shortener` binary behind a local Lambda Runtime API
//! (`tune::runtime_api`), from spawn to its first `next` (Init Duration) and to its first create
//! answered. Medians of `COLD_STARTS` fresh processes each.
//!
//! The Rust shortener runs with `COUNT_VISITS=false`, so a redirect is one `GetItem`, as the peer's
//! is; its create is a dedupe `GetItem` + one `TransactWriteItems` (and an id-block `ADD` per 100),
//! the peer's an `UpdateItem ADD` + a conditional `PutItem`. The raw driver makes exactly the
//! shortener's calls. Rust and raw run twice, before and after Node (A B N B A), and their means
//! are reported, so a change of machine load during the run falls on both sides of each ratio.
//! Needs `LINKS_TABLE`, `AWS_ENDPOINT_URL_DYNAMODB`, fake credentials, `npm ci` in
//! `benches/node-peer` and the release `shortener` binary: `./build.sh bench` provides them all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use tune::local::{CGROUP_CPU_ROOT, CpuCgroup, FULL_CORE_MB, quota_us};
use tune::runtime_api::{FunctionIdentity, RuntimeApi};

/// Pairs counted as a fresh instance's first requests.
const FIRST: u32 = 100;
/// Warm-up: windows of this many pairs until two consecutive ones agree within `TOLERANCE`.
const WINDOW: u32 = 500;
const MAX_WINDOWS: u32 = 10;
/// The same rule is in `driver.mjs`.
const TOLERANCE: f64 = 0.05;
const PAIRS: u32 = 1_000;
const QUOTA_MB: u32 = 128;
const QUOTA_PERIOD_US: u64 = 100_000;
const QUOTA_FIRST: u32 = 50;
const QUOTA_PAIRS: u32 = 200;
const COLD_STARTS: usize = 5;
const BINARY_PAIRS: u32 = 200;
/// The key the shortener bench uses too: one key and one shared counter give distinct codes.
const CODE_KEY: &str = "bench-code-key-0123456789abcdef";
/// Creates carry the API key, as a deployed shortener's clients do.
const API_KEY: &str = "bench-api-key-0123456789abcdef";
const SHORT_URL_BASE: &str = "https://sho.rt";
const AASA: &str = r#"{"applinks":{"details":[]}}"#;
/// The shortener's id block (`ID_BLOCK_SIZE` default): one counter `ADD` per this many creates.
const ID_BLOCK: u32 = 100;

fn main() {
    match std::env::var("PEER_DRIVER").as_deref() {
        Ok("rust") => rust_driver(DriverKind::Handler),
        Ok("raw") => rust_driver(DriverKind::Raw),
        _ => compare(),
    }
}

/// Whether two consecutive warm-up windows' CPU per pair agree (`tune::stats::agree`, tested there).
fn settled(previous: f64, current: f64) -> bool {
    tune::stats::agree(previous, current, TOLERANCE)
}

fn env_number(name: &str) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} must be a number"))
}

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set (./build.sh bench sets it)"))
}

// ---------------------------------------------------------------------------------------------
// The Rust driver (a child process of `compare`).

fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn proc_status_kb(pid: &str, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The path of this process's cgroup on the CPU hierarchy (`/proc/self/cgroup`).
fn cpu_cgroup() -> Option<String> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    cgroups.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers
            .split(',')
            .any(|c| c == "cpu")
            .then(|| path.to_owned())
    })
}

fn request(method: &str, path: &str, body: Option<String>) -> Request {
    lambda_http::http::Request::builder()
        .method(method)
        .uri(format!("{SHORT_URL_BASE}{path}"))
        .header("content-type", "application/json")
        .header("x-api-key", API_KEY)
        .body(body.map(Body::from).unwrap_or(Body::Empty))
        .expect("request")
}

fn unique_url(kind: &str, i: u32) -> String {
    format!(
        "https://example.com/{kind}/{}/{i}/{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )
}

async fn pair(app: &shortener::App, i: u32) {
    let url = unique_url("rust-peer", i);
    let body = json!({ "url": url }).to_string();
    let created = shortener::handler(app, request("POST", "/", Some(body))).await;
    assert_eq!(created.status(), 201, "create failed");
    let created: Value =
        serde_json::from_slice(shared::http::body_bytes(created.body())).expect("JSON");
    let code = created["code"].as_str().expect("code");
    let redirected = shortener::handler(app, request("GET", &format!("/{code}"), None)).await;
    assert_eq!(redirected.status(), 308, "redirect of {code} failed");
    assert_eq!(
        redirected.headers().get("location").map(|v| v.as_bytes()),
        Some(url.as_bytes()),
        "redirect of {code} went elsewhere"
    );
}

/// The DynamoDB calls the shortener makes for one create + redirect with `COUNT_VISITS=false`,
/// made directly: an id-block `ADD` every `ID_BLOCK` creates, the dedupe `GetItem`, the two-item
/// conditional `TransactWriteItems`, and the redirect's consistent `GetItem`. Same item shapes.
async fn raw_pair(client: &aws_sdk_dynamodb::Client, table: &str, i: u32) {
    let s = |v: String| AttributeValue::S(v);
    if i.is_multiple_of(ID_BLOCK) {
        client
            .update_item()
            .table_name(table)
            .key("pk", s("counter#raw-ids".into()))
            .update_expression("ADD #v :size")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":size", AttributeValue::N(ID_BLOCK.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .expect("UpdateItem");
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let url = unique_url("raw", i);
    let (link_key, url_key) = (format!("link#raw-{id}"), format!("url#raw-{id}"));
    let found = client
        .get_item()
        .table_name(table)
        .key("pk", s(url_key.clone()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem");
    assert!(found.item().is_none(), "a fresh URL was found");
    let put = |item: HashMap<String, AttributeValue>| {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("put");
        TransactWriteItem::builder().put(put).build()
    };
    let link = HashMap::from([
        ("pk".to_owned(), s(link_key.clone())),
        ("url".to_owned(), s(url.clone())),
        (
            "createdAt".to_owned(),
            AttributeValue::N("1764547200".into()),
        ),
    ]);
    let dedupe = HashMap::from([("pk".to_owned(), s(url_key)), ("code".to_owned(), s(id))]);
    client
        .transact_write_items()
        .transact_items(put(link))
        .transact_items(put(dedupe))
        .send()
        .await
        .expect("TransactWriteItems");
    let got = client
        .get_item()
        .table_name(table)
        .key("pk", s(link_key))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem");
    let stored = got.item().and_then(|item| item.get("url")?.as_s().ok());
    assert_eq!(stored, Some(&url), "the raw link was not read back");
}

#[derive(Clone, Copy)]
enum DriverKind {
    Handler,
    Raw,
}

/// CPU per pair and wall-time percentiles of one phase.
struct Phase {
    pairs: u32,
    cpu_us_per_pair: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Phase {
    fn json(&self) -> Value {
        json!({
            "pairs": self.pairs,
            "cpu_us_per_pair": self.cpu_us_per_pair,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
        })
    }
}

/// Runs pairs `from..from + pairs` and measures them.
async fn phase(pair: &mut impl AsyncFnMut(u32), from: u32, pairs: u32) -> Phase {
    let mut latencies = Vec::with_capacity(pairs as usize);
    let before = cpu_time();
    for i in from..from + pairs {
        let started = Instant::now();
        pair(i).await;
        latencies.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let cpu = cpu_time() - before;
    latencies.sort_by(f64::total_cmp);
    let at = |q: usize| latencies.get(pairs as usize * q / 100).copied();
    Phase {
        pairs,
        cpu_us_per_pair: cpu.as_secs_f64() * 1e6 / f64::from(pairs.max(1)),
        p50_ms: at(50).unwrap_or(f64::NAN),
        p99_ms: at(99).unwrap_or(f64::NAN),
    }
}

/// The plan of the module docs: first requests, warm-up windows until stable, (optionally a move
/// into a cgroup), timed pairs. `PEER_FIRST`, `PEER_WINDOW`, `PEER_MAX_WINDOWS`, `PEER_PAIRS`,
/// `PEER_JOIN` (a `cgroup.procs` file to write our pid to before the timed pairs).
async fn plan(mut pair: impl AsyncFnMut(u32)) -> Value {
    let (first, window) = (env_number("PEER_FIRST"), env_number("PEER_WINDOW"));
    let (max_windows, pairs) = (env_number("PEER_MAX_WINDOWS"), env_number("PEER_PAIRS"));
    let first = phase(&mut pair, 0, first).await;
    let mut next = first.pairs;
    let mut windows: Vec<f64> = Vec::new();
    while (windows.len() as u32) < max_windows
        && !matches!(windows.as_slice(), [.., a, b] if settled(*a, *b))
    {
        windows.push(phase(&mut pair, next, window).await.cpu_us_per_pair);
        next += window;
    }
    let stable = matches!(windows.as_slice(), [.., a, b] if settled(*a, *b));
    if let Ok(procs) = std::env::var("PEER_JOIN") {
        std::fs::write(&procs, std::process::id().to_string())
            .unwrap_or_else(|e| panic!("cannot join {procs}: {e}"));
    }
    let steady = if pairs > 0 {
        Some(phase(&mut pair, next, pairs).await)
    } else {
        None
    };
    json!({
        "first": first.json(),
        "warmup_windows": windows,
        "stable": stable,
        "steady": steady.as_ref().map(Phase::json),
    })
}

/// `shared::aws::sdk_config` as it was before stalled-stream protection was turned off (the SDK's
/// default, on), to measure the change before and after in the same run (`PEER_SDK=previous`).
async fn previous_sdk_config() -> aws_config::SdkConfig {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    let limits = shared::aws::SdkLimits::from_env(&shared::config::ProcessEnv);
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_attempt_timeout(limits.attempt)
                .operation_timeout(limits.operation)
                .build(),
        )
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(20))
                .with_max_backoff(Duration::from_millis(200)),
        )
        .load()
        .await
}

fn rust_driver(kind: DriverKind) {
    let table = required("LINKS_TABLE");
    // What the function's main.rs builds (one thread).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut result = rt.block_on(async {
        let sdk = match std::env::var("PEER_SDK").as_deref() {
            Ok("previous") => previous_sdk_config().await,
            _ => shared::aws::sdk_config().await,
        };
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        match kind {
            DriverKind::Handler => {
                let config = shortener::config::Config::from_env(&[
                    ("LINKS_TABLE", table.as_str()),
                    ("APPLE_APP_SITE_ASSOCIATION", AASA),
                    ("CODE_KEY", CODE_KEY),
                    ("CREATE_API_KEY", API_KEY),
                    ("SHORT_URL_BASE", SHORT_URL_BASE),
                    ("COUNT_VISITS", "false"),
                ])
                .expect("configuration");
                let app = shortener::App::new(config, client);
                plan(async |i| pair(&app, i).await).await
            }
            DriverKind::Raw => plan(async |i| raw_pair(&client, &table, i).await).await,
        }
    });
    result["sdk"] = json!(std::env::var("PEER_SDK").unwrap_or_else(|_| "current".into()));
    result["runtime"] = json!(match kind {
        DriverKind::Handler => "rust",
        DriverKind::Raw => "raw sdk",
    });
    result["vm_hwm_kb"] = json!(proc_status_kb("self", "VmHWM:"));
    result["cpu_cgroup"] = json!(cpu_cgroup());
    println!("PEER_RESULT {result}");
}

// ---------------------------------------------------------------------------------------------
// The comparison.

fn node_peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node-peer")
}

/// `cmd` with `args`, or the same inside `group` (`sh` writes its own pid to `cgroup.procs`, then
/// becomes the command, so none of the driver runs outside the quota).
fn driver_command(cmd: &Path, args: &[&str], group: Option<&CpuCgroup>) -> Command {
    let mut command = match group {
        None => Command::new(cmd),
        Some(group) => {
            let mut sh = Command::new("/bin/sh");
            sh.arg("-c")
                .arg(r#"echo $$ > "$0" && exec "$@""#)
                .arg(group.file("cgroup.procs"))
                .arg(cmd);
            sh
        }
    };
    command.args(args);
    command
}

#[derive(Clone, Copy, PartialEq)]
enum Driver {
    Rust,
    /// The shortener on the SDK configuration before this change (`previous_sdk_config`).
    RustPrevious,
    Raw,
    Node,
}

/// How many pairs a driver runs in each phase (see the module docs).
#[derive(Clone, Copy)]
struct Settings {
    first: u32,
    window: u32,
    max_windows: u32,
    pairs: u32,
}

const UNCONSTRAINED: Settings = Settings {
    first: FIRST,
    window: WINDOW,
    max_windows: MAX_WINDOWS,
    pairs: PAIRS,
};

/// Where the quota applies: from the process's start, or from its timed pairs on.
#[derive(Clone, Copy)]
enum Quota<'a> {
    None,
    FromStart(&'a CpuCgroup),
    AfterWarmUp(&'a CpuCgroup),
}

/// Runs one driver to its end and returns its `PEER_RESULT`.
fn run_driver(driver: Driver, settings: Settings, quota: Quota) -> Value {
    let start_in = match quota {
        Quota::FromStart(group) => Some(group),
        _ => None,
    };
    let mut command = match driver {
        Driver::Rust | Driver::RustPrevious | Driver::Raw => {
            let me = std::env::current_exe().expect("own path");
            let mut c = driver_command(&me, &[], start_in);
            c.env(
                "PEER_DRIVER",
                if driver == Driver::Raw { "raw" } else { "rust" },
            );
            if driver == Driver::RustPrevious {
                c.env("PEER_SDK", "previous");
            }
            c
        }
        Driver::Node => {
            let node = PathBuf::from(std::env::var("NODE").unwrap_or_else(|_| "node".into()));
            let script = node_peer_dir().join("driver.mjs");
            driver_command(&node, &[script.to_str().expect("UTF-8 path")], start_in)
        }
    };
    if let Quota::AfterWarmUp(group) = quota {
        command.env("PEER_JOIN", group.file("cgroup.procs"));
    }
    let output = command
        .env("PEER_FIRST", settings.first.to_string())
        .env("PEER_WINDOW", settings.window.to_string())
        .env("PEER_MAX_WINDOWS", settings.max_windows.to_string())
        .env("PEER_PAIRS", settings.pairs.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("start the driver");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "driver failed: {stdout}");
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PEER_RESULT "))
        .unwrap_or_else(|| panic!("no PEER_RESULT from the driver: {stdout}"));
    let result: Value = serde_json::from_str(line).expect("PEER_RESULT JSON");
    if let Quota::FromStart(group) | Quota::AfterWarmUp(group) = quota {
        let wanted = format!("/{}", group.name());
        assert_eq!(
            result["cpu_cgroup"].as_str(),
            Some(wanted.as_str()),
            "the driver ran outside the quota's cgroup"
        );
    }
    result
}

fn num(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} missing in {v}"))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Why a CPU quota cannot be set here, if it cannot.
fn quota_unavailable() -> Option<String> {
    let root = Path::new(CGROUP_CPU_ROOT);
    if !root.join("cpu.cfs_quota_us").is_file() {
        return Some(format!("no cgroup v1 CPU controller at {CGROUP_CPU_ROOT}"));
    }
    let uid = proc_status_uid();
    (uid != Some(0)).then(|| format!("creating a cgroup needs root (uid {uid:?})"))
}

fn proc_status_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// A cgroup of its own with the 128 MB quota.
fn quota_group(name: &str) -> CpuCgroup {
    let quota = quota_us(QUOTA_MB, QUOTA_PERIOD_US).expect("quota above the kernel minimum");
    CpuCgroup::create(
        Path::new(CGROUP_CPU_ROOT),
        &format!("peer-bench-{}-{name}", std::process::id()),
        quota,
        QUOTA_PERIOD_US,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Under the quota: the first pairs of a process started in it, and the steady state of a process
/// warmed unconstrained, then moved into it; with each group's throttled periods.
struct QuotaRun {
    first: Value,
    first_throttled: u64,
    steady: Value,
    steady_throttled: u64,
}

fn under_quota(driver: Driver, name: &str) -> QuotaRun {
    let cold = quota_group(&format!("{name}-first"));
    let first = run_driver(
        driver,
        Settings {
            first: QUOTA_FIRST,
            window: 0,
            max_windows: 0,
            pairs: 0,
        },
        Quota::FromStart(&cold),
    );
    let warm = quota_group(&format!("{name}-steady"));
    let steady = run_driver(
        driver,
        Settings {
            pairs: QUOTA_PAIRS,
            ..UNCONSTRAINED
        },
        Quota::AfterWarmUp(&warm),
    );
    QuotaRun {
        first,
        first_throttled: cold.quota().throttled_periods,
        steady,
        steady_throttled: warm.quota().throttled_periods,
    }
}

/// `stable after N windows` or `not stable after N windows (cap)`, with the windows' CPU per pair.
fn warm_up(result: &Value) -> String {
    let windows: Vec<String> = result["warmup_windows"]
        .as_array()
        .map(|w| {
            w.iter()
                .filter_map(Value::as_f64)
                .map(|v| format!("{v:.0}"))
                .collect()
        })
        .unwrap_or_default();
    let state = if result["stable"].as_bool() == Some(true) {
        "stable"
    } else {
        "NOT stable (cap reached)"
    };
    format!(
        "{state} after {} x {WINDOW} pairs [{} us]",
        windows.len(),
        windows.join(", ")
    )
}

/// `/proc/loadavg`'s first three fields.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn pairs_run(result: &Value) -> f64 {
    let windows = result["warmup_windows"].as_array().map_or(0, Vec::len);
    f64::from(FIRST) + (windows as f64) * f64::from(WINDOW) + num(result, "/steady/pairs")
}

fn lambda_env(runtime_api: &str) -> Vec<(String, String)> {
    let pass = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "LINKS_TABLE",
        "SDK_ATTEMPT_TIMEOUT_MS",
        "SDK_OPERATION_TIMEOUT_MS",
    ];
    let mut env: Vec<(String, String)> = pass
        .iter()
        .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
        .collect();
    let fixed = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", "shortener"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/shortener"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local/peer-bench"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("CODE_KEY", CODE_KEY),
        ("CREATE_API_KEY", API_KEY),
        ("SHORT_URL_BASE", SHORT_URL_BASE),
        ("APPLE_APP_SITE_ASSOCIATION", AASA),
        ("COUNT_VISITS", "false"),
        ("RUST_LOG", "info"),
    ];
    env.extend(fixed.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

fn get_event(path: &str, request_id: &str) -> Value {
    let mut event = tune::event::http_api_event(path, "", request_id);
    event["requestContext"]["http"]["method"] = json!("GET");
    event["body"] = Value::Null;
    event
}

struct BinaryRun {
    init_ms: f64,
    first_answer_ms: f64,
    vm_hwm_kb: Option<u64>,
}

/// The release `shortener` binary behind a local Runtime API: spawn → first `next` and → first
/// create answered; with `pairs`, that many create + redirect pairs more, then its peak RSS.
fn run_binary(binary: &Path, pairs: u32) -> BinaryRun {
    let mut api = RuntimeApi::start().expect("local Runtime API");
    let identity = FunctionIdentity {
        arn: "arn:aws:lambda:us-east-1:123456789012:function:shortener".into(),
        timeout: Duration::from_secs(30),
    };
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .envs(lambda_env(&api.address().to_string()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let pid = child.id().to_string();
    let mut invoke = |event: Value, id: &str, status: u64| {
        let alive = || match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("the shortener exited with {status}")),
            Err(e) => Err(e.to_string()),
        };
        let invocation = api
            .invoke(event.to_string().as_bytes(), id, &identity, alive)
            .unwrap_or_else(|e| panic!("invocation {id}: {e}"));
        let answer: Value = serde_json::from_slice(&invocation.answer).expect("JSON answer");
        assert_eq!(answer["statusCode"].as_u64(), Some(status), "{answer}");
        (invocation, answer)
    };
    let create = |i: u32| {
        let url = format!("https://example.com/rust-binary/{pid}/{i}");
        json!({ "url": url }).to_string()
    };
    let create_event = |i: u32, id: &str| {
        let mut event = tune::event::http_api_event("/", &create(i), id);
        event["headers"]["x-api-key"] = json!(API_KEY);
        event
    };
    let (first, _) = invoke(create_event(0, "cold-0"), "cold-0", 201);
    let run = |at: Instant| at.saturating_duration_since(started).as_secs_f64() * 1e3;
    let (init_ms, first_answer_ms) = (run(first.next_requested_at), run(first.answered_at));
    for i in 1..=pairs {
        let id = format!("pair-{i}");
        let (_, answer) = invoke(create_event(i, &id), &id, 201);
        let body: Value =
            serde_json::from_str(answer["body"].as_str().expect("body")).expect("JSON body");
        let code = body["code"].as_str().expect("code");
        invoke(
            get_event(&format!("/{code}"), &id),
            &format!("{id}-get"),
            308,
        );
    }
    let vm_hwm_kb = (pairs > 0).then(|| proc_status_kb(&pid, "VmHWM:"));
    let _ = child.kill();
    let _ = child.wait();
    BinaryRun {
        init_ms,
        first_answer_ms,
        vm_hwm_kb,
    }
}

fn shortener_binary() -> PathBuf {
    let binary = std::env::var_os("SHORTENER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let me = std::env::current_exe().expect("own path");
            // target/release/deps/peer-<hash> → target/release/shortener
            me.parent()
                .and_then(Path::parent)
                .expect("target directory")
                .join("shortener")
        });
    assert!(
        binary.is_file(),
        "{} is missing: build it with `cargo build --release --bin shortener` (./build.sh bench does)",
        binary.display()
    );
    binary
}

fn compare() {
    required("LINKS_TABLE");
    required("AWS_ENDPOINT_URL_DYNAMODB");
    assert!(
        node_peer_dir().join("node_modules").is_dir(),
        "run `npm ci` in benches/node-peer first (./build.sh bench does)"
    );
    let binary = shortener_binary();
    let load_at_start = load_average();

    println!(
        "peer: per driver, the first {FIRST} pairs, then windows of {WINDOW} pairs until two agree within {:.0} % (at most {MAX_WINDOWS}), then {PAIRS} timed pairs; order rust, raw sdk, node, raw sdk, rust, then rust on the previous SDK configuration, rust, previous",
        TOLERANCE * 100.0
    );
    let rust_a = run_driver(Driver::Rust, UNCONSTRAINED, Quota::None);
    let raw_a = run_driver(Driver::Raw, UNCONSTRAINED, Quota::None);
    let node = run_driver(Driver::Node, UNCONSTRAINED, Quota::None);
    let raw_b = run_driver(Driver::Raw, UNCONSTRAINED, Quota::None);
    let rust_b = run_driver(Driver::Rust, UNCONSTRAINED, Quota::None);
    let previous_a = run_driver(Driver::RustPrevious, UNCONSTRAINED, Quota::None);
    let now_c = run_driver(Driver::Rust, UNCONSTRAINED, Quota::None);
    let previous_b = run_driver(Driver::RustPrevious, UNCONSTRAINED, Quota::None);
    for (name, result) in [
        ("rust (1)", &rust_a),
        ("raw sdk (1)", &raw_a),
        ("node", &node),
        ("raw sdk (2)", &raw_b),
        ("rust (2)", &rust_b),
        ("rust, previous sdk config (1)", &previous_a),
        ("rust (3)", &now_c),
        ("rust, previous sdk config (2)", &previous_b),
    ] {
        println!(
            "peer warm-up {name}: {}; first {FIRST} pairs {:.1} us/pair, steady {:.1} us/pair",
            warm_up(result),
            num(result, "/first/cpu_us_per_pair"),
            num(result, "/steady/cpu_us_per_pair"),
        );
    }
    let quota = match quota_unavailable() {
        Some(reason) => Err(reason),
        None => {
            println!(
                "peer: under the {QUOTA_MB} MB quota: the first {QUOTA_FIRST} pairs of a process started in it; {QUOTA_PAIRS} timed pairs of a process warmed as above, then moved into it"
            );
            Ok((
                under_quota(Driver::Rust, "rust"),
                under_quota(Driver::Node, "node"),
            ))
        }
    };
    println!("peer: {COLD_STARTS} cold starts each");
    let binary_runs: Vec<BinaryRun> = (0..COLD_STARTS)
        .map(|i| run_binary(&binary, if i == 0 { BINARY_PAIRS } else { 0 }))
        .collect();
    let node_colds: Vec<Value> = (0..COLD_STARTS)
        .map(|_| {
            let settings = Settings {
                first: 1,
                window: 0,
                max_windows: 0,
                pairs: 0,
            };
            run_driver(Driver::Node, settings, Quota::None)
        })
        .collect();

    println!(
        "peer load average (1/5/15 min): {load_at_start} at the start, {} at the end",
        load_average()
    );
    let both = |pointer: &str, a: &Value, b: &Value| mean(&[num(a, pointer), num(b, pointer)]);
    println!(
        "\nsummary (same run, DynamoDB Local; Rust shortener with COUNT_VISITS=false vs {}; rust and raw sdk: mean of their two runs):",
        node["runtime"].as_str().unwrap_or("node")
    );
    let rust_cpu = both("/steady/cpu_us_per_pair", &rust_a, &rust_b);
    let raw_cpu = both("/steady/cpu_us_per_pair", &raw_a, &raw_b);
    let node_cpu = num(&node, "/steady/cpu_us_per_pair");
    println!(
        "peer cpu per create+redirect steady state: rust {rust_cpu:.1} us, raw sdk {raw_cpu:.1} us, node {node_cpu:.1} us | rust/node {:.3} (target <= 0.2) | rust/raw {:.3} (target <= 1.15) | raw/node {:.3}",
        rust_cpu / node_cpu,
        rust_cpu / raw_cpu,
        raw_cpu / node_cpu,
    );
    let steady = |v: &Value| num(v, "/steady/cpu_us_per_pair");
    let (now, previous) = (
        mean(&[steady(&rust_b), steady(&now_c)]),
        mean(&[steady(&previous_a), steady(&previous_b)]),
    );
    println!(
        "peer sdk config change (stalled-stream protection off), rust steady state, alternating: now {now:.1} us, previous {previous:.1} us | now/previous {:.3}",
        now / previous
    );
    let rust_first = both("/first/cpu_us_per_pair", &rust_a, &rust_b);
    let raw_first = both("/first/cpu_us_per_pair", &raw_a, &raw_b);
    let node_first = num(&node, "/first/cpu_us_per_pair");
    println!(
        "peer cpu per create+redirect first {FIRST} pairs: rust {rust_first:.1} us, raw sdk {raw_first:.1} us, node {node_first:.1} us | rust/node {:.3} | rust/raw {:.3}",
        rust_first / node_first,
        rust_first / raw_first,
    );
    for (label, phase) in [("steady state", "steady"), ("first pairs", "first")] {
        let p = |v: &Value, q: &str| num(v, &format!("/{phase}/{q}"));
        println!(
            "peer latency per pair unconstrained {label}: rust p50 {:.3} ms p99 {:.3} ms, node p50 {:.3} ms p99 {:.3} ms | rust/node p50 {:.3} p99 {:.3}",
            p(&rust_b, "p50_ms"),
            p(&rust_b, "p99_ms"),
            p(&node, "p50_ms"),
            p(&node, "p99_ms"),
            p(&rust_b, "p50_ms") / p(&node, "p50_ms"),
            p(&rust_b, "p99_ms") / p(&node, "p99_ms"),
        );
    }
    match quota {
        Err(reason) => println!(
            "peer latency per pair under {QUOTA_MB}/{FULL_CORE_MB} of a core: not measured ({reason})"
        ),
        Ok((rq, nq)) => {
            let line = |label: &str, r: &Value, n: &Value, rt: u64, nt: u64, phase: &str| {
                let p = |v: &Value, q: &str| num(v, &format!("/{phase}/{q}"));
                println!(
                    "peer latency per pair under {QUOTA_MB}/{FULL_CORE_MB} of a core {label}: rust p50 {:.3} ms p99 {:.3} ms, node p50 {:.3} ms p99 {:.3} ms | rust/node p50 {:.3} (target <= 0.3) p99 {:.3} | throttled periods rust {rt} node {nt}; cpu per pair rust {:.1} us node {:.1} us",
                    p(r, "p50_ms"),
                    p(r, "p99_ms"),
                    p(n, "p50_ms"),
                    p(n, "p99_ms"),
                    p(r, "p50_ms") / p(n, "p50_ms"),
                    p(r, "p99_ms") / p(n, "p99_ms"),
                    p(r, "cpu_us_per_pair"),
                    p(n, "cpu_us_per_pair"),
                )
            };
            line(
                "steady state",
                &rq.steady,
                &nq.steady,
                rq.steady_throttled,
                nq.steady_throttled,
                "steady",
            );
            line(
                &format!("first {QUOTA_FIRST} pairs"),
                &rq.first,
                &nq.first,
                rq.first_throttled,
                nq.first_throttled,
                "first",
            );
        }
    }
    let binary_rss = binary_runs[0].vm_hwm_kb.expect("measured on the first run") as f64 / 1024.0;
    let node_rss = num(&node, "/vm_hwm_kb") / 1024.0;
    println!(
        "peer peak rss: rust shortener binary {binary_rss:.1} MB after 1 + {BINARY_PAIRS} pairs, rust driver {:.1} MB, node driver {node_rss:.1} MB after {:.0} pairs | rust binary/node {:.3} (target <= 30 MB)",
        num(&rust_b, "/vm_hwm_kb") / 1024.0,
        pairs_run(&node),
        binary_rss / node_rss,
    );
    let rust_init = median(binary_runs.iter().map(|r| r.init_ms).collect());
    let rust_first = median(binary_runs.iter().map(|r| r.first_answer_ms).collect());
    let node_import = median(node_colds.iter().map(|v| num(v, "/import_ms")).collect());
    let node_first = median(
        node_colds
            .iter()
            .map(|v| num(v, "/first_answer_ms"))
            .collect(),
    );
    println!(
        "peer cold start (median of {COLD_STARTS}): rust binary spawn to first next {rust_init:.1} ms, to first create answered {rust_first:.1} ms; node import of handler+SDK {node_import:.1} ms, process start to first create answered {node_first:.1} ms | rust/node first answer {:.3} (target: rust <= 30 ms)",
        rust_first / node_first,
    );
}
