//! `./build.sh deploy`: ask the stack where it is, check that the account can hold a new one, then
//! run (or print) the deploy plan with the environment's releases.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use registry::Registry;

use super::plan::execute;
use crate::aws::{self, Deployed, ReleaseChange, Target};
use crate::log;
use crate::releases::Releases;
use crate::tools::{self, Paths};

/// `./build.sh deploy <env> <region> <profile> [--dry-run [--stack-commit <sha>]]`; `registry`
/// is functions.toml, read once for the whole run.
pub fn run(
    paths: &Paths,
    registry: &Registry,
    target: &Target,
    dry_run: bool,
    stack_commit: Option<String>,
) -> Result<()> {
    if stack_commit.is_some() && !dry_run {
        bail!("--stack-commit only stands in for AWS in a dry run");
    }
    let commit = aws::source_commit(&paths.root)?;
    let query = aws::stack_query(target);
    let deployed = if dry_run {
        println!("[dry-run] {query}");
        stack_commit.map_or(Deployed::Unknown, Deployed::At)
    } else {
        tools::ensure_local_tools(paths)?;
        tools::ensure_awscli(paths)?;
        let output = query
            .env("PATH", paths.path_var())
            .command()
            .output()
            .context("cannot start the AWS CLI")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        Deployed::from_describe_stacks(if output.status.success() {
            Ok(&stdout)
        } else {
            Err(&stderr)
        })?
    };
    if let Some(why) = deployed.refusal(&target.stack(), &target.region) {
        bail!("{why}");
    }
    preflight(paths, registry, target, &deployed, dry_run)?;
    log!(
        "deploy {} to {} (profile {}) at commit {commit}",
        target.stack(),
        target.region,
        target.profile
    );
    deploy_with(paths, registry, target, &commit, &deployed, None, dry_run)
}

/// Before a stack is created: the account must hold its reserved concurrency (an update keeps
/// what the stack reserved already, so only a create is checked).
fn preflight(
    paths: &Paths,
    registry: &Registry,
    target: &Target,
    deployed: &Deployed,
    dry_run: bool,
) -> Result<()> {
    let query = target.account_settings_query();
    if dry_run {
        println!("[dry-run] {query} (pre-flight, when the stack is to be created)");
        return Ok(());
    }
    if !matches!(deployed, Deployed::None | Deployed::FailedCreate) {
        return Ok(());
    }
    let reserved: u64 = crate::scaffolded::template(&paths.root, registry)?
        .functions()?
        .iter()
        .filter_map(|f| f.reserved_concurrency)
        .map(u64::from)
        .sum();
    let settings = query
        .env("PATH", paths.path_var())
        .read()
        .context("pre-flight: cannot read the account's Lambda settings")?;
    let checked = aws::AccountConcurrency::from_account_settings(&settings)?
        .check_create(reserved, &target.region)?;
    log!("{checked}");
    Ok(())
}

/// The deploy plan with the environment's releases, or with `change` made to them, run.
pub(super) fn deploy_with(
    paths: &Paths,
    registry: &Registry,
    target: &Target,
    commit: &str,
    deployed: &Deployed,
    change: Option<(&ReleaseChange, &Releases)>,
    dry_run: bool,
) -> Result<()> {
    let vars: BTreeMap<String, String> = std::env::vars().collect();
    let releases = match change {
        Some((_, next)) => next.clone(),
        None => Releases::load(&Releases::file(&target.state_dir(&paths.deploy)))?,
    };
    let defaults = crate::template::Template::load(&paths.root)?.parameter_defaults();
    let mut overrides = aws::parameter_overrides(&target.env, &vars, &defaults)?;
    overrides.extend(releases.parameter_overrides(registry));
    let plan = aws::deploy_plan(
        target,
        aws::build_artifacts_cmd(registry, aws::Optimisation::Deploy),
        commit,
        deployed,
        &overrides,
        &aws::packaged_template(paths),
        &releases,
        change.map(|(change, _)| change),
    );
    execute(paths, registry, target, &plan, dry_run)
}
