//! The local path: the function's release binary, run as Lambda runs it (behind a Runtime API, see
//! [`crate::runtime_api`]) and held to Lambda's CPU share for each memory size by a cgroup v1 CPU
//! quota of `MB/1769` of one core (`cpu.cfs_quota_us` against a 100 ms `cpu.cfs_period_us`).
//!
//! The process is moved into the cgroup before the function's code starts (`sh` writes its own pid
//! to `tasks`, then `exec`s the binary), and its membership is checked in `/proc/<pid>/cgroup`. Where
//! any of that is impossible the run stops with an error: it never measures without the quota.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::event;
use crate::options::Options;
use crate::progress::Progress;
use crate::report_line::Sample;
use crate::runtime_api::{FunctionIdentity, RuntimeApi, RuntimeError};
use crate::tuning::CpuQuota;

pub const CGROUP_CPU_ROOT: &str = "/sys/fs/cgroup/cpu";
/// The memory size at which Lambda gives one full vCPU.
pub const FULL_CORE_MB: u32 = 1769;
/// The kernel refuses quotas under 1 ms.
const MIN_QUOTA_US: u64 = 1_000;
/// The functions' timeout in `template.yaml` (30 s for the PBKDF2 family).
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);
/// What `template.yaml` sets for the PBKDF2 family.
const FUNCTION_ENV: [(&str, &str); 2] =
    [("PBKDF2_MAX_ITERATIONS", "1000000"), ("RUST_LOG", "info")];

/// The CPU quota that gives `memory_mb` Lambda's share of a core, or `None` where that share of the
/// period is under the kernel's 1 ms minimum (a longer period is needed then).
pub fn quota_us(memory_mb: u32, period_us: u64) -> Option<u64> {
    Some(period_us * u64::from(memory_mb) / u64::from(FULL_CORE_MB)).filter(|q| *q >= MIN_QUOTA_US)
}

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

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(
        "no cgroup v1 CPU controller at {0} (no {0}/cpu.cfs_quota_us): this machine cannot hold the \
         function to Lambda's CPU share, so nothing was measured (cgroup v2 is not supported)"
    )]
    NoCpuController(String),
    #[error(
        "creating CPU-quota cgroups needs root (effective uid is {0}); run as root, nothing was measured"
    )]
    NotRoot(u32),
    #[error(
        "{memory_mb} MB is {memory_mb}/1769 of a core, under the kernel's 1 ms minimum quota in a \
         {period_us} us period; use a longer --cpu-period-us"
    )]
    QuotaTooSmall { memory_mb: u32, period_us: u64 },
    #[error("cannot create the cgroup {path}: {source}; nothing was measured")]
    CreateCgroup { path: String, source: io::Error },
    #[error("cannot write {value} to {file}: {source}; nothing was measured at this size")]
    WriteCgroup {
        file: String,
        value: String,
        source: io::Error,
    },
    #[error("{file} reads {found}, not the quota {wanted} written to it; nothing was measured")]
    QuotaNotApplied {
        file: String,
        wanted: u64,
        found: String,
    },
    #[error(
        "the function binary {0} does not exist: build it with `cargo build --release -p pbkdf2-fn` or pass --binary"
    )]
    NoBinary(String),
    #[error("cannot start {binary}: {source}")]
    Spawn { binary: String, source: io::Error },
    #[error(
        "the function process {pid} is not in the cgroup {cgroup} (its /proc/{pid}/cgroup: {found}); the result would be unthrottled"
    )]
    NotInCgroup {
        pid: u32,
        cgroup: String,
        found: String,
    },
    #[error("at {memory_mb} MB: {source} (the function's log: {log})")]
    Runtime {
        memory_mb: u32,
        log: String,
        source: RuntimeError,
    },
    #[error("at {memory_mb} MB the function answered HTTP {status}, not 200: {answer}")]
    HttpStatus {
        memory_mb: u32,
        status: String,
        answer: String,
    },
    #[error("cannot write {path}: {source}")]
    Io { path: String, source: io::Error },
}

/// Checks that CPU quotas can be set here, before anything runs.
pub fn preflight(options: &Options, root: &Path) -> Result<(), LocalError> {
    quotas(options)?;
    if !root.join("cpu.cfs_quota_us").is_file() {
        return Err(LocalError::NoCpuController(root.display().to_string()));
    }
    match effective_uid() {
        Some(0) => Ok(()),
        Some(uid) => Err(LocalError::NotRoot(uid)),
        // Unknown: creating the cgroup will tell.
        None => Ok(()),
    }
}

/// Removes `lambda-tune-<pid>-<MB>` cgroups left by a run that was interrupted (Ctrl-C skips the
/// clean-up): only those whose run is gone, and `rmdir` only succeeds on an empty cgroup anyway.
/// Returns the names removed.
pub fn remove_stale_cgroups(root: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = stale_run_pid(&name) else {
            continue;
        };
        let alive = Path::new("/proc").join(pid.to_string()).exists();
        if !alive && fs::remove_dir(entry.path()).is_ok() {
            removed.push(name);
        }
    }
    removed
}

/// The pid of the run that named a cgroup `lambda-tune-<pid>-<MB>`.
fn stale_run_pid(name: &str) -> Option<u32> {
    let (pid, memory) = name.strip_prefix("lambda-tune-")?.split_once('-')?;
    memory.parse::<u32>().ok()?;
    pid.parse().ok()
}

fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    parse_effective_uid(&status)
}

/// The second field of `Uid:` in `/proc/<pid>/status` (real, effective, saved, filesystem).
fn parse_effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// `VmHWM` (peak resident memory) from `/proc/<pid>/status`, in whole MB rounded up.
fn parse_peak_rss_mb(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    u32::try_from(kb.div_ceil(1024)).ok()
}

/// `nr_throttled` and `throttled_time` (ns) from a cgroup v1 `cpu.stat`.
fn parse_cpu_stat(stat: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        stat.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
    };
    Some((field("nr_throttled ")?, field("throttled_time ")?))
}

/// A cgroup with a CPU quota, removed again when dropped (after its processes are gone).
pub struct CpuCgroup {
    path: PathBuf,
    quota_us: u64,
    period_us: u64,
}

impl CpuCgroup {
    pub fn create(
        root: &Path,
        name: &str,
        quota_us: u64,
        period_us: u64,
    ) -> Result<Self, LocalError> {
        let path = root.join(name);
        fs::create_dir(&path).map_err(|source| LocalError::CreateCgroup {
            path: path.display().to_string(),
            source,
        })?;
        let group = Self {
            path,
            quota_us,
            period_us,
        };
        group.write("cpu.cfs_period_us", period_us)?;
        group.write("cpu.cfs_quota_us", quota_us)?;
        let file = group.path.join("cpu.cfs_quota_us");
        let found = fs::read_to_string(&file).unwrap_or_default();
        if found.trim().parse::<u64>().ok() != Some(quota_us) {
            return Err(LocalError::QuotaNotApplied {
                file: file.display().to_string(),
                wanted: quota_us,
                found: found.trim().to_string(),
            });
        }
        Ok(group)
    }

    fn write(&self, file: &str, value: u64) -> Result<(), LocalError> {
        let file = self.path.join(file);
        fs::write(&file, value.to_string()).map_err(|source| LocalError::WriteCgroup {
            file: file.display().to_string(),
            value: value.to_string(),
            source,
        })
    }

    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn quota(&self) -> CpuQuota {
        let stat = fs::read_to_string(self.path.join("cpu.stat")).unwrap_or_default();
        let (throttled_periods, throttled_ns) = parse_cpu_stat(&stat).unwrap_or((0, 0));
        CpuQuota {
            quota_us: self.quota_us,
            period_us: self.period_us,
            throttled_periods,
            throttled_ms: throttled_ns as f64 / 1e6,
        }
    }

    /// Whether `/proc/<pid>/cgroup` puts the process in this group on the CPU hierarchy.
    pub fn holds(&self, pid: u32) -> Result<(), LocalError> {
        let found = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let wanted = format!("/{}", self.name());
        let inside = found.lines().any(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next(), parts.next(), parts.next());
            controllers.is_some_and(|c| c.split(',').any(|c| c == "cpu"))
                && path == Some(wanted.as_str())
        });
        if inside {
            Ok(())
        } else {
            Err(LocalError::NotInCgroup {
                pid,
                cgroup: self.path.display().to_string(),
                found: found.replace('\n', " "),
            })
        }
    }
}

impl Drop for CpuCgroup {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir(&self.path) {
            eprintln!(
                "warning: could not remove the cgroup {}: {e}; remove it with rmdir",
                self.path.display()
            );
        }
    }
}

/// The function process, killed and reaped when dropped (so its cgroup can go).
struct FunctionProcess(Child);

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `binary` with exactly `env`, already inside `group`: `sh` writes its own pid to `tasks`
/// and then becomes the binary, so none of the binary's code runs outside the quota.
pub fn spawn_in_cgroup(
    group: &CpuCgroup,
    binary: &Path,
    env: &[(String, String)],
    stdout: Stdio,
    stderr: Stdio,
) -> Result<Child, LocalError> {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"echo $$ > "$0" && exec "$1""#)
        .arg(group.path.join("tasks"))
        .arg(binary)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|source| LocalError::Spawn {
            binary: binary.display().to_string(),
            source,
        })
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

/// The environment Lambda gives the function, plus what `template.yaml` sets. Nothing else from the
/// caller's environment (credentials included) reaches the function.
fn lambda_env(options: &Options, memory_mb: u32, runtime_api: &str) -> Vec<(String, String)> {
    let name = function_name(options, memory_mb);
    let mut env = vec![
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local/tune".to_string()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
        (
            "AWS_EXECUTION_ENV",
            "AWS_Lambda_rapid_local_tune".to_string(),
        ),
        ("_HANDLER", "bootstrap".to_string()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_string()),
        ("TZ", ":UTC".to_string()),
    ];
    env.extend(FUNCTION_ENV.iter().map(|(k, v)| (*k, v.to_string())));
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn cgroup_name(memory_mb: u32) -> String {
    format!("lambda-tune-{}-{memory_mb}", std::process::id())
}

/// What a local run would do, step by step, for `--dry-run`.
pub fn plan(options: &Options, binary: &Path, root: &Path) -> Result<Vec<String>, LocalError> {
    let period = options.cpu_period_us;
    let mut lines = vec![format!(
        "check {}/cpu.cfs_quota_us exists and the effective uid is 0",
        root.display()
    )];
    for (mb, quota) in quotas(options)? {
        let group = root.join(cgroup_name(mb));
        let env: Vec<String> = lambda_env(options, mb, "127.0.0.1:<port>")
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        lines.push(format!("mkdir {}", group.display()));
        lines.push(format!(
            "echo {period} > {}/cpu.cfs_period_us",
            group.display()
        ));
        lines.push(format!(
            "echo {quota} > {}/cpu.cfs_quota_us   # {mb}/{FULL_CORE_MB} of a core = {:.1}%",
            group.display(),
            quota as f64 / period as f64 * 100.0
        ));
        lines.push(format!(
            "env -i {} sh -c 'echo $$ > \"$0\" && exec \"$1\"' {}/tasks {}",
            env.join(" "),
            group.display(),
            binary.display()
        ));
        lines.push(format!(
            "serve {} invocations of POST {} (HTTP API v2 event) through the Runtime API on 127.0.0.1:<port>",
            options.invocations, options.path
        ));
        lines.push(format!("kill the process; rmdir {}", group.display()));
    }
    Ok(lines)
}

/// Runs the function at one memory size and returns its samples and the quota's evidence.
pub fn measure(
    options: &Options,
    memory_mb: u32,
    binary: &Path,
    root: &Path,
    log_dir: &Path,
    progress: &mut Progress,
) -> Result<(Vec<Sample>, CpuQuota), LocalError> {
    if !binary.is_file() {
        return Err(LocalError::NoBinary(binary.display().to_string()));
    }
    let period = options.cpu_period_us;
    let quota = quota_us(memory_mb, period).ok_or(LocalError::QuotaTooSmall {
        memory_mb,
        period_us: period,
    })?;
    let group = CpuCgroup::create(root, &cgroup_name(memory_mb), quota, period)?;
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
    let child = spawn_in_cgroup(
        &group,
        binary,
        &lambda_env(options, memory_mb, &api.address().to_string()),
        Stdio::from(log),
        Stdio::from(log_err),
    )?;
    let mut process = FunctionProcess(child);
    let pid = process.0.id();
    let identity = FunctionIdentity {
        arn: format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{}",
            function_name(options, memory_mb)
        ),
        timeout: FUNCTION_TIMEOUT,
    };
    let runtime_error = |source| LocalError::Runtime {
        memory_mb,
        log: log_path.display().to_string(),
        source,
    };

    let mut samples = Vec::new();
    for i in 1..=options.invocations {
        let request_id = format!("tune-{memory_mb}-{i:04}-{pid}");
        let event = event::http_api_event(&options.path, &options.payload, &request_id).to_string();
        let alive = || match process.0.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("it exited with {status}")),
            Err(e) => Err(e.to_string()),
        };
        let invocation = api
            .invoke(event.as_bytes(), &request_id, &identity, alive)
            .map_err(runtime_error)?;
        if i == 1 {
            // By its first `next` the shell has written the pid and exec'd the function.
            group.holds(pid)?;
        }
        let status = event::response_status(&invocation.answer);
        if status != Some(200) {
            return Err(LocalError::HttpStatus {
                memory_mb,
                status: status.map_or("(none)".into(), |s| s.to_string()),
                answer: String::from_utf8_lossy(&invocation.answer).into_owned(),
            });
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
        samples.push(sample);
    }
    let quota = group.quota();
    drop(process);
    drop(group);
    Ok((samples, quota))
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
        let error = preflight(&options, Path::new("/nonexistent")).unwrap_err();
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
    fn only_cgroups_named_by_a_run_count_as_leftovers() {
        assert_eq!(stale_run_pid("lambda-tune-4242-128"), Some(4242));
        assert_eq!(stale_run_pid("lambda-tune-test-4242"), None);
        assert_eq!(stale_run_pid("lambda-tune-4242"), None);
        assert_eq!(stale_run_pid("user.slice"), None);
    }

    #[test]
    fn leftovers_of_a_run_that_is_gone_are_removed_and_others_kept() {
        let root = std::env::temp_dir().join(format!("tune-stale-{}", std::process::id()));
        let gone = "lambda-tune-4194999-128"; // above the largest pid Linux allows (4194304), so never alive
        let alive = format!("lambda-tune-{}-256", std::process::id());
        for name in [gone, &alive, "other"] {
            fs::create_dir_all(root.join(name)).unwrap();
        }
        let removed = remove_stale_cgroups(&root);
        let left: Vec<bool> = [gone, &alive, "other"]
            .iter()
            .map(|n| root.join(n).exists())
            .collect();
        let _ = fs::remove_dir_all(&root);
        assert_eq!(removed, [gone]);
        assert_eq!(left, [false, true, true]);
    }

    #[test]
    fn proc_files_are_read_for_uid_peak_memory_and_throttling() {
        let status =
            "Name:\tpbkdf2-control\nUid:\t1000\t0\t0\t0\nVmHWM:\t   14337 kB\nVmRSS:\t 14000 kB\n";
        assert_eq!(parse_effective_uid(status), Some(0));
        assert_eq!(parse_peak_rss_mb(status), Some(15));
        assert_eq!(parse_peak_rss_mb("Name: x\n"), None);
        let stat = "nr_periods 120\nnr_throttled 97\nthrottled_time 8123456789\nnr_bursts 0\n";
        assert_eq!(parse_cpu_stat(stat), Some((97, 8_123_456_789)));
        assert_eq!(parse_cpu_stat(""), None);
    }

    #[test]
    fn a_missing_cpu_controller_stops_the_run_with_a_clear_message() {
        let args = ["local".to_string()];
        let Ok(options) = crate::options::parse(&args, |_| Err(String::new())) else {
            panic!("default options");
        };
        let error = preflight(&options, Path::new("/nonexistent/cgroup/cpu")).unwrap_err();
        assert!(matches!(error, LocalError::NoCpuController(_)));
        assert!(
            error.to_string().contains("nothing was measured"),
            "{error}"
        );
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
        let env = lambda_env(&options, 512, "127.0.0.1:9");
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("AWS_LAMBDA_RUNTIME_API"), Some("127.0.0.1:9"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), Some("512"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_NAME"), Some("pbkdf2-control-512"));
        assert_eq!(get("PBKDF2_MAX_ITERATIONS"), Some("1000000"));
        assert_eq!(get("AWS_SECRET_ACCESS_KEY"), None);
    }
}
