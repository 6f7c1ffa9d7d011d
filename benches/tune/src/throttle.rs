//! How the local run holds the function to Lambda's CPU share (`MB/1769` of one core), by one of
//! four methods, chosen with `--throttle` or found by [`detect`]:
//!
//! - **cgroup v1** (`cpu.cfs_quota_us` against `cpu.cfs_period_us`): needs root and the v1 `cpu`
//!   controller (older Linux, this workshop's reference machine);
//! - **cgroup v2** (`cpu.max`): in a subtree this user may write with the `cpu` controller enabled,
//!   e.g. inside `systemd-run --user --scope -p Delegate=yes`, or as root on a v2-only system;
//! - **duty cycle** (`SIGSTOP`/`SIGCONT`, as `cpulimit` does): no root, no cgroups. Each period of at
//!   most 20 ms the function may use `period × MB/1769` of CPU time, read from its POSIX CPU-time
//!   clock (`clock_getcpuclockid`, nanoseconds); when that budget is spent it is stopped until
//!   the period ends, which is what the kernel's CFS bandwidth control does with a cgroup quota;
//! - **duty cycle, wall clock**: where the CPU time cannot be read (macOS), it runs for
//!   `period × MB/1769` of each period and is stopped for the rest, busy or not; an invocation
//!   that arrives in the stopped part waits up to one period more than under a quota.
//!
//! The known error of each method is stated in the report ([`Method::known_error`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::local::{CpuCgroup, FULL_CORE_MB, LocalError};
use crate::tuning::CpuQuota;

/// The longest duty-cycle period: longer ones let a short invocation run unthrottled.
pub const MAX_DUTY_PERIOD_US: u64 = 20_000;
/// Below this the budget left in a period is treated as spent (the sleep's own granularity).
const MIN_SLICE: Duration = Duration::from_micros(50);

/// A throttling method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    CgroupV1,
    CgroupV2,
    DutyCycle,
    DutyCycleWall,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Self::CgroupV1 => "cgroup-v1",
            Self::CgroupV2 => "cgroup-v2",
            Self::DutyCycle => "duty-cycle",
            Self::DutyCycleWall => "duty-cycle-wall",
        }
    }

    /// In words, for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Self::CgroupV1 => "a cgroup v1 CPU quota (cpu.cfs_quota_us / cpu.cfs_period_us)",
            Self::CgroupV2 => "a cgroup v2 CPU quota (cpu.max)",
            Self::DutyCycle => {
                "duty cycling with SIGSTOP/SIGCONT on a CPU-time budget per period (no root, no cgroups)"
            }
            Self::DutyCycleWall => {
                "duty cycling with SIGSTOP/SIGCONT on the wall clock (no root, no cgroups, no CPU-time reading)"
            }
        }
    }

    /// What is known of its error against Lambda's CPU share (see benches/tune/README.md).
    pub fn known_error(self) -> &'static str {
        match self {
            Self::CgroupV1 | Self::CgroupV2 => {
                "the kernel's own CPU bandwidth control, the reference the other methods are checked against"
            }
            Self::DutyCycle => {
                "mean durations within 10 % of the cgroup v1 quota's from 512 MB up, and 7 to 19 % apart at \
                 128 and 256 MB, in eight runs on the reference machine (benches/tune/README.md)"
            }
            Self::DutyCycleWall => {
                "mean durations up to 60 % longer than the cgroup v1 quota's (at 1024 MB) on the reference \
                 machine (benches/tune/README.md): the function is stopped for the rest of every period \
                 whether it used its share or not, and an invocation arriving then waits"
            }
        }
    }

    /// The period this method works in: the cgroup period as given; duty cycling at most 20 ms.
    pub fn period_us(self, cpu_period_us: u64) -> u64 {
        match self {
            Self::CgroupV1 | Self::CgroupV2 => cpu_period_us,
            Self::DutyCycle | Self::DutyCycleWall => cpu_period_us.min(MAX_DUTY_PERIOD_US),
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::CgroupV1,
            Self::CgroupV2,
            Self::DutyCycle,
            Self::DutyCycleWall,
        ]
        .into_iter()
        .find(|m| m.name() == text)
    }
}

/// What this machine offers, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub uid: Option<u32>,
    /// `/sys/fs/cgroup/cpu` has `cpu.cfs_quota_us`.
    pub cgroup_v1_cpu: bool,
    /// Our own cgroup v2 directory, when the `cpu` controller is available there and it is writable.
    pub cgroup_v2_dir: Option<PathBuf>,
    /// Another process's CPU time can be read (Linux: `clock_getcpuclockid`).
    pub cpu_clock: bool,
}

impl Host {
    pub fn probe(v1_root: &Path) -> Self {
        Self {
            uid: effective_uid(),
            cgroup_v1_cpu: v1_root.join("cpu.cfs_quota_us").is_file(),
            cgroup_v2_dir: own_cgroup_v2_dir().filter(|dir| v2_usable(dir)),
            cpu_clock: process_cpu_ns(std::process::id()).is_some(),
        }
    }
}

/// The best method this host offers: a cgroup quota where one can be set, else duty cycling.
pub fn detect(host: &Host) -> Method {
    if host.cgroup_v1_cpu && host.uid == Some(0) {
        Method::CgroupV1
    } else if host.cgroup_v2_dir.is_some() {
        Method::CgroupV2
    } else if host.cpu_clock {
        Method::DutyCycle
    } else {
        Method::DutyCycleWall
    }
}

/// Why `method` cannot run on `host`, if it cannot.
pub fn unavailable(method: Method, host: &Host, v1_root: &Path) -> Option<LocalError> {
    match method {
        Method::CgroupV1 if !host.cgroup_v1_cpu => {
            Some(LocalError::NoCpuController(v1_root.display().to_string()))
        }
        Method::CgroupV1 => match host.uid {
            Some(0) | None => None,
            Some(uid) => Some(LocalError::NotRoot(uid)),
        },
        Method::CgroupV2 if host.cgroup_v2_dir.is_none() => Some(LocalError::NoCgroupV2),
        Method::DutyCycle if !host.cpu_clock => Some(LocalError::NoCpuClock),
        _ => None,
    }
}

fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The cgroup v2 path in `/proc/self/cgroup` (the `0::/path` line).
pub fn parse_v2_path(proc_cgroup: &str) -> Option<&str> {
    proc_cgroup.lines().find_map(|l| l.strip_prefix("0::"))
}

fn own_cgroup_v2_dir() -> Option<PathBuf> {
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = parse_v2_path(&own)?.trim_start_matches('/').to_owned();
    // A v2-only system mounts it at /sys/fs/cgroup; a hybrid one at /sys/fs/cgroup/unified.
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .iter()
        .map(|mount| Path::new(mount).join(&path))
        .find(|dir| dir.join("cgroup.controllers").is_file())
}

/// Whether child cgroups with `cpu.max` can be made under `dir`: the `cpu` controller is offered
/// there and the subtree control file is writable by us.
fn v2_usable(dir: &Path) -> bool {
    let offered = fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    offered.split_whitespace().any(|c| c == "cpu")
        && fs::OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.subtree_control"))
            .is_ok()
}

/// CPU time of a whole process (every thread), in nanoseconds, from its POSIX CPU-time clock
/// (`clock_getcpuclockid`). That clock brings a running thread's count up to date when read;
/// `/proc/<pid>/task/*/schedstat` does so only at scheduler ticks (4 ms at 250 Hz), which let the
/// first version of the duty cycle overrun a 1.4 ms budget (measured: 128 MB ran at 0.61 × the
/// cgroup quota's duration). `None` where there is no such clock (macOS) or the process is gone.
#[cfg(target_os = "linux")]
pub fn process_cpu_ns(pid: u32) -> Option<u64> {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: both calls only write the out-parameters they are given.
    let rc = unsafe { libc::clock_getcpuclockid(pid as libc::pid_t, &mut clock) };
    if rc != 0 {
        return None;
    }
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let rc = unsafe { libc::clock_gettime(clock, &mut now) };
    (rc == 0).then(|| now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64)
}

#[cfg(not(target_os = "linux"))]
pub fn process_cpu_ns(_pid: u32) -> Option<u64> {
    None
}

/// The CPU budget per period for `memory_mb`: its share of one core, never more than the period.
pub fn budget(memory_mb: u32, period: Duration) -> Duration {
    period.mul_f64((f64::from(memory_mb) / f64::from(FULL_CORE_MB)).min(1.0))
}

/// `cpu.max` for a quota: `"<quota> <period>"` in microseconds.
pub fn cpu_max(quota_us: u64, period_us: u64) -> String {
    format!("{quota_us} {period_us}")
}

/// `nr_throttled` and `throttled_usec` from a cgroup v2 `cpu.stat`.
pub fn parse_v2_cpu_stat(stat: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        stat.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
    };
    Some((field("nr_throttled ")?, field("throttled_usec ")?))
}

/// A cgroup v2 child with `cpu.max`, removed when dropped.
pub struct CgroupV2 {
    path: PathBuf,
    quota_us: u64,
    period_us: u64,
}

impl CgroupV2 {
    /// Creates `parent/name` with the quota. The parent must offer `cpu` to its children: it is
    /// enabled in the parent's `cgroup.subtree_control` (which cgroup v2 allows only while the
    /// parent holds no processes itself, so our own process moves to a leaf `parent/tune` first).
    pub fn create(
        parent: &Path,
        name: &str,
        quota_us: u64,
        period_us: u64,
    ) -> Result<Self, LocalError> {
        let write = |file: PathBuf, value: String| {
            fs::write(&file, &value).map_err(|source| LocalError::WriteCgroup {
                file: file.display().to_string(),
                value,
                source,
            })
        };
        let enabled = fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
        if !enabled.split_whitespace().any(|c| c == "cpu") {
            let leaf = parent.join("tune");
            if !leaf.is_dir() {
                fs::create_dir(&leaf).map_err(|source| LocalError::CreateCgroup {
                    path: leaf.display().to_string(),
                    source,
                })?;
            }
            write(leaf.join("cgroup.procs"), std::process::id().to_string())?;
            write(parent.join("cgroup.subtree_control"), "+cpu".into())?;
        }
        let path = parent.join(name);
        fs::create_dir(&path).map_err(|source| LocalError::CreateCgroup {
            path: path.display().to_string(),
            source,
        })?;
        let group = Self {
            path,
            quota_us,
            period_us,
        };
        write(group.path.join("cpu.max"), cpu_max(quota_us, period_us))?;
        Ok(group)
    }

    fn quota(&self) -> CpuQuota {
        let stat = fs::read_to_string(self.path.join("cpu.stat")).unwrap_or_default();
        let (throttled_periods, throttled_us) = parse_v2_cpu_stat(&stat).unwrap_or((0, 0));
        CpuQuota {
            quota_us: self.quota_us,
            period_us: self.period_us,
            throttled_periods,
            throttled_ms: throttled_us as f64 / 1e3,
        }
    }
}

impl Drop for CgroupV2 {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir(&self.path) {
            eprintln!(
                "warning: could not remove the cgroup {}: {e}; remove it with rmdir",
                self.path.display()
            );
        }
    }
}

/// Counts kept by the duty-cycle controller.
#[derive(Default)]
struct DutyStats {
    stopped_periods: AtomicU64,
    stopped_us: AtomicU64,
}

/// A thread that stops and continues a process so it gets `budget` of CPU per `period`.
pub struct DutyCycle {
    pid: u32,
    budget: Duration,
    period: Duration,
    done: Arc<AtomicBool>,
    stats: Arc<DutyStats>,
    thread: Option<JoinHandle<()>>,
}

fn signal(pid: u32, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: kill only sends a signal to the process we started (still our child: not reaped).
    let rc = unsafe { libc::kill(pid as libc::pid_t, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl DutyCycle {
    /// Starts controlling `pid`. With `use_cpu_clock`, a period's budget is CPU time used; without,
    /// wall time running.
    pub fn start(pid: u32, budget: Duration, period: Duration, use_cpu_clock: bool) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(DutyStats::default());
        let thread = (budget < period).then(|| {
            let (done, stats) = (done.clone(), stats.clone());
            std::thread::spawn(move || {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
                // The CPU budget left, as the kernel's bandwidth control keeps it: each period adds
                // one budget (never above one), use is charged after the fact, and what a period
                // overran is repaid from the next ones. Another process's CPU clock may lag
                // while it runs (the kernel folds a running task's time in at ticks), so a
                // period can overrun its budget by a tick; charged here, that averages out.
                let budget_ns = budget.as_nanos() as i64;
                let mut remaining = budget_ns;
                let mut first = true;
                while !done.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    let end = start + period;
                    if !first {
                        remaining = (remaining + budget_ns).min(budget_ns);
                    }
                    first = false;
                    let cpu_at_start = if use_cpu_clock {
                        process_cpu_ns(pid)
                    } else {
                        None
                    };
                    let stopped_at = match cpu_at_start {
                        // In debt: held for the whole period.
                        Some(_) if remaining <= 0 => Some(start),
                        Some(at) => run_on_cpu_budget(
                            pid,
                            Duration::from_nanos(remaining as u64),
                            end,
                            cores,
                            at,
                        ),
                        None if use_cpu_clock => {
                            // Its clock is unreadable (it is exiting): nothing to hold this period.
                            std::thread::sleep(period);
                            continue;
                        }
                        None => {
                            std::thread::sleep(budget);
                            Some(Instant::now())
                        }
                    };
                    let Some(stopped_at) = stopped_at else {
                        if let (Some(at), Some(now)) = (cpu_at_start, process_cpu_ns(pid)) {
                            remaining -= now.saturating_sub(at) as i64;
                        }
                        continue;
                    };
                    if signal(pid, libc::SIGSTOP).is_err() {
                        return;
                    }
                    if let (Some(at), Some(now)) = (cpu_at_start, process_cpu_ns(pid)) {
                        remaining -= now.saturating_sub(at) as i64;
                    }
                    std::thread::sleep(end.saturating_duration_since(Instant::now()));
                    let _ = signal(pid, libc::SIGCONT);
                    stats.stopped_periods.fetch_add(1, Ordering::Relaxed);
                    stats
                        .stopped_us
                        .fetch_add(stopped_at.elapsed().as_micros() as u64, Ordering::Relaxed);
                }
            })
        });
        Self {
            pid,
            budget,
            period,
            done,
            stats,
            thread,
        }
    }

    fn quota(&self) -> CpuQuota {
        CpuQuota {
            quota_us: self.budget.as_micros() as u64,
            period_us: self.period.as_micros() as u64,
            throttled_periods: self.stats.stopped_periods.load(Ordering::Relaxed),
            throttled_ms: self.stats.stopped_us.load(Ordering::Relaxed) as f64 / 1e3,
        }
    }
}

/// Lets the process run until it has used `budget` of CPU since its CPU clock read `used_before`
/// (ns), or the period ends. Returns when the budget ran out (it must be stopped), or `None` at
/// the period's end with budget left. It sleeps for the budget left divided by the cores (the
/// most CPU the process can use in that time), so it never overshoots by more than one such slice
/// beyond what its clock shows.
fn run_on_cpu_budget(
    pid: u32,
    budget: Duration,
    end: Instant,
    cores: u32,
    used_before: u64,
) -> Option<Instant> {
    loop {
        let used = Duration::from_nanos(process_cpu_ns(pid)?.saturating_sub(used_before));
        let left = budget.saturating_sub(used);
        if left < MIN_SLICE {
            return Some(Instant::now());
        }
        let now = Instant::now();
        if now >= end {
            return None;
        }
        std::thread::sleep((left / cores).max(MIN_SLICE).min(end - now));
    }
}

impl Drop for DutyCycle {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = signal(self.pid, libc::SIGCONT);
    }
}

/// What holds the process to its share, kept alive as long as the process runs.
enum Holder {
    V1(CpuCgroup),
    V2(CgroupV2),
    Duty(DutyCycle),
}

/// The function process under its method, killed and reaped (then its cgroup removed) on drop.
pub struct Throttled {
    child: Child,
    // Dropped after the child is killed (see Drop).
    holder: Option<Holder>,
}

impl Throttled {
    /// Starts `binary` with exactly `env` at `memory_mb`'s share. For a cgroup, `sh` moves itself
    /// into the group and then becomes the binary, so none of the binary's code runs outside it.
    #[allow(clippy::too_many_arguments)]
    pub fn spawn(
        method: Method,
        v1_root: &Path,
        v2_parent: Option<&Path>,
        name: &str,
        memory_mb: u32,
        period_us: u64,
        binary: &Path,
        env: &[(String, String)],
        stdout: Stdio,
        stderr: Stdio,
    ) -> Result<Self, LocalError> {
        let quota =
            crate::local::quota_us(memory_mb, period_us).ok_or(LocalError::QuotaTooSmall {
                memory_mb,
                period_us,
            })?;
        let (holder, procs) = match method {
            Method::CgroupV1 => {
                let group = CpuCgroup::create(v1_root, name, quota, period_us)?;
                let tasks = group.file("tasks");
                (Some(Holder::V1(group)), Some(tasks))
            }
            Method::CgroupV2 => {
                let parent = v2_parent.ok_or(LocalError::NoCgroupV2)?;
                let group = CgroupV2::create(parent, name, quota, period_us)?;
                let procs = group.path.join("cgroup.procs");
                (Some(Holder::V2(group)), Some(procs))
            }
            Method::DutyCycle | Method::DutyCycleWall => (None, None),
        };
        let mut command = match &procs {
            Some(procs) => {
                let mut sh = Command::new("/bin/sh");
                sh.arg("-c")
                    .arg(r#"echo $$ > "$0" && exec "$1""#)
                    .arg(procs)
                    .arg(binary);
                sh
            }
            None => Command::new(binary),
        };
        let child = command
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|source| LocalError::Spawn {
                binary: binary.display().to_string(),
                source,
            })?;
        let holder = holder.or_else(|| {
            let period = Duration::from_micros(period_us.min(MAX_DUTY_PERIOD_US));
            Some(Holder::Duty(DutyCycle::start(
                child.id(),
                budget(memory_mb, period),
                period,
                method == Method::DutyCycle,
            )))
        });
        Ok(Self { child, holder })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// For a cgroup v1 method, that the process is inside its group.
    pub fn check_inside(&self) -> Result<(), LocalError> {
        match &self.holder {
            Some(Holder::V1(group)) => group.holds(self.pid()),
            _ => Ok(()),
        }
    }

    pub fn quota(&self) -> Option<CpuQuota> {
        match self.holder.as_ref()? {
            Holder::V1(group) => Some(group.quota()),
            Holder::V2(group) => Some(group.quota()),
            Holder::Duty(duty) => Some(duty.quota()),
        }
    }
}

impl Drop for Throttled {
    fn drop(&mut self) {
        // Continue a stopped process first, or the kill waits for it; a cgroup only goes once the
        // process is reaped (removing it before fails with EBUSY).
        if matches!(self.holder, Some(Holder::Duty(_))) {
            self.holder = None;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.holder = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(uid: u32, v1: bool, v2: bool, clock: bool) -> Host {
        Host {
            uid: Some(uid),
            cgroup_v1_cpu: v1,
            cgroup_v2_dir: v2.then(|| PathBuf::from("/sys/fs/cgroup/user.slice")),
            cpu_clock: clock,
        }
    }

    #[test]
    fn detection_prefers_a_kernel_quota_and_falls_back_to_duty_cycling() {
        let cases = [
            (host(0, true, false, true), Method::CgroupV1),
            (host(1000, true, false, true), Method::DutyCycle),
            (host(1000, false, true, true), Method::CgroupV2),
            (host(0, false, false, true), Method::DutyCycle),
            (host(501, false, false, false), Method::DutyCycleWall),
        ];
        for (i, (host, want)) in cases.iter().enumerate() {
            assert_eq!(detect(host), *want, "case {i}: {host:?}");
        }
    }

    #[test]
    fn a_method_the_host_lacks_is_refused_with_the_reason() {
        let root = Path::new("/sys/fs/cgroup/cpu");
        let no_root = host(1000, true, false, true);
        assert!(matches!(
            unavailable(Method::CgroupV1, &no_root, root),
            Some(LocalError::NotRoot(1000))
        ));
        assert!(matches!(
            unavailable(Method::CgroupV2, &no_root, root),
            Some(LocalError::NoCgroupV2)
        ));
        assert!(unavailable(Method::DutyCycle, &no_root, root).is_none());
        assert!(matches!(
            unavailable(Method::DutyCycle, &host(0, false, false, false), root),
            Some(LocalError::NoCpuClock)
        ));
        assert!(unavailable(Method::DutyCycleWall, &host(0, false, false, false), root).is_none());
    }

    #[test]
    fn method_names_round_trip() {
        for m in [
            Method::CgroupV1,
            Method::CgroupV2,
            Method::DutyCycle,
            Method::DutyCycleWall,
        ] {
            assert_eq!(Method::parse(m.name()), Some(m));
        }
        assert_eq!(Method::parse("cgroup"), None);
    }

    #[test]
    fn kernel_files_are_read_and_written_in_their_formats() {
        assert_eq!(
            parse_v2_path("0::/user.slice/user-1000.slice\n"),
            Some("/user.slice/user-1000.slice")
        );
        assert_eq!(parse_v2_path("4:cpu,cpuacct:/\n"), None);
        assert_eq!(cpu_max(1_447, 20_000), "1447 20000");
        let stat = "usage_usec 9\nnr_periods 10\nnr_throttled 7\nthrottled_usec 12345\n";
        assert_eq!(parse_v2_cpu_stat(stat), Some((7, 12_345)));
    }

    #[test]
    fn the_budget_is_the_memory_share_of_the_period_and_at_most_all_of_it() {
        let period = Duration::from_millis(20);
        assert_eq!(budget(1769, period), period);
        assert_eq!(budget(3008, period), period);
        let b = budget(128, period).as_secs_f64() * 1e6;
        assert!((b - 1447.1).abs() < 0.1, "{b}");
    }

    #[test]
    fn a_busy_process_cpu_time_is_read_in_nanoseconds_and_grows() {
        if process_cpu_ns(std::process::id()).is_none() {
            return; // not Linux: the wall-clock duty cycle is used there
        }
        let mut busy = Command::new("/bin/sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        let pid = busy.id();
        let before = process_cpu_ns(pid).unwrap();
        // Until 20 ms of CPU are counted (a loaded machine gives it less than wall time), bounded.
        let spin = Instant::now();
        let mut after = before;
        while after.saturating_sub(before) < 20_000_000 && spin.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
            after = process_cpu_ns(pid).unwrap_or(after);
        }
        let _ = busy.kill();
        let _ = busy.wait();
        assert!(
            after.saturating_sub(before) >= 20_000_000,
            "{before} → {after}"
        );
    }
}
