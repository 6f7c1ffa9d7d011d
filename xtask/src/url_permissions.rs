//! What the SAM transform actually produced for the Function URLs: for a value of
//! `DemoFunctionUrlAuth`, every `AWS::Lambda::Url` that CloudFormation would create has the
//! permissions its auth type needs, and no more.
//!
//! - `AuthType: NONE` needs two statements on the URL's target (the function, or the alias it
//!   serves), Lambda developer guide, "Control access to Lambda function URLs": `Principal: "*"`
//!   with `lambda:InvokeFunctionUrl` and `FunctionUrlAuthType: NONE`, and with
//!   `lambda:InvokeFunction` and `InvokedViaFunctionUrl: true` (required since October 2025).
//!   Without them every request gets `403`.
//! - `AuthType: AWS_IAM` needs none, and must have no public (`Principal: "*"`) statement.
//!
//! Linters and checkov pass a template whose permissions are missing: SAM writes them only for a
//! literal `AuthType: NONE`, so a `!Ref` leaves the URL without them. Only the transform's output
//! shows it, and this reads that output with the template's conditions evaluated for the value.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

/// The problems of one transformed template evaluated with `parameters`; empty when every URL
/// has exactly the permissions its auth type needs.
pub fn problems(transformed: &Value, parameters: &BTreeMap<String, String>) -> Vec<String> {
    let conditions = &transformed["Conditions"];
    let active = |resource: &Value| match resource["Condition"].as_str() {
        None => true,
        Some(name) => condition(conditions, name, parameters).unwrap_or(false),
    };
    let resources: Vec<(&String, &Value)> = transformed["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, r)| active(r))
        .collect();
    let permissions: Vec<&Value> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Permission")
        .map(|(_, r)| &r["Properties"])
        .collect();
    let mut found = Vec::new();
    let mut urls = 0;
    for (id, url) in resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Url")
    {
        urls += 1;
        let properties = &url["Properties"];
        let Some(target) = reference(&properties["TargetFunctionArn"]) else {
            found.push(format!(
                "{id}: TargetFunctionArn is not a Ref or GetAtt of a resource"
            ));
            continue;
        };
        let target = match properties["Qualifier"].as_str() {
            Some(qualifier) => format!("{target}:{qualifier}"),
            None => target,
        };
        let auth = resolve(&properties["AuthType"], parameters);
        let on_target: Vec<&&Value> = permissions
            .iter()
            .filter(|p| reference(&p["FunctionName"]).as_deref() == Some(target.as_str()))
            .filter(|p| p["Principal"] == "*")
            .collect();
        let has = |action: &str, key: &str, value: Value| {
            on_target
                .iter()
                .any(|p| p["Action"] == action && p[key] == value)
        };
        match auth.as_deref() {
            Some("NONE") => {
                if !has(
                    "lambda:InvokeFunctionUrl",
                    "FunctionUrlAuthType",
                    "NONE".into(),
                ) {
                    found.push(format!(
                        "{id} (AuthType NONE): no public lambda:InvokeFunctionUrl permission with FunctionUrlAuthType NONE on {target}: every request would get 403"
                    ));
                }
                if !has(
                    "lambda:InvokeFunction",
                    "InvokedViaFunctionUrl",
                    true.into(),
                ) {
                    found.push(format!(
                        "{id} (AuthType NONE): no public lambda:InvokeFunction permission with InvokedViaFunctionUrl on {target}: required of URLs made since October 2025, every request would get 403"
                    ));
                }
            }
            Some("AWS_IAM") => {
                if !on_target.is_empty() {
                    found.push(format!(
                        "{id} (AuthType AWS_IAM): {} public permission(s) on {target}: an IAM-authenticated URL's function must not be public",
                        on_target.len()
                    ));
                }
            }
            other => found.push(format!(
                "{id}: AuthType {other:?} is neither NONE nor AWS_IAM once resolved"
            )),
        }
    }
    if urls == 0 {
        found.push("the transformed template has no AWS::Lambda::Url".to_owned());
    }
    found
}

/// [`problems`] of the transformed template in `file` for `DemoFunctionUrlAuth` = `value`, as
/// sentences that name the value.
pub fn check_file(file: &Path, parameter: &str, value: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the SAM transform's output {}", file.display()))?;
    let transformed: Value = serde_json::from_str(&text)?;
    let parameters = BTreeMap::from([(parameter.to_owned(), value.to_owned())]);
    Ok(problems(&transformed, &parameters)
        .into_iter()
        .map(|p| format!("with {parameter}={value}: {p}"))
        .collect())
}

/// The logical id a `{"Ref": id}` or `{"Fn::GetAtt": [id, "Arn"]}` names.
fn reference(value: &Value) -> Option<String> {
    if let Some(id) = value["Ref"].as_str() {
        return Some(id.to_owned());
    }
    let get_att = value["Fn::GetAtt"].as_array()?;
    if get_att.get(1)?.as_str()? != "Arn" {
        return None;
    }
    Some(get_att.first()?.as_str()?.to_owned())
}

/// A string, or a `Ref` to a parameter, resolved.
fn resolve(value: &Value, parameters: &BTreeMap<String, String>) -> Option<String> {
    if let Some(text) = value.as_str() {
        return Some(text.to_owned());
    }
    parameters.get(value["Ref"].as_str()?).cloned()
}

/// A condition of the template, evaluated as CloudFormation would for `parameters`
/// (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`); `None` for what this cannot
/// evaluate (a pseudo parameter such as the region), which counts as false.
fn condition(
    conditions: &Value,
    name: &str,
    parameters: &BTreeMap<String, String>,
) -> Option<bool> {
    evaluate(&conditions[name], conditions, parameters)
}

fn evaluate(
    expression: &Value,
    conditions: &Value,
    parameters: &BTreeMap<String, String>,
) -> Option<bool> {
    let object = expression.as_object()?;
    let (function, arguments) = object.iter().next()?;
    let list = || arguments.as_array().cloned().unwrap_or_default();
    match function.as_str() {
        "Fn::Equals" => {
            let sides = list();
            Some(resolve(sides.first()?, parameters)? == resolve(sides.get(1)?, parameters)?)
        }
        "Fn::Not" => Some(!evaluate(list().first()?, conditions, parameters)?),
        "Fn::And" => list()
            .iter()
            .map(|e| evaluate(e, conditions, parameters))
            .collect::<Option<Vec<bool>>>()
            .map(|all| all.iter().all(|b| *b)),
        "Fn::Or" => list()
            .iter()
            .map(|e| evaluate(e, conditions, parameters))
            .collect::<Option<Vec<bool>>>()
            .map(|all| all.iter().any(|b| *b)),
        "Condition" => condition(conditions, arguments.as_str()?, parameters),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A transformed template in the shape SAM 1.115 writes: one URL on an alias, one on a
    /// function, `auth` its AuthType, `with_permissions` whether the conditional pair exists.
    fn transformed(auth: Value, with_permissions: bool) -> Value {
        let mut resources = json!({
            "AUrl": {"Type": "AWS::Lambda::Url", "Properties": {"TargetFunctionArn": {"Ref": "AFunctionAliaslive"}, "AuthType": auth}},
            "BUrl": {"Type": "AWS::Lambda::Url", "Properties": {"TargetFunctionArn": {"Fn::GetAtt": ["BFunction", "Arn"]}, "AuthType": auth}},
            "ADirect": {"Type": "AWS::Lambda::Permission", "Properties": {"Action": "lambda:InvokeFunction", "FunctionName": {"Ref": "AFunctionAliaslive"}, "Principal": "apigateway.amazonaws.com"}},
        });
        if with_permissions {
            for (id, target) in [
                ("A", json!({"Ref": "AFunctionAliaslive"})),
                ("B", json!({"Ref": "BFunction"})),
            ] {
                resources[format!("{id}Url")] = resources[format!("{id}Url")].clone();
                resources[format!("{id}PublicUrlPermission")] = json!({"Type": "AWS::Lambda::Permission", "Condition": "PublicDemoUrls", "Properties": {"Action": "lambda:InvokeFunctionUrl", "FunctionName": target, "Principal": "*", "FunctionUrlAuthType": "NONE"}});
                resources[format!("{id}PublicUrlInvokePermission")] = json!({"Type": "AWS::Lambda::Permission", "Condition": "PublicDemoUrls", "Properties": {"Action": "lambda:InvokeFunction", "FunctionName": target, "Principal": "*", "InvokedViaFunctionUrl": true}});
            }
        }
        json!({
            "Conditions": {"PublicDemoUrls": {"Fn::Equals": [{"Ref": "DemoFunctionUrlAuth"}, "NONE"]}},
            "Resources": resources,
        })
    }

    fn auth(value: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("DemoFunctionUrlAuth".to_owned(), value.to_owned())])
    }

    #[test]
    fn conditional_permissions_serve_both_values() {
        let template = transformed(json!({"Ref": "DemoFunctionUrlAuth"}), true);
        assert_eq!(problems(&template, &auth("NONE")), Vec::<String>::new());
        assert_eq!(problems(&template, &auth("AWS_IAM")), Vec::<String>::new());
    }

    #[test]
    fn a_ref_auth_type_without_permissions_is_caught_for_none_only() {
        // What SAM makes of `AuthType: !Ref DemoFunctionUrlAuth` with no permissions written.
        let template = transformed(json!({"Ref": "DemoFunctionUrlAuth"}), false);
        let found = problems(&template, &auth("NONE"));
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found[0].contains("AUrl (AuthType NONE)"), "{found:#?}");
        assert!(
            found
                .iter()
                .any(|p| p.contains("InvokedViaFunctionUrl on BFunction"))
        );
        assert_eq!(problems(&template, &auth("AWS_IAM")), Vec::<String>::new());
    }

    #[test]
    fn public_permissions_on_an_iam_url_are_caught() {
        let mut template = transformed(json!("AWS_IAM"), true);
        template["Conditions"]["PublicDemoUrls"] = json!({"Fn::Not": [{"Fn::Equals": ["a", "b"]}]});
        let found = problems(&template, &auth("AWS_IAM"));
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].contains("must not be public"), "{found:#?}");
    }

    #[test]
    fn a_permission_on_the_function_does_not_serve_a_url_on_its_alias() {
        let mut template = transformed(json!("NONE"), true);
        for id in ["APublicUrlPermission", "APublicUrlInvokePermission"] {
            template["Resources"][id]["Properties"]["FunctionName"] = json!({"Ref": "AFunction"});
        }
        let found = problems(&template, &auth("NONE"));
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found.iter().all(|p| p.contains("AFunctionAliaslive")));
    }

    #[test]
    fn conditions_evaluate_as_cloudformation_does() {
        let conditions = json!({
            "Public": {"Fn::Equals": [{"Ref": "Auth"}, "NONE"]},
            "Private": {"Fn::Not": [{"Condition": "Public"}]},
            "Both": {"Fn::And": [{"Condition": "Public"}, {"Condition": "Private"}]},
            "Either": {"Fn::Or": [{"Condition": "Public"}, {"Condition": "Private"}]},
            "InRegion": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
        });
        let p = BTreeMap::from([("Auth".to_owned(), "NONE".to_owned())]);
        assert_eq!(condition(&conditions, "Public", &p), Some(true));
        assert_eq!(condition(&conditions, "Private", &p), Some(false));
        assert_eq!(condition(&conditions, "Both", &p), Some(false));
        assert_eq!(condition(&conditions, "Either", &p), Some(true));
        assert_eq!(condition(&conditions, "InRegion", &p), None);
    }
}
