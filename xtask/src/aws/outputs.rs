//! A deployed stack's outputs (`describe-stacks`), and the endpoints file made from them in the
//! local file's shape.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use super::Target;
use crate::cmd::Cmd;
use crate::template::Template;

/// The stack's outputs as JSON.
pub fn outputs_query(target: &Target) -> Cmd {
    target
        .aws(&[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            &target.stack(),
        ])
        .args(["--query", "Stacks[0].Outputs", "--output", "json"])
}

/// The endpoints file of a deployed stack, in the local file's shape: the shortener (and the
/// report, on the same HTTP API) at the API's URL, every function with a Function URL at it, the
/// tables.
pub fn endpoints_from_outputs(
    template: &Template,
    outputs: &BTreeMap<String, String>,
    region: &str,
) -> Result<serde_json::Value> {
    let mut map = serde_json::Map::new();
    let api = outputs
        .get("ApiUrl")
        .context("the stack has no output ApiUrl: deployed from another template?")?
        .trim_end_matches('/')
        .to_owned();
    map.insert("shortener".to_owned(), api.clone().into());
    map.insert("experiment-report".to_owned(), api.into());
    let names: BTreeMap<String, String> = template
        .functions()?
        .into_iter()
        .map(|f| (f.logical_id, f.name))
        .collect();
    let mut url_functions = std::collections::BTreeSet::new();
    for (key, function) in template.function_url_outputs() {
        let url = outputs.get(&key).with_context(|| {
            format!("the stack has no output {key}: deployed from another template?")
        })?;
        let name = names
            .get(&function)
            .with_context(|| format!("output {key} names no function ({function})"))?;
        map.insert(name.clone(), url.trim_end_matches('/').into());
        url_functions.insert(name.clone());
    }
    if outputs.get("DemoFunctionUrlAuth").map(String::as_str) == Some("AWS_IAM") {
        let iam = shared::function_url::IamUrls {
            region: region.to_owned(),
            functions: url_functions,
        };
        map.insert(
            shared::function_url::AUTH_KEY.to_owned(),
            iam.to_endpoints_entry(),
        );
    }
    // The limits as deployed: template.yaml's, with the stack's parameter values.
    let parameters: BTreeMap<String, String> = outputs
        .get("RouteLimitParameters")
        .map(|text| {
            text.split(',')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    map.insert(
        crate::front::throttle::ROUTE_LIMITS_KEY.to_owned(),
        crate::front::throttle::RouteLimits::from_template(template, &parameters)?.to_json(),
    );
    let table = |key: &str| outputs.get(key).cloned().unwrap_or_default();
    map.insert(
        "tables".to_owned(),
        serde_json::json!({
            "LinksTable": table("LinksTableName"),
            "ExperimentsTable": table("ExperimentsTableName"),
        }),
    );
    Ok(serde_json::Value::Object(map))
}

/// `[{"OutputKey": k, "OutputValue": v}, ...]` as a map.
pub fn parse_outputs(json: &str) -> Result<BTreeMap<String, String>> {
    let value: serde_json::Value = serde_json::from_str(json).context("stack outputs")?;
    Ok(value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            Some((
                o["OutputKey"].as_str()?.to_owned(),
                o["OutputValue"].as_str()?.to_owned(),
            ))
        })
        .collect())
}
