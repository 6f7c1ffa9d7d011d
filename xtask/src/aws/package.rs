//! The packaged template `sam deploy` uploads: template.yaml with the scaffolded candidates, each
//! function's `CodeUri` at its zip (a released family's control at its candidate's).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use registry::Registry;

use super::{Optimisation, zip_path};
use crate::releases::Releases;
use crate::tools::Paths;

/// The packaged template's path.
pub fn packaged_template(paths: &Paths) -> PathBuf {
    paths.root.join(".aws-sam/build/template.yaml")
}

/// Writes the packaged template for `sam deploy` (the zips of the build at `optimisation`).
pub fn package(
    paths: &Paths,
    registry: &Registry,
    out: &Path,
    releases: &Releases,
    optimisation: Optimisation,
) -> Result<()> {
    let template = crate::scaffolded::template(&paths.root, registry)?;
    let text = template.packaged(|binary| {
        zip_path(paths, optimisation, releases.binary_of(registry, binary))
            .display()
            .to_string()
    })?;
    std::fs::create_dir_all(out.parent().expect("a folder"))?;
    std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))
}
