//! The verbs that run the app or talk to a stack: `local`, `bench`, `experiments upload`,
//! `traffic`, `tune`, `deploy`, `remove`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use registry::Registry;

use crate::aws::{self, Deployed, ReleaseChange, Retained, Step, Target};
use crate::cmd::Cmd;
use crate::local::{self, DataStack};
use crate::log;
use crate::releases::{Release, Releases};
use crate::tools::{self, Paths};

/// `./build.sh local`: the whole app on this machine until Ctrl-C, data kept in `.local/dynamodb`.
pub fn local(
    paths: &Paths,
    dynamodb_port: u16,
    watch_port: u16,
    url_auth: crate::front::UrlAuth,
) -> Result<()> {
    for (port, what) in [(watch_port, "the app"), (dynamodb_port, "DynamoDB Local")] {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            bail!(
                "port {port} ({what}) is taken: a local stack may already be running (it keeps \
                 running until Ctrl-C in its terminal); stop it, or free the port"
            );
        }
    }
    tools::ensure_local_tools(paths)?;
    let data = DataStack::start(paths, dynamodb_port, true, "local-")?;
    let endpoints = paths.local.join("endpoints.json");
    // The template's own route limits: what a production stack enforces.
    let gate = local::Gate {
        url_auth,
        route_parameters: Some(BTreeMap::new()),
    };
    let watch = local::start_watch(paths, &data, watch_port, &endpoints, false, &gate)?;
    println!(
        "\nThe app is running (Ctrl-C stops everything):\n  \
         shortener page   http://127.0.0.1:{}/\n  \
         endpoints        {}\n  \
         DynamoDB Local   {} (data in {})\n  \
         logs             {}/*.log\n\
         API key (creating, editing, deleting links; a link's target in its stats): {}\n\
         Function URLs: {} (--url-auth); HTTP API routes throttled as template.yaml says.",
        watch.port,
        endpoints.display(),
        data.dynamodb.endpoint,
        paths.local.join("dynamodb").display(),
        paths.local.display(),
        local::LOCAL_API_KEY,
        match url_auth {
            crate::front::UrlAuth::AwsIam =>
                "AWS_IAM: sign requests (curl --aws-sigv4 \"aws:amz:us-east-1:lambda\" --user local:local)",
            crate::front::UrlAuth::None => "NONE: public",
        },
    );
    print!("{}", std::fs::read_to_string(&endpoints)?);
    loop {
        std::thread::park();
    }
}

/// The variables a tool needs to reach a running stack: `local` is `./build.sh local`'s.
pub fn stack_env(
    paths: &Paths,
    env: &str,
    region: Option<&str>,
    profile: &str,
) -> Result<Vec<(String, String)>> {
    if env == "local" {
        let file = paths.local.join("endpoints.json");
        let text = std::fs::read_to_string(&file)
            .with_context(|| "no local stack: start ./build.sh local first")?;
        let endpoints: serde_json::Value = serde_json::from_str(&text)?;
        let dynamodb_port = std::env::var("DDB_PORT").unwrap_or_else(|_| "8000".to_owned());
        let mut vars = local::local_env();
        vars.extend([
            ("ENDPOINTS_FILE".to_owned(), file.display().to_string()),
            (
                "AWS_ENDPOINT_URL_DYNAMODB".to_owned(),
                format!("http://127.0.0.1:{dynamodb_port}"),
            ),
            (
                "EXPERIMENTS_TABLE".to_owned(),
                endpoints["tables"]["ExperimentsTable"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
        ]);
        return Ok(vars);
    }
    let region =
        region.with_context(|| format!("environment {env} needs a region (and a profile)"))?;
    let target = Target::new(env, region, profile)?;
    tools::ensure_awscli(paths)?;
    deployed_env(paths, &target, false)
}

/// Reads a deployed stack's outputs, writes its endpoints file and returns what the suite and
/// the tools need to reach it. `for_suite` adds the in-process shortener's own code key and the
/// stack's API key (POST / needs it).
pub fn deployed_env(
    paths: &Paths,
    target: &Target,
    for_suite: bool,
) -> Result<Vec<(String, String)>> {
    let outputs = fetch_endpoints(paths, target)?;
    let output = |key: &str| -> Result<String> {
        outputs
            .get(key)
            .cloned()
            .with_context(|| format!("{} has no output {key}", target.stack()))
    };
    let mut vars = vec![
        ("PATH".to_owned(), paths.path_var()),
        ("AWS_PROFILE".to_owned(), target.profile.clone()),
        ("AWS_REGION".to_owned(), target.region.clone()),
        ("LINKS_TABLE".to_owned(), output("LinksTableName")?),
        (
            "EXPERIMENTS_TABLE".to_owned(),
            output("ExperimentsTableName")?,
        ),
        (
            "ENDPOINTS_FILE".to_owned(),
            endpoints_file(paths, target).display().to_string(),
        ),
    ];
    if for_suite {
        let key = Cmd::new("aws")
            .args(["secretsmanager", "get-secret-value", "--secret-id"])
            .arg(output("CreateApiKeySecretArn")?)
            .args(["--query", "SecretString", "--output", "text"])
            .args(["--region", &target.region, "--profile", &target.profile])
            .env("PATH", paths.path_var())
            .read()?;
        let code_key = format!("int-test-{}", uuid_like()?);
        let aasa = std::env::var("APPLE_APP_SITE_ASSOCIATION")
            .unwrap_or_else(|_| r#"{"applinks":{"apps":[],"details":[]}}"#.to_owned());
        vars.extend([
            ("SHORTENER_API_KEY".to_owned(), key.trim().to_owned()),
            // The in-process shortener (TEST_MODE=handler) checks the same key.
            ("CREATE_API_KEY".to_owned(), key.trim().to_owned()),
            ("CODE_KEY".to_owned(), code_key),
            ("APPLE_APP_SITE_ASSOCIATION".to_owned(), aasa),
        ]);
    }
    Ok(vars)
}

/// 32 hex digits from the OS's randomness.
fn uuid_like() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn endpoints_file(paths: &Paths, target: &Target) -> PathBuf {
    target.state_dir(&paths.deploy).join("endpoints.json")
}

/// The stack's outputs, and `.deploy/<env>/<region>/endpoints.json` written from them.
fn fetch_endpoints(paths: &Paths, target: &Target) -> Result<BTreeMap<String, String>> {
    let json = aws::outputs_query(target)
        .env("PATH", paths.path_var())
        .read()
        .with_context(|| {
            format!(
                "could not read the outputs of {} in {} (profile {})",
                target.stack(),
                target.region,
                target.profile
            )
        })?;
    let outputs = aws::parse_outputs(&json)?;
    let endpoints = aws::endpoints_from_outputs(
        &crate::scaffolded::template(&paths.root, &Registry::load(&paths.root)?)?,
        &outputs,
        &target.region,
    )?;
    let file = endpoints_file(paths, target);
    std::fs::create_dir_all(file.parent().expect("a folder"))?;
    std::fs::write(&file, serde_json::to_string_pretty(&endpoints)? + "\n")?;
    log!("endpoints of {}: {}", target.stack(), file.display());
    Ok(outputs)
}

/// `./build.sh experiments upload <env> [region profile] [files...]`.
pub fn upload(
    paths: &Paths,
    env: &str,
    region: Option<&str>,
    profile: &str,
    files: Vec<PathBuf>,
) -> Result<()> {
    let vars = stack_env(paths, env, region, profile)?;
    let files = if files.is_empty() {
        local::definition_files(&paths.root)?
    } else {
        files
    };
    local::upload_experiments(paths, &vars, &files)
}

/// `./build.sh experiments reset <env> [region profile] <experiment>`: deletes its records and
/// counters (the `experiments` binary is built with every other by ./build.sh).
pub fn reset(
    paths: &Paths,
    env: &str,
    region: Option<&str>,
    profile: &str,
    experiment: &str,
) -> Result<()> {
    let vars = stack_env(paths, env, region, profile)?;
    Cmd::new(paths.target.join("debug/experiments").display().to_string())
        .args(["reset", experiment])
        .envs(vars)
        .run()
}

/// `./build.sh traffic <env> [region profile] <experiment> [--count N]`.
pub fn traffic(
    paths: &Paths,
    env: &str,
    region: Option<&str>,
    profile: &str,
    args: &[String],
) -> Result<()> {
    let vars = stack_env(paths, env, region, profile)?;
    // The `traffic` binary is built with every other by ./build.sh.
    Cmd::new(paths.target.join("debug/traffic").display().to_string())
        .args(args.iter().cloned())
        .envs(vars)
        .run()
}

/// `./build.sh tune local|<env> <region> <profile> [options]` (benches/tune/README.md).
pub fn tune(paths: &Paths, args: &[String]) -> Result<()> {
    let function = args
        .iter()
        .position(|a| a == "--function")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--function=").map(str::to_owned))
        })
        .unwrap_or_else(|| "pbkdf2-control".to_owned());
    let plan_or_help = args
        .iter()
        .any(|a| matches!(a.as_str(), "--dry-run" | "--help" | "-h"));
    if plan_or_help {
        // The plan and the help need no optimised build: ./build.sh has built every binary in
        // debug.
        return Cmd::new(paths.target.join("debug/tune").display().to_string())
            .args(args.iter().cloned())
            .env("PATH", paths.path_var())
            .run();
    }
    log!(
        "building the tuning tool (and for `local` the function) in release mode: the first time, both took 3m38s \
         on a 2-core machine (2026-12-04); seconds after"
    );
    Cmd::new("cargo")
        .args(["build", "--quiet", "--release", "-p", "tune"])
        .run()?;
    if args.first().map(String::as_str) == Some("local") {
        log!("building {function} (release)");
        Cmd::new("cargo")
            .args(["build", "--quiet", "--release", "--bin", &function])
            .run()?;
    } else {
        tools::ensure_awscli(paths)?;
    }
    Cmd::new(paths.target.join("release/tune").display().to_string())
        .args(args.iter().cloned())
        .env("PATH", paths.path_var())
        .run()
}

/// `./build.sh bench [cargo bench args]`: with no arguments every bench runs and PERFORMANCE.md
/// is written from their summary lines; with arguments only those run.
pub fn bench(paths: &Paths, args: &[String]) -> Result<()> {
    tools::ensure_local_tools(paths)?;
    let peer = paths.root.join("benches/node-peer");
    if !peer.join("node_modules").is_dir() {
        log!("installing the Node.js peer's dependencies (npm ci in benches/node-peer)");
        Cmd::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .dir(&peer)
            .run()?;
    }
    log!(
        "building the release shortener and pbkdf2-control binaries (the peer and tune_methods benches start them)"
    );
    Cmd::new("cargo")
        .args([
            "build",
            "--quiet",
            "--release",
            "--bin",
            "shortener",
            "--bin",
            "pbkdf2-control",
        ])
        .run()?;
    let data = DataStack::start(paths, local::free_port()?, false, "bench-")?;
    // The proxy bench goes through cargo lambda watch (release builds), as a local client does;
    // the others need no watch, so a single one of them does not build every binary.
    let mut env = data.env();
    let _watch = if args.is_empty() || args.iter().any(|a| a == "proxy") {
        let file = paths.local.join("endpoints-bench.json");
        let watch = local::start_watch(
            paths,
            &data,
            local::free_port()?,
            &file,
            true,
            &local::Gate::unthrottled(),
        )?;
        env.push(("ENDPOINTS_FILE".into(), file.display().to_string()));
        Some(watch)
    } else {
        None
    };
    let out = paths.local.join("bench.log");
    log!(
        "cargo bench {} (output also in {})",
        args.join(" "),
        out.display()
    );
    let output = Cmd::new("cargo")
        .args(["bench", "-p", "benches"])
        .args(args.iter().cloned())
        .envs(env)
        .command()
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    tee(output, &out)?;
    crate::procs::stop_all();
    if args.is_empty() {
        crate::performance_md::write(&out, &paths.artifacts(), &paths.root.join("PERFORMANCE.md"))?;
        log!("wrote PERFORMANCE.md");
    }
    Ok(())
}

/// `./build.sh bench --report-only`: PERFORMANCE.md from the last run's log, e.g. once the
/// deployment zips it reports have been built (`./build.sh deploy` builds them).
pub fn bench_report(paths: &Paths) -> Result<()> {
    let log = paths.local.join("bench.log");
    if !log.is_file() {
        bail!("no {}: run ./build.sh bench first", log.display());
    }
    crate::performance_md::write(&log, &paths.artifacts(), &paths.root.join("PERFORMANCE.md"))?;
    log!("wrote PERFORMANCE.md from {}", log.display());
    Ok(())
}

/// Copies a child's stdout to ours and to `file`; fails when the child fails.
fn tee(mut child: std::process::Child, file: &std::path::Path) -> Result<()> {
    use std::io::{BufRead, Write};
    let mut log = std::fs::File::create(file)?;
    let stdout = child.stdout.take().expect("piped");
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        writeln!(log, "{line}")?;
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("cargo bench failed ({status})");
    }
    Ok(())
}

/// Prints a plan's steps (dry run) or runs them.
fn execute(paths: &Paths, target: &Target, plan: &[Step], dry_run: bool) -> Result<()> {
    for step in plan {
        match step {
            Step::Say(text) => log!("{text}"),
            _ if dry_run => println!("[dry-run] {step}"),
            Step::Run(cmd) => cmd
                .clone()
                .env("PATH", paths.path_var())
                .dir(&paths.root)
                .run()?,
            Step::BuildArtifacts(_) => aws::build_artifacts(paths)?,
            Step::Package { out, releases } => {
                aws::package(paths, out, releases, aws::Optimisation::Deploy)?
            }
            Step::RecordReleases { file, releases } => releases.save(file)?,
            Step::FetchEndpoints => {
                fetch_endpoints(paths, target)?;
            }
            Step::ForgetEndpoints => {
                let _ = std::fs::remove_dir_all(target.state_dir(&paths.deploy));
            }
        }
    }
    Ok(())
}

/// `./build.sh deploy <env> <region> <profile> [--dry-run [--stack-commit <sha>]]`.
pub fn deploy(
    paths: &Paths,
    target: &Target,
    dry_run: bool,
    stack_commit: Option<String>,
) -> Result<()> {
    if stack_commit.is_some() && !dry_run {
        bail!("--stack-commit only stands in for AWS in a dry run");
    }
    let commit = aws::source_commit(&paths.root)?;
    let query = aws::stack_query(target);
    let deployed = if dry_run {
        println!("[dry-run] {query}");
        stack_commit.map_or(Deployed::Unknown, Deployed::At)
    } else {
        tools::ensure_local_tools(paths)?;
        tools::ensure_awscli(paths)?;
        let output = query
            .env("PATH", paths.path_var())
            .command()
            .output()
            .context("cannot start the AWS CLI")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        Deployed::from_describe_stacks(if output.status.success() {
            Ok(&stdout)
        } else {
            Err(&stderr)
        })?
    };
    if let Some(why) = deployed.refusal(&target.stack(), &target.region) {
        bail!("{why}");
    }
    preflight(paths, target, &deployed, dry_run)?;
    log!(
        "deploy {} to {} (profile {}) at commit {commit}",
        target.stack(),
        target.region,
        target.profile
    );
    deploy_with(paths, target, &commit, &deployed, None, dry_run)
}

/// Before a stack is created: the account must hold its reserved concurrency (an update keeps
/// what the stack reserved already, so only a create is checked).
fn preflight(paths: &Paths, target: &Target, deployed: &Deployed, dry_run: bool) -> Result<()> {
    let query = target.account_settings_query();
    if dry_run {
        println!("[dry-run] {query} (pre-flight, when the stack is to be created)");
        return Ok(());
    }
    if !matches!(deployed, Deployed::None | Deployed::FailedCreate) {
        return Ok(());
    }
    let registry = Registry::load(&paths.root)?;
    let reserved: u64 = crate::scaffolded::template(&paths.root, &registry)?
        .functions()?
        .iter()
        .filter_map(|f| f.reserved_concurrency)
        .map(u64::from)
        .sum();
    let settings = query
        .env("PATH", paths.path_var())
        .read()
        .context("pre-flight: cannot read the account's Lambda settings")?;
    let checked = aws::AccountConcurrency::from_account_settings(&settings)?
        .check_create(reserved, &target.region)?;
    log!("{checked}");
    Ok(())
}

/// The deploy plan with the environment's releases, or with `change` made to them, run.
fn deploy_with(
    paths: &Paths,
    target: &Target,
    commit: &str,
    deployed: &Deployed,
    change: Option<(&ReleaseChange, &Releases)>,
    dry_run: bool,
) -> Result<()> {
    let vars: BTreeMap<String, String> = std::env::vars().collect();
    let registry = Registry::load(&paths.root)?;
    let releases = match change {
        Some((_, next)) => next.clone(),
        None => Releases::load(&Releases::file(&target.state_dir(&paths.deploy)))?,
    };
    let defaults = crate::template::Template::load(&paths.root)?.parameter_defaults();
    let mut overrides = aws::parameter_overrides(&target.env, &vars, &defaults)?;
    overrides.extend(releases.parameter_overrides(&registry));
    let plan = aws::deploy_plan(
        target,
        aws::build_artifacts_cmd(&registry, aws::Optimisation::Deploy),
        commit,
        deployed,
        &overrides,
        &aws::packaged_template(paths),
        &releases,
        change.map(|(change, _)| change),
    );
    execute(paths, target, &plan, dry_run)
}

/// `./build.sh promote <env> <region> <profile> <experiment> <candidate> --release` (or
/// `--release --undo`, `release` None): the family's control runs the candidate's code (or its
/// own again) through a deploy, which CodeDeploy shifts to the control's alias `live`.
pub fn release(
    paths: &Paths,
    target: &Target,
    family: &str,
    release: Option<Release>,
    dry_run: bool,
) -> Result<()> {
    let registry = Registry::load(&paths.root)?;
    let file = Releases::file(&target.state_dir(&paths.deploy));
    let before = Releases::load(&file)?;
    let next = before.with(&registry, family, release.clone())?;
    let control = format!("{family}-control");
    let sentence = match (&release, before.0.get(family)) {
        (Some(r), _) => format!(
            "release: {control} runs {}'s code; CodeDeploy shifts its alias live to it \
             (ReleaseTrafficShifting) after the pre-traffic hook, rolling back on alarms",
            r.function
        ),
        (None, Some(r)) => format!(
            "undo the release of {}: {control} runs its own code again, shifted by CodeDeploy",
            r.function
        ),
        (None, None) => bail!("{control} runs its own code already: nothing to undo"),
    };
    let change = ReleaseChange { sentence, file };
    let commit = aws::source_commit(&paths.root)?;
    if !dry_run {
        tools::ensure_local_tools(paths)?;
        tools::ensure_awscli(paths)?;
    }
    deploy_with(
        paths,
        target,
        &commit,
        &Deployed::Unknown,
        Some((&change, &next)),
        dry_run,
    )
}

/// `./build.sh remove <env> <region> <profile> [--delete-data] [--dry-run]`.
pub fn remove(paths: &Paths, target: &Target, delete_data: bool, dry_run: bool) -> Result<()> {
    let (retained, bucket) = if dry_run {
        println!("[dry-run] {}", aws::stack_resources_query(target));
        println!("[dry-run] {}", aws::artifact_bucket_query(target));
        (Retained::placeholders(), Some("<SourceBucket>".to_owned()))
    } else {
        tools::ensure_awscli(paths)?;
        // The resources, not the outputs: a stack whose create failed has none.
        let json = aws::stack_resources_query(target)
            .env("PATH", paths.path_var())
            .read()
            .with_context(|| format!("no stack {} in {}", target.stack(), target.region))?;
        let retained = Retained::from_stack_resources(&json)?;
        let bucket = aws::artifact_bucket_query(target)
            .env("PATH", paths.path_var())
            .read()
            .ok()
            .map(|b| b.trim().to_owned());
        (retained, bucket)
    };
    let plan = aws::remove_plan(target, &retained, bucket.as_deref(), delete_data);
    execute(paths, target, &plan, dry_run)
}
