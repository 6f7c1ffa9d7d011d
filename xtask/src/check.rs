//! `cargo xtask check`: everything that lists functions agrees with the registry.
//!
//! The registry (`functions.toml`) is the one list. Checked against it here: `template.yaml` (one
//! function per deployment, its binary, name, memory size and HTTP API routes, a Function URL in
//! Outputs, a log group with a retention), the workspace's binaries, the `cargo lambda watch`
//! router in `Cargo.toml`, the acceptance suite's dependencies (its in-process dispatch is
//! generated from the registry) and the experiment definitions. Candidates made by
//! `new-candidate` are checked as deployed and uploaded: with the resources and the place in an
//! experiment that `scaffolded.rs` derives from their entries.
//!
//! By job: [`template`] checks `template.yaml`, [`workspace`] what cargo metadata says (binaries,
//! the local router, the suite's dependencies, and the crate graph the least-privilege check
//! reads), [`definitions`] the experiment definitions; `privilege` and `docs` add theirs.

mod definitions;
mod template;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod unification;
mod workspace;

use std::path::Path;

use anyhow::{Context, Result};
use registry::Registry;

use definitions::definition_problems;
pub use template::template_problems;
use workspace::{
    binary_problems, binary_sources, crate_dependencies, dispatch_problems, router_problems,
};

/// The family that is the product; every other function is a demonstration (workshop, chaos,
/// experiment runner, release hook) and must be capped so it cannot starve it.
const PRODUCT_FAMILY: &str = "shortener";
/// The most concurrency the demonstration functions may reserve together: with the default
/// account limit of 1,000, at least 900 stay unreserved for the shortener
/// (docs/explanation/security.md, "Always capped"). AWS refuses a reservation that leaves fewer than 100 unreserved.
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
