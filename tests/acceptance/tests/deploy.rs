//! `./build.sh deploy` and `remove` in dry runs: the exact AWS commands, the skip when the stack
//! is already at this commit, and that a dry run runs nothing.
//!
//! Each case copies `build.sh`, `template.yaml` and `scripts/` into a fresh git repository (so the
//! tree is clean, or dirty, on purpose) with `aws` and `sam` on `PATH` replaced by stubs that
//! record any call: a dry run must leave the record empty.

use std::path::{Path, PathBuf};
use std::process::Command;

const STACK: &str = "rust-serverless-dev";
const AT: &str = "--region eu-west-1 --profile default";

struct Repo {
    dir: PathBuf,
    commit: String,
}

impl Repo {
    fn new() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = std::env::temp_dir().join(format!("deploy-dry-run-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("scripts")).expect("temp repo");
        for file in ["build.sh", "template.yaml"] {
            std::fs::copy(root.join(file), dir.join(file)).expect("copy");
        }
        for entry in std::fs::read_dir(root.join("scripts")).expect("scripts") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, dir.join("scripts").join(path.file_name().unwrap()))
                    .expect("copy script");
            }
        }
        // Stubs that record any call: a dry run must not run aws or sam.
        let bin = dir.join("stub-bin");
        std::fs::create_dir_all(&bin).expect("stub bin");
        for tool in ["aws", "sam"] {
            let stub = bin.join(tool);
            std::fs::write(
                &stub,
                format!(
                    "#!/bin/sh\necho \"{tool} $*\" >> \"{}\"\nexit 1\n",
                    dir.join("calls").display()
                ),
            )
            .expect("stub");
            Command::new("chmod")
                .arg("+x")
                .arg(&stub)
                .status()
                .expect("chmod");
        }
        std::fs::write(dir.join(".gitignore"), "stub-bin/\ncalls\n").expect(".gitignore");
        let git = |args: &[&str]| {
            let output = Command::new("git")
                .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("git");
            assert!(output.status.success(), "git {args:?}: {output:?}");
            String::from_utf8(output.stdout).expect("utf-8")
        };
        git(&["init", "-q"]);
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "snapshot"]);
        let commit = git(&["rev-parse", "HEAD"]).trim().to_owned();
        Self { dir, commit }
    }

    /// Runs `build.sh` with the stubs first on `PATH`; returns its output without colour codes.
    fn build_sh(&self, args: &[&str]) -> String {
        let path = format!(
            "{}:{}",
            self.dir.join("stub-bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let output = Command::new("bash")
            .arg("-c")
            .arg("bash build.sh \"$@\" 2>&1")
            .arg("build.sh")
            .args(args)
            .current_dir(&self.dir)
            .env("PATH", path)
            .env_remove("SHORT_URL_BASE")
            .env_remove("BLOCKED_DOMAINS")
            .env_remove("ALARM_EMAIL")
            .env_remove("APPLE_APP_SITE_ASSOCIATION")
            .output()
            .expect("bash build.sh");
        let text = String::from_utf8_lossy(&output.stdout)
            .replace("\u{1b}[1m", "")
            .replace("\u{1b}[0m", "");
        assert!(output.status.success(), "build.sh {args:?} failed:\n{text}");
        assert!(
            !self.dir.join("calls").exists(),
            "a dry run ran: {}",
            std::fs::read_to_string(self.dir.join("calls")).unwrap_or_default()
        );
        assert!(
            !self.dir.join(".deploy").exists(),
            "a dry run wrote .deploy/"
        );
        text
    }

    fn dry_run_commands(&self, args: &[&str]) -> (Vec<String>, String) {
        let text = self.build_sh(args);
        let commands = text
            .lines()
            .filter_map(|l| l.strip_prefix("[dry-run] "))
            .map(str::to_owned)
            .collect();
        (commands, text)
    }

    fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tag_query() -> String {
    format!(
        "aws cloudformation describe-stacks --stack-name {STACK} {AT} \
         --query \"Stacks[0].Tags[?Key=='git-commit'].Value | [0]\" --output text"
    )
}

fn outputs_query() -> String {
    format!(
        "aws cloudformation describe-stacks --stack-name {STACK} {AT} --query \"Stacks[0].Outputs\" --output json"
    )
}

fn sam_deploy(commit: &str) -> String {
    format!(
        "sam deploy --template-file .aws-sam/build/template.yaml --stack-name {STACK} {AT} \
         --resolve-s3 --s3-prefix {STACK} --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
         --no-confirm-changeset --no-fail-on-empty-changeset --parameter-overrides Stage=dev \
         --tags app=rust-serverless env=dev git-commit={commit}"
    )
}

#[test]
fn a_dry_run_prints_build_deploy_and_outputs_and_runs_nothing() {
    let repo = Repo::new();
    let (commands, text) =
        repo.dry_run_commands(&["deploy", "dev", "eu-west-1", "default", "--dry-run"]);
    assert_eq!(
        commands,
        vec![
            tag_query(),
            "env CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
             sam build --template template.yaml --build-dir .aws-sam/build"
                .to_owned(),
            sam_deploy(&repo.commit),
            outputs_query(),
        ],
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "would write {}/.deploy/dev/endpoints.json",
            repo.path().display()
        )),
        "{text}"
    );
}

#[test]
fn a_stack_already_at_this_commit_with_a_clean_tree_is_not_redeployed() {
    let repo = Repo::new();
    let (commands, text) = repo.dry_run_commands(&[
        "deploy",
        "dev",
        "eu-west-1",
        "default",
        "--dry-run",
        "--stack-commit",
        &repo.commit,
    ]);
    assert_eq!(commands, vec![tag_query(), outputs_query()], "{text}");
    assert!(
        text.contains(&format!(
            "skipping deploy: stack {STACK} is already tagged git-commit={} and the tree is clean",
            repo.commit
        )),
        "{text}"
    );
}

#[test]
fn a_dirty_tree_is_deployed_and_tagged_dirty_even_at_the_same_commit() {
    let repo = Repo::new();
    std::fs::write(repo.path().join("uncommitted.txt"), "change").expect("dirty the tree");
    let (commands, text) = repo.dry_run_commands(&[
        "deploy",
        "dev",
        "eu-west-1",
        "default",
        "--dry-run",
        "--stack-commit",
        &repo.commit,
    ]);
    assert!(
        commands.contains(&sam_deploy(&format!("{}-dirty", repo.commit))),
        "{text}"
    );
    assert!(text.contains("uncommitted changes"), "{text}");
}

#[test]
fn remove_keeps_the_data_unless_asked_and_cleans_the_artifacts() {
    let repo = Repo::new();
    let delete = [
        format!("aws cloudformation delete-stack --stack-name {STACK} {AT}"),
        format!("aws cloudformation wait stack-delete-complete --stack-name {STACK} {AT}"),
    ];
    let artifacts = format!("aws s3 rm \"s3://<SourceBucket>/{STACK}\" --recursive {AT}");
    let data = [
        format!("aws dynamodb delete-table --table-name \"<LinksTableName>\" {AT}"),
        format!("aws dynamodb delete-table --table-name \"<ExperimentsTableName>\" {AT}"),
        format!(
            "aws secretsmanager delete-secret --secret-id \"<CodeKeySecretArn>\" --force-delete-without-recovery {AT}"
        ),
    ];

    let (commands, text) =
        repo.dry_run_commands(&["remove", "dev", "eu-west-1", "default", "--dry-run"]);
    for command in delete.iter().chain([&artifacts]) {
        assert!(commands.contains(command), "missing {command}:\n{text}");
    }
    for command in &data {
        assert!(!commands.contains(command), "deleted data unasked:\n{text}");
    }
    assert!(text.contains("kept the links table"), "{text}");

    let (commands, text) = repo.dry_run_commands(&[
        "remove",
        "dev",
        "eu-west-1",
        "default",
        "--dry-run",
        "--delete-data",
    ]);
    for command in &data {
        assert!(commands.contains(command), "missing {command}:\n{text}");
    }
}

#[test]
fn bad_environment_names_are_refused_before_anything_runs() {
    let repo = Repo::new();
    for env in ["Dev", "local", "a_b", ""] {
        let output = Command::new("bash")
            .args([
                "build.sh",
                "deploy",
                env,
                "eu-west-1",
                "default",
                "--dry-run",
            ])
            .current_dir(repo.path())
            .output()
            .expect("bash");
        assert!(!output.status.success(), "env {env:?} was accepted");
    }
}
