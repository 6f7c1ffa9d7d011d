//! What a scaffolded registry entry adds, derived when it is needed rather than written into files.
//!
//! `new-candidate` adds one entry to `functions.toml` (with `scaffolded = true`) and the
//! candidate's module and binary in its family's crate; it edits nothing else. From that entry:
//! - the deployed template (and the one cfn-lint and `sam validate` check) is `template.yaml` plus
//!   the candidate's function, log group and Function URL output ([`template`]);
//! - the uploaded experiment definitions have the candidate in its family's experiment (the
//!   experiment named after the family), unless a definition names it already, e.g. to declare
//!   intended differences ([`definition_files`]).
//!
//! The in-process dispatch (tests/acceptance/build.rs), the local endpoints and the arm64 build
//! read the registry directly.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use registry::{Function, Registry};
use serde_norway::{Mapping, Value};

use crate::template::Template;

/// `template.yaml` as deployed: the file plus every scaffolded entry's resources and output.
pub fn template(root: &Path, registry: &Registry) -> Result<Template> {
    let mut template = Template::load(root)?;
    for function in registry.scaffolded() {
        let (resources, outputs) = resources_of(function)?;
        for (section, entries) in [("Resources", resources), ("Outputs", outputs)] {
            let target = template.value[section]
                .as_mapping_mut()
                .with_context(|| format!("template.yaml has no {section}"))?;
            for (key, value) in entries {
                if target.contains_key(&key) {
                    bail!(
                        "{} is scaffolded (functions.toml), so its {section}.{} is generated: \
                         remove it from template.yaml, or remove `scaffolded` from its entry",
                        function.name,
                        key.as_str().unwrap_or_default()
                    );
                }
                target.insert(key, value);
            }
        }
    }
    // The proxy and the comparator may invoke the new candidates too (check/template.rs holds the lists
    // to the registry).
    for function in registry.scaffolded() {
        let id = Function::logical_id(&function.name);
        let entries: Vec<Value> =
            serde_norway::from_str(&format!("[!GetAtt {id}.Arn, !Sub \"${{{id}.Arn}}:*\"]"))?;
        for invoker in ["ExperimentProxyFunction", "ExperimentComparatorFunction"] {
            let statements =
                template.value["Resources"][invoker]["Properties"]["Policies"][0]["Statement"]
                    .as_sequence_mut()
                    .with_context(|| {
                        format!("template.yaml: {invoker} has no policy statements")
                    })?;
            let invoke = statements
                .iter_mut()
                .find(|s| {
                    s["Action"].as_sequence().is_some_and(|a| {
                        a.iter()
                            .any(|a| a.as_str() == Some("lambda:InvokeFunction"))
                    })
                })
                .with_context(|| format!("template.yaml: {invoker} invokes no function"))?;
            invoke["Resource"]
                .as_sequence_mut()
                .with_context(|| {
                    format!("template.yaml: {invoker}'s invoke Resource is not a list")
                })?
                .extend(entries.iter().cloned());
        }
    }
    if registry.scaffolded().next().is_some() {
        // The report prices every deployment, the new candidates' too.
        let variables = &mut template.value["Resources"]["ExperimentReportFunction"]["Properties"]
            ["Environment"]["Variables"];
        if let Some(variables) = variables.as_mapping_mut() {
            variables.insert(
                Value::from("FUNCTION_MEMORY_MB"),
                Value::from(crate::local::memory_sizes(registry)),
            );
        }
    }
    Ok(template)
}

/// The template file cfn-lint and `sam validate` check: `template.yaml` itself, or, with
/// scaffolded candidates, the derived template written under `target/`.
pub fn template_file(root: &Path, target_dir: &Path, registry: &Registry) -> Result<PathBuf> {
    if registry.scaffolded().next().is_none() {
        return Ok(root.join(crate::template::FILE));
    }
    let file = target_dir.join("xtask/template.yaml");
    std::fs::create_dir_all(file.parent().expect("a folder"))?;
    std::fs::write(
        &file,
        crate::template::to_yaml(&template(root, registry)?.value)?,
    )?;
    Ok(file)
}

/// A scaffolded candidate's function, its public-URL permissions (under the condition), log
/// group, and its Function URL output, as
/// template.yaml writes a workshop candidate.
fn resources_of(function: &Function) -> Result<(Mapping, Mapping)> {
    let id = Function::logical_id(&function.name);
    let base = id.trim_end_matches("Function");
    let name = &function.name;
    let yaml = format!(
        r#"
Resources:
  {id}:
    Type: AWS::Serverless::Function
    DependsOn: {base}LogGroup
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: {name}
    Properties:
      FunctionName: !Sub "${{AWS::StackName}}-{name}"
      CodeUri: .
      Description: Workshop candidate {name} (functions.toml, scaffolded)
      ReservedConcurrentExecutions: 2
      FunctionUrlConfig:
        AuthType: !Ref DemoFunctionUrlAuth
  {base}PublicUrlPermission:
    Type: AWS::Lambda::Permission
    Condition: PublicDemoUrls
    Properties: {{ Action: lambda:InvokeFunctionUrl, FunctionName: !Ref {id}, Principal: "*", FunctionUrlAuthType: NONE }}
  {base}PublicUrlInvokePermission:
    Type: AWS::Lambda::Permission
    Condition: PublicDemoUrls
    Properties: {{ Action: lambda:InvokeFunction, FunctionName: !Ref {id}, Principal: "*", InvokedViaFunctionUrl: true }}
  {base}LogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub "/aws/lambda/${{AWS::StackName}}-{name}"
      RetentionInDays: !Ref LogRetentionDays
Outputs:
  {base}Url:
    Description: Function URL of {name} (append the function's path).
    Value: !GetAtt {id}Url.FunctionUrl
"#
    );
    let value: Value = serde_norway::from_str(&yaml)?;
    let section = |key: &str| value[key].as_mapping().cloned().context("a section");
    Ok((section("Resources")?, section("Outputs")?))
}

/// `files` as uploaded: each file that holds a family's experiment and lacks one of the family's
/// scaffolded candidates is replaced by a copy under `target/xtask/definitions/` (same file name,
/// so the same source in the table) with the candidates added.
pub fn definition_files(
    registry: &Registry,
    target_dir: &Path,
    files: &[PathBuf],
) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let mut value: Value = serde_norway::from_str(&text)
            .with_context(|| format!("{} is not valid YAML", file.display()))?;
        if !add_candidates(registry, &mut value)? {
            out.push(file.clone());
            continue;
        }
        let copy = target_dir
            .join("xtask/definitions")
            .join(file.file_name().context("a file name")?);
        std::fs::create_dir_all(copy.parent().expect("a folder"))?;
        std::fs::write(&copy, serde_norway::to_string(&value)?)?;
        out.push(copy);
    }
    Ok(out)
}

/// Adds each scaffolded candidate no experiment of `definitions` names to its family's
/// experiment there, if it has one; whether anything was added.
pub fn add_candidates(registry: &Registry, definitions: &mut Value) -> Result<bool> {
    let named = named_functions(definitions);
    let mut added = false;
    for function in registry.scaffolded() {
        if named.contains(&function.name) {
            continue;
        }
        let candidates = &mut definitions["experiments"][function.family.as_str()]["candidates"];
        let Some(candidates) = candidates.as_mapping_mut() else {
            continue;
        };
        let id = short_name(function);
        let mut entry = Mapping::new();
        entry.insert("name".into(), format!("{} (yours)", function.name).into());
        entry.insert("function".into(), function.name.clone().into());
        candidates.insert(id.into(), Value::Mapping(entry));
        added = true;
    }
    Ok(added)
}

/// Every function the experiments of `definitions` name, as control or candidate.
pub fn named_functions(definitions: &Value) -> Vec<String> {
    let mut names = Vec::new();
    for (_, experiment) in definitions["experiments"]
        .as_mapping()
        .into_iter()
        .flatten()
    {
        names.extend(
            experiment["control"]["function"]
                .as_str()
                .map(str::to_owned),
        );
        for (_, candidate) in experiment["candidates"].as_mapping().into_iter().flatten() {
            names.extend(candidate["function"].as_str().map(str::to_owned));
        }
    }
    names
}

/// The candidate's id in its experiment: `round-candidate-my-idea` -> `my-idea`.
pub fn short_name(function: &Function) -> &str {
    function
        .name
        .strip_prefix(&format!("{}-candidate-", function.family))
        .unwrap_or(&function.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn with_mine() -> Registry {
        let mut registry = Registry::load(&root()).unwrap().as_shipped();
        registry
            .functions
            .push(Function::workshop_candidate("round", "zz-mine", "round"));
        registry
    }

    #[test]
    fn a_scaffolded_candidate_is_in_the_deployed_template_as_the_registry_describes_it() {
        let registry = with_mine();
        let template = template(&root(), &registry).unwrap();
        assert_eq!(
            check::template_problems(&registry, &template).unwrap(),
            Vec::<String>::new()
        );
        assert!(
            template.value["Outputs"]["RoundCandidateZzMineUrl"].is_mapping(),
            "the URL output"
        );
        // Without the derivation the check still finds the function missing.
        let plain = Template::load(&root()).unwrap();
        assert!(
            check::template_problems(&registry, &plain)
                .unwrap()
                .iter()
                .any(|p| p.contains(
                    "round-candidate-zz-mine is in functions.toml but not in template.yaml"
                ))
        );
    }

    /// The file cfn-lint, `sam validate` and checkov read (YAML 1.1 readers): its dates stay text
    /// (an attendee's `./build.sh test` failed in checkov on an unquoted 2010-09-09).
    #[test]
    fn the_derived_template_file_keeps_its_dates_text() {
        let target = tempfile::tempdir().unwrap();
        let file = template_file(&root(), target.path(), &with_mine()).unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.starts_with("AWSTemplateFormatVersion: \"2010-09-09\"\n"),
            "{}",
            &text[..80]
        );
        assert!(
            !text.contains("Version: 2012-10-17"),
            "an unquoted policy version"
        );
    }

    #[test]
    fn a_scaffolded_entry_written_into_the_template_too_is_refused() {
        let mut registry = Registry::load(&root()).unwrap().as_shipped();
        let floor = registry
            .functions
            .iter_mut()
            .find(|f| f.name == "round-candidate-floor")
            .unwrap();
        floor.scaffolded = true;
        let error = template(&root(), &registry).err().unwrap().to_string();
        assert!(error.contains("remove it from template.yaml"), "{error}");
    }

    #[test]
    fn a_scaffolded_candidate_joins_its_familys_experiment_unless_named_already() {
        let registry = with_mine();
        let text =
            std::fs::read_to_string(root().join("functions/experiments/definitions/workshop.yaml"))
                .unwrap();
        let mut value: Value = serde_norway::from_str(&text).unwrap();
        assert!(add_candidates(&registry, &mut value).unwrap());
        let entry = &value["experiments"]["round"]["candidates"]["zz-mine"];
        assert_eq!(entry["function"].as_str(), Some("round-candidate-zz-mine"));
        assert_eq!(
            value["experiments"]["round"]["candidates"]
                .as_mapping()
                .unwrap()
                .len(),
            3
        );
        // Added once.
        assert!(!add_candidates(&registry, &mut value).unwrap());

        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.yaml");
        std::fs::write(&other, "experiments: {}\n").unwrap();
        let files = definition_files(
            &registry,
            dir.path(),
            &[
                root().join("functions/experiments/definitions/workshop.yaml"),
                other.clone(),
            ],
        )
        .unwrap();
        assert_eq!(files[0], dir.path().join("xtask/definitions/workshop.yaml"));
        assert_eq!(
            files[1], other,
            "a file without the family is uploaded as it is"
        );
    }
}
