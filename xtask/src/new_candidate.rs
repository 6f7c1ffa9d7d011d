//! `./build.sh new-candidate <family> <name>`: scaffolds a workshop candidate.
//!
//! What the attendee gets is one entry in `functions.toml` (marked `scaffolded`) and two files in
//! the family's crate, copied from `xtask/templates/candidate/`: the candidate's module
//! `src/attendees/<name>.rs` (declared by the crate's build script, see `registry::attendees`) and
//! its binary `src/bin/<family>-candidate-<name>.rs` (found by Cargo). No other file is edited:
//! the candidate's resources in the deployed template and its place in the family's experiment
//! follow from the entry (`scaffolded.rs`), the in-process dispatch, the endpoints and the arm64
//! build read the registry. The plan is computed, and checked as `cargo xtask check` would,
//! before the first file is written; a refusal leaves the tree as it was.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use registry::{Function, Registry};

use crate::check;
use crate::scaffolded;

/// At most 20 characters: deployed, the function is named
/// `rust-serverless-<env>-<family>-candidate-<name>`, and Lambda allows 64.
const NAME_MAX: usize = 20;

/// The templates of the two files, relative to the workspace root.
const TEMPLATES: &str = "xtask/templates/candidate";

/// A file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub path: PathBuf,
    pub text: String,
}

/// A request each family's control answers with 200: method, path and query, JSON body.
pub fn example(family: &str) -> (&'static str, &'static str, Option<&'static str>) {
    match family {
        "round" => ("GET", "/round?number=62.5", None),
        "sort" => ("POST", "/sort", Some("[3, 1, 2]")),
        "fizzbuzz" => ("GET", "/fizzbuzz?from=1&to=15", None),
        "pbkdf2" => (
            "POST",
            "/pbkdf2",
            Some(r#"{"password": "correct horse", "salt": "NaCl", "iterations": 1000}"#),
        ),
        _ => ("GET", "/", None),
    }
}

/// The path and query of the family's example request, e.g. `/fizzbuzz?from=1&to=15`.
pub fn example_uri(family: &str) -> &'static str {
    example(family).1
}

/// The Rust expression that builds the example request (indented for the template).
fn request_code(method: &str, uri: &str, body: Option<&str>) -> String {
    let mut code = String::from("lambda_http::http::Request::builder()\n");
    if method != "GET" {
        code.push_str(&format!("            .method({method:?})\n"));
    }
    code.push_str(&format!("            .uri({uri:?})\n"));
    match body {
        None => code.push_str("            .body(Body::Empty)\n"),
        Some(body) => code.push_str(&format!(
            "            .header(\"content-type\", \"application/json\")\n            \
             .body(Body::from(r#\"{body}\"#))\n"
        )),
    }
    code.push_str("            .expect(\"a valid request\")");
    code
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
    let control = registry
        .control_of(family)
        .context("checked: the family has a control")?;
    let function = Function::workshop_candidate(family, name, &control.crate_name);
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(root.join("Cargo.toml"))
        .no_deps()
        .exec()
        .context("cargo metadata")?;
    let crate_dir = metadata
        .workspace_packages()
        .into_iter()
        .find(|p| p.name.as_str() == control.crate_name)
        .and_then(|p| p.manifest_path.parent())
        .with_context(|| format!("the crate {} is not in the workspace", control.crate_name))?
        .strip_prefix(root.canonicalize()?)
        .map(|dir| dir.as_std_path().to_owned())
        .context("the family's crate is outside the workspace")?;
    let module = registry::attendees::module_name(name);
    let module_file = crate_dir
        .join(registry::attendees::DIR)
        .join(format!("{module}.rs"));
    let bin_file = crate_dir.join(format!("src/bin/{}.rs", function.name));
    refuse_clashes(
        root,
        &registry,
        &function,
        &metadata,
        &[&module_file, &bin_file],
    )?;

    let (method, uri, body) = example(family);
    let control_handler = control
        .handler
        .as_deref()
        .context("the control's handler")?;
    let local = |path: &str| {
        path.split_once("::")
            .map_or(path.to_owned(), |(_, rest)| format!("crate::{rest}"))
    };
    let control_call = match &control.config {
        None => format!("{}(example()).await", local(control_handler)),
        Some(config) => format!(
            "{}(\n            &{}::from_env().expect(\"the default configuration\"),\n            \
             example(),\n        )\n        .await",
            local(control_handler),
            local(config)
        ),
    };
    let fill = |text: &str| {
        text.replace("{{function}}", &function.name)
            .replace("{{family}}", family)
            .replace("{{crate}}", &control.crate_name.replace('-', "_"))
            .replace("{{module}}", &module)
            .replace("{{control}}", &local(control_handler))
            .replace("{{control_call}}", &control_call)
            .replace("{{file}}", &module_file.display().to_string())
            .replace("{{method}}", method)
            .replace("{{path}}", uri.split('?').next().unwrap_or(uri))
            .replace("{{example}}", uri)
            .replace("{{request}}", &request_code(method, uri, body))
    };
    let mut writes = Vec::new();
    for (template, path) in [("attendee.rs", &module_file), ("bin.rs", &bin_file)] {
        let source = root.join(TEMPLATES).join(format!("{template}.tmpl"));
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
            path: path.clone(),
            text,
        });
    }

    let new_registry_text = Registry::append_entry(&registry_text, &function)?;
    let new_registry = Registry::parse(&new_registry_text)?;
    let problems =
        check::template_problems(&new_registry, &scaffolded::template(root, &new_registry)?)?;
    if !problems.is_empty() {
        bail!(
            "the derived template is wrong (a bug): {}",
            problems.join("; ")
        );
    }
    writes.push(Write {
        path: registry::FILE.into(),
        text: new_registry_text,
    });
    Ok(writes)
}

/// Refuses a name whose function, files or resources exist anywhere already: a second function
/// of that name would be deployed twice or shadow the first.
fn refuse_clashes(
    root: &Path,
    registry: &Registry,
    function: &Function,
    metadata: &cargo_metadata::Metadata,
    files: &[&Path],
) -> Result<()> {
    let mut found: Vec<String> = files
        .iter()
        .filter(|f| root.join(f).exists())
        .map(|f| f.display().to_string())
        .collect();
    if registry
        .deployments()
        .iter()
        .any(|d| d.name == function.name)
    {
        found.push(registry::FILE.to_owned());
    }
    let template = crate::template::Template::load(root)?;
    let id = Function::logical_id(&function.name);
    let base = id.trim_end_matches("Function");
    // The ids the derived template would add, and SAM's implicit <Function>Url.
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
    for file in crate::local::definition_files(root)? {
        let value: serde_norway::Value = serde_norway::from_str(&std::fs::read_to_string(&file)?)?;
        if scaffolded::named_functions(&value).contains(&function.name) {
            found.push(
                file.strip_prefix(root)
                    .unwrap_or(&file)
                    .display()
                    .to_string(),
            );
        }
    }
    let rust_name = function.name.replace('-', "_");
    for package in metadata.workspace_packages() {
        let clash = package.name.replace('-', "_") == rust_name
            || package
                .targets
                .iter()
                .any(|t| t.name.replace('-', "_") == rust_name);
        if clash {
            // Not a line of that manifest: cargo derives the binaries from src/bin/.
            found.push(format!(
                "a crate or binary of that name in {}",
                package.manifest_path
            ));
        }
    }
    if !found.is_empty() {
        found.sort();
        found.dedup();
        bail!(
            "{} is taken: {}; choose another name",
            function.name,
            found.join(", ")
        );
    }
    Ok(())
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
    fn a_candidate_is_two_files_in_its_familys_crate_and_one_registry_entry() {
        let writes = plan(&root(), "pbkdf2", "zz-test").unwrap();
        let paths: Vec<String> = writes
            .iter()
            .map(|w| w.path.display().to_string())
            .collect();
        assert_eq!(
            paths,
            [
                "functions/pbkdf2/src/attendees/zz_test.rs",
                "functions/pbkdf2/src/bin/pbkdf2-candidate-zz-test.rs",
                "functions.toml",
            ]
        );
        let registry = Registry::parse(written(&writes, "functions.toml")).unwrap();
        let entry = registry.get("pbkdf2-candidate-zz-test").expect("the entry");
        assert_eq!(
            entry.handler.as_deref(),
            Some("pbkdf2_fn::attendees::zz_test::handler")
        );
        assert!(entry.scaffolded);
        let old = std::fs::read_to_string(root().join("functions.toml")).unwrap();
        assert!(written(&writes, "functions.toml").starts_with(old.trim_end()));

        let module = written(&writes, "functions/pbkdf2/src/attendees/zz_test.rs");
        assert!(module.contains("control (POST /pbkdf2)"));
        assert!(
            module.contains("implement respond() in functions/pbkdf2/src/attendees/zz_test.rs")
        );
        assert!(module.contains("crate::pbkdf2_control(\n            &crate::Config::from_env()"));
        assert!(module.contains(".method(\"POST\")"));
        let main = written(
            &writes,
            "functions/pbkdf2/src/bin/pbkdf2-candidate-zz-test.rs",
        );
        assert!(main.contains("pbkdf2_fn::attendees::zz_test::handler(request)"));
    }

    #[test]
    fn existing_names_bad_names_and_unknown_families_are_refused() {
        let cases = [
            (
                "sort",
                "fixed",
                "sort-candidate-fixed is taken: a crate or binary of that name in",
            ),
            ("round", "half-even", "is taken"),
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
