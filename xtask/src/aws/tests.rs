//! The plans and readers of `aws`, checked without AWS: deploy and remove plans step by step,
//! the stack's state and the account's limits from recorded answers, names, parameters, builds.

use std::collections::BTreeMap;
use std::path::Path;

use registry::Registry;

use super::artifacts::{EM_AARCH64, elf_machine};
use super::target::{check_env_name, deployed_function_name};
use super::*;
use crate::cmd::Cmd;
use crate::releases::Releases;
use crate::template::Template;

fn target() -> Target {
    let registry = Registry::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).unwrap();
    Target::new(&registry, "dev", "eu-west-1", "default").unwrap()
}

fn lines(plan: &[Step]) -> Vec<String> {
    plan.iter().map(ToString::to_string).collect()
}

const AT: &str = "--region eu-west-1 --profile default";

#[test]
fn a_deploy_builds_packages_deploys_tagged_and_reads_the_outputs() {
    // The plan passes the overrides as given (their making is tested below).
    let overrides = vec!["Stage=dev".to_owned()];
    let plan = deploy_plan(
        &target(),
        Cmd::new("build"),
        "abc123",
        &Deployed::At("old".into()),
        &overrides,
        Path::new("/repo/.aws-sam/build/template.yaml"),
        &Releases::default(),
        None,
    );
    assert_eq!(plan[1], Step::BuildArtifacts(Cmd::new("build")));
    assert!(matches!(plan[2], Step::Package { .. }));
    let lines = lines(&plan);
    assert_eq!(
        lines[3],
        "env SAM_CLI_TELEMETRY=0 sam deploy --template-file /repo/.aws-sam/build/template.yaml \
             --stack-name rust-serverless-dev --region eu-west-1 --profile default --resolve-s3 \
             --s3-prefix rust-serverless-dev --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
             --no-confirm-changeset --no-fail-on-empty-changeset --parameter-overrides Stage=dev \
             --tags app=rust-serverless env=dev git-commit=abc123"
    );
    assert_eq!(
        lines[4],
        format!(
            "aws cloudformation describe-stacks --stack-name rust-serverless-dev {AT} --query \"Stacks[0].Outputs\" --output json"
        )
    );
    assert_eq!(plan[5], Step::FetchEndpoints);
}

#[test]
fn a_stack_already_at_this_clean_commit_is_not_redeployed() {
    let plan = deploy_plan(
        &target(),
        Cmd::new("build"),
        "abc123",
        &Deployed::At("abc123".into()),
        &[],
        Path::new("t.yaml"),
        &Releases::default(),
        None,
    );
    assert!(matches!(&plan[0], Step::Say(s) if s.contains("skipping deploy")));
    assert!(!plan.iter().any(|s| matches!(s, Step::BuildArtifacts(_))));
    assert!(!lines(&plan).iter().any(|l| l.contains("sam deploy")));
    assert_eq!(plan.last(), Some(&Step::FetchEndpoints));
}

#[test]
fn a_dirty_tree_is_deployed_and_tagged_dirty() {
    let plan = deploy_plan(
        &target(),
        Cmd::new("build"),
        "abc123-dirty",
        &Deployed::At("abc123".into()),
        &[],
        Path::new("t.yaml"),
        &Releases::default(),
        None,
    );
    let lines = lines(&plan);
    assert!(lines[0].contains("uncommitted changes"), "{lines:?}");
    assert!(lines.iter().any(|l| l.ends_with("git-commit=abc123-dirty")));
}

#[test]
fn a_release_deploys_even_at_the_same_commit_and_is_recorded_after_sam_deploy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let registry = Registry::load(&root).unwrap();
    let releases = Releases::default()
        .with(
            &registry,
            "sort",
            Some(crate::releases::Release {
                candidate: "fixed".into(),
                function: "sort-candidate-fixed".into(),
            }),
        )
        .unwrap();
    let mut overrides = vec!["Stage=dev".to_owned()];
    overrides.extend(releases.parameter_overrides(&registry));
    let change = ReleaseChange {
        sentence: "release sort-candidate-fixed to sort-control".into(),
        file: "/repo/.deploy/dev/eu-west-1/releases.json".into(),
    };
    let plan = deploy_plan(
        &target(),
        Cmd::new("build"),
        "abc123",
        &Deployed::At("abc123".into()),
        &overrides,
        Path::new("t.yaml"),
        &releases,
        Some(&change),
    );
    let lines = lines(&plan);
    assert_eq!(lines[0], "# release sort-candidate-fixed to sort-control");
    assert_eq!(
        lines[3],
        "# write t.yaml (CodeUri: each function's zip; sort-control runs sort-candidate-fixed)"
    );
    assert!(
        lines[4].contains(
            "--parameter-overrides Stage=dev RoundRelease=none SortRelease=fixed \
                 FizzbuzzRelease=none Pbkdf2Release=none --tags"
        ),
        "{}",
        lines[4]
    );
    assert!(lines[4].starts_with("env SAM_CLI_TELEMETRY=0 sam deploy"));
    assert_eq!(
        plan[5],
        Step::RecordReleases {
            file: change.file.clone(),
            releases
        }
    );
    assert_eq!(
        lines[5],
        "# write /repo/.deploy/dev/eu-west-1/releases.json: sort=fixed"
    );
    assert_eq!(plan.last(), Some(&Step::FetchEndpoints));
}

fn defaults() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Template::load(&root).unwrap().parameter_defaults()
}

#[test]
fn a_test_stack_gets_the_test_route_limits() {
    let vars = BTreeMap::from([("ROUTE_LIMITS".to_owned(), "test".to_owned())]);
    let overrides = parameter_overrides("ci", &vars, &defaults()).unwrap();
    assert!(
        overrides.contains(&"CreateRateLimit='50'".to_owned()),
        "{overrides:?}"
    );
    let production = parameter_overrides("ci", &BTreeMap::new(), &defaults()).unwrap();
    assert!(
        production.contains(&"CreateRateLimit='10'".to_owned()),
        "{production:?}"
    );
}

#[test]
fn every_parameter_is_passed_on_every_deploy_from_the_environment_or_its_default() {
    let vars = BTreeMap::from([
        ("SHORT_URL_BASE".to_owned(), "https://sho.rt".to_owned()),
        ("ALARM_EMAIL".to_owned(), String::new()),
    ]);
    let overrides = parameter_overrides("dev", &vars, &defaults()).unwrap();
    for expected in [
        "Stage='dev'",
        "ShortUrlBase='https://sho.rt'",
        // Cleared, not kept from the last deploy.
        "AlarmEmail=''",
        // Unset: back to the template's default, however the stack was deployed before.
        "DemoFunctionUrlAuth='AWS_IAM'",
        r#"AppleAppSiteAssociation='{"applinks":{"apps":[],"details":[]}}'"#,
        "LogRetentionDays='30'",
    ] {
        assert!(
            overrides.contains(&expected.to_owned()),
            "{expected}: {overrides:?}"
        );
    }
    // Every parameter once, the releases' apart (releases.rs passes them).
    let named: Vec<&str> = overrides
        .iter()
        .filter_map(|o| o.split('=').next())
        .collect();
    let all = defaults();
    let expected: Vec<&String> = all.keys().filter(|p| !p.ends_with("Release")).collect();
    assert_eq!(named.len(), expected.len(), "{named:?}");
    for parameter in expected {
        assert!(named.contains(&parameter.as_str()), "{parameter}");
    }
    let quoted = BTreeMap::from([("BLOCKED_DOMAINS".to_owned(), "it's".to_owned())]);
    assert!(parameter_overrides("dev", &quoted, &defaults()).is_err());
}

#[test]
fn remove_keeps_the_data_unless_asked_and_cleans_the_artifacts() {
    let retained = Retained {
        links_table: Some("links".into()),
        experiments_table: Some("exp".into()),
        code_key_secret: Some("arn:secret".into()),
    };
    let kept = lines(&remove_plan(&target(), &retained, Some("bucket"), false));
    for command in [
        format!("aws cloudformation delete-stack --stack-name rust-serverless-dev {AT}"),
        format!(
            "aws cloudformation wait stack-delete-complete --stack-name rust-serverless-dev {AT}"
        ),
        format!("aws s3 rm s3://bucket/rust-serverless-dev --recursive {AT}"),
    ] {
        assert!(kept.contains(&command), "missing {command}: {kept:?}");
    }
    assert!(
        !kept
            .iter()
            .any(|l| l.contains("delete-table") || l.contains("delete-secret"))
    );
    assert!(
        kept.iter()
            .any(|l| l.contains("kept the links table links"))
    );

    let deleted = lines(&remove_plan(&target(), &retained, None, true));
    for command in [
        format!("aws dynamodb delete-table --table-name links {AT}"),
        format!("aws dynamodb delete-table --table-name exp {AT}"),
        format!(
            "aws secretsmanager delete-secret --secret-id arn:secret --force-delete-without-recovery {AT}"
        ),
    ] {
        assert!(deleted.contains(&command), "missing {command}: {deleted:?}");
    }
    assert!(
        !deleted.iter().any(|l| l.contains("s3 rm")),
        "no bucket, no rm"
    );
}

#[test]
fn remove_finds_what_is_kept_from_the_stacks_resources_even_without_outputs() {
    let retained =
        Retained::from_stack_resources(&recorded("list-stack-resources.retained.json")).unwrap();
    assert_eq!(
        retained.links_table.as_deref(),
        Some("rust-serverless-dev-LinksTable-1VC62XMPLGGUF")
    );
    assert_eq!(
        retained.experiments_table.as_deref(),
        Some("rust-serverless-dev-ExperimentsTable-HIZXMPLEOM9E")
    );
    assert!(
        retained
            .code_key_secret
            .unwrap()
            .starts_with("arn:aws:secretsmanager:")
    );
    // AWS's own example (another stack): none of ours, nothing to keep or delete.
    let other =
        Retained::from_stack_resources(&recorded("list-stack-resources.doc-example.json")).unwrap();
    assert_eq!(
        other,
        Retained {
            links_table: None,
            experiments_table: None,
            code_key_secret: None
        }
    );
    let plan = lines(&remove_plan(&target(), &other, None, true));
    assert!(plan.iter().any(|l| l.contains("delete-stack")), "{plan:?}");
    assert!(!plan.iter().any(|l| l.contains("delete-table")), "{plan:?}");
    // A create rolled back: its resources are listed as DELETE_COMPLETE, gone already.
    let rolled_back = recorded("list-stack-resources.retained.json")
        .replace("CREATE_COMPLETE", "DELETE_COMPLETE");
    assert_eq!(
        Retained::from_stack_resources(&rolled_back)
            .unwrap()
            .links_table,
        None
    );
}

fn recorded(file: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("recorded-aws")
            .join(file),
    )
    .unwrap()
}

#[test]
fn the_stack_state_is_read_from_describe_stacks_recorded_answers() {
    let ok = |file: &str| Deployed::from_describe_stacks(Ok(&recorded(file))).unwrap();
    assert_eq!(
        ok("describe-stacks.create-complete.json"),
        Deployed::At("abc123".into())
    );
    assert_eq!(
        ok("describe-stacks.update-complete.json"),
        Deployed::At("abc123".into())
    );
    assert_eq!(
        ok("describe-stacks.rollback-complete.json"),
        Deployed::FailedCreate
    );
    assert_eq!(
        ok("describe-stacks.update-rollback-complete.json"),
        Deployed::Stale {
            status: "UPDATE_ROLLBACK_COMPLETE".into()
        }
    );
    // AWS's own example has no git-commit tag: deployed over, never skipped.
    assert_eq!(
        ok("describe-stacks.doc-example.json"),
        Deployed::Stale {
            status: "CREATE_COMPLETE".into()
        }
    );
    assert_eq!(
        ok("describe-stacks.review-in-progress.json"),
        Deployed::None
    );
    assert_eq!(
        ok("describe-stacks.create-in-progress.json"),
        Deployed::Busy("CREATE_IN_PROGRESS".into())
    );
    assert_eq!(
        ok("describe-stacks.delete-failed.json"),
        Deployed::Broken("DELETE_FAILED".into())
    );
    let missing = recorded("describe-stacks.missing.stderr.txt");
    assert_eq!(
        Deployed::from_describe_stacks(Err(&missing)).unwrap(),
        Deployed::None
    );
    // Not knowing is not "no stack".
    let expired = "An error occurred (ExpiredToken) when calling the DescribeStacks operation";
    assert!(Deployed::from_describe_stacks(Err(expired)).is_err());
}

#[test]
fn a_busy_or_broken_stack_stops_the_deploy_with_what_to_do() {
    for (deployed, expected) in [
        (
            Deployed::Busy("UPDATE_IN_PROGRESS".into()),
            "wait until it ends",
        ),
        (
            Deployed::Broken("DELETE_FAILED".into()),
            "describe-stack-events",
        ),
    ] {
        let why = deployed
            .refusal("rust-serverless-dev", "eu-west-1")
            .unwrap();
        assert!(why.contains(expected), "{why}");
    }
    for fine in [
        Deployed::None,
        Deployed::FailedCreate,
        Deployed::At("a".into()),
        Deployed::Stale {
            status: "UPDATE_ROLLBACK_COMPLETE".into(),
        },
    ] {
        assert_eq!(fine.refusal("s", "r"), None);
    }
}

#[test]
fn a_failed_first_create_is_deleted_then_created_again_and_a_rolled_back_update_is_redeployed() {
    let plan = |deployed: &Deployed| {
        lines(&deploy_plan(
            &target(),
            Cmd::new("cargo"),
            "abc123",
            deployed,
            &[],
            Path::new("packaged.yaml"),
            &Releases::default(),
            None,
        ))
    };
    let retry = plan(&Deployed::FailedCreate);
    let delete = retry
        .iter()
        .position(|l| l.starts_with("aws cloudformation delete-stack"))
        .expect("the failed stack is deleted");
    let wait = retry
        .iter()
        .position(|l| l.starts_with("aws cloudformation wait stack-delete-complete"))
        .expect("and waited for");
    let deploy = retry
        .iter()
        .position(|l| l.contains("sam deploy "))
        .expect("then created");
    assert!(delete < wait && wait < deploy, "{retry:#?}");
    assert!(retry.iter().any(|l| l.contains("ROLLBACK_COMPLETE")));
    // At the same commit, but its last update was rolled back: deployed again.
    let stale = plan(&Deployed::Stale {
        status: "UPDATE_ROLLBACK_COMPLETE".into(),
    });
    assert!(
        stale.iter().any(|l| l.contains("sam deploy ")),
        "{stale:#?}"
    );
    assert!(!stale.iter().any(|l| l.contains("delete-stack")));
}

#[test]
fn the_pre_flight_stops_a_create_the_account_cannot_hold_and_says_what_to_ask_for() {
    let account = |file: &str| AccountConcurrency::from_account_settings(&recorded(file)).unwrap();
    let new = account("get-account-settings.new-account.json");
    assert_eq!(
        new,
        AccountConcurrency {
            limit: 10,
            unreserved: 10
        }
    );
    let error = new.check_create(70, "eu-west-1").unwrap_err().to_string();
    for expected in [
        "limit of 10",
        "minimum value of [10]",
        "L-B99A9384",
        "at least 170",
        "Nothing was created",
    ] {
        assert!(error.contains(expected), "{expected}: {error}");
    }
    // A user's recorded account with a limit of 50.
    let fifty = account("get-account-settings.limit-50.recorded.json");
    assert!(fifty.check_create(70, "eu-west-1").is_err());
    let default = account("get-account-settings.default.json");
    assert_eq!(default.limit, 1000);
    let fits = default.check_create(70, "eu-west-1").unwrap();
    assert!(fits.contains("fits"), "{fits}");
    // At the edge: 100 must stay unreserved.
    let edge = AccountConcurrency {
        limit: 1000,
        unreserved: 170,
    };
    assert!(edge.check_create(70, "r").is_ok());
    assert!(edge.check_create(71, "r").is_err());
    assert!(AccountConcurrency::from_account_settings("{}").is_err());
}

#[test]
fn bad_environment_names_are_refused() {
    for env in ["", "Dev", "a_b", "local", "local2", "x".repeat(21).as_str()] {
        assert!(check_env_name(env, 20).is_err(), "{env:?} was accepted");
    }
    assert!(check_env_name("dev-2", 20).is_ok());
}

#[test]
fn the_longest_environment_name_keeps_every_function_name_within_64_characters() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let registry = Registry::load(&root).unwrap().as_shipped();
    let longest = longest_env_name(&registry);
    // rust-serverless-<env>-fizzbuzz-candidate-reference: 16 + env + 29 <= 64.
    assert_eq!(longest, 64 - 16 - 29);
    let env = "e".repeat(longest);
    let stack = format!("{APP}-{env}");
    for f in &registry.functions {
        for d in f.deployments() {
            let name = deployed_function_name(&stack, &d.name, &f.family);
            assert!(name.len() <= FUNCTION_NAME_LIMIT, "{name}");
        }
    }
    assert!(check_env_name(&env, longest).is_ok());
    // The issue's case: 20 characters made a 65-character name.
    let error = check_env_name(&"e".repeat(20), longest)
        .unwrap_err()
        .to_string();
    assert!(error.contains("1-19 characters"), "{error}");
    // A new candidate with a longer name shortens what is accepted.
    let mut longer = registry.clone();
    longer
        .functions
        .push(registry::Function::workshop_candidate(
            "fizzbuzz",
            "a-much-longer-attendee-name",
            "fizzbuzz",
        ));
    assert!(longest_env_name(&longer) < longest);
}

/// What of `cmd` changes the release profile it builds with: `CARGO_PROFILE_*` (or rustflags)
/// in its environment, `--profile` or `--config profile...` among its arguments.
fn profile_overrides(cmd: &Cmd) -> Vec<String> {
    let envs = cmd
        .get_envs()
        .iter()
        .filter(|(key, _)| key.starts_with("CARGO_PROFILE_") || key.ends_with("RUSTFLAGS"))
        .map(|(key, value)| format!("{key}={value}"));
    let args = cmd.get_args();
    let flags = args.iter().enumerate().filter_map(|(i, arg)| {
        let next = args.get(i + 1).map_or("", String::as_str);
        let config = arg
            .strip_prefix("--config=")
            .or((arg == "--config").then_some(next));
        let overrides = arg == "--profile"
            || arg.starts_with("--profile=")
            || config.is_some_and(|value| value.trim_start().starts_with("profile"));
        overrides.then(|| format!("{arg} {next}"))
    });
    envs.chain(flags).collect()
}

#[test]
fn the_deploy_build_uses_the_declared_release_profile_untouched() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let registry = Registry::load(&root).unwrap();
    let overrides = profile_overrides(&build_artifacts_cmd(&registry, Optimisation::Deploy));
    assert!(
        overrides.is_empty(),
        "the deploy build overrides the release profile with {overrides:?}: the zips deploy \
         uploads must be built with exactly [profile.release] of the root Cargo.toml, the \
         profile the benches measure (issue 29: the binaries measured and deployed come from one \
         declared profile). Change the profile there, for the benches and the deploy alike."
    );
    // The check's build (never deployed) does override it: what finds overrides finds these.
    let check = profile_overrides(&build_artifacts_cmd(&registry, Optimisation::Check));
    assert!(
        check.contains(&"CARGO_PROFILE_RELEASE_OPT_LEVEL=0".to_owned()),
        "{check:?}"
    );
    let flagged = Cmd::new("cargo").env("RUSTFLAGS", "-C opt-level=s").args([
        "--config",
        "profile.release.lto=false",
        "--profile=fast",
    ]);
    assert_eq!(profile_overrides(&flagged).len(), 3, "{flagged}");
}

#[test]
fn the_artifacts_build_is_one_invocation_naming_every_binary_once() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let registry = Registry::load(&root).unwrap();
    let check = build_artifacts_cmd(&registry, Optimisation::Check).to_string();
    assert!(
        check.contains("CARGO_PROFILE_RELEASE_OPT_LEVEL=0"),
        "{check}"
    );
    // Never in the folder deploys package and PERFORMANCE.md measures.
    assert!(
        check.contains("CARGO_TARGET_DIR=target/lambda-arm64-check "),
        "{check}"
    );
    assert!(!check.contains("opt-level"), "{check}");
    let cmd = build_artifacts_cmd(&registry, Optimisation::Deploy).to_string();
    assert!(
        cmd.starts_with(
            "env CARGO_TARGET_DIR=target/lambda-arm64 cargo lambda build --release --arm64 --output-format zip"
        ),
        "{cmd}"
    );
    for function in &registry.functions {
        assert_eq!(
            cmd.matches(&format!("--bin {} ", function.binary()))
                .count()
                + usize::from(cmd.ends_with(&format!("--bin {}", function.binary()))),
            1,
            "{}",
            function.name
        );
    }
}

#[test]
fn elf_machines_are_read_from_the_header() {
    let mut header = vec![0x7f, b'E', b'L', b'F', 2, 1];
    header.resize(20, 0);
    header[18..20].copy_from_slice(&183u16.to_le_bytes());
    assert_eq!(elf_machine(&header), Some(EM_AARCH64));
    header[18..20].copy_from_slice(&62u16.to_le_bytes());
    assert_eq!(elf_machine(&header), Some(62), "x86-64");
    assert_eq!(elf_machine(b"#!/bin/sh\n"), None);
}

#[test]
fn endpoints_come_from_the_outputs_named_by_the_template() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let template = Template::load(&root).unwrap();
    let mut outputs = BTreeMap::from([
        ("ApiUrl".to_owned(), "https://api.example/".to_owned()),
        ("LinksTableName".to_owned(), "links".to_owned()),
        ("ExperimentsTableName".to_owned(), "exp".to_owned()),
    ]);
    for key in template.function_url_outputs().keys() {
        outputs.insert(key.clone(), format!("https://{key}.lambda-url.example/"));
    }
    let endpoints = endpoints_from_outputs(&template, &outputs, "eu-west-1").unwrap();
    assert_eq!(endpoints["shortener"], "https://api.example");
    assert!(
        endpoints[shared::function_url::AUTH_KEY].is_null(),
        "no auth output: nothing signed"
    );
    assert_eq!(
        endpoints["round-control"],
        "https://RoundControlUrl.lambda-url.example"
    );
    assert_eq!(
        endpoints["pbkdf2-control-3008"],
        "https://Pbkdf2Control3008Url.lambda-url.example"
    );
    assert_eq!(endpoints["tables"]["ExperimentsTable"], "exp");
    assert_eq!(endpoints["routeLimits"]["POST /"]["rate"], 10.0);
    outputs.insert(
        "RouteLimitParameters".to_owned(),
        "CreateRateLimit=50,CreateBurstLimit=50".to_owned(),
    );
    outputs.insert("DemoFunctionUrlAuth".to_owned(), "AWS_IAM".to_owned());
    let signed = endpoints_from_outputs(&template, &outputs, "eu-west-1").unwrap();
    assert_eq!(signed["routeLimits"]["POST /"]["rate"], 50.0);
    let iam = shared::function_url::IamUrls::from_endpoints(&signed).unwrap();
    assert_eq!(iam.region, "eu-west-1");
    assert!(iam.wants_signature("round-control") && iam.wants_signature("pbkdf2-control-3008"));
    assert!(!iam.wants_signature("shortener") && !iam.wants_signature("experiment-report"));
    outputs.remove("RoundControlUrl");
    assert!(endpoints_from_outputs(&template, &outputs, "eu-west-1").is_err());
}
