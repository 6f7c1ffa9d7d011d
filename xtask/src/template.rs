//! `template.yaml`, read by one parser: its functions, tables and outputs, and the packaged copy
//! `sam deploy` uploads (every function's code is the zip `cargo lambda build` made).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde_norway::{Mapping, Value};

pub const FILE: &str = "template.yaml";

/// The alias each control's routes and Function URL serve; a release moves it (CodeDeploy). The
/// experiment runner invokes the functions in `LIVE_ALIAS_FUNCTIONS` through the same alias.
pub const RELEASE_ALIAS: &str = experiments::adapters::invoke::LIVE_ALIAS;

/// The template parameter naming the candidate a family's control runs: `pbkdf2` ->
/// `Pbkdf2Release` (`none`: the control's own code).
pub fn release_parameter(family: &str) -> String {
    let id = registry::Function::logical_id(family);
    format!("{}Release", id.trim_end_matches("Function"))
}

/// The template, parsed. CloudFormation's short-form tags (`!Ref X`) are kept as tagged values.
pub struct Template {
    pub value: Value,
}

/// An `AWS::Serverless::Function` resource.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionResource {
    pub logical_id: String,
    pub binary: String,
    /// `FunctionName` without its `${AWS::StackName}-` prefix.
    pub name: String,
    pub memory_mb: u32,
    /// `METHOD /path` of its HttpApi events.
    pub routes: Vec<String>,
    /// `FunctionUrlConfig.AuthType` as written: `NONE`, `AWS_IAM`, or `!Ref <parameter>` as
    /// [`UrlAuth::Parameter`]; `None` without a Function URL.
    pub url_auth: Option<UrlAuth>,
    /// `ReservedConcurrentExecutions`: the most instances it may run at once.
    pub reserved_concurrency: Option<u32>,
    pub invoked_async: bool,
    /// A CodeDeploy pre-traffic hook of some function's `DeploymentPreference`.
    pub release_hook: bool,
    /// `AutoPublishAlias`: its routes and URL serve this alias of the latest version.
    pub alias: Option<String>,
}

/// Who may call a Function URL, as the template writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlAuth {
    /// A literal `AuthType` (`NONE` or `AWS_IAM`).
    Fixed(String),
    /// `!Ref <parameter>`: the stack's parameter decides.
    Parameter(String),
}

/// The parameter that decides who may call the demonstration Function URLs.
pub const DEMO_URL_AUTH_PARAMETER: &str = "DemoFunctionUrlAuth";
/// The condition under which the demo Function URLs are public (`DemoFunctionUrlAuth` = `NONE`).
pub const PUBLIC_URLS_CONDITION: &str = "PublicDemoUrls";

/// The two statements a public Function URL needs (Lambda developer guide, "Control access to
/// Lambda function URLs"): action, and the property that ties it to the URL.
pub const PUBLIC_URL_STATEMENTS: [(&str, &str, &str); 2] = [
    ("lambda:InvokeFunctionUrl", "FunctionUrlAuthType", "NONE"),
    ("lambda:InvokeFunction", "InvokedViaFunctionUrl", "true"),
];

/// An `AWS::DynamoDB::Table` resource: what DynamoDB Local needs to create it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableResource {
    pub logical_id: String,
    pub attributes: Vec<(String, String)>,
    /// `(attribute, HASH|RANGE)`.
    pub key_schema: Vec<(String, String)>,
    pub ttl_attribute: Option<String>,
}

/// A value without its short-form tag (`!Ref X` -> `X`).
pub fn untag(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => &tagged.value,
        other => other,
    }
}

/// `AuthType: NONE` -> fixed; `AuthType: !Ref X` -> the parameter `X`.
fn url_auth(value: &Value) -> Option<UrlAuth> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => {
            Some(UrlAuth::Parameter(tagged.value.as_str()?.to_owned()))
        }
        other => Some(UrlAuth::Fixed(other.as_str()?.to_owned())),
    }
}

fn text(value: &Value) -> Option<&str> {
    untag(value).as_str()
}

impl Template {
    pub fn load(root: &Path) -> Result<Self> {
        let path = root.join(FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self> {
        let value: Value =
            serde_norway::from_str(text).with_context(|| format!("{FILE} is not valid YAML"))?;
        if !value["Resources"].is_mapping() {
            bail!("{FILE} has no Resources");
        }
        Ok(Self { value })
    }

    /// Each parameter's default, as text ("" for a parameter without one).
    pub fn parameter_defaults(&self) -> BTreeMap<String, String> {
        self.value["Parameters"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(name, p)| {
                let default = match &p["Default"] {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => String::new(),
                };
                Some((name.as_str()?.to_owned(), default))
            })
            .collect()
    }

    /// The whole template, as read.
    pub fn value(&self) -> &Value {
        &self.value
    }

    pub fn resources(&self) -> &Mapping {
        self.value["Resources"]
            .as_mapping()
            .expect("checked in parse")
    }

    fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.resources()
            .iter()
            .filter(move |(_, r)| r["Type"].as_str() == Some(kind))
            .filter_map(|(id, r)| Some((id.as_str()?, r)))
    }

    pub fn functions(&self) -> Result<Vec<FunctionResource>> {
        let default_memory = self.value["Globals"]["Function"]["MemorySize"]
            .as_u64()
            .unwrap_or(128);
        let hooks: Vec<&str> = self
            .of_type("AWS::Serverless::Function")
            .flat_map(|(_, r)| {
                let hooks = &r["Properties"]["DeploymentPreference"]["Hooks"];
                [text(&hooks["PreTraffic"]), text(&hooks["PostTraffic"])]
            })
            .flatten()
            .collect();
        self.of_type("AWS::Serverless::Function")
            .map(|(id, resource)| {
                let properties = &resource["Properties"];
                let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .ok_or_else(|| anyhow!("{id} has no Metadata.BuildProperties.Binary"))?;
                let full_name = text(&properties["FunctionName"])
                    .ok_or_else(|| anyhow!("{id} has no FunctionName"))?;
                // CodeDeploy may invoke only hooks named CodeDeployHook_*.
                let name = full_name
                    .strip_prefix("${AWS::StackName}-")
                    .or_else(|| full_name.strip_prefix("CodeDeployHook_${AWS::StackName}-"))
                    .ok_or_else(|| {
                        anyhow!("{id}: FunctionName {full_name:?} must start with ${{AWS::StackName}}-")
                    })?;
                let routes = properties["Events"]
                    .as_mapping()
                    .map(|events| {
                        events
                            .values()
                            .filter(|e| e["Type"].as_str() == Some("HttpApi"))
                            .filter_map(|e| {
                                let method = text(&e["Properties"]["Method"])?;
                                let path = text(&e["Properties"]["Path"])?;
                                Some(format!("{} {path}", method.to_ascii_uppercase()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(FunctionResource {
                    logical_id: id.to_owned(),
                    binary: binary.to_owned(),
                    name: name.to_owned(),
                    memory_mb: properties["MemorySize"].as_u64().unwrap_or(default_memory) as u32,
                    routes,
                    url_auth: url_auth(&properties["FunctionUrlConfig"]["AuthType"]),
                    reserved_concurrency: properties["ReservedConcurrentExecutions"]
                        .as_u64()
                        .map(|n| n as u32),
                    invoked_async: !properties["EventInvokeConfig"]["DestinationConfig"]
                        ["OnFailure"]
                        .is_null(),
                    release_hook: hooks.contains(&id),
                    alias: text(&properties["AutoPublishAlias"]).map(str::to_owned),
                })
            })
            .collect()
    }

    pub fn tables(&self) -> Result<Vec<TableResource>> {
        self.of_type("AWS::DynamoDB::Table")
            .map(|(id, resource)| {
                let properties = &resource["Properties"];
                let pairs = |key: &str, a: &str, b: &str| -> Result<Vec<(String, String)>> {
                    properties[key]
                        .as_sequence()
                        .ok_or_else(|| anyhow!("table {id} has no {key}"))?
                        .iter()
                        .map(|item| {
                            Ok((
                                text(&item[a])
                                    .ok_or_else(|| anyhow!("{id}.{key}: no {a}"))?
                                    .to_owned(),
                                text(&item[b])
                                    .ok_or_else(|| anyhow!("{id}.{key}: no {b}"))?
                                    .to_owned(),
                            ))
                        })
                        .collect()
                };
                if !properties["GlobalSecondaryIndexes"].is_null()
                    || !properties["LocalSecondaryIndexes"].is_null()
                {
                    bail!("table {id} has indexes, which the local stack does not create yet");
                }
                let ttl = &properties["TimeToLiveSpecification"];
                Ok(TableResource {
                    logical_id: id.to_owned(),
                    attributes: pairs("AttributeDefinitions", "AttributeName", "AttributeType")?,
                    key_schema: pairs("KeySchema", "AttributeName", "KeyType")?,
                    ttl_attribute: (ttl["Enabled"].as_bool() == Some(true))
                        .then(|| text(&ttl["AttributeName"]).map(str::to_owned))
                        .flatten(),
                })
            })
            .collect()
    }

    /// The `(action, property)` pairs of [`PUBLIC_URL_STATEMENTS`] granted to everyone under
    /// [`PUBLIC_URLS_CONDITION`] on `target` (a logical id, or `<id>.Alias`).
    pub fn public_url_statements(&self, target: &str) -> Vec<(String, String)> {
        self.of_type("AWS::Lambda::Permission")
            .filter(|(_, r)| r["Condition"].as_str() == Some(PUBLIC_URLS_CONDITION))
            .map(|(_, r)| &r["Properties"])
            .filter(|p| {
                text(&p["FunctionName"]) == Some(target) && p["Principal"].as_str() == Some("*")
            })
            .filter_map(|p| {
                let action = p["Action"].as_str()?;
                let (_, key, want) = PUBLIC_URL_STATEMENTS
                    .iter()
                    .find(|(a, _, _)| *a == action)?;
                let have = match &p[*key] {
                    Value::Bool(b) => b.to_string(),
                    other => other.as_str()?.to_owned(),
                };
                (have == *want).then(|| (action.to_owned(), (*key).to_owned()))
            })
            .collect()
    }

    /// The resources the `lambda:InvokeFunction` statements of function `logical_id`'s policies
    /// grant, read as `(function logical id, qualified)`: `!GetAtt X.Arn` is `(X, false)`,
    /// `!Sub "${X.Arn}:*"` (its aliases and versions) is `(X, true)`; anything else (a wildcard
    /// ARN) is `Err(its text)`.
    pub fn invoke_targets(&self, logical_id: &str) -> Vec<Result<(String, bool), String>> {
        let policies = &self.value["Resources"][logical_id]["Properties"]["Policies"];
        let statements = policies
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|policy| policy["Statement"].as_sequence())
            .flatten();
        let invokes = |statement: &&Value| {
            let action = &statement["Action"];
            action.as_str() == Some("lambda:InvokeFunction")
                || action.as_sequence().is_some_and(|a| {
                    a.iter()
                        .any(|a| a.as_str() == Some("lambda:InvokeFunction"))
                })
        };
        let mut targets = Vec::new();
        for statement in statements.filter(invokes) {
            let resource = &statement["Resource"];
            let entries: Vec<&Value> = match resource.as_sequence() {
                Some(list) => list.iter().collect(),
                None => vec![resource],
            };
            for entry in entries {
                let target = match entry {
                    Value::Tagged(t) if t.tag == "GetAtt" => t
                        .value
                        .as_str()
                        .and_then(|v| v.strip_suffix(".Arn"))
                        .map(|id| (id.to_owned(), false)),
                    Value::Tagged(t) if t.tag == "Sub" => t
                        .value
                        .as_str()
                        .and_then(|v| v.strip_prefix("${")?.strip_suffix(".Arn}:*"))
                        .map(|id| (id.to_owned(), true)),
                    _ => None,
                };
                targets.push(target.ok_or_else(|| {
                    text(entry).map_or_else(|| format!("{entry:?}"), str::to_owned)
                }));
            }
        }
        targets
    }

    /// Outputs whose value is `!GetAtt <Function>Url.FunctionUrl`: output key -> function
    /// resource's logical id.
    pub fn function_url_outputs(&self) -> BTreeMap<String, String> {
        let Some(outputs) = self.value["Outputs"].as_mapping() else {
            return BTreeMap::new();
        };
        outputs
            .iter()
            .filter_map(|(key, output)| {
                let Value::Tagged(tagged) = &output["Value"] else {
                    return None;
                };
                if tagged.tag != "GetAtt" {
                    return None;
                }
                let target = tagged.value.as_str()?;
                let function = target.strip_suffix("Url.FunctionUrl")?;
                Some((key.as_str()?.to_owned(), function.to_owned()))
            })
            .collect()
    }

    /// The functions (logical ids) whose `AWS/Lambda` `Duration` some alarm reads.
    pub fn duration_alarmed_functions(&self) -> std::collections::BTreeSet<String> {
        let mut found = std::collections::BTreeSet::new();
        for (_, alarm) in self.of_type("AWS::CloudWatch::Alarm") {
            for query in alarm["Properties"]["Metrics"]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                let metric = &query["MetricStat"]["Metric"];
                if metric["Namespace"].as_str() != Some("AWS/Lambda")
                    || metric["MetricName"].as_str() != Some("Duration")
                {
                    continue;
                }
                for dimension in metric["Dimensions"].as_sequence().into_iter().flatten() {
                    if let Value::Tagged(tagged) = &dimension["Value"]
                        && tagged.tag == "Ref"
                        && let Some(id) = tagged.value.as_str()
                    {
                        found.insert(id.to_owned());
                    }
                }
            }
        }
        found
    }

    /// The log group of function `logical_id`: named `/aws/lambda/` + the function's
    /// `FunctionName` text (`${AWS::StackName}-<name>`: from the stack, not from the function, so
    /// the group does not depend on it), with its logical id.
    pub fn log_group_of(&self, logical_id: &str) -> Option<(&str, &Value)> {
        let function = text(&self.value["Resources"][logical_id]["Properties"]["FunctionName"])?;
        let group = format!("/aws/lambda/{function}");
        self.of_type("AWS::Logs::LogGroup")
            .find(|(_, r)| text(&r["Properties"]["LogGroupName"]) == Some(group.as_str()))
    }

    /// Whether resource `logical_id` has `DependsOn` `on` (one name or a list).
    pub fn depends_on(&self, logical_id: &str, on: &str) -> bool {
        let depends = &self.value["Resources"][logical_id]["DependsOn"];
        depends.as_str() == Some(on)
            || depends
                .as_sequence()
                .is_some_and(|list| list.iter().any(|d| d.as_str() == Some(on)))
    }

    /// The template `sam deploy` uploads: each function's `CodeUri` is the zip of its binary,
    /// `zip_of(binary)`; everything else as written.
    pub fn packaged(&self, zip_of: impl Fn(&str) -> String) -> Result<String> {
        let mut value = self.value.clone();
        let resources = value["Resources"]
            .as_mapping_mut()
            .expect("checked in parse");
        for (id, resource) in resources.iter_mut() {
            if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
                continue;
            }
            let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .ok_or_else(|| anyhow!("{id:?} has no Metadata.BuildProperties.Binary"))?
                .to_owned();
            resource["Properties"]["CodeUri"] = Value::String(zip_of(&binary));
            // Built already: nothing for `sam build` to do with it.
            if let Some(metadata) = resource.as_mapping_mut() {
                metadata.remove("Metadata");
            }
        }
        to_yaml(&value)
    }
}

/// `value` as YAML that every reader of templates parses alike. serde_norway writes YAML 1.2,
/// where `2010-09-09` is a string and needs no quotes; the SAM CLI, cfn-lint and checkov read
/// YAML 1.1, where it is a date (checkov then fails on `AWSTemplateFormatVersion`, and a policy's
/// `Version: 2012-10-17` stops being text): date-like scalars are quoted.
pub fn to_yaml(value: &Value) -> Result<String> {
    let text = serde_norway::to_string(value)?;
    let mut out = String::with_capacity(text.len() + 32);
    for line in text.lines() {
        let cut = line.rfind(": ").map(|i| i + 2).or_else(|| {
            line.trim_start()
                .starts_with("- ")
                .then(|| line.find("- ").unwrap() + 2)
        });
        match cut {
            Some(at) if is_date(&line[at..]) => {
                out.push_str(&line[..at]);
                out.push('"');
                out.push_str(&line[at..]);
                out.push('"');
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    Ok(out)
}

/// `YYYY-MM-DD`, as YAML 1.1 resolves a plain scalar to a timestamp.
fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_stay_text_for_yaml_1_1_readers() {
        let value: Value = serde_norway::from_str(
            "AWSTemplateFormatVersion: \"2010-09-09\"\nStatement:\n  - Version: \"2012-10-17\"\n  - \"2012-10-17\"\nName: \"2012-10-17x\"\n",
        )
        .unwrap();
        let text = to_yaml(&value).unwrap();
        assert!(
            text.contains("AWSTemplateFormatVersion: \"2010-09-09\""),
            "{text}"
        );
        assert!(text.contains("Version: \"2012-10-17\""), "{text}");
        assert!(text.contains("- \"2012-10-17\""), "{text}");
        assert!(text.contains("Name: 2012-10-17x"), "{text}");
        // And the text reads back as the same value.
        assert_eq!(serde_norway::from_str::<Value>(&text).unwrap(), value);
    }

    fn workspace() -> Template {
        Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).expect("template.yaml")
    }

    #[test]
    fn functions_are_read_with_binary_name_memory_and_routes() {
        let functions = workspace().functions().unwrap();
        let shortener = functions
            .iter()
            .find(|f| f.logical_id == "ShortenerFunction")
            .expect("shortener");
        assert_eq!(shortener.binary, "shortener");
        assert_eq!(shortener.name, "shortener");
        assert_eq!(shortener.memory_mb, 128);
        assert_eq!(shortener.url_auth, None);
        assert_eq!(shortener.reserved_concurrency, None);
        assert!(shortener.routes.contains(&"GET /{code}".to_owned()));
        let variant = functions
            .iter()
            .find(|f| f.name == "pbkdf2-control-3008")
            .expect("a memory variant");
        assert_eq!(
            (variant.binary.as_str(), variant.memory_mb),
            ("pbkdf2-control", 3008)
        );
        assert_eq!(
            variant.url_auth,
            Some(UrlAuth::Parameter(DEMO_URL_AUTH_PARAMETER.to_owned()))
        );
        assert!(variant.reserved_concurrency.is_some());
    }

    #[test]
    fn tables_are_read_with_keys_and_ttl() {
        let tables = workspace().tables().unwrap();
        let experiments = tables
            .iter()
            .find(|t| t.logical_id == "ExperimentsTable")
            .unwrap();
        assert_eq!(
            experiments.key_schema,
            [("pk".into(), "HASH".into()), ("sk".into(), "RANGE".into())]
        );
        assert_eq!(experiments.ttl_attribute.as_deref(), Some("ttl"));
    }

    #[test]
    fn the_packaged_template_points_every_function_at_its_zip_and_keeps_the_tags() {
        let template = workspace();
        let packaged = template
            .packaged(|binary| format!("/zips/{binary}/bootstrap.zip"))
            .unwrap();
        let again = Template::parse(&packaged).unwrap();
        for (id, resource) in again.of_type("AWS::Serverless::Function") {
            let binary = template.resources()[id]["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap();
            assert_eq!(
                resource["Properties"]["CodeUri"].as_str(),
                Some(format!("/zips/{binary}/bootstrap.zip").as_str()),
                "{id}"
            );
            assert!(
                resource["Metadata"].is_null(),
                "{id} still asks sam build for a build"
            );
        }
        assert!(packaged.contains("!Sub"), "short-form tags must survive");
        assert_eq!(
            again.function_url_outputs(),
            template.function_url_outputs()
        );
    }
}
