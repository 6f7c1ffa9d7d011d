//! The local path: the function's release binary, run as Lambda runs it (behind a Runtime API, see
//! [`crate::runtime_api`]) and held to Lambda's CPU share for each memory size, `MB/1769` of one
//! core, by one of the methods of [`crate::throttle`] (a cgroup v1 or v2 quota, or duty cycling
//! with SIGSTOP/SIGCONT, which needs neither root nor cgroups).
//!
//! In a cgroup the process is moved in before the function's code starts (`sh` writes its own pid,
//! then `exec`s the binary), and for v1 its membership is checked in `/proc/<pid>/cgroup`. Where the
//! chosen method is impossible the run stops with an error: it never measures without a limit.
//!
//! Every answer is kept: a size whose function fails, answers non-200, or answers differently
//! from its own first answer is returned as flagged, not as an error, so the other sizes still run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::event;
use crate::model::{CpuQuota, Method};
pub use crate::model::{FULL_CORE_MB, LocalError, quota_us};
use crate::options::Options;
use crate::progress::Progress;
use crate::report_line::Sample;
use crate::runtime_api::{self, FunctionIdentity, RuntimeApi};
use crate::throttle::{self, Host, Throttled};
// Where the cgroup v1 holder lives now; kept here for the paths callers use.
pub use crate::throttle::{CGROUP_CPU_ROOT, CpuCgroup, remove_stale_cgroups, spawn_in_cgroup};

/// The functions' timeout in `template.yaml` (30 s for the PBKDF2 family).
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);
/// What `template.yaml` sets for the PBKDF2 family.
const FUNCTION_ENV: [(&str, &str); 2] =
    [("PBKDF2_MAX_ITERATIONS", "1000000"), ("RUST_LOG", "info")];

/// Every size's quota for the run's period, or the first size that cannot have one.
fn quotas(options: &Options) -> Result<Vec<(u32, u64)>, LocalError> {
    options
        .memory
        .get()
        .iter()
        .map(|&mb| {
            quota_us(mb, options.cpu_period_us)
                .map(|q| (mb, q))
                .ok_or(LocalError::QuotaTooSmall {
                    memory_mb: mb,
                    period_us: options.cpu_period_us,
                })
        })
        .collect()
}

/// The method to use (asked for, or the best this host offers) once it is known to work here,
/// before anything runs.
pub fn preflight(options: &Options, host: &Host, root: &Path) -> Result<Method, LocalError> {
    quotas(options)?;
    let method = options.throttle.unwrap_or_else(|| throttle::detect(host));
    match throttle::unavailable(method, host, root) {
        Some(error) => Err(error),
        None => Ok(method),
    }
}

/// `VmHWM` (peak resident memory) from `/proc/<pid>/status`, in whole MB rounded up.
fn parse_peak_rss_mb(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    u32::try_from(kb.div_ceil(1024)).ok()
}

/// The binary to run: `--binary`, else `$CARGO_TARGET_DIR` (or `target`)`/release/<function>`.
pub fn binary_path(options: &Options, cargo_target_dir: Option<&str>) -> PathBuf {
    options.binary.clone().unwrap_or_else(|| {
        Path::new(cargo_target_dir.unwrap_or("target"))
            .join("release")
            .join(&options.function)
    })
}

fn function_name(options: &Options, memory_mb: u32) -> String {
    format!("{}-{memory_mb}", options.function)
}

/// The environment Lambda gives the function ([`runtime_api::lambda_env`]), plus what
/// `template.yaml` sets. Nothing else from the caller's environment (credentials included) reaches
/// the function.
fn lambda_env(
    options: &Options,
    memory_mb: u32,
    runtime_api: &str,
    binary: &Path,
) -> Vec<(String, String)> {
    let execution = runtime_api::Execution {
        function_name: &function_name(options, memory_mb),
        memory_mb,
        runtime_api,
        task_root: binary.parent().unwrap_or(Path::new(".")),
        host: "tune",
    };
    let mut env = runtime_api::lambda_env(&execution);
    env.extend(
        FUNCTION_ENV
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env
}

fn cgroup_name(memory_mb: u32) -> String {
    format!("lambda-tune-{}-{memory_mb}", std::process::id())
}

/// What a local run would do, step by step, for `--dry-run`.
pub fn plan(
    options: &Options,
    method: Method,
    binary: &Path,
    root: &Path,
    v2_parent: Option<&Path>,
) -> Result<Vec<String>, LocalError> {
    let period = method.period_us(options.cpu_period_us);
    let mut lines = vec![format!(
        "hold the function to MB/{FULL_CORE_MB} of a core by {} (--throttle {}); known error: {}",
        method.describe(),
        method.name(),
        method.known_error()
    )];
    for (mb, quota) in quotas(options)? {
        let env: Vec<String> = lambda_env(options, mb, "127.0.0.1:<port>", binary)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let share = format!(
            "{mb}/{FULL_CORE_MB} of a core = {:.1}%",
            quota as f64 / options.cpu_period_us as f64 * 100.0
        );
        let run = format!("env -i {} ", env.join(" "));
        let group = |dir: &Path| dir.join(cgroup_name(mb));
        match method {
            Method::CgroupV1 => {
                let group = group(root);
                lines.push(format!("mkdir {}", group.display()));
                lines.push(format!(
                    "echo {period} > {}/cpu.cfs_period_us",
                    group.display()
                ));
                lines.push(format!(
                    "echo {quota} > {}/cpu.cfs_quota_us   # {share}",
                    group.display()
                ));
                lines.push(format!(
                    "{run}sh -c 'echo $$ > \"$0\" && exec \"$1\"' {}/tasks {}",
                    group.display(),
                    binary.display()
                ));
            }
            Method::CgroupV2 => {
                let group = group(v2_parent.unwrap_or(Path::new("<own cgroup>")));
                lines.push(format!("mkdir {}", group.display()));
                lines.push(format!(
                    "echo '{}' > {}/cpu.max   # {share}",
                    throttle::cpu_max(quota, period),
                    group.display()
                ));
                lines.push(format!(
                    "{run}sh -c 'echo $$ > \"$0\" && exec \"$1\"' {}/cgroup.procs {}",
                    group.display(),
                    binary.display()
                ));
            }
            Method::DutyCycle | Method::DutyCycleWall => {
                let budget = throttle::budget(mb, std::time::Duration::from_micros(period));
                lines.push(format!("{run}{}", binary.display()));
                lines.push(format!(
                    "every {period} us: SIGCONT, let it use {} us of {}, SIGSTOP for the rest   # {share}",
                    budget.as_micros(),
                    if method == Method::DutyCycle {
                        "CPU time (its CPU-time clock)"
                    } else {
                        "wall time"
                    }
                ));
            }
        }
        lines.push(format!(
            "serve up to {} invocations of POST {} (HTTP API v2 event) through the Runtime API on 127.0.0.1:<port>{}",
            options.invocations,
            options.path,
            options.stop_at_ci_percent.map_or(String::new(), |p| format!(
                ", stopping once the 95 % interval of the mean is within {p} %"
            ))
        ));
        lines.push(match method {
            Method::CgroupV1 | Method::CgroupV2 => {
                format!("kill the process; rmdir {}", group(root).display())
            }
            _ => "kill the process".to_string(),
        });
    }
    Ok(lines)
}

/// One size's run: its samples, the limit's evidence, its answer, and why it is flagged, if it is.
pub struct SizeRun {
    pub samples: Vec<Sample>,
    pub quota: Option<CpuQuota>,
    /// The first answer (status code and body), to compare across sizes.
    pub answer: Option<String>,
    pub failure: Option<String>,
}

/// The part of an answer that must not change with memory size: status code and body.
pub fn answer_key(answer: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(answer) {
        Ok(v) => format!("{} {}", v["statusCode"], v["body"]),
        Err(_) => String::from_utf8_lossy(answer).into_owned(),
    }
}

/// Whether sampling can stop: the warm durations' 95 % interval is within `percent` of their mean.
pub fn enough(samples: &[Sample], stop_at_ci_percent: Option<f64>) -> bool {
    let Some(percent) = stop_at_ci_percent else {
        return false;
    };
    let warm: Vec<f64> = samples
        .iter()
        .filter(|s| !s.is_cold())
        .map(|s| s.duration_ms)
        .collect();
    warm.len() >= crate::options::MIN_INVOCATIONS_BEFORE_STOP
        && crate::stats::precise_enough(&warm, percent / 100.0)
}

/// Runs the function at one memory size. Setting up the limit or the process is an error; what
/// the function does (fails, answers non-200 or differently) flags the size.
#[allow(clippy::too_many_arguments)]
pub fn measure(
    options: &Options,
    method: Method,
    memory_mb: u32,
    binary: &Path,
    root: &Path,
    v2_parent: Option<&Path>,
    log_dir: &Path,
    progress: &mut Progress,
) -> Result<SizeRun, LocalError> {
    if !binary.is_file() {
        return Err(LocalError::NoBinary(binary.display().to_string()));
    }
    let mut api = RuntimeApi::start().map_err(|source| LocalError::Runtime {
        memory_mb,
        log: String::new(),
        source,
    })?;
    let log_path = log_dir.join(format!("function-{memory_mb}.log"));
    let io_error = |source| LocalError::Io {
        path: log_path.display().to_string(),
        source,
    };
    let log = fs::File::create(&log_path).map_err(io_error)?;
    let log_err = log.try_clone().map_err(io_error)?;
    let started = Instant::now();
    let mut process = Throttled::spawn(
        method,
        root,
        v2_parent,
        &cgroup_name(memory_mb),
        memory_mb,
        options.cpu_period_us,
        binary,
        &lambda_env(options, memory_mb, &api.address().to_string(), binary),
        Stdio::from(log),
        Stdio::from(log_err),
    )?;
    let pid = process.pid();
    let identity = FunctionIdentity {
        arn: format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{}",
            function_name(options, memory_mb)
        ),
        timeout: FUNCTION_TIMEOUT,
    };

    let mut run = SizeRun {
        samples: Vec::new(),
        quota: None,
        answer: None,
        failure: None,
    };
    let period = Duration::from_micros(method.period_us(options.cpu_period_us));
    for i in 1..=options.invocations {
        if i > 1 {
            // Each invocation starts at a random phase of the quota period, as independent requests
            // do on Lambda: back to back, every one would start where the previous one's last
            // period left off, and a size's mean would depend on that one phase (seen as ±15 %
            // between runs at 256 MB, where an invocation needs three to four periods).
            std::thread::sleep(period.mul_f64(fastrand::f64()));
        }
        let request_id = format!("tune-{memory_mb}-{i:04}-{pid}");
        let event = event::http_api_event(&options.path, &options.payload, &request_id).to_string();
        let child = process.child();
        let alive = || match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("it exited with {status}")),
            Err(e) => Err(e.to_string()),
        };
        let invocation = match api.invoke(event.as_bytes(), &request_id, &identity, alive) {
            Ok(invocation) => invocation,
            Err(source) => {
                run.failure = Some(format!(
                    "invocation {i}: {source} (the function's log: {})",
                    log_path.display()
                ));
                break;
            }
        };
        if i == 1 {
            // By its first `next` the shell has moved it and exec'd the function.
            process.check_inside()?;
        }
        let status = event::response_status(&invocation.answer);
        let key = answer_key(&invocation.answer);
        if status != Some(200) {
            run.failure = Some(format!(
                "invocation {i} answered HTTP {}: {}",
                status.map_or("(none)".into(), |s| s.to_string()),
                String::from_utf8_lossy(&invocation.answer)
            ));
            break;
        }
        match &run.answer {
            None => run.answer = Some(key),
            Some(first) if *first != key => {
                run.failure = Some(format!(
                    "invocation {i} answered differently from the first: {key} vs {first}"
                ));
                break;
            }
            Some(_) => {}
        }
        let duration_ms = invocation.duration().as_secs_f64() * 1000.0;
        let init_ms = (i == 1).then(|| {
            invocation
                .next_requested_at
                .saturating_duration_since(started)
                .as_secs_f64()
                * 1000.0
        });
        let peak = fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| parse_peak_rss_mb(&s));
        let sample = Sample {
            duration_ms,
            // Lambda bills whole milliseconds, a cold start's init included.
            billed_ms: (duration_ms + init_ms.unwrap_or(0.0)).ceil().max(1.0) as u64,
            memory_mb,
            max_memory_used_mb: peak,
            init_ms,
        };
        progress.tick(memory_mb, &sample);
        run.samples.push(sample);
        if enough(&run.samples, options.stop_at_ci_percent) {
            break;
        }
    }
    run.quota = process.quota();
    drop(process);
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_is_the_memory_share_of_one_core() {
        let cases = [
            (128, 7_235),
            (256, 14_471),
            (512, 28_942),
            (1024, 57_885),
            (1769, 100_000),
            (3008, 170_039),
        ];
        for (mb, want) in cases {
            assert_eq!(quota_us(mb, 100_000), Some(want), "case {mb} MB");
        }
    }

    #[test]
    fn a_quota_under_the_kernel_minimum_is_refused_not_rounded_up() {
        assert_eq!(quota_us(128, 10_000), None);
        assert_eq!(quota_us(128, 20_000), Some(1_447));
        let args: Vec<String> = "local --cpu-period-us 10000 --memory 128,1769"
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let Ok(options) = crate::options::parse(&args, |_| Err(String::new())) else {
            panic!("valid options");
        };
        let error = preflight(&options, &no_cgroups(), Path::new("/nonexistent")).unwrap_err();
        assert!(
            matches!(
                error,
                LocalError::QuotaTooSmall {
                    memory_mb: 128,
                    period_us: 10_000
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn proc_status_is_read_for_peak_memory() {
        let status =
            "Name:\tpbkdf2-control\nUid:\t1000\t0\t0\t0\nVmHWM:\t   14337 kB\nVmRSS:\t 14000 kB\n";
        assert_eq!(parse_peak_rss_mb(status), Some(15));
        assert_eq!(parse_peak_rss_mb("Name: x\n"), None);
    }

    /// A machine with no cgroup quota to offer and no root (macOS-like, or WSL), with /proc.
    fn no_cgroups() -> Host {
        Host {
            uid: Some(1000),
            cgroup_v1_cpu: false,
            cgroup_v2_dir: None,
            cpu_clock: true,
        }
    }

    #[test]
    fn a_machine_without_cgroups_or_root_is_duty_cycled() {
        let Ok(options) = crate::options::parse(["local"], |_| Err(String::new())) else {
            panic!("default options");
        };
        let method = preflight(
            &options,
            &no_cgroups(),
            Path::new("/nonexistent/cgroup/cpu"),
        );
        assert_eq!(method.ok(), Some(Method::DutyCycle));
    }

    #[test]
    fn a_cgroup_method_asked_for_where_there_is_none_stops_the_run_with_a_clear_message() {
        let args = ["local", "--throttle", "cgroup-v1"];
        let Ok(options) = crate::options::parse(args, |_| Err(String::new())) else {
            panic!("valid options");
        };
        let error = preflight(
            &options,
            &no_cgroups(),
            Path::new("/nonexistent/cgroup/cpu"),
        )
        .unwrap_err();
        assert!(matches!(error, LocalError::NoCpuController(_)));
        assert!(
            error.to_string().contains("nothing was measured"),
            "{error}"
        );
    }

    #[test]
    fn answers_compare_on_status_and_body_only() {
        let a = br#"{"statusCode":200,"headers":{"x-request-id":"1"},"body":"{\"hash\":\"ab\"}"}"#;
        let b = br#"{"statusCode":200,"headers":{"x-request-id":"2"},"body":"{\"hash\":\"ab\"}"}"#;
        let c = br#"{"statusCode":200,"headers":{},"body":"{\"hash\":\"ac\"}"}"#;
        assert_eq!(answer_key(a), answer_key(b));
        assert_ne!(answer_key(a), answer_key(c));
    }

    fn warm(durations: &[f64]) -> Vec<Sample> {
        durations
            .iter()
            .map(|&duration_ms| Sample {
                duration_ms,
                billed_ms: duration_ms.ceil() as u64,
                memory_mb: 128,
                max_memory_used_mb: None,
                init_ms: None,
            })
            .collect()
    }

    #[test]
    fn sampling_stops_once_precise_and_never_before_five_warm_samples() {
        let steady = warm(&[100.0, 101.0, 99.0, 100.5, 99.5]);
        assert!(enough(&steady, Some(5.0)));
        assert!(!enough(&steady[..4], Some(5.0)), "four samples are too few");
        assert!(!enough(&steady, None), "--stop-at-ci 0 never stops early");
        assert!(!enough(&warm(&[10.0, 12.0, 11.0, 13.0, 9.0]), Some(5.0)));
    }

    #[test]
    fn a_cgroup_that_cannot_be_created_is_an_error() {
        let error = CpuCgroup::create(Path::new("/nonexistent/cgroup/cpu"), "x", 1000, 100_000);
        assert!(matches!(error, Err(LocalError::CreateCgroup { .. })));
    }

    #[test]
    fn the_function_gets_lambdas_variables_and_no_caller_secrets() {
        let args: Vec<String> = ["local"].map(str::to_string).to_vec();
        let Ok(options) = crate::options::parse(&args, |_| Err(String::new())) else {
            panic!("default options");
        };
        let env = lambda_env(&options, 512, "127.0.0.1:9", Path::new("target/release/x"));
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("AWS_LAMBDA_RUNTIME_API"), Some("127.0.0.1:9"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), Some("512"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_NAME"), Some("pbkdf2-control-512"));
        assert_eq!(get("PBKDF2_MAX_ITERATIONS"), Some("1000000"));
        assert_eq!(get("LAMBDA_TASK_ROOT"), Some("target/release"));
        assert_eq!(get("AWS_SECRET_ACCESS_KEY"), None);
    }
}
