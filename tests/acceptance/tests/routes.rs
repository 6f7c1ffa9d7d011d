//! `template.yaml` against the workspace: every binary is deployed and reachable, the HTTP API's
//! routes are the local router's, and no route can be shadowed by a short code or an alias.
//!
//! Offline and fast; `./build.sh test` runs it next to `cfn-lint` and `sam validate --lint`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_yaml::Value;
use shortener::domain::code::{CODE_LEN, RESERVED};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn template() -> Value {
    let path = root().join("template.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// A value without its CloudFormation short-form tag (`!Ref X` → `X`).
fn untag(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => &tagged.value,
        other => other,
    }
}

fn text(value: &Value) -> &str {
    untag(value)
        .as_str()
        .unwrap_or_else(|| panic!("expected text: {value:?}"))
}

/// `cargo metadata` of the workspace, without dependencies.
fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root())
        .output()
        .expect("cargo metadata");
    assert!(output.status.success(), "cargo metadata failed");
    serde_json::from_slice(&output.stdout).expect("cargo metadata JSON")
}

/// Binaries of the crates under `functions/`: each one is a deployable function.
fn workspace_binaries() -> BTreeSet<String> {
    metadata()["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| {
            p["manifest_path"]
                .as_str()
                .is_some_and(|m| m.contains("/functions/"))
        })
        .flat_map(|p| p["targets"].as_array().expect("targets").clone())
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect()
}

struct Function<'a> {
    logical_id: &'a str,
    binary: &'a str,
    properties: &'a Value,
}

fn functions(template: &Value) -> Vec<Function<'_>> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, r)| {
            let id = id.as_str().expect("logical id");
            assert_eq!(
                r["Metadata"]["BuildMethod"], "rust-cargolambda",
                "{id} must build with cargo lambda"
            );
            Function {
                logical_id: id,
                binary: r["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{id} has no BuildProperties.Binary")),
                properties: &r["Properties"],
            }
        })
        .collect()
}

/// `(method, path)` of every HttpApi event of a function.
fn api_routes(function: &Function) -> BTreeSet<(String, String)> {
    function.properties["Events"]
        .as_mapping()
        .map(|events| {
            events
                .values()
                .filter(|e| e["Type"] == "HttpApi")
                .map(|e| {
                    (
                        text(&e["Properties"]["Method"]).to_ascii_uppercase(),
                        text(&e["Properties"]["Path"]).to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_binary_is_deployed_and_every_function_is_a_binary() {
    let template = template();
    let deployed: BTreeSet<String> = functions(&template)
        .iter()
        .map(|f| f.binary.to_owned())
        .collect();
    let binaries = workspace_binaries();
    let undeployed: Vec<_> = binaries.difference(&deployed).collect();
    let unknown: Vec<_> = deployed.difference(&binaries).collect();
    assert!(
        undeployed.is_empty(),
        "binaries with no function in template.yaml: {undeployed:?}"
    );
    assert!(
        unknown.is_empty(),
        "functions whose binary is not in the workspace: {unknown:?}"
    );
}

#[test]
fn every_function_is_reachable_and_has_a_name_an_output_and_a_log_group() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("Resources");
    let outputs = serde_yaml::to_string(&template["Outputs"]).expect("outputs");
    for function in functions(&template) {
        let id = function.logical_id;
        let has_url = function.properties["FunctionUrlConfig"]["AuthType"].as_str() == Some("NONE");
        // Asynchronous functions (the comparator) are reached through the Invoke API and must say
        // what happens to failed events.
        let invoked_async =
            !function.properties["EventInvokeConfig"]["DestinationConfig"]["OnFailure"].is_null();
        assert!(
            has_url || invoked_async || !api_routes(&function).is_empty(),
            "{id} can be reached by no route, no Function URL and no asynchronous invocation"
        );
        if has_url {
            assert!(
                outputs.contains(&format!("{id}Url.FunctionUrl")),
                "{id}'s Function URL is not in Outputs"
            );
        }
        let name = text(&function.properties["FunctionName"]);
        assert!(
            name.starts_with("${AWS::StackName}-"),
            "{id}: FunctionName {name:?} must start with the stack name"
        );
        let log_group = resources
            .values()
            .find(|r| {
                r["Type"] == "AWS::Logs::LogGroup"
                    && text(&r["Properties"]["LogGroupName"]) == format!("/aws/lambda/${{{id}}}")
            })
            .unwrap_or_else(|| panic!("{id} has no log group"));
        assert!(
            !log_group["Properties"]["RetentionInDays"].is_null(),
            "{id}'s log group keeps logs forever"
        );
    }
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
    assert_eq!(globals["Tracing"], "Active");
}

#[test]
fn the_http_api_routes_are_the_local_routers() {
    let template = template();
    let mut api: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for function in functions(&template) {
        let routes = api_routes(&function);
        if !routes.is_empty() {
            api.entry(function.binary.to_owned())
                .or_default()
                .extend(routes);
        }
    }
    let metadata = metadata();
    let router = metadata["metadata"]["lambda"]["watch"]["router"]
        .as_array()
        .expect("[[workspace.metadata.lambda.watch.router]] in Cargo.toml");
    let mut local: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for route in router {
        let function = route["function"].as_str().expect("function").to_owned();
        let path = route["path"].as_str().expect("path").to_owned();
        for method in route["methods"].as_array().expect("methods") {
            let method = method.as_str().expect("method").to_ascii_uppercase();
            local
                .entry(function.clone())
                .or_default()
                .insert((method, path.clone()));
        }
    }
    // Every API route is in the local router and nothing else is: locally, as on AWS, /round is
    // round-control and not a short code. (Every function is also at /lambda-url/<function>/.)
    for function in api.keys().chain(local.keys()) {
        assert_eq!(
            api.get(function),
            local.get(function),
            "{function}: the HTTP API's routes (template.yaml) and the local router (Cargo.toml) differ"
        );
    }
}

#[test]
fn no_short_code_or_alias_can_shadow_a_route() {
    let template = template();
    let mut segments = BTreeSet::new();
    for function in functions(&template) {
        for (_, path) in api_routes(&function) {
            let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
            if !first.is_empty() && !first.starts_with('{') {
                segments.insert(first.to_ascii_lowercase());
            }
        }
    }
    segments.insert("lambda-url".to_owned()); // cargo lambda watch's prefix, locally
    assert!(segments.contains("round") && segments.contains("apple-app-site-association"));
    for segment in &segments {
        assert!(
            RESERVED.contains(&segment.as_str()),
            "the route segment /{segment} is not reserved: an alias could take it"
        );
        assert!(
            segment.len() != CODE_LEN || !segment.chars().all(|c| c.is_ascii_alphanumeric()),
            "/{segment} has the shape of a generated code"
        );
    }
}
