//! The deploy rehearsal over what CloudFormation would get: the SAM translator's output
//! (scan.rs writes it for each `DemoFunctionUrlAuth`), checked for what fails a first deploy on a
//! real account and that no linter looks for:
//!
//! - every function name within Lambda's 64 characters for the longest environment name the
//!   tool accepts ([`crate::aws::longest_env_name`]);
//! - names that are unique per account, not per region (CloudWatch dashboards), carry
//!   `${AWS::Region}`, so a second region does not collide;
//! - nothing kept by `DeletionPolicy: Retain`, which a failed first create would orphan
//!   (`RetainExceptOnCreate` keeps data on remove and deletes it on a rolled-back create);
//! - the HTTP API's access log group under `/aws/vendedlogs/` (one statement in the account's
//!   5,120-character CloudWatch Logs resource policy, not one per deploy);
//! - under CloudFormation's 500 resources per template;
//! - the alarms CodeDeploy rolls a release back on read the released alias's metrics only;
//! - no role may invoke functions by a pattern (`function:${AWS::StackName}-*` reaches every
//!   stack whose name starts like this one's: `dev` reaches `dev-alice`).
//!
//! Not rehearsed here (docs/how-to/first-deploy.md): the account's concurrency quota and a release per
//! family's parameter combinations.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::aws::{APP, FUNCTION_NAME_LIMIT};

/// CloudFormation's limit on resources in one template.
pub const RESOURCE_LIMIT: usize = 500;

/// Resource types whose name is unique per account and region... or per account only: those
/// must carry the region. (CloudWatch dashboard names are global to an account.)
const ACCOUNT_GLOBAL_NAMES: [(&str, &str); 1] = [("AWS::CloudWatch::Dashboard", "DashboardName")];

/// What would fail or leak on a real account in the transform `transformed`, deployed as
/// environment `env` (the longest the tool accepts, to check the names' limits).
pub fn problems(transformed: &Value, env: &str) -> Vec<String> {
    let mut found = Vec::new();
    let stack = format!("{APP}-{env}");
    let Some(resources) = transformed["Resources"].as_object() else {
        return vec!["the transform has no Resources".to_owned()];
    };
    if resources.len() >= RESOURCE_LIMIT {
        found.push(format!(
            "{} resources: CloudFormation takes at most {RESOURCE_LIMIT} per template",
            resources.len()
        ));
    }
    let access_logs: Vec<&str> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::ApiGatewayV2::Stage")
        .filter_map(|r| {
            r["Properties"]["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0].as_str()
        })
        .collect();
    found.extend(release_alarm_problems(resources));
    found.extend(invoke_wildcard_problems(resources));
    for (id, resource) in resources {
        let kind = resource["Type"].as_str().unwrap_or_default();
        let properties = &resource["Properties"];
        // SAM retains the versions AutoPublishAlias publishes (so an update never deletes the
        // one serving); a version goes with its function, so nothing is orphaned.
        if resource["DeletionPolicy"] == "Retain" && kind != "AWS::Lambda::Version" {
            found.push(format!(
                "{id} ({kind}): DeletionPolicy Retain is orphaned by a failed first create; use RetainExceptOnCreate"
            ));
        }
        if kind == "AWS::Lambda::Function"
            && let Some(name) = substituted(&properties["FunctionName"], &stack)
            && name.len() > FUNCTION_NAME_LIMIT
        {
            found.push(format!(
                "{id}: FunctionName {name} is {} characters; Lambda allows {FUNCTION_NAME_LIMIT}",
                name.len()
            ));
        }
        for (global, property) in ACCOUNT_GLOBAL_NAMES {
            if kind == global && !template_text(&properties[property]).contains("${AWS::Region}") {
                found.push(format!(
                    "{id}: {property} is unique per account, not per region: it must carry ${{AWS::Region}}, or a second region's deploy fails"
                ));
            }
        }
        if access_logs.contains(&id.as_str())
            && !template_text(&properties["LogGroupName"]).starts_with("/aws/vendedlogs/")
        {
            found.push(format!(
                "{id}: the HTTP API's access log group must be named under /aws/vendedlogs/ (each other name adds to the account's 5,120-character log resource policy)"
            ));
        }
    }
    found
}

/// The alarms CodeDeploy rolls a release back on must judge that release: every Lambda metric they
/// read names one function's alias (`Resource`), so another control's errors, or the old
/// version's, roll nothing back.
fn release_alarm_problems(resources: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut found = Vec::new();
    let alarms = resources
        .values()
        .filter(|r| r["Type"] == "AWS::CodeDeploy::DeploymentGroup")
        .flat_map(|group| {
            group["Properties"]["AlarmConfiguration"]["Alarms"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|alarm| alarm["Name"]["Ref"].as_str().map(str::to_owned));
    for id in alarms {
        let Some(alarm) = resources.get(&id) else {
            continue;
        };
        let metrics = alarm["Properties"]["Metrics"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let lambda = metrics
            .iter()
            .map(|m| &m["MetricStat"]["Metric"])
            .chain(std::iter::once(&alarm["Properties"]))
            .filter(|m| m["Namespace"] == "AWS/Lambda");
        for metric in lambda {
            let dimensions = metric["Dimensions"].as_array().cloned().unwrap_or_default();
            if !dimensions.iter().any(|d| d["Name"] == "Resource") {
                found.push(format!(
                    "{id}: a release alarm reads {} without the alias (Resource dimension): it judges more than the release",
                    metric["MetricName"].as_str().unwrap_or("a Lambda metric")
                ));
            }
        }
    }
    found
}

/// Roles that may invoke Lambda functions by a pattern rather than by name.
fn invoke_wildcard_problems(resources: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut found = Vec::new();
    for (id, role) in resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::Role")
    {
        let statements = role["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["PolicyDocument"]["Statement"].as_array())
            .flatten();
        for statement in statements {
            let action = &statement["Action"];
            let invokes = action == "lambda:InvokeFunction"
                || action
                    .as_array()
                    .is_some_and(|a| a.iter().any(|a| a == "lambda:InvokeFunction"));
            if !invokes {
                continue;
            }
            let resource = &statement["Resource"];
            let entries = resource
                .as_array()
                .map_or(vec![resource], |a| a.iter().collect());
            for entry in entries {
                let text = template_text(entry);
                if text.contains(":function:") && text.contains('*') {
                    found.push(format!(
                        "{id}: may invoke {text}: a wildcard over functions reaches other stacks' (name each function)"
                    ));
                }
            }
        }
    }
    found
}

/// A name's template text: a literal, or an `Fn::Sub` string ("" for anything else).
fn template_text(value: &Value) -> String {
    value
        .as_str()
        .or_else(|| value["Fn::Sub"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// A literal or `Fn::Sub` name with the stack's name substituted; None when it is computed
/// otherwise (then CloudFormation generates one within the limits).
fn substituted(value: &Value, stack: &str) -> Option<String> {
    let text = template_text(value);
    (!text.is_empty()).then(|| text.replace("${AWS::StackName}", stack))
}

/// [`problems`] of the transform in `file`, each naming it.
pub fn check_file(file: &Path, env: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the SAM transform's output {}", file.display()))?;
    let transformed: Value = serde_json::from_str(&text)?;
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    Ok(problems(&transformed, env)
        .into_iter()
        .map(|p| format!("{name}: {p}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> Value {
        json!({"Resources": {
            "F": {"Type": "AWS::Lambda::Function",
                  "Properties": {"FunctionName": {"Fn::Sub": "${AWS::StackName}-fizzbuzz-candidate-reference"}}},
            "Table": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "RetainExceptOnCreate"},
            "Version": {"Type": "AWS::Lambda::Version", "DeletionPolicy": "Retain"},
            "Dashboard": {"Type": "AWS::CloudWatch::Dashboard",
                          "Properties": {"DashboardName": {"Fn::Sub": "${AWS::StackName}-${AWS::Region}-experiments"}}},
            "Stage": {"Type": "AWS::ApiGatewayV2::Stage",
                      "Properties": {"AccessLogSettings": {"DestinationArn": {"Fn::GetAtt": ["Logs", "Arn"]}}}},
            "Logs": {"Type": "AWS::Logs::LogGroup",
                     "Properties": {"LogGroupName": {"Fn::Sub": "/aws/vendedlogs/${AWS::StackName}-access"}}},
            "Group": {"Type": "AWS::CodeDeploy::DeploymentGroup",
                      "Properties": {"AlarmConfiguration": {"Alarms": [{"Name": {"Ref": "Errors"}}]}}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyDocument": {"Statement": [
                {"Action": ["lambda:InvokeFunction"], "Resource": [{"Fn::GetAtt": ["F", "Arn"]}, {"Fn::Sub": "${F.Arn}:*"}]}]}}]}},
            "Errors": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Metrics": [
                {"Id": "errors", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors",
                  "Dimensions": [{"Name": "FunctionName", "Value": "f"}, {"Name": "Resource", "Value": "f:live"}]}}}]}}
        }})
    }

    #[test]
    fn a_template_that_deploys_anywhere_has_no_problems() {
        assert_eq!(problems(&good(), &"e".repeat(19)), Vec::<String>::new());
    }

    #[test]
    fn each_planted_fault_is_named() {
        let cases = [
            (
                "/Resources/Dashboard/Properties/DashboardName",
                json!({"Fn::Sub": "${AWS::StackName}-experiments"}),
                "must carry ${AWS::Region}",
            ),
            (
                "/Resources/Errors/Properties/Metrics/0/MetricStat/Metric/Dimensions",
                json!([{"Name": "FunctionName", "Value": "f"}]),
                "without the alias",
            ),
            (
                "/Resources/Role/Properties/Policies/0/PolicyDocument/Statement/0/Resource/1",
                json!({"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-*"}),
                "a wildcard over functions",
            ),
            (
                "/Resources/Table/DeletionPolicy",
                json!("Retain"),
                "orphaned by a failed first create",
            ),
            (
                "/Resources/Logs/Properties/LogGroupName",
                json!({"Fn::Sub": "/${AWS::StackName}/access"}),
                "/aws/vendedlogs/",
            ),
        ];
        for (pointer, value, expected) in cases {
            let mut template = good();
            *template.pointer_mut(pointer).unwrap() = value;
            let found = problems(&template, "dev");
            assert_eq!(found.len(), 1, "{pointer}: {found:?}");
            assert!(found[0].contains(expected), "{pointer}: {found:?}");
        }
        // One character more than the longest accepted environment name: 65 characters.
        let found = problems(&good(), &"e".repeat(20));
        assert!(
            found[0].contains("is 65 characters; Lambda allows 64"),
            "{found:?}"
        );
        let mut big = good();
        for i in 0..RESOURCE_LIMIT {
            big["Resources"][format!("Q{i}")] = json!({"Type": "AWS::SQS::Queue"});
        }
        assert!(problems(&big, "dev")[0].contains("at most 500"));
    }
}
