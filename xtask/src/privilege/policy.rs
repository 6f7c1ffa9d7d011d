//! What `template.yaml` grants a function (its `Policies`' statements) and what its configuration
//! needs of its role whatever its code does (an SQS destination).

use std::collections::BTreeSet;

use serde_norway::Value;

use crate::template::untag;

/// The actions a function's `Policies` grant (inline statements; a SAM policy template, which
/// would hide its actions, is reported instead).
pub fn granted(resource: &Value) -> (BTreeSet<String>, Vec<String>) {
    let mut actions = BTreeSet::new();
    let mut templates = Vec::new();
    for policy in resource["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let Some(map) = policy.as_mapping() else {
            templates.push(format!("{policy:?}"));
            continue;
        };
        for (key, value) in map {
            match key.as_str() {
                Some("Statement") => {
                    for statement in value.as_sequence().into_iter().flatten() {
                        if statement["Effect"].as_str() != Some("Allow") {
                            continue;
                        }
                        let action = untag(&statement["Action"]);
                        match action {
                            Value::String(one) => {
                                actions.insert(one.clone());
                            }
                            Value::Sequence(many) => {
                                actions.extend(
                                    many.iter().filter_map(|a| a.as_str().map(str::to_owned)),
                                );
                            }
                            _ => {}
                        }
                    }
                }
                Some("Version") => {}
                other => templates.push(other.unwrap_or_default().to_owned()),
            }
        }
    }
    (actions, templates)
}

/// Actions the template's configuration of a function needs of its role, whatever its code does.
pub fn needed_by_configuration(resource: &Value) -> BTreeSet<String> {
    let mut needed = BTreeSet::new();
    let destination = &resource["Properties"]["EventInvokeConfig"]["DestinationConfig"];
    for outcome in ["OnFailure", "OnSuccess"] {
        if destination[outcome]["Type"].as_str() == Some("SQS") {
            needed.insert("sqs:SendMessage".to_owned());
        }
    }
    needed
}
