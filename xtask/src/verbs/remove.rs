//! `./build.sh remove`: find what the stack keeps and SAM's bucket, then run (or print) the
//! remove plan.

use anyhow::{Context, Result};
use registry::Registry;

use super::plan::execute;
use crate::aws::{self, Retained, Target};
use crate::tools::{self, Paths};

/// `./build.sh remove <env> <region> <profile> [--delete-data] [--dry-run]`.
pub fn run(
    paths: &Paths,
    registry: &Registry,
    target: &Target,
    delete_data: bool,
    dry_run: bool,
) -> Result<()> {
    let (retained, bucket) = if dry_run {
        println!("[dry-run] {}", aws::stack_resources_query(target));
        println!("[dry-run] {}", aws::artifact_bucket_query(target));
        (Retained::placeholders(), Some("<SourceBucket>".to_owned()))
    } else {
        tools::ensure_awscli(paths)?;
        // The resources, not the outputs: a stack whose create failed has none.
        let json = aws::stack_resources_query(target)
            .env("PATH", paths.path_var())
            .read()
            .with_context(|| format!("no stack {} in {}", target.stack(), target.region))?;
        let retained = Retained::from_stack_resources(&json)?;
        let bucket = aws::artifact_bucket_query(target)
            .env("PATH", paths.path_var())
            .read()
            .ok()
            .map(|b| b.trim().to_owned());
        (retained, bucket)
    };
    let plan = aws::remove_plan(target, &retained, bucket.as_deref(), delete_data);
    execute(paths, registry, target, &plan, dry_run)
}
