//! What the stack says about itself before a deploy (`describe-stacks`): none, at a commit,
//! stale, failed, busy or broken, and whether a deploy may go on.

use anyhow::{Context, Result, bail};

use super::Target;
use crate::cmd::Cmd;

/// What the stack says about itself before a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deployed {
    /// No such stack, or one whose first change set was never executed (`REVIEW_IN_PROGRESS`):
    /// `sam deploy` creates it.
    None,
    /// A stack whose last operation completed (`CREATE_COMPLETE`, `UPDATE_COMPLETE`,
    /// `IMPORT_COMPLETE`), with its `git-commit` tag.
    At(String),
    /// A stack that can be updated but whose last operation was rolled back
    /// (`UPDATE_ROLLBACK_COMPLETE`, ...) or that has no tag: deployed over, never skipped.
    Stale { status: String },
    /// `ROLLBACK_COMPLETE`: its first create failed; CloudFormation refuses to update it
    /// ("... is in ROLLBACK_COMPLETE state and can not be updated"): deleted, then created again.
    FailedCreate,
    /// An operation is under way (`*_IN_PROGRESS`): wait for it.
    Busy(String),
    /// A failed delete or rollback (`*_FAILED`): a person must look.
    Broken(String),
    /// Not asked (a dry run without `--stack-commit`).
    Unknown,
}

/// `describe-stacks`' answer for a stack that does not exist (xtask/recorded-aws/
/// describe-stacks.missing.stderr.txt).
const NO_SUCH_STACK: &str = "does not exist";

impl Deployed {
    /// From `aws cloudformation describe-stacks --stack-name <stack> --output json`: its stdout
    /// when it succeeded, its stderr when it failed. Any other failure (credentials, network)
    /// is an error: a deploy must not guess that there is no stack.
    pub fn from_describe_stacks(answer: Result<&str, &str>) -> Result<Self> {
        let json = match answer {
            Ok(json) => json,
            Err(stderr) if stderr.contains(NO_SUCH_STACK) => return Ok(Self::None),
            Err(stderr) => bail!("cannot read the stack: {}", stderr.trim()),
        };
        let stacks: serde_json::Value =
            serde_json::from_str(json).context("describe-stacks answered with no JSON")?;
        let stack = &stacks["Stacks"][0];
        let status = stack["StackStatus"]
            .as_str()
            .context("describe-stacks answered without a StackStatus")?;
        let commit = stack["Tags"].as_array().and_then(|tags| {
            tags.iter()
                .find(|t| t["Key"] == "git-commit")
                .and_then(|t| t["Value"].as_str())
        });
        Ok(match status {
            "REVIEW_IN_PROGRESS" => Self::None,
            "ROLLBACK_COMPLETE" => Self::FailedCreate,
            "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" => match commit {
                Some(commit) => Self::At(commit.to_owned()),
                None => Self::Stale {
                    status: status.to_owned(),
                },
            },
            s if s.ends_with("_IN_PROGRESS") => Self::Busy(s.to_owned()),
            s if s.ends_with("_FAILED") => Self::Broken(s.to_owned()),
            s => Self::Stale {
                status: s.to_owned(),
            },
        })
    }

    /// Why a deploy cannot go on now, and what to do; None when it can.
    pub fn refusal(&self, stack: &str, region: &str) -> Option<String> {
        match self {
            Self::Busy(status) => Some(format!(
                "stack {stack} in {region} is {status}: wait until it ends (aws cloudformation \
                 describe-stacks --stack-name {stack}), then deploy again"
            )),
            Self::Broken(status) => Some(format!(
                "stack {stack} in {region} is {status}: read why in its events (aws cloudformation \
                 describe-stack-events --stack-name {stack}); after fixing the cause, \
                 `./build.sh remove` it, or continue the rollback (aws cloudformation \
                 continue-update-rollback) for UPDATE_ROLLBACK_FAILED"
            )),
            _ => None,
        }
    }
}

/// The stack as `describe-stacks` tells it (status and tags), read by
/// [`Deployed::from_describe_stacks`].
pub fn stack_query(target: &Target) -> Cmd {
    target
        .aws(&[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            &target.stack(),
        ])
        .args(["--output", "json"])
}
