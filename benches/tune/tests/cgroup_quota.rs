//! The CPU quota on a real cgroup v1 hierarchy: a busy process started by `spawn_in_cgroup` is in
//! the cgroup and is throttled to its share. Needs root and `/sys/fs/cgroup/cpu`, so it is ignored
//! by default: `cargo test -p tune --test cgroup_quota -- --ignored` (as root).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tune::local::{CGROUP_CPU_ROOT, CpuCgroup, quota_us, spawn_in_cgroup};

/// Clock ticks a process has used (utime + stime from `/proc/<pid>/stat`).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
#[ignore = "needs root and a cgroup v1 cpu controller"]
fn a_busy_process_at_256_mb_gets_about_a_seventh_of_a_core() {
    let period = 20_000;
    let quota = quota_us(256, period).unwrap();
    let name = format!("lambda-tune-test-{}", std::process::id());
    let group = CpuCgroup::create(Path::new(CGROUP_CPU_ROOT), &name, quota, period).unwrap();
    let env = [("PATH".to_string(), "/usr/bin:/bin".to_string())];
    let mut child = spawn_in_cgroup(
        &group,
        Path::new("/usr/bin/yes"),
        &env,
        Stdio::null(),
        Stdio::null(),
    )
    .unwrap();
    let pid = child.id();
    // Polls until the shell has moved itself and exec'd (bounded), then measures for 2 s.
    let deadline = Instant::now() + Duration::from_secs(5);
    while group.holds(pid).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let inside = group.holds(pid);
    let (ticks_before, started) = (cpu_ticks(pid), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let used = (cpu_ticks(pid) - ticks_before) as f64 / 100.0 / started.elapsed().as_secs_f64();
    let throttled = group.quota().throttled_periods;
    let _ = child.kill();
    let _ = child.wait();
    drop(group);

    assert!(inside.is_ok(), "{inside:?}");
    let share = 256.0 / 1769.0;
    assert!(
        (used - share).abs() < 0.05,
        "used {used:.3} of a core, the quota allows {share:.3}"
    );
    assert!(throttled > 50, "only {throttled} throttled periods");
    assert!(
        !Path::new(CGROUP_CPU_ROOT).join(&name).exists(),
        "the cgroup was not removed"
    );
}
