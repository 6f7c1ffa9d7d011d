//! The remove plan (`./build.sh remove`): what the stack keeps when it goes (its tables and code
//! key), the queries that find them and SAM's artifact bucket, and the steps that delete it.

use anyhow::{Context, Result};

use super::{Step, Target};
use crate::cmd::Cmd;

/// What a stack keeps when it goes (`DeletionPolicy: RetainExceptOnCreate`): each one's physical
/// id, None when the stack does not have it (a create rolled back deleted it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retained {
    pub links_table: Option<String>,
    pub experiments_table: Option<String>,
    pub code_key_secret: Option<String>,
}

/// The retained resources' logical ids in template.yaml.
const RETAINED: [&str; 3] = ["LinksTable", "ExperimentsTable", "CodeKeySecret"];

impl Retained {
    /// Placeholders for a dry run, which asks AWS nothing.
    pub fn placeholders() -> Self {
        Self {
            links_table: Some("<LinksTable>".to_owned()),
            experiments_table: Some("<ExperimentsTable>".to_owned()),
            code_key_secret: Some("<CodeKeySecret>".to_owned()),
        }
    }

    /// From `aws cloudformation list-stack-resources --output json`: works for a stack without
    /// outputs too (a failed or half-made one). A resource deleted already (`DELETE_COMPLETE`,
    /// as after a rolled-back create) is not kept.
    pub fn from_stack_resources(json: &str) -> Result<Self> {
        let listed: serde_json::Value =
            serde_json::from_str(json).context("list-stack-resources answered with no JSON")?;
        let summaries = listed["StackResourceSummaries"]
            .as_array()
            .context("list-stack-resources answered without StackResourceSummaries")?;
        let physical = |logical: &str| {
            summaries
                .iter()
                .find(|r| r["LogicalResourceId"] == logical)
                .filter(|r| r["ResourceStatus"] != "DELETE_COMPLETE")
                .and_then(|r| r["PhysicalResourceId"].as_str())
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
        };
        let [links, experiments, key] = RETAINED;
        Ok(Self {
            links_table: physical(links),
            experiments_table: physical(experiments),
            code_key_secret: physical(key),
        })
    }
}

/// The stack's resources (for [`Retained::from_stack_resources`]).
pub fn stack_resources_query(target: &Target) -> Cmd {
    target.aws(&[
        "cloudformation",
        "list-stack-resources",
        "--stack-name",
        &target.stack(),
        "--output",
        "json",
    ])
}

/// The query for SAM's managed artifact bucket.
pub fn artifact_bucket_query(target: &Target) -> Cmd {
    target.describe(
        "aws-sam-cli-managed-default",
        "Stacks[0].Outputs[?OutputKey=='SourceBucket'].OutputValue | [0]",
    )
}

/// `./build.sh remove`: delete the stack and wait, delete its uploaded artifacts, and the
/// retained data only when asked.
pub fn remove_plan(
    target: &Target,
    retained: &Retained,
    bucket: Option<&str>,
    delete_data: bool,
) -> Vec<Step> {
    let stack = target.stack();
    let mut plan = vec![
        Step::Say(format!("removing {stack} from {}", target.region)),
        Step::Run(target.aws(&["cloudformation", "delete-stack", "--stack-name", &stack])),
        Step::Run(target.aws(&[
            "cloudformation",
            "wait",
            "stack-delete-complete",
            "--stack-name",
            &stack,
        ])),
    ];
    // sam deploy --resolve-s3 uploaded the artifacts under the stack's prefix.
    if let Some(bucket) = bucket.filter(|b| !b.is_empty() && *b != "None") {
        plan.push(Step::Run(target.aws(&[
            "s3",
            "rm",
            &format!("s3://{bucket}/{stack}"),
            "--recursive",
        ])));
    }
    let tables = [&retained.links_table, &retained.experiments_table];
    if delete_data {
        for table in tables.into_iter().flatten() {
            plan.push(Step::Run(target.aws(&[
                "dynamodb",
                "delete-table",
                "--table-name",
                table,
            ])));
        }
        if let Some(secret) = &retained.code_key_secret {
            plan.push(Step::Run(target.aws(&[
                "secretsmanager",
                "delete-secret",
                "--secret-id",
                secret,
                "--force-delete-without-recovery",
            ])));
        }
    } else {
        let kept: Vec<String> = [
            ("the links table", &retained.links_table),
            ("the experiments table", &retained.experiments_table),
            ("the code key", &retained.code_key_secret),
        ]
        .into_iter()
        .filter_map(|(what, id)| id.as_ref().map(|id| format!("{what} {id}")))
        .collect();
        if !kept.is_empty() {
            plan.push(Step::Say(format!(
                "kept {} (--delete-data deletes them)",
                kept.join(", ")
            )));
        }
    }
    plan.push(Step::ForgetEndpoints);
    plan
}
