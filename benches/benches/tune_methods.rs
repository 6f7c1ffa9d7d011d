//! The local tuning methods against each other (`benches/tune`): the release `pbkdf2-control` at
//! the same memory sizes and the same payload, held to MB/1769 of a core by the cgroup v1 quota
//! (where this machine allows it: root and the v1 `cpu` controller), by duty cycling on a CPU-time
//! budget, and by duty cycling on the wall clock. Per size the methods run one after another
//! (interleaved, so a change of machine load falls on all of them), `INVOCATIONS` each, no early
//! stop; the figure is the mean warm duration after outliers, as the tune report shows it.
//!
//! Prints one `tune methods {MB} MB: …` line per size and a last line with the largest
//! disagreement of each duty-cycle method from the cgroup quota (the target: within 10 %).
//! Needs the release `pbkdf2-control` binary (`./build.sh bench` builds it).

use std::path::{Path, PathBuf};

use tune::cost::ARM64_US_EAST_1;
use tune::local::{self, CGROUP_CPU_ROOT};
use tune::progress::Progress;
use tune::throttle::{self, Host, Method};

const SIZES: [u32; 5] = [128, 256, 512, 1024, 1769];
const INVOCATIONS: u32 = 40;
const FUNCTION: &str = "pbkdf2-control";

fn function_binary() -> PathBuf {
    let me = std::env::current_exe().expect("own path");
    // target/release/deps/tune_methods-<hash> → target/release/pbkdf2-control
    let binary = me
        .parent()
        .and_then(Path::parent)
        .expect("target directory")
        .join(FUNCTION);
    assert!(
        binary.is_file(),
        "{} is missing: `cargo build --release --bin {FUNCTION}` (./build.sh bench does)",
        binary.display()
    );
    binary
}

/// Mean warm duration (ms) of `INVOCATIONS` invocations at `mb` by `method`.
fn mean_ms(method: Method, mb: u32, binary: &Path, host: &Host, logs: &Path) -> f64 {
    let args = [
        "local".to_string(),
        "--function".into(),
        FUNCTION.into(),
        "--memory".into(),
        mb.to_string(),
        "--invocations".into(),
        INVOCATIONS.to_string(),
        "--stop-at-ci".into(),
        "0".into(),
        "--throttle".into(),
        method.name().into(),
    ];
    let options = tune::options::parse(&args, |_| Err("no files".into())).expect("options");
    let mut progress = Progress::new(INVOCATIONS as usize);
    let run = local::measure(
        &options,
        method,
        mb,
        binary,
        Path::new(CGROUP_CPU_ROOT),
        host.cgroup_v2_dir.as_deref(),
        logs,
        &mut progress,
    )
    .unwrap_or_else(|e| panic!("{} at {mb} MB: {e}", method.name()));
    assert!(run.failure.is_none(), "{:?}", run.failure);
    tune::tuning::summarise(mb, &run.samples, &ARM64_US_EAST_1)
        .expect("samples")
        .duration
        .mean
}

fn main() {
    let binary = function_binary();
    let host = Host::probe(Path::new(CGROUP_CPU_ROOT));
    let reference = [Method::CgroupV1, Method::CgroupV2]
        .into_iter()
        .find(|m| throttle::unavailable(*m, &host, Path::new(CGROUP_CPU_ROOT)).is_none());
    let duty: Vec<Method> = [Method::DutyCycle, Method::DutyCycleWall]
        .into_iter()
        .filter(|m| throttle::unavailable(*m, &host, Path::new(CGROUP_CPU_ROOT)).is_none())
        .collect();
    let logs = std::env::temp_dir().join(format!("tune-methods-{}", std::process::id()));
    std::fs::create_dir_all(&logs).expect("log folder");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "tune methods: {FUNCTION} (PBKDF2, 100,000 iterations), {INVOCATIONS} invocations per size and method at random phases of 20 ms periods, methods interleaved per size; load average at start {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let Some(reference) = reference else {
        println!(
            "tune methods: no cgroup quota can be set here (no root or no cgroup cpu controller): agreement not measured"
        );
        return;
    };
    let mut worst = vec![0.0f64; duty.len()];
    for mb in SIZES {
        let base = mean_ms(reference, mb, &binary, &host, &logs);
        let mut cells = vec![format!("{} {base:.1} ms", reference.name())];
        for (i, &method) in duty.iter().enumerate() {
            let mean = mean_ms(method, mb, &binary, &host, &logs);
            let ratio = mean / base;
            worst[i] = worst[i].max((ratio - 1.0).abs());
            cells.push(format!("{} {mean:.1} ms ({ratio:.3})", method.name()));
        }
        println!("tune methods {mb} MB: {}", cells.join(", "));
    }
    let summary: Vec<String> = duty
        .iter()
        .zip(&worst)
        .map(|(m, w)| format!("{} {:.1} %", m.name(), w * 100.0))
        .collect();
    println!(
        "tune methods agreement: largest difference from {} in mean duration: {} (target <= 10 %)",
        reference.name(),
        summary.join(", ")
    );
    let _ = std::fs::remove_dir_all(&logs);
}
