//! The experiment definitions against the registry: every function an experiment names is
//! registered, and every workshop candidate is compared by its family's experiment.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};
use registry::{Registry, Role};

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
