//! The Rust shortener next to its Node.js peer (`benches/node-peer`: the seed's design on Node.js 20
//! with the AWS SDK for JavaScript v3), against the same DynamoDB Local and the same table.
//!
//! Both are driven in-process, each in its own fresh process: this binary re-runs itself with
//! `PEER_DRIVER=rust` (`shortener::handler` on a current-thread tokio runtime, as `main.rs` runs it),
//! and `node benches/node-peer/driver.mjs` imports the peer's handler. Each driver makes warm-up
//! create + redirect pairs, then timed pairs, and reports one `PEER_RESULT {json}` line:
//!
//! - CPU per pair: `getrusage(RUSAGE_SELF)` user + system deltas around the timed loop (Node's
//!   `process.cpuUsage()` is the same call), every thread of the process included;
//! - p50 / p99 wall time per pair, unconstrained and again with each driver inside a cgroup v1 CPU
//!   quota of 128/1769 of one core (Lambda's share at 128 MB). Where the quota cannot be set (no
//!   cgroup v1 CPU controller, not root) that figure is reported as not measured;
//! - peak RSS: `VmHWM` of the Node driver; for Rust, of the release `shortener` binary itself;
//! - start-up: Node's `import()` of the handler module with the SDK and its time from process start
//!   to the first create answered; Rust: the release `shortener` binary started behind a local Lambda
//!   Runtime API (`tune::runtime_api`), from spawn to its first `next` (Lambda's Init Duration) and
//!   to its first create answered. Medians of `COLD_STARTS` fresh processes each.
//!
//! The Rust shortener runs with `COUNT_VISITS=false`, so a redirect is one `GetItem`, as the peer's
//! is; its create is a dedupe `GetItem` + one `TransactWriteItems` (and an id-block `ADD` per 100),
//! the peer's an `UpdateItem ADD` + a conditional `PutItem`. Needs `LINKS_TABLE`,
//! `AWS_ENDPOINT_URL_DYNAMODB`, fake credentials, `npm ci` in `benches/node-peer` and the release
//! `shortener` binary: `./build.sh bench` provides them all.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lambda_http::{Body, Request};
use serde_json::{Value, json};
use tune::local::{CGROUP_CPU_ROOT, CpuCgroup, FULL_CORE_MB, quota_us};
use tune::runtime_api::{FunctionIdentity, RuntimeApi};

const WARMUP: u32 = 100;
const PAIRS: u32 = 1_000;
const QUOTA_MB: u32 = 128;
const QUOTA_PERIOD_US: u64 = 100_000;
const QUOTA_WARMUP: u32 = 20;
const QUOTA_PAIRS: u32 = 200;
const COLD_STARTS: usize = 5;
const BINARY_PAIRS: u32 = 200;
/// The key the shortener bench uses too: one key and one shared counter give distinct codes.
const CODE_KEY: &str = "bench-code-key-0123456789abcdef";
const SHORT_URL_BASE: &str = "https://sho.rt";
const AASA: &str = r#"{"applinks":{"details":[]}}"#;

fn main() {
    if std::env::var("PEER_DRIVER").as_deref() == Ok("rust") {
        rust_driver();
    } else {
        compare();
    }
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
        .body(body.map(Body::from).unwrap_or(Body::Empty))
        .expect("request")
}

async fn pair(app: &shortener::App, i: u32) {
    let url = format!(
        "https://example.com/rust-peer/{}/{i}/{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
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

fn rust_driver() {
    let warmup = env_number("PEER_WARMUP");
    let pairs = env_number("PEER_PAIRS");
    let table = required("LINKS_TABLE");
    // What the function's main.rs builds (one thread); PEER_RUST_RUNTIME=multi compares tokio's
    // default multi-thread runtime.
    let rt = match std::env::var("PEER_RUST_RUNTIME").as_deref() {
        Ok("multi") => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    }
    .enable_all()
    .build()
    .expect("tokio runtime");
    let (cpu, mut latencies) = rt.block_on(async {
        let config = shortener::config::Config::from_env(&[
            ("LINKS_TABLE", table.as_str()),
            ("APPLE_APP_SITE_ASSOCIATION", AASA),
            ("CODE_KEY", CODE_KEY),
            ("SHORT_URL_BASE", SHORT_URL_BASE),
            ("COUNT_VISITS", "false"),
        ])
        .expect("configuration");
        let sdk = shared::aws::sdk_config().await;
        let app = shortener::App::new(config, aws_sdk_dynamodb::Client::new(&sdk));
        for i in 0..warmup {
            pair(&app, i).await;
        }
        let mut latencies = Vec::with_capacity(pairs as usize);
        let before = cpu_time();
        for i in 0..pairs {
            let started = Instant::now();
            pair(&app, warmup + i).await;
            latencies.push(started.elapsed().as_secs_f64() * 1e3);
        }
        (cpu_time() - before, latencies)
    });
    latencies.sort_by(f64::total_cmp);
    let result = json!({
        "runtime": "rust",
        "pairs": pairs,
        "cpu_us_per_pair": cpu.as_secs_f64() * 1e6 / f64::from(pairs),
        "p50_ms": latencies[pairs as usize / 2],
        "p99_ms": latencies[pairs as usize * 99 / 100],
        "vm_hwm_kb": proc_status_kb("self", "VmHWM:"),
        "cpu_cgroup": cpu_cgroup(),
    });
    println!("PEER_RESULT {result}");
}

// ---------------------------------------------------------------------------------------------
// The comparison.

fn node_peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node-peer")
}

/// `cmd` with `args`, or the same inside `group` (`sh` writes its own pid to `tasks`, then becomes
/// the command, so none of the driver runs outside the quota).
fn driver_command(cmd: &Path, args: &[&str], group: Option<&CpuCgroup>) -> Command {
    let mut command = match group {
        None => Command::new(cmd),
        Some(group) => {
            let mut sh = Command::new("/bin/sh");
            sh.arg("-c")
                .arg(r#"echo $$ > "$0" && exec "$@""#)
                .arg(Path::new(CGROUP_CPU_ROOT).join(group.name()).join("tasks"))
                .arg(cmd);
            sh
        }
    };
    command.args(args);
    command
}

#[derive(Clone, Copy)]
enum Driver {
    Rust,
    Node,
}

/// Runs one driver to its end and returns its `PEER_RESULT`.
fn run_driver(driver: Driver, warmup: u32, pairs: u32, group: Option<&CpuCgroup>) -> Value {
    let mut command = match driver {
        Driver::Rust => {
            let me = std::env::current_exe().expect("own path");
            let mut c = driver_command(&me, &[], group);
            c.env("PEER_DRIVER", "rust");
            c
        }
        Driver::Node => {
            let node = PathBuf::from(std::env::var("NODE").unwrap_or_else(|_| "node".into()));
            let script = node_peer_dir().join("driver.mjs");
            driver_command(&node, &[script.to_str().expect("UTF-8 path")], group)
        }
    };
    let output = command
        .env("PEER_WARMUP", warmup.to_string())
        .env("PEER_PAIRS", pairs.to_string())
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
    if let Some(group) = group {
        let wanted = format!("/{}", group.name());
        assert_eq!(
            result["cpu_cgroup"].as_str(),
            Some(wanted.as_str()),
            "the driver ran outside the quota's cgroup"
        );
    }
    result
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
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

/// One driver under the quota, in a cgroup of its own; the result and the throttled periods.
fn under_quota(driver: Driver, name: &str) -> (Value, u64) {
    let quota = quota_us(QUOTA_MB, QUOTA_PERIOD_US).expect("quota above the kernel minimum");
    let group = CpuCgroup::create(
        Path::new(CGROUP_CPU_ROOT),
        &format!("peer-bench-{}-{name}", std::process::id()),
        quota,
        QUOTA_PERIOD_US,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let result = run_driver(driver, QUOTA_WARMUP, QUOTA_PAIRS, Some(&group));
    (result, group.quota().throttled_periods)
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
    let (first, _) = invoke(
        tune::event::http_api_event("/", &create(0), "cold-0"),
        "cold-0",
        201,
    );
    let run = |at: Instant| at.saturating_duration_since(started).as_secs_f64() * 1e3;
    let (init_ms, first_answer_ms) = (run(first.next_requested_at), run(first.answered_at));
    for i in 1..=pairs {
        let id = format!("pair-{i}");
        let (_, answer) = invoke(tune::event::http_api_event("/", &create(i), &id), &id, 201);
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

    println!("peer: {PAIRS} timed pairs after {WARMUP} warm-up pairs per driver, unconstrained");
    let rust = run_driver(Driver::Rust, WARMUP, PAIRS, None);
    let node = run_driver(Driver::Node, WARMUP, PAIRS, None);
    let quota = match quota_unavailable() {
        Some(reason) => Err(reason),
        None => {
            println!(
                "peer: {QUOTA_PAIRS} timed pairs after {QUOTA_WARMUP} per driver under the {QUOTA_MB} MB quota"
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
        .map(|_| run_driver(Driver::Node, 0, 1, None))
        .collect();

    let ratio = |r: f64, n: f64| r / n;
    println!(
        "\nsummary (same run, DynamoDB Local; Rust shortener with COUNT_VISITS=false vs {}):",
        node["runtime"].as_str().unwrap_or("node")
    );
    let (rc, nc) = (num(&rust, "cpu_us_per_pair"), num(&node, "cpu_us_per_pair"));
    println!(
        "peer cpu per create+redirect: rust {:.1} us, node {:.1} us | rust/node {:.3} (target <= 0.2)",
        rc,
        nc,
        ratio(rc, nc)
    );
    println!(
        "peer latency per pair unconstrained: rust p50 {:.3} ms p99 {:.3} ms, node p50 {:.3} ms p99 {:.3} ms | rust/node p50 {:.3} p99 {:.3}",
        num(&rust, "p50_ms"),
        num(&rust, "p99_ms"),
        num(&node, "p50_ms"),
        num(&node, "p99_ms"),
        ratio(num(&rust, "p50_ms"), num(&node, "p50_ms")),
        ratio(num(&rust, "p99_ms"), num(&node, "p99_ms")),
    );
    match quota {
        Err(reason) => println!(
            "peer latency per pair under {QUOTA_MB}/{FULL_CORE_MB} of a core: not measured ({reason})"
        ),
        Ok(((rq, rt), (nq, nt))) => println!(
            "peer latency per pair under {QUOTA_MB}/{FULL_CORE_MB} of a core: rust p50 {:.3} ms p99 {:.3} ms, node p50 {:.3} ms p99 {:.3} ms | rust/node p50 {:.3} (target <= 0.3) p99 {:.3} | throttled periods rust {rt} node {nt}; cpu per pair rust {:.1} us node {:.1} us",
            num(&rq, "p50_ms"),
            num(&rq, "p99_ms"),
            num(&nq, "p50_ms"),
            num(&nq, "p99_ms"),
            ratio(num(&rq, "p50_ms"), num(&nq, "p50_ms")),
            ratio(num(&rq, "p99_ms"), num(&nq, "p99_ms")),
            num(&rq, "cpu_us_per_pair"),
            num(&nq, "cpu_us_per_pair"),
        ),
    }
    let binary_rss = binary_runs[0].vm_hwm_kb.expect("measured on the first run") as f64 / 1024.0;
    let node_rss = num(&node, "vm_hwm_kb") / 1024.0;
    println!(
        "peer peak rss: rust shortener binary {binary_rss:.1} MB after 1 + {BINARY_PAIRS} pairs, rust driver {:.1} MB, node driver {node_rss:.1} MB after {} pairs | rust binary/node {:.3} (target <= 30 MB)",
        num(&rust, "vm_hwm_kb") / 1024.0,
        WARMUP + PAIRS,
        binary_rss / node_rss,
    );
    let rust_init = median(binary_runs.iter().map(|r| r.init_ms).collect());
    let rust_first = median(binary_runs.iter().map(|r| r.first_answer_ms).collect());
    let node_import = median(node_colds.iter().map(|v| num(v, "import_ms")).collect());
    let node_first = median(
        node_colds
            .iter()
            .map(|v| num(v, "first_answer_ms"))
            .collect(),
    );
    println!(
        "peer cold start (median of {COLD_STARTS}): rust binary spawn to first next {rust_init:.1} ms, to first create answered {rust_first:.1} ms; node import of handler+SDK {node_import:.1} ms, process start to first create answered {node_first:.1} ms | rust/node first answer {:.3} (target: rust <= 30 ms)",
        rust_first / node_first,
    );
}
