//! What cargo metadata says, against the registry: every binary under `functions/` registered,
//! the local router serving exactly the registry's routes, the acceptance suite depending on every
//! handler's crate; and the crate graph and binaries' sources the least-privilege check reads.

use std::collections::{BTreeMap, BTreeSet};

use registry::Registry;

/// Each workspace crate's folder -> the folders of the workspace crates it depends on (normal
/// dependencies, directly or not).
pub(super) fn crate_dependencies(
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
pub(super) fn binary_sources(
    metadata: &cargo_metadata::Metadata,
) -> BTreeMap<String, std::path::PathBuf> {
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
pub(super) fn binary_problems(
    registry: &Registry,
    metadata: &cargo_metadata::Metadata,
) -> Vec<String> {
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
pub(super) fn shadows(earlier: &str, later: &str) -> bool {
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
pub(super) fn dispatch_problems(
    registry: &Registry,
    metadata: &cargo_metadata::Metadata,
) -> Vec<String> {
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
