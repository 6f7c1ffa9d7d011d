//! `./build.sh promote ... --release [--undo]`: a family's control runs a candidate's code (or its
//! own again) through a deploy that CodeDeploy shifts.

use anyhow::{Result, bail};
use registry::Registry;

use super::deploy::deploy_with;
use crate::aws::{self, Deployed, ReleaseChange, Target};
use crate::releases::{Release, Releases};
use crate::tools::{self, Paths};

/// `./build.sh promote <env> <region> <profile> <experiment> <candidate> --release` (or
/// `--release --undo`, `release` None): the family's control runs the candidate's code (or its
/// own again) through a deploy, which CodeDeploy shifts to the control's alias `live`.
pub fn run(
    paths: &Paths,
    registry: &Registry,
    target: &Target,
    family: &str,
    release: Option<Release>,
    dry_run: bool,
) -> Result<()> {
    let file = Releases::file(&target.state_dir(&paths.deploy));
    let before = Releases::load(&file)?;
    let next = before.with(registry, family, release.clone())?;
    let control = format!("{family}-control");
    let sentence = match (&release, before.0.get(family)) {
        (Some(r), _) => format!(
            "release: {control} runs {}'s code; CodeDeploy shifts its alias live to it \
             (ReleaseTrafficShifting) after the pre-traffic hook, rolling back on alarms",
            r.function
        ),
        (None, Some(r)) => format!(
            "undo the release of {}: {control} runs its own code again, shifted by CodeDeploy",
            r.function
        ),
        (None, None) => bail!("{control} runs its own code already: nothing to undo"),
    };
    let change = ReleaseChange { sentence, file };
    let commit = aws::source_commit(&paths.root)?;
    if !dry_run {
        tools::ensure_local_tools(paths)?;
        tools::ensure_awscli(paths)?;
    }
    deploy_with(
        paths,
        registry,
        target,
        &commit,
        &Deployed::Unknown,
        Some((&change, &next)),
        dry_run,
    )
}
