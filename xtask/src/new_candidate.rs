//! `./build.sh new-candidate <family> <name>`: scaffolds a workshop candidate.
//!
//! What the attendee gets is a crate copied from `xtask/templates/candidate/` and one entry in
//! `functions.toml`. The registry's consumers that are files follow from that entry: the
//! acceptance suite's dependency on the crate (edited with `toml_edit`), the function's resources
//! in `template.yaml` and its place in the family's experiment in `workshop.yaml`. Those two YAML
//! files keep their comments, so the new blocks are added as text, and every edit is verified by
//! parsing the result: the new file must equal the old one plus exactly the new entry, and
//! `cargo xtask check` must find nothing. All of it is computed before the first file is
//! written; a refusal leaves the tree as it was.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use registry::{Function, Registry};
use serde_norway::Value;

use crate::check;
use crate::template::Template;

/// At most 20 characters: deployed, the function is named
/// `rust-serverless-<env>-<family>-candidate-<name>`, and Lambda allows 64.
const NAME_MAX: usize = 20;

/// The template crate, relative to the workspace root.
const TEMPLATE_CRATE: &str = "xtask/templates/candidate";
const WORKSHOP_DEFINITIONS: &str = "functions/experiments/definitions/workshop.yaml";
const ACCEPTANCE_MANIFEST: &str = "tests/acceptance/Cargo.toml";

/// A file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub path: PathBuf,
    pub text: String,
}

/// An example request of each family's control: (method, path and query).
fn example(family: &str) -> (&'static str, &'static str) {
    match family {
        "round" => ("GET", "/round?number=62.5"),
        "sort" => ("POST", "/sort"),
        "fizzbuzz" => ("GET", "/fizzbuzz?from=1&to=15"),
        "pbkdf2" => ("POST", "/pbkdf2"),
        _ => ("GET", "/"),
    }
}

/// Every file `new-candidate` writes, relative to `root`, or why it refuses.
pub fn plan(root: &Path, family: &str, name: &str) -> Result<Vec<Write>> {
    let registry_text = std::fs::read_to_string(root.join(registry::FILE))?;
    let registry = Registry::parse(&registry_text)?;
    let families = registry.workshop_families();
    if !families.contains(&family) {
        bail!(
            "unknown family {family:?}; choose one of {}",
            families.join(", ")
        );
    }
    if name.len() > NAME_MAX || registry::check_name(name).is_err() {
        bail!(
            "invalid name {name:?}: the name is 1-{NAME_MAX} characters of a-z, 0-9 and '-', \
             starting with a letter, with no '-' at the end or next to another (e.g. my-name)"
        );
    }
    let function = Function::workshop_candidate(&format!("{family}-candidate-{name}"), family);
    let crate_dir = format!("functions/{family}-{name}");
    refuse_clashes(root, &registry, &function, &crate_dir, name, family)?;

    let mut writes = crate_files(root, &function, family, &crate_dir)?;
    let new_registry_text = Registry::append_entry(&registry_text, &function)?;
    let new_registry = Registry::parse(&new_registry_text)?;
    writes.push(Write {
        path: registry::FILE.into(),
        text: new_registry_text,
    });
    writes.push(Write {
        path: ACCEPTANCE_MANIFEST.into(),
        text: acceptance_manifest(root, &function, &crate_dir)?,
    });
    let template_text = template_with(root, &function)?;
    let problems = check::template_problems(&new_registry, &Template::parse(&template_text)?)?;
    if !problems.is_empty() {
        bail!(
            "the template edit is wrong (a bug): {}",
            problems.join("; ")
        );
    }
    writes.push(Write {
        path: crate::template::FILE.into(),
        text: template_text,
    });
    writes.push(Write {
        path: WORKSHOP_DEFINITIONS.into(),
        text: definitions_with(root, &function, family, name)?,
    });
    Ok(writes)
}

/// Refuses a name whose function, crate or resources exist anywhere already: a second function
/// of that name would be deployed twice or shadow the first.
fn refuse_clashes(
    root: &Path,
    registry: &Registry,
    function: &Function,
    crate_dir: &str,
    name: &str,
    family: &str,
) -> Result<()> {
    let mut found = Vec::new();
    if root.join(crate_dir).exists() {
        found.push(crate_dir.to_owned());
    }
    if registry
        .deployments()
        .iter()
        .any(|d| d.name == function.name || d.function.crate_name == function.crate_name)
    {
        found.push(registry::FILE.to_owned());
    }
    let template = Template::load(root)?;
    let id = Function::logical_id(&function.name);
    let base = id.trim_end_matches("Function");
    // The ids this would write, and SAM's implicit <Function>Url.
    let ids = [
        id.clone(),
        format!("{id}Url"),
        format!("{base}LogGroup"),
        format!("{base}Url"),
    ];
    let taken = |section: &str, key: &str| !template.value[section][key].is_null();
    if ids
        .iter()
        .any(|k| taken("Resources", k) || taken("Outputs", k))
        || template
            .functions()?
            .iter()
            .any(|f| f.binary == function.name)
    {
        found.push(crate::template::FILE.to_owned());
    }
    let definitions = std::fs::read_to_string(root.join(WORKSHOP_DEFINITIONS))?;
    let value: Value = serde_norway::from_str(&definitions)?;
    if !value["experiments"][family]["candidates"][name].is_null()
        || definitions.contains(&format!("function: {}", function.name))
    {
        found.push(WORKSHOP_DEFINITIONS.to_owned());
    }
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(root.join("Cargo.toml"))
        .no_deps()
        .exec()
        .context("cargo metadata")?;
    let rust_name = function.name.replace('-', "_");
    for package in metadata.workspace_packages() {
        let clash = package.name.replace('-', "_") == rust_name
            || package
                .targets
                .iter()
                .any(|t| t.name.replace('-', "_") == rust_name);
        if clash {
            found.push(package.manifest_path.to_string());
        }
    }
    if !found.is_empty() {
        found.dedup();
        bail!(
            "{} already exists in {}: choose another name",
            function.name,
            found.join(", ")
        );
    }
    Ok(())
}

/// The template crate's files with the placeholders filled in.
fn crate_files(
    root: &Path,
    function: &Function,
    family: &str,
    crate_dir: &str,
) -> Result<Vec<Write>> {
    let (method, example) = example(family);
    let path = example.split('?').next().unwrap_or(example);
    let ident = function.name.replace('-', "_");
    let fill = |text: &str| {
        text.replace("{{function}}", &function.name)
            .replace("{{ident}}", &ident)
            .replace("{{family}}", family)
            .replace("{{method}}", method)
            .replace("{{path}}", path)
            .replace("{{example}}", example)
            .replace("{{crate_dir}}", crate_dir)
    };
    let mut writes = Vec::new();
    for file in ["Cargo.toml", "src/main.rs", "src/lib.rs"] {
        let source = root.join(TEMPLATE_CRATE).join(format!("{file}.tmpl"));
        let text = std::fs::read_to_string(&source)
            .with_context(|| format!("cannot read {}", source.display()))?;
        let text = fill(&text);
        if text.contains("{{") {
            bail!(
                "{} has a placeholder new-candidate does not fill",
                source.display()
            );
        }
        writes.push(Write {
            path: Path::new(crate_dir).join(file),
            text,
        });
    }
    Ok(writes)
}

/// The acceptance suite's manifest with a path dependency on the new crate.
fn acceptance_manifest(root: &Path, function: &Function, crate_dir: &str) -> Result<String> {
    let text = std::fs::read_to_string(root.join(ACCEPTANCE_MANIFEST))?;
    let mut doc: toml_edit::DocumentMut = text.parse().context(ACCEPTANCE_MANIFEST)?;
    let dependencies = doc["dependencies"]
        .as_table_mut()
        .context("no [dependencies] in the acceptance manifest")?;
    let mut dependency = toml_edit::InlineTable::new();
    dependency.insert("path", format!("../../{crate_dir}").into());
    dependencies.insert(&function.name, toml_edit::value(dependency));
    Ok(doc.to_string())
}

/// `template.yaml` with the function, its log group and its URL output, checked by parsing.
fn template_with(root: &Path, function: &Function) -> Result<String> {
    let text = std::fs::read_to_string(root.join(crate::template::FILE))?;
    let id = Function::logical_id(&function.name);
    let base = id.trim_end_matches("Function");
    let name = &function.name;
    let resource = format!(
        "  {id}:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      \
         BuildProperties:\n        Binary: {name}\n    Properties:\n      \
         FunctionName: !Sub \"${{AWS::StackName}}-{name}\"\n      CodeUri: .\n      \
         Description: Workshop candidate {name} (functions.toml)\n      FunctionUrlConfig:\n        AuthType: NONE\n\n  \
         {base}LogGroup:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      \
         LogGroupName: !Sub \"/aws/lambda/${{{id}}}\"\n      RetentionInDays: !Ref LogRetentionDays\n\n"
    );
    let output = format!(
        "  {base}Url:\n    Description: Function URL of {name} (append the function's path).\n    \
         Value: !GetAtt {id}Url.FunctionUrl\n"
    );
    // Resources end where the top-level `Outputs:` starts; Outputs end at the next top-level key.
    let lines: Vec<&str> = text.lines().collect();
    let outputs = lines
        .iter()
        .position(|l| *l == "Outputs:")
        .context("template.yaml has no top-level Outputs:")?;
    let outputs_end = lines[outputs + 1..]
        .iter()
        .position(|l| !l.is_empty() && !l.starts_with(' ') && !l.starts_with('#'))
        .map_or(lines.len(), |i| outputs + 1 + i);
    let mut out: Vec<String> = lines[..outputs].iter().map(|l| (*l).to_owned()).collect();
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.push(String::new());
    out.push(resource.trim_end().to_owned());
    out.push(String::new());
    let mut body: Vec<String> = lines[outputs..outputs_end]
        .iter()
        .map(|l| (*l).to_owned())
        .collect();
    while body.last().is_some_and(|l| l.is_empty()) {
        body.pop();
    }
    out.extend(body);
    out.push(output.trim_end().to_owned());
    if outputs_end < lines.len() {
        out.push(String::new());
        out.extend(lines[outputs_end..].iter().map(|l| (*l).to_owned()));
    }
    let new_text = out.join("\n") + "\n";

    // The edit adds exactly three entries and changes nothing else.
    let mut before = Template::parse(&text)?.value;
    let after = Template::parse(&new_text)?.value;
    let added: [(&str, String); 3] = [
        ("Resources", id.clone()),
        ("Resources", format!("{base}LogGroup")),
        ("Outputs", format!("{base}Url")),
    ];
    for (section, key) in &added {
        let value = after[*section][key.as_str()].clone();
        if value.is_null() {
            bail!("the template edit lost {section}.{key} (a bug)");
        }
        before[*section]
            .as_mapping_mut()
            .context("a section")?
            .insert(Value::String(key.clone()), value);
    }
    if before != after {
        bail!("the template edit changed more than the new function (a bug)");
    }
    Ok(new_text)
}

/// `workshop.yaml` with the candidate first in its family's experiment, checked by parsing.
fn definitions_with(root: &Path, function: &Function, family: &str, name: &str) -> Result<String> {
    let text = std::fs::read_to_string(root.join(WORKSHOP_DEFINITIONS))?;
    let lines: Vec<&str> = text.lines().collect();
    let block = lines
        .iter()
        .position(|l| *l == format!("  {family}:"))
        .with_context(|| format!("experiment {family} is not in {WORKSHOP_DEFINITIONS}"))?;
    let candidates = lines[block + 1..]
        .iter()
        .take_while(|l| l.is_empty() || l.starts_with("    ") || l.trim_start().starts_with('#'))
        .position(|l| *l == "    candidates:")
        .map(|i| block + 1 + i)
        .with_context(|| {
            format!(
                "experiment {family} has no block-style candidates list in {WORKSHOP_DEFINITIONS}"
            )
        })?;
    let entry = [
        format!("      {name}:"),
        format!("        name: {} (new)", function.name),
        format!("        function: {}", function.name),
    ];
    let mut out: Vec<String> = lines[..=candidates]
        .iter()
        .map(|l| (*l).to_owned())
        .collect();
    out.extend(entry);
    out.extend(lines[candidates + 1..].iter().map(|l| (*l).to_owned()));
    let new_text = out.join("\n") + "\n";

    let mut before: Value = serde_norway::from_str(&text)?;
    let after: Value = serde_norway::from_str(&new_text)?;
    let added = after["experiments"][family]["candidates"][name].clone();
    if added["function"].as_str() != Some(function.name.as_str()) {
        bail!("the definitions edit did not add {name} to {family} (a bug)");
    }
    before["experiments"][family]["candidates"]
        .as_mapping_mut()
        .context("candidates")?
        .insert(Value::String(name.to_owned()), added);
    if before != after {
        bail!("the definitions edit changed more than the new candidate (a bug)");
    }
    Ok(new_text)
}

/// Writes the planned files under `root`.
pub fn apply(root: &Path, writes: &[Write]) -> Result<()> {
    for write in writes {
        let path = root.join(&write.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &write.text)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn written<'a>(writes: &'a [Write], path: &str) -> &'a str {
        &writes
            .iter()
            .find(|w| w.path == Path::new(path))
            .unwrap_or_else(|| panic!("{path} not written"))
            .text
    }

    #[test]
    fn a_candidate_is_a_crate_and_one_registry_entry_and_everything_agrees() {
        let writes = plan(&root(), "sort", "zz-test").unwrap();
        let paths: Vec<String> = writes
            .iter()
            .map(|w| w.path.display().to_string())
            .collect();
        assert_eq!(
            paths,
            [
                "functions/sort-zz-test/Cargo.toml",
                "functions/sort-zz-test/src/main.rs",
                "functions/sort-zz-test/src/lib.rs",
                "functions.toml",
                "tests/acceptance/Cargo.toml",
                "template.yaml",
                "functions/experiments/definitions/workshop.yaml",
            ]
        );
        let registry = Registry::parse(written(&writes, "functions.toml")).unwrap();
        let entry = registry.get("sort-candidate-zz-test").expect("the entry");
        assert_eq!(
            entry.handler.as_deref(),
            Some("sort_candidate_zz_test::handler")
        );
        let old = std::fs::read_to_string(root().join("functions.toml")).unwrap();
        assert!(written(&writes, "functions.toml").starts_with(old.trim_end()));

        let template = Template::parse(written(&writes, "template.yaml")).unwrap();
        assert_eq!(
            check::template_problems(&registry, &template).unwrap(),
            Vec::<String>::new()
        );

        let dir = tempfile::tempdir().unwrap();
        let definitions = dir.path().join("functions/experiments/definitions");
        std::fs::create_dir_all(&definitions).unwrap();
        std::fs::write(
            definitions.join("workshop.yaml"),
            written(&writes, WORKSHOP_DEFINITIONS),
        )
        .unwrap();
        assert!(
            check::definition_problems(&registry, dir.path())
                .unwrap()
                .iter()
                .all(|p| !p.contains("sort-candidate-zz-test"))
        );

        let manifest = written(&writes, ACCEPTANCE_MANIFEST);
        assert!(
            manifest
                .contains(r#"sort-candidate-zz-test = { path = "../../functions/sort-zz-test" }"#)
        );
        let lib = written(&writes, "functions/sort-zz-test/src/lib.rs");
        assert!(lib.contains("POST /sort"));
        assert!(lib.contains("implement respond() in functions/sort-zz-test/src/lib.rs"));
    }

    #[test]
    fn existing_names_bad_names_and_unknown_families_are_refused() {
        let cases = [
            ("sort", "fixed", "sort-candidate-fixed already exists"),
            ("round", "half-even", "already exists"),
            ("round", "My-Name", "invalid name"),
            ("round", "a--b", "invalid name"),
            ("round", "a-very-long-name-indeed-yes", "invalid name"),
            ("shortener", "x", "unknown family"),
            ("chaos", "x", "unknown family"),
        ];
        for (family, name, expected) in cases {
            let error = plan(&root(), family, name).unwrap_err().to_string();
            assert!(error.contains(expected), "{family} {name}: {error}");
        }
    }

    #[test]
    fn applying_a_plan_writes_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let writes = vec![Write {
            path: "a/b.txt".into(),
            text: "x".into(),
        }];
        apply(dir.path(), &writes).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a/b.txt")).unwrap(),
            "x"
        );
    }
}
