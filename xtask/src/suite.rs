//! The test verbs: `test` (everything offline, what CI runs), and `int-test` / `acceptance-test`
//! (the suite in one mode against local stacks or deployed environments, split across several).

use std::path::{Path, PathBuf};
use std::thread;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::aws::{self, Target};
use crate::cmd::Cmd;
use crate::local::{self, DataStack};
use crate::log;
use crate::tools::{self, Paths};

/// How the suite reaches the functions (`TEST_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Handler,
    Http,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Handler => "handler",
            Mode::Http => "http",
        }
    }
}

/// `cargo test` of the whole workspace with the stack's tests built: every test command uses it, so
/// all of them share one build of the dependencies.
fn cargo_test() -> Cmd {
    Cmd::new("cargo")
        .args([
            "test",
            "--quiet",
            "--workspace",
            "--features",
            "acceptance/stack",
        ])
        // Unoptimised futures are many times their release size: a test thread's default 2 MiB
        // stack has overflowed in debug builds of the suite (the shortener's redirect, the
        // report). 8 MiB, a main thread's default, for the test threads and their runtimes.
        .env("RUST_MIN_STACK", "8388608")
}

fn suite(env: &[(String, String)], mode: Mode) -> Cmd {
    cargo_test()
        .args(["--test", "suite", "--"])
        .args(["--test-threads", "8"])
        .envs(env.iter().cloned())
        .env("TEST_MODE", mode.name())
}

/// DynamoDB Local stopped and restarted under load; the test runs its own instance.
fn fault_test(paths: &Paths) -> Result<()> {
    log!("fault test: DynamoDB Local stopped and restarted mid-run");
    cargo_test()
        .args(["--test", "faults", "--", "--nocapture"])
        .envs(local::local_env())
        .env(
            "DYNAMODB_LOCAL_DIR",
            paths.dynamodb_local().display().to_string(),
        )
        .run()
}

/// The create page and the dashboard in headless Chromium against a running stack.
fn browser_test(paths: &Paths, endpoints_file: &Path) -> Result<()> {
    let driver = local::start_chromedriver(paths)?;
    log!("browser test: the pages in headless Chromium");
    cargo_test()
        .args(["--test", "browser"])
        .envs(local::local_env())
        .env("WEBDRIVER_URL", &driver.url)
        .env("ENDPOINTS_FILE", endpoints_file.display().to_string())
        .run()
}

/// Commands run one after another on a thread, their output captured, reported when joined:
/// the first that fails, or all passed.
struct Side {
    what: String,
    handle: thread::JoinHandle<Result<(String, std::process::Output)>>,
}

impl Side {
    fn start(what: &str, cmd: Cmd) -> Self {
        Self::start_steps(what, vec![(what.to_owned(), cmd)])
    }

    /// `steps` in order, stopping at the first that fails.
    fn start_steps(what: &str, steps: Vec<(String, Cmd)>) -> Self {
        Self {
            what: what.to_owned(),
            handle: thread::spawn(move || {
                let mut last = None;
                for (step, cmd) in steps {
                    let output = cmd
                        .command()
                        .output()
                        .with_context(|| format!("{step}: cannot start {}", cmd.program()))?;
                    let failed = !output.status.success();
                    last = Some((step, output));
                    if failed {
                        break;
                    }
                }
                last.context("no steps")
            }),
        }
    }

    fn finish(self) -> Result<()> {
        let (step, output) = self
            .handle
            .join()
            .map_err(|_| anyhow::anyhow!("{} panicked", self.what))??;
        if !output.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&output.stdout));
            eprintln!("{}", String::from_utf8_lossy(&output.stderr));
            bail!("{}: {step} failed ({})", self.what, output.status);
        }
        log!("{}: passed", self.what);
        Ok(())
    }
}

/// `./build.sh test [--quick]`: everything that runs offline. `--quick` skips the arm64 build.
pub fn test(paths: &Paths, quick: bool) -> Result<()> {
    let started = Instant::now();
    tools::require_prerequisites()?;
    let registry = registry::Registry::load(&paths.root)?;
    // The tools download while the compiler works; then the arm64 build starts, at the lowest
    // priority: it takes the CPU time the other builds and the tests leave idle (a lone rustc on
    // a big crate, links, tests waiting on DynamoDB Local and HTTP), in a target folder of its
    // own so the tests' cargo commands are not locked out.
    let fetch = {
        let paths = paths.clone();
        let registry = registry.clone();
        thread::spawn(move || -> Result<Option<crate::procs::Background>> {
            tools::ensure_local_tools(&paths)?;
            let artifacts = if quick {
                None
            } else {
                Some(aws::start_artifacts_build(&paths, &registry)?)
            };
            // After the arm64 build has started: that build is the longest path of a fresh run.
            tools::ensure_checkov(&paths)?;
            tools::ensure_chromium()?;
            Ok(artifacts)
        })
    };
    log!("cargo fmt --check");
    Cmd::new("cargo")
        .args(["fmt", "--all", "--check"])
        .run()
        .context("formatting differs: run `cargo fmt --all`")?;
    log!("cargo clippy");
    Cmd::new("cargo")
        .args([
            "clippy",
            "--quiet",
            "--workspace",
            "--all-targets",
            "--features",
            "acceptance/stack",
            "--",
            "-D",
            "warnings",
        ])
        .run()?;
    log!("building the workspace's tests (debug)");
    cargo_test().arg("--no-run").run()?;
    let mut artifacts = fetch
        .join()
        .map_err(|_| anyhow::anyhow!("fetching the tools panicked"))??;
    log!("unit and property tests (the registry checks among them)");
    // The same build without the stack's tests: everything that runs offline.
    Cmd::new("cargo")
        .args(["test", "--quiet", "--workspace"])
        .run()?;

    // template.yaml, plus the candidates new-candidate registered (see scaffolded.rs).
    let template = crate::scaffolded::template_file(&paths.root, &paths.scanned(), &registry)?
        .display()
        .to_string();
    let linters = [
        Side::start(
            "cfn-lint template.yaml",
            Cmd::new(paths.venv_bin().join("cfn-lint").display().to_string()).arg(&template),
        ),
        Side::start(
            "sam validate --lint",
            Cmd::new(paths.venv_bin().join("sam").display().to_string())
                .args(["validate", "--lint", "--template", &template])
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .env("SAM_CLI_TELEMETRY", "0"),
        ),
        // checkov over template.yaml and over its SAM transform, cfn-lint over the transform.
        Side::start_steps(
            "template security scan",
            crate::scan::commands(paths, Path::new(&template))?,
        ),
    ];

    let data = DataStack::start(paths, local::free_port()?, false, "test-")?;
    log!("acceptance suite, TEST_MODE=handler");
    suite(&data.env(), Mode::Handler).run()?;
    fault_test(paths)?;
    let endpoints = paths.local.join("endpoints-test.json");
    let watch = local::start_watch(
        paths,
        &data,
        local::free_port()?,
        &endpoints,
        false,
        &local::Gate::test_stack(),
    )?;
    log!("acceptance suite, TEST_MODE=http (Function URLs AWS_IAM, test route limits)");
    suite(&data.env(), Mode::Http)
        .env("ENDPOINTS_FILE", endpoints.display().to_string())
        .run()?;
    browser_test(paths, &watch.endpoints_file)?;
    drop(watch);
    drop(data);
    if !quick {
        // After the suites: the copy's builds share the target folder, not its binaries.
        crate::workshop_states::check(paths)?;
    }
    for linter in linters {
        linter.finish()?;
    }
    log!("Function URL permissions in the SAM transform, for each DemoFunctionUrlAuth");
    let problems = crate::scan::url_permission_problems(paths)?;
    if !problems.is_empty() {
        bail!("Function URL permissions:\n  {}", problems.join("\n  "));
    }
    let longest = "e".repeat(aws::longest_env_name(&registry));
    log!(
        "deploy rehearsal: the SAM transform as environment '{longest}' (the longest accepted): names, limits, retention, log policy"
    );
    let mut problems = Vec::new();
    for auth in [crate::front::UrlAuth::AwsIam, crate::front::UrlAuth::None] {
        problems.extend(crate::rehearsal::check_file(
            &crate::scan::transformed(paths, auth),
            &longest,
        )?);
    }
    if !problems.is_empty() {
        bail!("deploy rehearsal:\n  {}", problems.join("\n  "));
    }

    match artifacts.take() {
        None => log!("skipped the arm64 build (--quick)"),
        Some(mut build) => {
            log!("waiting for the arm64 build");
            let status = build.child.wait()?;
            if !status.success() {
                let log = std::fs::read_to_string(&build.log).unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                eprintln!("{}", lines[lines.len().saturating_sub(30)..].join("\n"));
                bail!(
                    "the arm64 build failed ({status}); see {}",
                    build.log.display()
                );
            }
            aws::check_artifacts(paths, &registry, aws::Optimisation::Check)?;
            aws::package(
                paths,
                &registry,
                &aws::packaged_template(paths),
                &crate::releases::Releases::default(),
                aws::Optimisation::Check,
            )?;
            crate::arm64_smoke::run(paths, aws::Optimisation::Check)?;
        }
    }
    log!("all tests passed in {}s", started.elapsed().as_secs());
    Ok(())
}

/// One place the suite runs against: the variables that reach it.
struct Stack {
    env: Vec<(String, String)>,
    endpoints_file: Option<PathBuf>,
}

/// `int-test` / `acceptance-test`: the suite in `mode` on local stacks (`local`, `local2`, ...)
/// or deployed environments, the tests split round-robin across them when there are several.
pub fn suite_on(
    paths: &Paths,
    mode: Mode,
    envs: &str,
    region: Option<&str>,
    profile: &str,
) -> Result<()> {
    let names: Vec<&str> = envs.split(',').filter(|e| !e.is_empty()).collect();
    if names.is_empty() {
        bail!("name at least one environment (local, or a deployed one)");
    }
    let any_local = names.iter().any(|n| n.starts_with("local"));
    if any_local {
        tools::ensure_local_tools(paths)?;
    }
    let registry = registry::Registry::load(&paths.root)?;
    let mut stacks = Vec::new();
    let mut keep = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if name.starts_with("local") {
            let data = DataStack::start(paths, local::free_port()?, false, "test-")?;
            let mut env = data.env();
            let mut endpoints_file = None;
            if mode == Mode::Http {
                let file = paths.local.join(format!("endpoints-{i}.json"));
                let watch = local::start_watch(
                    paths,
                    &data,
                    local::free_port()?,
                    &file,
                    false,
                    &local::Gate::test_stack(),
                )?;
                env.push(("ENDPOINTS_FILE".into(), file.display().to_string()));
                endpoints_file = Some(file);
                keep.push(Box::new(watch) as Box<dyn std::any::Any>);
            }
            keep.push(Box::new(data));
            stacks.push(Stack {
                env,
                endpoints_file,
            });
        } else {
            let region = region
                .with_context(|| format!("tests against '{name}' need a region (and a profile)"))?;
            let target = Target::new(&registry, name, region, profile)?;
            tools::ensure_awscli(paths)?;
            stacks.push(Stack {
                env: crate::verbs::deployed_env(paths, &registry, &target, true)?,
                endpoints_file: None,
            });
        }
    }
    run_split(paths, mode, &stacks)?;
    if names[0].starts_with("local") {
        match mode {
            Mode::Handler => fault_test(paths)?,
            Mode::Http => {
                tools::ensure_chromium()?;
                let file = stacks[0]
                    .endpoints_file
                    .as_deref()
                    .expect("a local http stack");
                browser_test(paths, file)?;
            }
        }
    }
    drop(keep);
    Ok(())
}

/// The suite's test names.
fn suite_tests() -> Result<Vec<String>> {
    let listing = cargo_test()
        .args(["--test", "suite", "--", "--list", "--format", "terse"])
        .read()?;
    Ok(listing
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_owned)
        .collect())
}

/// Test `i` of `n` stacks runs every `n`-th test, from the `i`-th.
fn part(tests: &[String], i: usize, n: usize) -> Vec<String> {
    tests.iter().skip(i).step_by(n).cloned().collect()
}

fn run_split(paths: &Paths, mode: Mode, stacks: &[Stack]) -> Result<()> {
    if stacks.len() == 1 {
        log!("acceptance suite, TEST_MODE={}", mode.name());
        return suite(&stacks[0].env, mode).run();
    }
    let tests = suite_tests()?;
    if tests.is_empty() {
        bail!("found no tests in the suite");
    }
    let mut running = Vec::new();
    for (i, stack) in stacks.iter().enumerate() {
        let part = part(&tests, i, stacks.len());
        let log = paths.local.join(format!("suite-{i}.log"));
        log!(
            "stack {i}: {} of {} tests, TEST_MODE={} (log: {})",
            part.len(),
            tests.len(),
            mode.name(),
            log.display()
        );
        let file = std::fs::File::create(&log)?;
        let child = suite(&stack.env, mode)
            .arg("--exact")
            .args(part)
            .command()
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()?;
        running.push((i, child, log));
    }
    let mut failed = false;
    for (i, mut child, log) in running {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if child.wait()?.success() {
            let text = std::fs::read_to_string(&log).unwrap_or(text);
            for line in text.lines().filter(|l| l.starts_with("test result")) {
                eprintln!("stack {i}: {line}");
            }
        } else {
            failed = true;
            let text = std::fs::read_to_string(&log).unwrap_or(text);
            let lines: Vec<&str> = text.lines().collect();
            eprintln!(
                "stack {i} failed:\n{}",
                lines[lines.len().saturating_sub(40)..].join("\n")
            );
        }
    }
    if failed {
        bail!("the suite failed on at least one stack");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_steps_stop_at_the_first_failure_and_name_it() {
        let steps = |names: &[(&str, &str)]| {
            names
                .iter()
                .map(|(name, program)| ((*name).to_owned(), Cmd::new(*program)))
                .collect()
        };
        Side::start_steps("scan", steps(&[("a", "true"), ("b", "true")]))
            .finish()
            .unwrap();
        let error = Side::start_steps(
            "scan",
            steps(&[("a", "true"), ("b", "false"), ("c", "true")]),
        )
        .finish()
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("scan: b failed"), "{error}");
    }

    #[test]
    fn the_suite_is_split_round_robin_without_losing_a_test() {
        let tests: Vec<String> = (0..7).map(|i| format!("t{i}")).collect();
        let parts: Vec<Vec<String>> = (0..3).map(|i| part(&tests, i, 3)).collect();
        assert_eq!(parts[0], ["t0", "t3", "t6"]);
        assert_eq!(parts[1], ["t1", "t4"]);
        assert_eq!(parts[2], ["t2", "t5"]);
        let mut all: Vec<String> = parts.concat();
        all.sort();
        assert_eq!(all, tests);
    }
}
