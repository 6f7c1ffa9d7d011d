//! The deploy plan (`./build.sh deploy`, and a release through `promote --release`): skip, or
//! build, package, `sam deploy` tagged with the commit, record the releases, read the outputs.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{APP, Deployed, Step, Target, outputs_query};
use crate::cmd::Cmd;
use crate::releases::Releases;

/// The commit a deploy tags the stack with: HEAD, marked `-dirty` with uncommitted changes.
pub fn source_commit(root: &Path) -> Result<String> {
    let head = Cmd::new("git")
        .args(["rev-parse", "HEAD"])
        .dir(root)
        .read()?
        .trim()
        .to_owned();
    let dirty = !Cmd::new("git")
        .args(["status", "--porcelain"])
        .dir(root)
        .read()?
        .trim()
        .is_empty();
    Ok(if dirty { format!("{head}-dirty") } else { head })
}

/// What a deploy changes besides the code at a commit.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseChange {
    /// What it does, for the operator.
    pub sentence: String,
    /// Where the stack's releases are kept, and what they become.
    pub file: PathBuf,
}

/// `./build.sh deploy`: skip when the stack is at this clean commit (unless a release changes);
/// otherwise build, package with the stack's releases, `sam deploy` tagged with the commit; then
/// read the outputs. A release change is recorded once `sam deploy` has succeeded: CodeDeploy
/// rolling a release back fails the stack update, and the recorded releases stay as they were.
#[allow(clippy::too_many_arguments)]
pub fn deploy_plan(
    target: &Target,
    build: Cmd,
    commit: &str,
    deployed: &Deployed,
    overrides: &[String],
    packaged: &Path,
    releases: &Releases,
    change: Option<&ReleaseChange>,
) -> Vec<Step> {
    let stack = target.stack();
    let mut plan = Vec::new();
    if let Some(change) = change {
        plan.push(Step::Say(change.sentence.clone()));
    }
    if *deployed == Deployed::At(commit.to_owned()) && change.is_none() {
        plan.push(Step::Say(format!(
            "skipping deploy: stack {stack} is already tagged git-commit={commit} and the tree is clean"
        )));
    } else {
        let at = match deployed {
            Deployed::None => "no stack yet".to_owned(),
            Deployed::At(c) => format!("stack at {c}"),
            Deployed::Stale { status } => format!("stack {status}"),
            Deployed::FailedCreate => "its first create failed".to_owned(),
            Deployed::Busy(status) | Deployed::Broken(status) => format!("stack {status}"),
            Deployed::Unknown => "stack commit unknown".to_owned(),
        };
        if commit.ends_with("-dirty") {
            plan.push(Step::Say(format!(
                "deploying: the tree has uncommitted changes ({at})"
            )));
        } else {
            plan.push(Step::Say(format!("deploying {commit} ({at})")));
        }
        plan.push(Step::BuildArtifacts(build));
        plan.push(Step::Package {
            out: packaged.to_owned(),
            releases: releases.clone(),
        });
        let mut deploy = Cmd::new("sam")
            .args(["deploy", "--template-file"])
            .arg(packaged.display().to_string())
            .args(["--stack-name", &stack])
            .args(["--region", &target.region, "--profile", &target.profile])
            .args(["--resolve-s3", "--s3-prefix", &stack])
            .args(["--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
            .args(["--no-confirm-changeset", "--no-fail-on-empty-changeset"])
            .arg("--parameter-overrides")
            .args(overrides.iter().cloned())
            .arg("--tags")
            .arg(format!("app={APP}"))
            .arg(format!("env={}", target.env))
            .arg(format!("git-commit={commit}"));
        deploy = deploy.env("SAM_CLI_TELEMETRY", "0");
        if *deployed == Deployed::FailedCreate {
            plan.push(Step::Say(format!(
                "stack {stack} is ROLLBACK_COMPLETE (its first create failed; CloudFormation cannot \
                 update it): deleting it, then creating it again. Nothing is lost: what the failed \
                 create made was deleted by its rollback (RetainExceptOnCreate)"
            )));
            plan.push(Step::Run(target.aws(&[
                "cloudformation",
                "delete-stack",
                "--stack-name",
                &stack,
            ])));
            plan.push(Step::Run(target.aws(&[
                "cloudformation",
                "wait",
                "stack-delete-complete",
                "--stack-name",
                &stack,
            ])));
        }
        plan.push(Step::Run(deploy));
        if let Some(change) = change {
            plan.push(Step::RecordReleases {
                file: change.file.clone(),
                releases: releases.clone(),
            });
        }
    }
    plan.push(Step::Run(outputs_query(target)));
    plan.push(Step::FetchEndpoints);
    plan
}
