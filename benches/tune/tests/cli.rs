//! The `tune` binary as a user runs it: `--dry-run` output for both targets (with no AWS CLI, no
//! credentials and no network reachable), and the messages for bad options.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `tune` with an empty environment: no PATH (so no `aws`), no credentials, no profile.
fn tune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tune"))
        .args(args)
        .env_clear()
        .output()
        .expect("the tune binary runs")
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tune-cli-{name}-{}", std::process::id()))
}

#[test]
fn aws_dry_run_prints_every_invoke_command_and_runs_none() {
    let out = scratch("aws");
    let out_arg = out.display().to_string();
    let result = tune(&[
        "dev",
        "eu-west-1",
        "workshop",
        "--dry-run",
        "--invocations",
        "2",
        "--memory",
        "128,1769",
        "--output",
        &out_arg,
    ]);
    let stdout = String::from_utf8(result.stdout).unwrap();
    assert!(
        result.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("dry run: nothing is invoked or written"),
        "{stdout}"
    );
    assert_eq!(
        lines[1],
        format!(
            "write {out_arg}/event.json: HTTP API v2 event, POST /pbkdf2, body \
             {{\"iterations\":100000,\"keyLength\":32,\"password\":\"<redacted>\",\"salt\":\"<redacted>\"}}"
        )
    );
    assert_eq!(lines[2], "4 invocations:");
    let invokes: Vec<&str> = lines[3..].to_vec();
    let want: Vec<String> = [(128, 1), (128, 2), (1769, 1), (1769, 2)]
        .into_iter()
        .map(|(mb, i)| {
            format!(
                "aws lambda invoke --function-name rust-serverless-dev-pbkdf2-control-{mb} \
                 --log-type Tail --payload fileb://{out_arg}/event.json --region eu-west-1 \
                 --profile workshop --output json --cli-read-timeout 120 \
                 {out_arg}/answers/{mb}-{i:03}.json"
            )
        })
        .collect();
    assert_eq!(invokes, want);
    assert!(!out.exists(), "a dry run wrote {out_arg}");
}

#[test]
fn aws_dry_run_defaults_cover_six_sizes_up_to_thirty_times() {
    let result = tune(&["dev", "us-east-1", "p", "--dry-run"]);
    let stdout = String::from_utf8(result.stdout).unwrap();
    assert!(result.status.success());
    for mb in [128, 256, 512, 1024, 1769, 3008] {
        let name = format!("--function-name rust-serverless-dev-pbkdf2-control-{mb} ");
        assert_eq!(stdout.matches(&name).count(), 30, "{mb} MB in\n{stdout}");
    }
    assert_eq!(stdout.matches("aws lambda invoke").count(), 180);
    assert!(
        stdout.contains(" results/tune-"),
        "default folder in\n{stdout}"
    );
}

#[test]
fn local_dry_run_lists_the_cgroup_steps_and_creates_none() {
    let result = tune(&[
        "local",
        "--dry-run",
        "--throttle",
        "cgroup-v1",
        "--cpu-period-us",
        "100000",
        "--memory",
        "128,3008",
        "--invocations",
        "5",
    ]);
    let stdout = String::from_utf8(result.stdout).unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    for text in [
        "echo 100000 > /sys/fs/cgroup/cpu/lambda-tune-",
        "-128/cpu.cfs_period_us",
        "echo 7235 > /sys/fs/cgroup/cpu/lambda-tune-",
        "# 128/1769 of a core = 7.2%",
        "echo 170039 > ",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=3008",
        "target/release/pbkdf2-control",
        "serve up to 5 invocations of POST /pbkdf2",
        "rmdir /sys/fs/cgroup/cpu/lambda-tune-",
    ] {
        assert!(stdout.contains(text), "missing {text:?} in\n{stdout}");
    }
    let groups: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("mkdir "))
        .collect();
    assert_eq!(groups.len(), 2, "one cgroup per size in\n{stdout}");
    let default_period = String::from_utf8(
        tune(&[
            "local",
            "--dry-run",
            "--throttle",
            "cgroup-v1",
            "--memory",
            "128",
        ])
        .stdout,
    )
    .unwrap();
    assert!(default_period.contains("echo 20000 > "), "{default_period}");
    assert!(default_period.contains("echo 1447 > "), "{default_period}");
    for group in groups {
        assert!(
            !std::path::Path::new(group).exists(),
            "a dry run created {group}"
        );
    }
}

#[test]
fn local_dry_run_by_duty_cycle_needs_no_cgroup_and_keeps_periods_at_most_20_ms() {
    let result = tune(&[
        "local",
        "--dry-run",
        "--throttle",
        "duty-cycle",
        "--cpu-period-us",
        "100000",
        "--memory",
        "128,1769",
    ]);
    let stdout = String::from_utf8(result.stdout).unwrap();
    assert!(result.status.success(), "{stdout}");
    assert!(
        stdout.contains("every 20000 us: SIGCONT, let it use 1447 us of CPU time"),
        "{stdout}"
    );
    assert!(stdout.contains("known error: "), "{stdout}");
    assert!(!stdout.contains("mkdir "), "no cgroup in\n{stdout}");
}

#[test]
fn bad_options_exit_2_with_the_flag_and_the_fix_in_the_message() {
    // (arguments, what the message names, the fix)
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["local", "--strategy", "fastest"],
            "'--strategy <s>'",
            "unknown strategy \"fastest\": use cost, speed or balanced",
        ),
        (
            &["local", "--weight", "2"],
            "'--weight <w>'",
            "--weight must be a number from 0 to 1",
        ),
        (
            &["local", "--memory", ""],
            "'--memory <list>'",
            "--memory needs at least one size",
        ),
        (&["dev", "eu-west-1"], "<profile>", "missing <profile>"),
        (
            &["local", "--throttle", "cpulimit"],
            "'--throttle <method>'",
            "use cgroup-v1, cgroup-v2, duty-cycle or duty-cycle-wall",
        ),
        (
            &["local", "--max-p99-ms", "-3"],
            "'--max-p99-ms <ms>'",
            "a gate limit must be a positive number",
        ),
        (&[], "local", "say where to run"),
    ];
    for (args, names, message) in cases {
        let result = tune(args);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "case {args:?}");
        assert!(
            stderr.contains(names),
            "case {args:?} names {names}: {stderr}"
        );
        assert!(stderr.contains(message), "case {args:?}: {stderr}");
        assert!(
            stderr.contains("try '--help'"),
            "case {args:?} points at --help: {stderr}"
        );
        assert!(result.stdout.is_empty(), "case {args:?} wrote to stdout");
    }
}

#[test]
fn help_goes_to_stdout_with_both_targets_and_exits_0() {
    let result = tune(&["--help"]);
    let stdout = String::from_utf8(result.stdout).unwrap();
    assert_eq!(result.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Usage: tune local [options]"), "{stdout}");
    assert!(
        stdout.contains("tune <env> <region> <profile> [options]"),
        "{stdout}"
    );
}

#[test]
fn the_aws_path_without_the_cli_fails_with_a_hint_not_a_fake_result() {
    let out = scratch("nocli");
    let out_arg = out.display().to_string();
    let result = tune(&[
        "dev",
        "eu-west-1",
        "p",
        "--invocations",
        "1",
        "--memory",
        "128",
        "--output",
        &out_arg,
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot run the AWS CLI"), "{stderr}");
    assert!(
        !out.join("report.md").exists(),
        "no report without measurements"
    );
    let _ = std::fs::remove_dir_all(&out);
}
