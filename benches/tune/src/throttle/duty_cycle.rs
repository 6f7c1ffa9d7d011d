//! Throttling by duty cycling (`SIGSTOP`/`SIGCONT`, as `cpulimit` does): no root, no cgroups; on
//! a CPU-time budget per period where the process's CPU time can be read, else on the wall clock.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::process_cpu_ns;
use crate::model::CpuQuota;

/// Below this the budget left in a period is treated as spent (the sleep's own granularity).
const MIN_SLICE: Duration = Duration::from_micros(50);

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

    pub(super) fn quota(&self) -> CpuQuota {
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
