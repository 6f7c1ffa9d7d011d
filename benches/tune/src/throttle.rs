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
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod cgroup_v1;
mod cgroup_v2;
mod duty_cycle;

pub use crate::model::MAX_DUTY_PERIOD_US;
pub use crate::model::Method;
use crate::model::{CpuQuota, FULL_CORE_MB, LocalError};
pub use cgroup_v1::{CGROUP_CPU_ROOT, CpuCgroup, remove_stale_cgroups, spawn_in_cgroup};
pub use cgroup_v2::{CgroupV2, cpu_max, parse_v2_cpu_stat, parse_v2_path};
use cgroup_v2::{own_cgroup_v2_dir, v2_usable};
pub use duty_cycle::DutyCycle;

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
            crate::model::quota_us(memory_mb, period_us).ok_or(LocalError::QuotaTooSmall {
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
    use std::time::Instant;

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
