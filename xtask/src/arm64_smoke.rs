//! The arm64 smoke run: the artifact that deploys is the artifact tested. Every function's
//! `bootstrap` is taken out of the very `bootstrap.zip` the arm64 build wrote (the one `package`
//! points the template at), checked for the glibc it needs ([`glibc`]), started under
//! `qemu-aarch64` behind a local Lambda Runtime API, and sent one real request ([`probes`]).
//!
//! - The Runtime API is `tune`'s (`tune::runtime_api`, after AWS's "Using the Lambda runtime API
//!   for custom runtimes", <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>): `next`
//!   with the request id, deadline, function ARN and trace id headers, `response`, `error` and
//!   `init/error`. One per function, each on its own port, as each Lambda execution environment
//!   has its own. The processes get Lambda's variables (`tune::runtime_api::lambda_env`) and those
//!   of a local stack ([`local::function_env`]), nothing of this process's environment.
//! - Data is a DynamoDB Local of the run's own ([`DataStack`]), with the tables and the experiment
//!   definitions; the experiment functions invoke each other through a local Invoke API
//!   ([`invoke_api`]) that hands the invocation to the named function's running bootstrap.
//! - Every bootstrap starts at once (an idle one waits in `next`, costing nothing); the requests of
//!   the functions that invoke no other run side by side, then the proxy's and the comparator's,
//!   whose checks read what they invoked. Each invocation has [`INVOCATION_TIMEOUT`] (its first
//!   includes the cold start).
//!
//! A function fails the run when its zip or bootstrap is missing or not an AArch64 executable,
//! needs a newer glibc than `provided.al2023`'s, reports an init error, exits, does not ask for an
//! event or answer within the timeout, or answers other than its probe expects; the run lists
//! every failure with the tail of the bootstrap's output.
//!
//! Not covered: the Extensions API (the shortener's after-response extension gets `404` and falls
//! back to draining before the next request, as under any emulator without it), Lambda's memory
//! and CPU limits, and anything that needs AWS itself (the release hook is run to its typed error).

mod glibc;
mod invoke_api;
mod probes;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use experiments::domain::definition::Experiments;
use registry::{Function, Registry};
use tune::runtime_api::{self, Execution, FunctionIdentity, RuntimeApi, RuntimeError};

use self::glibc::GlibcVersion;
use self::probes::{Answer, Outcome, Probe};
use crate::aws::{self, Optimisation};
use crate::cmd::Cmd;
use crate::local::{self, DataStack};
use crate::log;
use crate::procs::{self, Background};
use crate::tools::{self, AARCH64_SYSROOT, Paths};

/// How long a bootstrap has to ask for an event and answer it; the first invocation includes its
/// cold start under emulation, with every other bootstrap starting beside it on two cores.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(10);
/// `SHORT_URL_BASE` of the run: short URLs name it, nothing is served there.
const SHORT_URL_BASE: &str = "https://arm64-smoke.invalid";
/// The release hook's region in the run. Its CodeDeploy endpoint follows the region and cannot be
/// pointed elsewhere; in a region no DNS knows, its calls fail at once, offline or not, and never
/// reach AWS with the local fake credentials.
const OFFLINE_REGION: &str = "arm64-smoke-offline-1";
/// Lines of a failed bootstrap's output shown.
const OUTPUT_TAIL: usize = 12;

/// `./build.sh test`'s last step and `cargo xtask arm64-smoke [--deploy-build]`: every function's
/// bootstrap from the zips built at `optimisation`, started and sent one request. Prints one line
/// per function; fails listing every function that failed.
pub fn run(paths: &Paths, optimisation: Optimisation) -> Result<()> {
    let started = Instant::now();
    tools::ensure_qemu_aarch64()?;
    std::fs::create_dir_all(&paths.local)?;
    let registry = Registry::load(&paths.root)?;
    let experiments = experiments(&paths.root)?;
    let now = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .context("formatting the time")?;
    log!(
        "arm64 smoke run: each function's bootstrap from its zip in {}, under qemu-aarch64",
        optimisation.dir()
    );
    let scratch = tempfile::Builder::new().prefix("arm64-smoke-").tempdir()?;
    let mut rows: Vec<Row> = Vec::new();
    let mut ready = Vec::new();
    for function in &registry.functions {
        let mut row = Row::new(function);
        let prepared = Probe::of(function, &experiments, &now)
            .map_err(anyhow::Error::msg)
            .and_then(|probe| {
                Ok((
                    probe,
                    unpack(paths, optimisation, function, scratch.path())?,
                ))
            });
        match prepared {
            Ok((probe, (bootstrap, needed))) => {
                row.glibc = needed;
                ready.push((function, probe, bootstrap));
            }
            Err(error) => row.failure = Some(format!("{error:#}")),
        }
        rows.push(row);
    }

    let data = DataStack::start(paths, local::free_port()?, false, "arm64-smoke-")?;
    let invoke = invoke_api::bind()?;
    let env = local::function_env(&data, &invoke.url, SHORT_URL_BASE);
    log!("starting {} bootstraps under qemu-aarch64", ready.len());
    let fleet = Arc::new(Fleet::start(paths, &ready, &env)?);
    let invoke_api = invoke.serve(fleet.clone())?;

    let mut results = probe_all(&fleet, &ready);
    // Its tasks hold the fleet: stopped first, so the fleet's runtimes are dropped on this thread.
    drop(invoke_api);
    let outputs = fleet.stop();

    for row in &mut rows {
        row.init_ms = fleet.init_ms(&row.name);
        match results.remove(&row.name) {
            Some(Ok(probed)) => {
                row.answer_ms = Some(probed.took.as_millis());
                row.status = probed.summary;
            }
            Some(Err(failure)) => {
                let tail = outputs.get(&row.name).map(String::as_str).unwrap_or("");
                row.failure = Some(format!("{failure}\n{tail}"));
            }
            None => {}
        }
    }
    report(&rows, started.elapsed())
}

/// A function whose bootstrap is unpacked and checked: its probe and its bootstrap.
type Ready<'a> = (&'a Function, Probe, PathBuf);

/// Every probe's result, by function: those that invoke no other function first, side by side;
/// then the others, one at a time, each reading what answered it through the Invoke API.
fn probe_all(fleet: &Fleet, ready: &[Ready<'_>]) -> BTreeMap<String, Result<Probed, String>> {
    let (invoking, independent): (Vec<_>, Vec<_>) = ready
        .iter()
        .partition(|(_, probe, _)| probe.invokes_others());
    let mut results: BTreeMap<_, _> = std::thread::scope(|scope| {
        let handles: Vec<_> = independent
            .iter()
            .map(|(function, probe, _)| {
                let name = function.name.as_str();
                (name, scope.spawn(move || fleet.probe(name, probe)))
            })
            .collect();
        handles
            .into_iter()
            .map(|(name, handle)| {
                let result = handle
                    .join()
                    .unwrap_or_else(|_| Err("the probe panicked".to_owned()));
                (name.to_owned(), result)
            })
            .collect()
    });
    for (function, probe, _) in invoking {
        results.insert(function.name.clone(), fleet.probe(&function.name, probe));
    }
    results
}

/// Prints one line per function; an error listing every failure, with its bootstrap's output.
fn report(rows: &[Row], took: Duration) -> Result<()> {
    for row in rows {
        println!("{}", row.line());
    }
    let seconds = took.as_secs_f64();
    let failed: Vec<String> = rows
        .iter()
        .filter_map(|r| Some(format!("{}: {}", r.name, r.failure.as_deref()?.trim_end())))
        .collect();
    if !failed.is_empty() {
        bail!(
            "arm64 smoke run: {} of {} functions failed ({seconds:.1} s):\n{}",
            failed.len(),
            rows.len(),
            failed.join("\n")
        );
    }
    log!(
        "arm64 smoke run: {} functions answered from their zips in {seconds:.1} s",
        rows.len()
    );
    Ok(())
}

/// Every experiment of `functions/experiments/definitions`, as `DataStack` uploads them.
pub fn experiments(root: &Path) -> Result<Experiments> {
    let mut all = Experiments::default();
    for file in local::definition_files(root)? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let parsed =
            Experiments::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        all.by_name.extend(parsed.by_name);
    }
    Ok(all)
}

/// Takes `bootstrap` out of `function`'s zip into `<scratch>/<binary>/` (the folder stands for
/// `/var/task`), and checks it is an AArch64 executable whose glibc Lambda has.
fn unpack(
    paths: &Paths,
    optimisation: Optimisation,
    function: &Function,
    scratch: &Path,
) -> Result<(PathBuf, Option<GlibcVersion>)> {
    let zip = aws::zip_path(paths, optimisation, function.binary());
    if !zip.is_file() {
        bail!("no {}: build the arm64 artifacts first", zip.display());
    }
    let task_root = scratch.join(function.binary());
    Cmd::new("unzip")
        .args(["-q", "-o"])
        .arg(zip.display().to_string())
        .arg("bootstrap")
        .arg("-d")
        .arg(task_root.display().to_string())
        .read()
        .with_context(|| format!("{} holds no bootstrap", zip.display()))?;
    let bootstrap = task_root.join("bootstrap");
    // Lambda executes the file itself: without the execute bits its cold start fails.
    let mode = std::fs::metadata(&bootstrap)?.permissions().mode();
    if mode & 0o111 == 0 {
        bail!(
            "bootstrap in {} is not executable ({mode:o})",
            zip.display()
        );
    }
    let bytes = std::fs::read(&bootstrap)?;
    let names = glibc::needed_versions(&bytes)
        .with_context(|| format!("bootstrap in {}", zip.display()))?;
    let needed = glibc::newest(names.iter().map(String::as_str));
    glibc::check(needed)?;
    Ok((bootstrap, needed))
}

/// One function's line of the report.
struct Row {
    name: String,
    /// The memory-size variants that deploy the same zip.
    variants: Vec<String>,
    glibc: Option<GlibcVersion>,
    init_ms: Option<u128>,
    answer_ms: Option<u128>,
    status: String,
    failure: Option<String>,
}

impl Row {
    fn new(function: &Function) -> Self {
        Self {
            name: function.name.clone(),
            variants: function
                .deployments()
                .into_iter()
                .filter(|d| d.variant)
                .map(|d| d.name)
                .collect(),
            glibc: None,
            init_ms: None,
            answer_ms: None,
            status: String::new(),
            failure: None,
        }
    }

    fn line(&self) -> String {
        let ms = |v: Option<u128>| v.map_or("-".to_owned(), |ms| format!("{ms} ms"));
        let mut status = match &self.failure {
            Some(failure) => format!("FAILED: {}", failure.lines().next().unwrap_or_default()),
            None => format!("ok: {}", self.status),
        };
        if !self.variants.is_empty() {
            status.push_str(&format!(" [same zip: {}]", self.variants.join(", ")));
        }
        format!(
            "{:30} glibc {:>5}  init {:>8}  answer {:>8}  {status}",
            self.name,
            self.glibc.map_or("-".to_owned(), |v| v.to_string()),
            ms(self.init_ms),
            ms(self.answer_ms),
        )
    }
}

/// A probe's result: what it found and how long the function took to answer (all its steps).
struct Probed {
    summary: String,
    took: Duration,
}

/// One running bootstrap and the Runtime API it is served by.
struct Instance {
    api: RuntimeApi,
    process: Background,
    spawned: Instant,
    invocations: u32,
    init_ms: Option<u128>,
}

/// Every running bootstrap, by function name.
struct Fleet {
    instances: BTreeMap<String, Mutex<Instance>>,
    /// The functions that answered an invocation through the Invoke API, in order.
    invoked: Mutex<Vec<String>>,
}

impl Fleet {
    /// Starts each bootstrap with Lambda's variables, `env`, and its own Runtime API.
    fn start(paths: &Paths, ready: &[Ready<'_>], env: &[(String, String)]) -> Result<Self> {
        let mut instances = BTreeMap::new();
        for (function, probe, bootstrap) in ready {
            let api = RuntimeApi::start().context("the local Runtime API")?;
            let address = api.address().to_string();
            let task_root = bootstrap.parent().expect("a task root");
            let mut variables = runtime_api::lambda_env(&Execution {
                function_name: &function.name,
                memory_mb: function.memory_mb(),
                runtime_api: &address,
                task_root,
                host: "arm64-smoke",
            });
            variables.extend(env.iter().cloned());
            if matches!(probe, Probe::ReleaseHook) {
                for name in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
                    variables.push((name.to_owned(), OFFLINE_REGION.to_owned()));
                }
            }
            // `env -i`: the function sees only what Lambda would give it (later values win).
            let cmd = Cmd::new("env")
                .arg("-i")
                .args(variables.iter().map(|(k, v)| format!("{k}={v}")))
                .args(["qemu-aarch64", "-L", AARCH64_SYSROOT])
                .arg(bootstrap.display().to_string())
                .dir(task_root);
            let log = paths
                .local
                .join(format!("arm64-smoke-{}.log", function.binary()));
            let process = procs::spawn(&cmd, &log)?;
            instances.insert(
                function.name.clone(),
                Mutex::new(Instance {
                    api,
                    process,
                    spawned: Instant::now(),
                    invocations: 0,
                    init_ms: None,
                }),
            );
        }
        Ok(Self {
            instances,
            invoked: Mutex::new(Vec::new()),
        })
    }

    /// Invokes `function` with `event`: its answer and how long it took from the event's hand-out;
    /// `None` when it is not running, `Err` when it failed as a process or broke the protocol.
    fn invoke(&self, function: &str, event: &[u8]) -> Option<Result<(Answer, Duration), String>> {
        let mut instance = self
            .instances
            .get(function)?
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        instance.invocations += 1;
        let request_id = format!("arm64-smoke-{function}-{}", instance.invocations);
        let identity = FunctionIdentity {
            arn: format!(
                "arn:aws:lambda:{}:123456789012:function:{function}",
                local::LOCAL_REGION
            ),
            timeout: INVOCATION_TIMEOUT,
        };
        let Instance { api, process, .. } = &mut *instance;
        let alive = || match process.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("it exited ({status})")),
            Err(error) => Err(error.to_string()),
        };
        let (answer, invocation) = match api.invoke(event, &request_id, &identity, alive) {
            Ok(invocation) => (Answer::Payload(invocation.answer.clone()), invocation),
            Err(RuntimeError::FunctionError {
                body, invocation, ..
            }) => (Answer::Error(body), *invocation),
            Err(error) => return Some(Err(error.to_string())),
        };
        if instance.init_ms.is_none() {
            let init = invocation
                .next_requested_at
                .saturating_duration_since(instance.spawned);
            instance.init_ms = Some(init.as_millis());
        }
        Some(Ok((answer, invocation.duration())))
    }

    /// Sends `function` its probe's requests and checks each answer.
    fn probe(&self, function: &str, probe: &Probe) -> Result<Probed, String> {
        let mut outcomes: Vec<Outcome> = Vec::new();
        let mut notes = Vec::new();
        let mut took = Duration::ZERO;
        for _ in 0..probe.steps() {
            let event = probe.event(&outcomes)?.to_string();
            let seen = self.invoked.lock().unwrap_or_else(|e| e.into_inner()).len();
            let (answer, duration) = self
                .invoke(function, event.as_bytes())
                .ok_or_else(|| format!("{function} is not running"))??;
            let invoked = self.invoked.lock().unwrap_or_else(|e| e.into_inner())[seen..].to_vec();
            let outcome = Outcome { answer, invoked };
            notes.push(probe.check(&outcome, &outcomes)?);
            took += duration;
            outcomes.push(outcome);
        }
        Ok(Probed {
            summary: notes.join("; "),
            took,
        })
    }

    fn init_ms(&self, function: &str) -> Option<u128> {
        let instance = self.instances.get(function)?;
        instance.lock().unwrap_or_else(|e| e.into_inner()).init_ms
    }

    /// Stops every bootstrap; the last lines of each one's output (stdout and stderr), by name.
    fn stop(&self) -> BTreeMap<String, String> {
        self.instances
            .iter()
            .map(|(name, instance)| {
                let mut instance = instance.lock().unwrap_or_else(|e| e.into_inner());
                let process = &mut instance.process;
                let exited = process.child.try_wait().ok().flatten();
                let _ = process.child.kill();
                let _ = process.child.wait();
                let text = std::fs::read_to_string(&process.log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let mut tail = format!(
                    "  output of its bootstrap ({}{}), last lines:",
                    process.log.display(),
                    exited.map_or(String::new(), |s| format!(", exited {s}"))
                );
                for line in &lines[lines.len().saturating_sub(OUTPUT_TAIL)..] {
                    tail.push_str("\n    ");
                    tail.push_str(line);
                }
                (name.clone(), tail)
            })
            .collect()
    }
}

impl invoke_api::Functions for Fleet {
    fn invoke(&self, function: &str, payload: Vec<u8>) -> Option<Result<Vec<u8>, Vec<u8>>> {
        Some(match Fleet::invoke(self, function, &payload)? {
            Ok((Answer::Payload(payload), _)) => {
                self.invoked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(function.to_owned());
                Ok(payload)
            }
            Ok((Answer::Error(document), _)) => Err(document.into_bytes()),
            // As Lambda reports a runtime that failed: an error of the function.
            Err(failure) => Err(serde_json::json!({
                "errorType": "Runtime.Unknown",
                "errorMessage": failure,
            })
            .to_string()
            .into_bytes()),
        })
    }
}
