//! `tune local` on the path most attendees get: no root and no cgroups. A real Lambda binary (the
//! PBKDF2 control handler, `examples/pbkdf2_function.rs`) is held to its CPU share by duty cycling
//! (SIGSTOP/SIGCONT); as root the run drops to uid 65534 with `setpriv` first, so nothing in it
//! can lean on root. Takes a few seconds: a small payload, two sizes, a handful of invocations.

use std::path::{Path, PathBuf};
use std::process::Command;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/local_duty_cycle-<hash> → target/<profile>/examples/<name>
    let me = std::env::current_exe().expect("own path");
    let dir = me.parent().and_then(Path::parent).expect("target dir");
    let binary = dir.join("examples").join(name);
    assert!(
        binary.is_file(),
        "{} is missing: `cargo test -p tune` builds it",
        binary.display()
    );
    binary
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))?
                .split_whitespace()
                .nth(2)
                .map(|uid| uid == "0")
        })
        .unwrap_or(false)
}

#[test]
#[cfg(target_os = "linux")]
fn tune_local_runs_without_root_or_cgroups_and_reports_its_method() {
    let out = std::env::temp_dir().join(format!("tune-duty-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    // The unprivileged user must be able to write the report.
    Command::new("chmod").arg("777").arg(&out).status().unwrap();
    let report_dir = out.join("report");
    let payload = r#"{"password":"correct horse battery staple","salt":"NaCl-and-pepper","iterations":5000,"keyLength":32}"#;
    let mut tune = PathBuf::from(env!("CARGO_BIN_EXE_tune"));
    let mut function = example("pbkdf2_function");
    if is_root() {
        // uid 65534 may not be able to reach the checkout (a clone in root's home, mode 700):
        // it runs copies, in the world-readable folder it writes its report to.
        let bin = out.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for binary in [&mut tune, &mut function] {
            let copy = bin.join(binary.file_name().unwrap());
            std::fs::copy(&*binary, &copy).unwrap();
            *binary = copy;
        }
        Command::new("chmod")
            .arg("-R")
            .arg("a+rX")
            .arg(&bin)
            .status()
            .unwrap();
        let reachable = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "test",
                "-x",
            ])
            .arg(&tune)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            reachable,
            "uid 65534 cannot run {} (is the temporary folder {} closed to other users? set TMPDIR to one that is not)",
            tune.display(),
            std::env::temp_dir().display()
        );
    }
    let args = [
        "local",
        "--throttle",
        "duty-cycle",
        "--memory",
        "256,1769",
        "--invocations",
        "4",
        "--stop-at-ci",
        "0",
        "--payload",
        payload,
        "--binary",
        function.to_str().unwrap(),
        "--output",
        report_dir.to_str().unwrap(),
        "--max-p99-ms",
        "0.001",
    ];
    let mut command = if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&tune);
        c
    } else {
        Command::new(&tune)
    };
    let result = command.args(args).env_clear().output().expect("tune runs");
    let stderr = String::from_utf8_lossy(&result.stderr);
    let report = std::fs::read_to_string(report_dir.join("report.md")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&out);

    // The gate (a p99 of 1 µs cannot be met) fails the run after the report is written.
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("gate: "), "{stderr}");
    assert!(stderr.contains("over --max-p99-ms 0.001"), "{stderr}");
    assert!(
        report.contains("**Method:** `duty-cycle`"),
        "the report names its method:\n{report}"
    );
    assert!(report.contains("known error"), "{report}");
    for size in ["| 256 |", "| 1769 |"] {
        assert!(report.contains(size), "{size} missing:\n{report}");
    }
    assert!(
        !report.contains("flagged, left out"),
        "identical answers:\n{report}"
    );
    // 256 MB is duty cycled: its share, the periods it was stopped in, and a mean well above
    // 1769 MB's (a full core, never stopped), which it could not have without the stops.
    let cells = |size: &str| -> Vec<String> {
        let row = report.lines().find(|l| l.starts_with(size)).unwrap();
        row.split('|').map(|c| c.trim().to_string()).collect()
    };
    let (small, full) = (cells("| 256 |"), cells("| 1769 |"));
    assert_eq!(small[2], "14.5% of a core", "{small:?}");
    let stopped: u64 = small[10]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(stopped > 0, "never stopped: {small:?}");
    let mean = |cells: &[String]| cells[3].parse::<f64>().unwrap();
    assert!(
        mean(&small) > 2.0 * mean(&full),
        "256 MB {} ms vs 1769 MB {} ms",
        mean(&small),
        mean(&full)
    );
}
