//! The types every part of the tuner shares, with no dependency on any of them: the throttling
//! method, Lambda's CPU share per memory size, the quota evidence a local run collects, a flagged
//! size, and the local run's errors. The other modules depend on this one, never the reverse.

use std::io;

use crate::runtime_api::RuntimeError;

/// The longest duty-cycle period: longer ones let a short invocation run unthrottled.
pub const MAX_DUTY_PERIOD_US: u64 = 20_000;

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

/// Local-only evidence that the CPU quota was in force.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuQuota {
    pub quota_us: u64,
    pub period_us: u64,
    /// From the cgroup's `cpu.stat`: periods in which the quota ran out, and the time held back.
    pub throttled_periods: u64,
    pub throttled_ms: f64,
}

/// A memory size left out of the results: it failed, or answered differently from the others.
#[derive(Debug, Clone, PartialEq)]
pub struct Flagged {
    pub memory_mb: u32,
    pub reason: String,
}

/// The memory size at which Lambda gives one full vCPU.
pub const FULL_CORE_MB: u32 = 1769;

/// The kernel refuses quotas under 1 ms.
const MIN_QUOTA_US: u64 = 1_000;

/// The CPU quota that gives `memory_mb` Lambda's share of a core, or `None` where that share of the
/// period is under the kernel's 1 ms minimum (a longer period is needed then).
pub fn quota_us(memory_mb: u32, period_us: u64) -> Option<u64> {
    Some(period_us * u64::from(memory_mb) / u64::from(FULL_CORE_MB)).filter(|q| *q >= MIN_QUOTA_US)
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(
        "--throttle cgroup-v1: no cgroup v1 CPU controller at {0} (no {0}/cpu.cfs_quota_us); nothing \
         was measured (leave out --throttle to use what this machine has, e.g. duty-cycle)"
    )]
    NoCpuController(String),
    #[error(
        "--throttle cgroup-v1: creating CPU-quota cgroups needs root (effective uid is {0}); nothing \
         was measured (leave out --throttle to use duty-cycle, which needs no root)"
    )]
    NotRoot(u32),
    #[error(
        "--throttle cgroup-v2: no writable cgroup v2 subtree with the cpu controller here (try \
         `systemd-run --user --scope -p Delegate=yes ./build.sh tune local --throttle cgroup-v2`); \
         nothing was measured"
    )]
    NoCgroupV2,
    #[error(
        "--throttle duty-cycle: the CPU time of a process cannot be read here (no /proc/<pid>/task); \
         use duty-cycle-wall"
    )]
    NoCpuClock,
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
