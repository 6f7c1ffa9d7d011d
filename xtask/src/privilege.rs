//! Least privilege, checked: for every deployed function, the AWS actions its code can call
//! against the actions its policy in `template.yaml` grants; part of `./build.sh check`.
//!
//! What the code can call is derived statically from the workspace's source, read with `syn`, per
//! binary: every function reachable from the binary's file (by name, across the function crates
//! and `shared`, `#[cfg(test)]` items left out; a method call may land in any module the file's
//! imports lead to, or in their private child modules) is searched for AWS calls:
//! - SDK fluent calls (`.get_item().table_name(...)`, `.invoke().function_name(...)`), and the
//!   items of a DynamoDB transaction (`Put::builder()`, `ConditionCheck::builder()`, ...), each
//!   mapped to its IAM action;
//! - calls of the signed JSON 1.1 client (`shared::signed`): `.call("GetSecretValue", ...)` in a
//!   file whose service is `secretsmanager`, and the operations (`impl Operation for X` with
//!   `NAME`) whose input type `X` a reachable function builds.
//!
//! Reaching by name over-approximates (two functions of one name are both reached), which errs
//! towards demanding a permission, never towards missing one. Besides the code, the template's own
//! configuration needs some actions of the function's role: an SQS `OnFailure` destination needs
//! `sqs:SendMessage`. Resources (ARNs) are not compared here; the policies scope them by hand.
//! The role's managed policies (logs, X-Ray) come from SAM, not from `Policies`, and are not
//! compared either.
//!
//! By job: [`source`] reads one file (with `syn`), [`code`] follows what a binary reaches,
//! [`calls`] turns the calls found into IAM actions, [`policy`] reads what the template grants;
//! this file compares the two per function.

mod calls;
mod code;
mod policy;
mod source;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;

pub use code::Code;
use policy::{granted, needed_by_configuration};

use crate::template::Template;

/// Actions the code reaches that a function's policy may leave out, each with why that path is
/// never taken on AWS: (binary, action, reason).
pub const NOT_NEEDED: [(&str, &str, &str); 1] = [(
    "release-hook",
    "lambda:GetFunctionConfiguration",
    "the invoker reads a function's configuration only when it answered as $LATEST; the hook \
     invokes the version under release, so Lambda's ExecutedVersion is that version",
)];

/// Every function whose policy lacks an action its code calls, or grants one nothing calls.
pub fn problems(
    template: &Template,
    code: &Code,
    entry_of: &BTreeMap<String, PathBuf>,
) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for function in template.functions()? {
        let Some(entry) = entry_of.get(&function.binary) else {
            found.push(format!(
                "least privilege: no source file for binary {} ({})",
                function.binary, function.logical_id
            ));
            continue;
        };
        let resource = &template.resources()[function.logical_id.as_str()];
        let mut needed = code.reached(entry)?;
        for action in needed_by_configuration(resource) {
            needed.insert(action, "the template's configuration".to_owned());
        }
        let (granted, templates) = granted(resource);
        let id = &function.logical_id;
        for policy in templates {
            found.push(format!(
                "template.yaml: {id} uses the policy template {policy}; write its actions as a statement so they can be checked"
            ));
        }
        needed.retain(|action, _| {
            !NOT_NEEDED
                .iter()
                .any(|(b, a, _)| *b == function.binary && a == action)
        });
        for (action, by) in needed.iter().filter(|(a, _)| !granted.contains(*a)) {
            found.push(format!(
                "template.yaml: {id}'s policy lacks {action}, which {} needs ({by})",
                function.binary
            ));
        }
        for action in granted.iter().filter(|a| !needed.contains_key(*a)) {
            found.push(format!(
                "template.yaml: {id}'s policy grants {action}, which no code of {} calls",
                function.binary
            ));
        }
    }
    Ok(found)
}
