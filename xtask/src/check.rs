//! `cargo xtask check`: everything that lists functions agrees with the registry.
//!
//! The registry (`functions.toml`) is the one list. Checked against it here: `template.yaml` (one
//! function per deployment, its binary, name, memory size and HTTP API routes, a Function URL in
//! Outputs, a log group with a retention), the workspace's binaries, the `cargo lambda watch`
//! router in `Cargo.toml`, the acceptance suite's dependencies (its in-process dispatch is
//! generated from the registry) and the experiment definitions. Candidates made by
//! `new-candidate` are checked as deployed and uploaded: with the resources and the place in an
//! experiment that `scaffolded.rs` derives from their entries.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};
use registry::{Registry, Role};

use crate::template::{
    DEMO_URL_AUTH_PARAMETER, PUBLIC_URL_STATEMENTS, PUBLIC_URLS_CONDITION, RELEASE_ALIAS, Template,
    UrlAuth, release_parameter,
};

/// The family that is the product; every other function is a demonstration (workshop, chaos,
/// experiment runner, release hook) and must be capped so it cannot starve it.
const PRODUCT_FAMILY: &str = "shortener";
/// The most concurrency the demonstration functions may reserve together: with the default
/// account limit of 1,000, at least 900 stay unreserved for the shortener (README, "What is
/// public"). AWS refuses a reservation that leaves fewer than 100 unreserved.
pub const DEMO_CONCURRENCY_BUDGET: u32 = 100;

/// Problems found, one sentence each; empty when everything agrees.
pub fn problems(root: &Path) -> Result<Vec<String>> {
    let registry = Registry::load(root)?;
    let template = crate::scaffolded::template(root, &registry)?;
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(root.join("Cargo.toml"))
        .no_deps()
        .exec()
        .context("cargo metadata")?;
    let mut found = Vec::new();
    found.extend(template_problems(&registry, &template)?);
    found.extend(binary_problems(&registry, &metadata));
    found.extend(router_problems(&registry, &metadata.workspace_metadata));
    found.extend(dispatch_problems(&registry, &metadata));
    found.extend(definition_problems(&registry, root)?);
    found.extend(crate::docs::problems(root)?);
    let code = crate::privilege::Code::load(root, crate_dependencies(&metadata))?;
    found.extend(crate::privilege::problems(
        &template,
        &code,
        &binary_sources(&metadata),
    )?);
    Ok(found)
}

/// template.yaml has exactly one function per deployment, as the registry describes it.
pub fn template_problems(registry: &Registry, template: &Template) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let resources = template.functions()?;
    let by_name: BTreeMap<&str, _> = resources.iter().map(|r| (r.name.as_str(), r)).collect();
    let url_outputs: BTreeSet<String> = template.function_url_outputs().into_values().collect();
    let duration_alarmed = template.duration_alarmed_functions();
    let reserved: u32 = resources
        .iter()
        .filter_map(|r| r.reserved_concurrency)
        .sum();
    if reserved > DEMO_CONCURRENCY_BUDGET {
        found.push(format!(
            "template.yaml: the functions reserve {reserved} concurrent executions together, more than the budget of {DEMO_CONCURRENCY_BUDGET} (check.rs) that keeps the shortener's share"
        ));
    }
    let auth = &template.value["Parameters"][DEMO_URL_AUTH_PARAMETER];
    if auth["Default"].as_str() != Some("AWS_IAM") {
        found.push(format!(
            "template.yaml: the parameter {DEMO_URL_AUTH_PARAMETER} must exist with Default AWS_IAM (public only on purpose)"
        ));
    }
    for deployment in registry.deployments() {
        let Some(resource) = by_name.get(deployment.name.as_str()) else {
            found.push(format!(
                "{} is in functions.toml but not in template.yaml (expected {})",
                deployment.name,
                deployment.logical_id()
            ));
            continue;
        };
        let id = &resource.logical_id;
        if *id != deployment.logical_id() {
            found.push(format!(
                "template.yaml: {id} should be named {} (after {})",
                deployment.logical_id(),
                deployment.name
            ));
        }
        if resource.binary != deployment.function.binary() {
            found.push(format!(
                "template.yaml: {id} runs binary {}, functions.toml says {}",
                resource.binary,
                deployment.function.binary()
            ));
        }
        if resource.memory_mb != deployment.memory_mb {
            found.push(format!(
                "template.yaml: {id} has {} MB, functions.toml says {} MB",
                resource.memory_mb, deployment.memory_mb
            ));
        }
        let want: BTreeSet<String> = if deployment.variant {
            BTreeSet::new()
        } else {
            deployment
                .function
                .routes()
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        let have: BTreeSet<String> = resource.routes.iter().cloned().collect();
        if want != have {
            found.push(format!(
                "template.yaml: {id}'s HTTP API routes {have:?} are not functions.toml's {want:?}"
            ));
        }
        if deployment.function.role == Role::Control && !deployment.variant {
            if resource.alias.as_deref() != Some(RELEASE_ALIAS) {
                found.push(format!(
                    "template.yaml: {id} is a control but has no AutoPublishAlias {RELEASE_ALIAS}: it cannot be released"
                ));
            }
            let parameter = release_parameter(&deployment.function.family);
            if template.value["Parameters"][parameter.as_str()].is_null() {
                found.push(format!(
                    "template.yaml: no parameter {parameter}, the candidate {id} runs when released"
                ));
            }
        }
        let has_url = resource.url_auth.is_some();
        let demo = deployment.function.family != PRODUCT_FAMILY;
        if has_url
            && resource.url_auth != Some(UrlAuth::Parameter(DEMO_URL_AUTH_PARAMETER.to_owned()))
        {
            found.push(format!(
                "template.yaml: {id}'s Function URL must have AuthType: !Ref {DEMO_URL_AUTH_PARAMETER} (public only on purpose), not {:?}",
                resource.url_auth
            ));
        }
        if has_url {
            // The URL serves the alias when there is one: the statements must name it.
            let target = match &resource.alias {
                Some(_) => format!("{id}.Alias"),
                None => id.clone(),
            };
            let granted = template.public_url_statements(&target);
            for (action, key, value) in PUBLIC_URL_STATEMENTS {
                if !granted.iter().any(|(a, _)| a == action) {
                    found.push(format!(
                        "template.yaml: {id}'s Function URL has no statement `{action}` for Principal \"*\" with {key}: {value} on !Ref {target} under Condition {PUBLIC_URLS_CONDITION}: with {DEMO_URL_AUTH_PARAMETER}=NONE it would answer 403 (SAM adds none for a !Ref AuthType)"
                    ));
                }
            }
        }
        if demo && resource.reserved_concurrency.is_none() {
            found.push(format!(
                "template.yaml: {id} has no ReservedConcurrentExecutions: a demonstration function must be capped so it cannot starve the shortener"
            ));
        }
        if demo && !deployment.function.scaffolded && !duration_alarmed.contains(id) {
            found.push(format!(
                "template.yaml: {id}'s Duration is in no alarm (see WorkshopDurationAlarm)"
            ));
        }
        if !(has_url || resource.invoked_async || resource.release_hook || !have.is_empty()) {
            found.push(format!(
                "template.yaml: {id} can be reached by no route, no Function URL and no asynchronous invocation"
            ));
        }
        if has_url && !url_outputs.contains(id) {
            found.push(format!(
                "template.yaml: {id}'s Function URL is not in Outputs"
            ));
        }
        match template.log_group_of(id) {
            None => found.push(format!(
                "template.yaml: {id} has no log group named /aws/lambda/ and its FunctionName"
            )),
            Some((_, group)) if group["Properties"]["RetentionInDays"].is_null() => found.push(
                format!("template.yaml: {id}'s log group keeps logs forever"),
            ),
            Some((group, _)) if !template.depends_on(id, group) => found.push(format!(
                "template.yaml: {id} must have DependsOn: {group}, so the group outlives the function on delete (a late invocation would recreate it outside the stack)"
            )),
            Some(_) => {}
        }
    }
    let deployed: BTreeSet<String> = registry.deployments().into_iter().map(|d| d.name).collect();
    for resource in &resources {
        if !deployed.contains(&resource.name) {
            found.push(format!(
                "template.yaml: {} ({}) is not in functions.toml",
                resource.logical_id, resource.name
            ));
        }
    }
    // The experiment runner invokes exactly the controls through their alias.
    let controls: BTreeSet<&str> = registry
        .functions
        .iter()
        .filter(|f| f.role == Role::Control)
        .map(|f| f.name.as_str())
        .collect();
    let sizes = crate::local::memory_sizes(registry);
    let mut priced = false;
    for (id, resource) in template.resources() {
        let variables = &resource["Properties"]["Environment"]["Variables"];
        if let Some(list) = variables["FUNCTION_MEMORY_MB"].as_str() {
            priced = true;
            if list != sizes {
                found.push(format!(
                    "template.yaml: {}'s FUNCTION_MEMORY_MB must be every deployment's memory size, from functions.toml: {sizes}",
                    id.as_str().unwrap_or_default()
                ));
            }
        }
        if let Some(list) = variables["LIVE_ALIAS_FUNCTIONS"].as_str() {
            let named: BTreeSet<&str> = list.split(',').map(str::trim).collect();
            if named != controls {
                found.push(format!(
                    "template.yaml: {}'s LIVE_ALIAS_FUNCTIONS names {named:?}, functions.toml's controls are {controls:?}",
                    id.as_str().unwrap_or_default()
                ));
            }
        }
    }
    if !priced {
        found.push(format!(
            "template.yaml: ExperimentReportFunction needs FUNCTION_MEMORY_MB (the verdict's cost of each function): {sizes}"
        ));
    }
    found.extend(invoke_target_problems(registry, template));
    let globals = &template.value["Globals"]["Function"];
    for (key, want) in [("Runtime", "provided.al2023"), ("Tracing", "Active")] {
        if globals[key].as_str() != Some(want) {
            found.push(format!(
                "template.yaml: Globals.Function.{key} must be {want}"
            ));
        }
    }
    if globals["Architectures"][0].as_str() != Some("arm64") {
        found.push("template.yaml: Globals.Function.Architectures must be [arm64]".to_owned());
    }
    Ok(found)
}

/// The experiment functions' invoke permissions name exactly what an experiment may name: each
/// deployment of a control or candidate in functions.toml (memory variants and scaffolded
/// candidates included), unqualified and with `:*` (the alias `live`, a version), and the proxy
/// the comparator too; no wildcard, so a definition can reach no other function of the account
/// (a stack `dev` used to reach `dev-alice`'s).
pub fn invoke_target_problems(registry: &Registry, template: &Template) -> Vec<String> {
    let experiment_targets: BTreeSet<String> = registry
        .deployments()
        .into_iter()
        .filter(|d| d.function.role != registry::Role::Service)
        .map(|d| d.logical_id())
        .collect();
    let mut found = Vec::new();
    for (invoker, extra) in [
        (PROXY_ID, Some(COMPARATOR_ID)),
        (COMPARATOR_ID, None::<&str>),
    ] {
        let mut want = experiment_targets.clone();
        want.extend(extra.map(str::to_owned));
        let mut have: BTreeMap<String, BTreeSet<bool>> = BTreeMap::new();
        for target in template.invoke_targets(invoker) {
            match target {
                Ok((id, qualified)) => {
                    have.entry(id).or_default().insert(qualified);
                }
                Err(text) => found.push(format!(
                    "template.yaml: {invoker} may invoke {text}: name each function (!GetAtt X.Arn and !Sub \"${{X.Arn}}:*\"), not a pattern"
                )),
            }
        }
        for id in &want {
            match have.get(id) {
                Some(forms) if forms.len() == 2 => {}
                _ => found.push(format!(
                    "template.yaml: {invoker} must be allowed to invoke {id} (!GetAtt {id}.Arn and !Sub \"${{{id}.Arn}}:*\"): an experiment may name it"
                )),
            }
        }
        for id in have.keys().filter(|id| !want.contains(*id)) {
            found.push(format!(
                "template.yaml: {invoker} may invoke {id}, which no experiment may name (not a control or candidate in functions.toml)"
            ));
        }
    }
    found
}

/// The experiment functions that invoke others.
const PROXY_ID: &str = "ExperimentProxyFunction";
const COMPARATOR_ID: &str = "ExperimentComparatorFunction";

/// Each workspace crate's folder -> the folders of the workspace crates it depends on (normal
/// dependencies, directly or not).
fn crate_dependencies(
    metadata: &cargo_metadata::Metadata,
) -> BTreeMap<std::path::PathBuf, BTreeSet<std::path::PathBuf>> {
    let folder = |manifest: &cargo_metadata::camino::Utf8Path| {
        manifest
            .parent()
            .map(|p| p.as_std_path().to_owned())
            .unwrap_or_default()
    };
    let direct: BTreeMap<String, (std::path::PathBuf, Vec<String>)> = metadata
        .workspace_packages()
        .into_iter()
        .map(|p| {
            let deps = p
                .dependencies
                .iter()
                .filter(|d| d.path.is_some() && d.kind == cargo_metadata::DependencyKind::Normal)
                .map(|d| d.name.clone())
                .collect();
            (p.name.to_string(), (folder(&p.manifest_path), deps))
        })
        .collect();
    direct
        .iter()
        .map(|(name, (dir, _))| {
            let mut all = BTreeSet::new();
            let mut todo = vec![name.clone()];
            while let Some(next) = todo.pop() {
                for dep in direct
                    .get(&next)
                    .map(|(_, d)| d.clone())
                    .unwrap_or_default()
                {
                    if let Some((dep_dir, _)) = direct.get(&dep)
                        && all.insert(dep_dir.clone())
                    {
                        todo.push(dep);
                    }
                }
            }
            (dir.clone(), all)
        })
        .collect()
}

/// Each binary of the crates under `functions/` -> the file its `main` is in.
fn binary_sources(metadata: &cargo_metadata::Metadata) -> BTreeMap<String, std::path::PathBuf> {
    metadata
        .workspace_packages()
        .into_iter()
        .filter(|p| p.manifest_path.as_str().contains("/functions/"))
        .flat_map(|p| p.targets.iter().filter(|t| t.is_bin()))
        .map(|t| (t.name.clone(), t.src_path.clone().into_std_path_buf()))
        .collect()
}

/// Every binary of a crate under `functions/` is a registered function, and every function's
/// binary exists in its crate.
fn binary_problems(registry: &Registry, metadata: &cargo_metadata::Metadata) -> Vec<String> {
    let mut found = Vec::new();
    let mut binaries: BTreeMap<String, String> = BTreeMap::new();
    for package in metadata.workspace_packages() {
        if !package.manifest_path.as_str().contains("/functions/") {
            continue;
        }
        for target in package.targets.iter().filter(|t| t.is_bin()) {
            binaries.insert(target.name.clone(), package.name.to_string());
        }
    }
    for function in &registry.functions {
        match binaries.get(function.binary()) {
            None => found.push(format!(
                "functions.toml: {} has no binary in the workspace",
                function.name
            )),
            Some(package) if *package != function.crate_name => found.push(format!(
                "functions.toml: {}'s binary is in crate {package}, not {}",
                function.name, function.crate_name
            )),
            Some(_) => {}
        }
    }
    for binary in binaries.keys() {
        if registry.get(binary).is_none() {
            found.push(format!(
                "binary {binary} (under functions/) is not in functions.toml"
            ));
        }
    }
    found
}

/// The local router (`[[workspace.metadata.lambda.watch.router]]`) serves exactly the registry's
/// routes, literal paths first.
pub fn router_problems(registry: &Registry, workspace_metadata: &serde_json::Value) -> Vec<String> {
    let Some(router) = workspace_metadata["lambda"]["watch"]["router"].as_array() else {
        return vec!["Cargo.toml has no [[workspace.metadata.lambda.watch.router]]".to_owned()];
    };
    let mut local = Vec::new();
    for entry in router {
        let function = entry["function"].as_str().unwrap_or_default();
        let path = entry["path"].as_str().unwrap_or_default();
        for method in entry["methods"].as_array().into_iter().flatten() {
            let method = method.as_str().unwrap_or_default().to_ascii_uppercase();
            local.push((format!("{method} {path}"), function.to_owned()));
        }
    }
    let want: Vec<(String, String)> = registry
        .router()
        .iter()
        .map(|(route, f)| (route.to_string(), f.name.clone()))
        .collect();
    let mut found = Vec::new();
    let want_set: BTreeSet<_> = want.iter().cloned().collect();
    let local_set: BTreeSet<_> = local.iter().cloned().collect();
    for (route, function) in want_set.difference(&local_set) {
        found.push(format!(
            "Cargo.toml's router lacks {route} -> {function} (functions.toml)"
        ));
    }
    for (route, function) in local_set.difference(&want_set) {
        found.push(format!(
            "Cargo.toml's router has {route} -> {function}, which functions.toml does not"
        ));
    }
    for (i, (route, _)) in local.iter().enumerate() {
        if let Some((earlier, _)) = local[..i].iter().find(|(p, _)| shadows(p, route)) {
            found.push(format!(
                "Cargo.toml's router lists {route} after {earlier}, which would shadow it"
            ));
        }
    }
    found
}

/// Whether the route `earlier` (`METHOD /a/{b}`) matches every request of `later`: same method,
/// same number of segments, each one equal or a parameter.
fn shadows(earlier: &str, later: &str) -> bool {
    let (Some((m1, p1)), Some((m2, p2))) = (earlier.split_once(' '), later.split_once(' ')) else {
        return false;
    };
    let (s1, s2): (Vec<&str>, Vec<&str>) = (p1.split('/').collect(), p2.split('/').collect());
    m1 == m2
        && earlier != later
        && s1.len() == s2.len()
        && s1
            .iter()
            .zip(&s2)
            .all(|(a, b)| a == b || a.starts_with('{'))
}

/// The acceptance suite depends on every crate whose handler it dispatches to.
fn dispatch_problems(registry: &Registry, metadata: &cargo_metadata::Metadata) -> Vec<String> {
    let Some(acceptance) = metadata
        .workspace_packages()
        .into_iter()
        .find(|p| p.name.as_str() == "acceptance")
    else {
        return vec!["the workspace has no acceptance crate".to_owned()];
    };
    let deps: BTreeSet<String> = acceptance
        .dependencies
        .iter()
        .map(|d| d.name.replace('-', "_"))
        .collect();
    registry
        .functions
        .iter()
        .filter_map(|f| Some((f, f.handler.as_deref()?)))
        .filter_map(|(f, handler)| {
            let krate = handler.split("::").next().unwrap_or_default();
            (!deps.contains(krate)).then(|| {
                format!(
                    "tests/acceptance/Cargo.toml does not depend on {krate}, the crate of {}'s handler",
                    f.name
                )
            })
        })
        .collect()
}

/// Every function an experiment names is registered, with the role it plays there; every
/// workshop candidate is in its family's experiment (a scaffolded one joins the experiment named
/// after its family, so that experiment must exist).
pub fn definition_problems(registry: &Registry, root: &Path) -> Result<Vec<String>> {
    let dir = root.join("functions/experiments/definitions");
    let mut found = Vec::new();
    let mut compared = BTreeSet::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let mut value: serde_norway::Value = serde_norway::from_str(&text)
            .with_context(|| format!("{} is not valid YAML", path.display()))?;
        // As uploaded: with the scaffolded candidates in their families' experiments.
        crate::scaffolded::add_candidates(registry, &mut value)?;
        let file = path.file_name().unwrap_or_default().to_string_lossy();
        for (name, experiment) in value["experiments"].as_mapping().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            let mut functions = vec![experiment["control"]["function"].as_str()];
            for candidate in experiment["candidates"].as_mapping().into_iter().flatten() {
                functions.push(candidate.1["function"].as_str());
            }
            for function in functions.into_iter().flatten() {
                compared.insert(function.to_owned());
                if registry.get(function).is_none()
                    && !registry.deployments().iter().any(|d| d.name == function)
                {
                    found.push(format!(
                        "{file}: experiment {name} names {function}, which is not in functions.toml"
                    ));
                }
            }
        }
    }
    for function in &registry.functions {
        let workshop = registry.control_of(&function.family).is_some();
        if function.role == Role::Candidate && workshop && !compared.contains(&function.name) {
            found.push(format!(
                "{} is a {} candidate but no experiment compares it",
                function.name, function.family
            ));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn the_workspace_agrees_with_its_registry() {
        let found = problems(&root()).unwrap();
        assert!(found.is_empty(), "{}", found.join("\n"));
    }

    #[test]
    fn a_function_missing_from_the_template_is_caught() {
        let registry = Registry::load(&root()).unwrap().as_shipped();
        let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
        let without = text.replace("Binary: round-candidate-floor", "Binary: round-control");
        let template = Template::parse(&without).unwrap();
        let found = template_problems(&registry, &template).unwrap();
        assert!(
            found
                .iter()
                .any(|p| p.contains("RoundCandidateFloorFunction runs binary round-control")),
            "{found:?}"
        );
        let extra = format!(
            "{}\n[[function]]\nname = \"round-candidate-new\"\ncrate = \"round\"\nfamily = \"round\"\nrole = \"candidate\"\n",
            std::fs::read_to_string(root().join("functions.toml")).unwrap()
        );
        let registry = Registry::parse(&extra).unwrap();
        let found = template_problems(&registry, &Template::load(&root()).unwrap()).unwrap();
        assert!(
            found
                .iter()
                .any(|p| p
                    .contains("round-candidate-new is in functions.toml but not in template.yaml")),
            "{found:?}"
        );
    }

    /// The planted faults of the least-privilege check: a policy without an action its code calls,
    /// and one with an action no code calls.
    #[test]
    fn a_missing_or_unused_permission_is_caught() {
        let root = root();
        let metadata = cargo_metadata::MetadataCommand::new()
            .manifest_path(root.join("Cargo.toml"))
            .no_deps()
            .exec()
            .unwrap();
        let code = crate::privilege::Code::load(&root, crate_dependencies(&metadata)).unwrap();
        let sources = binary_sources(&metadata);
        let text = std::fs::read_to_string(root.join("template.yaml")).unwrap();
        let check = |text: &str| {
            crate::privilege::problems(&Template::parse(text).unwrap(), &code, &sources).unwrap()
        };
        assert_eq!(check(&text), Vec::<String>::new());

        let lacking = text.replacen(
            "Action: [dynamodb:Query, dynamodb:GetItem]",
            "Action: [dynamodb:GetItem]",
            1,
        );
        assert_ne!(
            lacking, text,
            "the report's policy changed; update the planted fault"
        );
        let found = check(&lacking);
        assert!(
            found.iter().any(|p| p.starts_with(
                "template.yaml: ExperimentReportFunction's policy lacks dynamodb:Query"
            )),
            "{found:?}"
        );

        let unused = text.replacen(
            "Action: [dynamodb:Query, dynamodb:GetItem]",
            "Action: [dynamodb:Query, dynamodb:GetItem, dynamodb:Scan]",
            1,
        );
        let found = check(&unused);
        assert!(
            found.iter().any(|p| p.contains(
                "ExperimentReportFunction's policy grants dynamodb:Scan, which no code of experiment-report calls"
            )),
            "{found:?}"
        );
    }

    #[test]
    fn the_reports_memory_sizes_follow_the_registry_scaffolded_candidates_included() {
        let shipped = Registry::load(&root()).unwrap().as_shipped();
        let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
        let check = |registry: &Registry, text: &str| {
            template_problems(registry, &Template::parse(text).unwrap()).unwrap()
        };
        let wrong = text.replacen("pbkdf2-control-3008=3008", "pbkdf2-control-3008=1024", 1);
        let found = check(&shipped, &wrong);
        assert!(
            found
                .iter()
                .any(|p| p.contains("FUNCTION_MEMORY_MB must be")),
            "{found:?}"
        );
        // A new candidate: the derived template prices it (the dashboard's cost column).
        let mut with_new = shipped.clone();
        with_new
            .functions
            .push(registry::Function::workshop_candidate(
                "fizzbuzz", "mine", "fizzbuzz",
            ));
        let derived = crate::scaffolded::template(&root(), &with_new).unwrap();
        let sizes = derived.value["Resources"]["ExperimentReportFunction"]["Properties"]
            ["Environment"]["Variables"]["FUNCTION_MEMORY_MB"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(sizes.contains("fizzbuzz-candidate-mine=128"), "{sizes}");
        assert!(
            check(&with_new, &serde_norway::to_string(&derived.value).unwrap())
                .iter()
                .all(|p| !p.contains("FUNCTION_MEMORY_MB"))
        );
    }

    #[test]
    fn a_function_its_log_group_depends_on_is_caught() {
        let registry = Registry::load(&root()).unwrap().as_shipped();
        let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
        let check = |text: &str| template_problems(&registry, &Template::parse(text).unwrap());
        // The way the template named its groups before: from the function, so deleted first.
        let from_function = text
            .replacen("    DependsOn: RoundControlLogGroup\n", "", 1)
            .replacen(
                "/aws/lambda/${AWS::StackName}-round-control\"",
                "/aws/lambda/${RoundControlFunction}\"",
                1,
            );
        let found = check(&from_function).unwrap();
        assert!(
            found
                .iter()
                .any(|p| p.contains("RoundControlFunction has no log group named")),
            "{found:?}"
        );
        let found = check(&text.replacen("    DependsOn: SortControlLogGroup\n", "", 1)).unwrap();
        assert!(
            found
                .iter()
                .any(|p| p.contains("SortControlFunction must have DependsOn: SortControlLogGroup")),
            "{found:?}"
        );
    }

    #[test]
    fn an_invoke_permission_over_a_pattern_or_the_wrong_functions_is_caught() {
        let registry = Registry::load(&root()).unwrap().as_shipped();
        let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
        let check = |text: &str| invoke_target_problems(&registry, &Template::parse(text).unwrap());
        assert_eq!(check(&text), Vec::<String>::new());
        let cases = [
            (
                // What the template granted before: every function of every stack named like it.
                "                - !GetAtt RoundControlFunction.Arn\n",
                "                - !Sub \"arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-*\"\n",
                "not a pattern",
            ),
            (
                "                - !Sub \"${SortCandidateFunction.Arn}:*\"\n",
                "",
                "must be allowed to invoke SortCandidateFunction",
            ),
            (
                "                - !GetAtt RoundControlFunction.Arn\n",
                "                - !GetAtt RoundControlFunction.Arn\n                - !GetAtt ShortenerFunction.Arn\n",
                "may invoke ShortenerFunction, which no experiment may name",
            ),
        ];
        for (from, to, expected) in cases {
            assert!(text.contains(from), "{from}");
            let found = check(&text.replacen(from, to, 1));
            assert!(
                found.iter().any(|p| p.contains(expected)),
                "{expected}: {found:?}"
            );
        }
    }

    #[test]
    fn a_public_or_uncapped_demo_function_is_caught() {
        let registry = Registry::load(&root()).unwrap().as_shipped();
        let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
        let check = |text: &str| template_problems(&registry, &Template::parse(text).unwrap());
        assert!(check(&text).unwrap().is_empty());

        let public = text.replacen("AuthType: !Ref DemoFunctionUrlAuth", "AuthType: NONE", 1);
        let found = check(&public).unwrap();
        assert!(
            found
                .iter()
                .any(|p| p.contains("Function URL must have AuthType: !Ref DemoFunctionUrlAuth")),
            "{found:?}"
        );

        let uncapped = text.replacen("      ReservedConcurrentExecutions: 2\n", "", 1);
        let found = check(&uncapped).unwrap();
        assert!(
            found
                .iter()
                .any(|p| p.contains("has no ReservedConcurrentExecutions")),
            "{found:?}"
        );

        let greedy = text.replacen(
            "ReservedConcurrentExecutions: 10",
            "ReservedConcurrentExecutions: 500",
            1,
        );
        let found = check(&greedy).unwrap();
        assert!(
            found.iter().any(|p| p.contains("more than the budget")),
            "{found:?}"
        );

        let unwatched = text.replacen(
            "Value: !Ref Pbkdf2Control3008Function }",
            "Value: !Ref ShortenerFunction }",
            1,
        );
        let found = check(&unwatched).unwrap();
        assert!(
            found
                .iter()
                .any(|p| p.contains("Pbkdf2Control3008Function's Duration is in no alarm")),
            "{found:?}"
        );
    }

    #[test]
    fn a_route_missing_from_the_router_or_out_of_order_is_caught() {
        let registry = Registry::load(&root()).unwrap().as_shipped();
        let router = |entries: &[(&str, &str, &str)]| {
            serde_json::json!({"lambda": {"watch": {"router": entries.iter().map(|(m, p, f)| {
                serde_json::json!({"path": p, "methods": [m], "function": f})
            }).collect::<Vec<_>>()}}})
        };
        let complete: Vec<(String, String, String)> = registry
            .router()
            .iter()
            .map(|(r, f)| (r.method.clone(), r.path.clone(), f.name.clone()))
            .collect();
        let entries: Vec<(&str, &str, &str)> = complete
            .iter()
            .map(|(m, p, f)| (m.as_str(), p.as_str(), f.as_str()))
            .collect();
        assert!(router_problems(&registry, &router(&entries)).is_empty());

        let missing: Vec<_> = entries
            .iter()
            .copied()
            .filter(|(_, p, _)| *p != "/round")
            .collect();
        let found = router_problems(&registry, &router(&missing));
        assert!(
            found.iter().any(|p| p.contains("lacks GET /round")),
            "{found:?}"
        );

        let mut reversed = entries.clone();
        reversed.reverse();
        let found = router_problems(&registry, &router(&reversed));
        assert!(
            found
                .iter()
                .any(|p| p.contains("lists GET /round after GET /{code}")),
            "{found:?}"
        );
        assert!(shadows("GET /{code}", "GET /experiments"));
        assert!(!shadows("GET /experiments/{name}", "GET /round"));
        assert!(!shadows("POST /{code}", "GET /round"));
    }
}

/// The features of every package as `cargo tree` resolves them, with or without dev-dependencies.
#[cfg(test)]
fn resolved_features(root: &Path, dev: bool) -> BTreeSet<String> {
    let edges = if dev {
        "normal,build,dev"
    } else {
        "normal,build"
    };
    let output = crate::cmd::Cmd::new("cargo")
        .args([
            "tree",
            "--quiet",
            "--workspace",
            "--prefix",
            "none",
            "-e",
            edges,
        ])
        .args(["-f", "{p} [{f}]"])
        .dir(root)
        .read()
        .expect("cargo tree");
    output
        .lines()
        .map(|l| l.split(" (").next().unwrap_or(l).to_owned())
        .collect()
}

#[cfg(test)]
mod unification {
    use super::*;

    /// `cargo build --bins` (./build.sh, cargo lambda watch) and `cargo test` must resolve the
    /// shared crates' features alike, or most of the graph is compiled twice; the unification
    /// dependencies in tests/acceptance/Cargo.toml keep them so.
    #[test]
    fn builds_and_tests_resolve_shared_crates_alike() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let without = resolved_features(&root, false);
        let with = resolved_features(&root, true);
        let package = |line: &str| line.split(" [").next().unwrap_or(line).to_owned();
        let shared: BTreeSet<String> = without.iter().map(|l| package(l)).collect();
        let differing: Vec<&String> = with
            .difference(&without)
            .filter(|line| shared.contains(&package(line)))
            .collect();
        assert!(
            differing.is_empty(),
            "dev-dependencies change these shared crates' features; add them to the unification \
             dependencies of tests/acceptance/Cargo.toml: {differing:?}"
        );
    }
}
