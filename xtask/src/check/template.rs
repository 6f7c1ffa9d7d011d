//! `template.yaml` against the registry: one function per deployment with its binary, name,
//! memory size, routes, release alias, URL auth, cap, alarm, log group; the report's prices, the
//! live-alias list, the globals, and the experiment functions' invoke permissions.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use registry::{Registry, Role};

use super::{DEMO_CONCURRENCY_BUDGET, PRODUCT_FAMILY};
use crate::template::{
    DEMO_URL_AUTH_PARAMETER, PUBLIC_URL_STATEMENTS, PUBLIC_URLS_CONDITION, RELEASE_ALIAS, Template,
    UrlAuth, release_parameter,
};

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
