//! An AWS plan (`aws::Step`s) printed for a dry run or run step by step.

use anyhow::Result;
use registry::Registry;

use super::stack::fetch_endpoints;
use crate::aws::{self, Step, Target};
use crate::log;
use crate::tools::Paths;

/// Prints a plan's steps (dry run) or runs them; `registry` names the functions built and packaged.
pub(super) fn execute(
    paths: &Paths,
    registry: &Registry,
    target: &Target,
    plan: &[Step],
    dry_run: bool,
) -> Result<()> {
    for step in plan {
        match step {
            Step::Say(text) => log!("{text}"),
            _ if dry_run => println!("[dry-run] {step}"),
            Step::Run(cmd) => cmd
                .clone()
                .env("PATH", paths.path_var())
                .dir(&paths.root)
                .run()?,
            Step::BuildArtifacts(_) => aws::build_artifacts(paths, registry)?,
            Step::Package { out, releases } => {
                aws::package(paths, registry, out, releases, aws::Optimisation::Deploy)?
            }
            Step::RecordReleases { file, releases } => releases.save(file)?,
            Step::FetchEndpoints => {
                fetch_endpoints(paths, registry, target)?;
            }
            Step::ForgetEndpoints => {
                let _ = std::fs::remove_dir_all(target.state_dir(&paths.deploy));
            }
        }
    }
    Ok(())
}
