//! `./build.sh promote local <experiment> <candidate> --release --dry-run`: a release rehearsed on
//! the local stack, where there is no alias or CodeDeploy. It passes the same verdict gate as a
//! release, says what a release on AWS would deploy and how CodeDeploy would move and judge it,
//! and runs the post-traffic judge (`release-judge`, [`release_hook::judge`]) on this stack's
//! comparisons, reading the table as the deployed judge reads it.
//!
//! The judged version is the control's current build (the version whose answers the latest
//! comparison compared with): locally the control runs its own code, so the judgement says what
//! the judge would decide if the canary's comparisons were these, not how a release would fare.

use anyhow::{Context, Result};
use experiments::domain::canary::Decision;
use experiments::domain::report::REPORT_WINDOW;

use super::{Ask, Stack, gate};
use crate::template::release_parameter;

/// Rehearses the release of `candidate`; `Ok(true)` when the judge would keep it.
pub fn rehearse(stack: &Stack, ask: &Ask, registry: &registry::Registry) -> Result<bool> {
    let candidate = ask
        .candidate
        .context("name the candidate to release (--undo has nothing to rehearse locally)")?;
    let runtime = tokio::runtime::Runtime::new()?;
    if gate(stack, &runtime, ask, candidate)?.is_none() {
        return Ok(false);
    }
    let store = runtime.block_on(stack.store())?;
    let experiment = runtime
        .block_on(store.experiments())?
        .by_name
        .remove(ask.experiment)
        .with_context(|| format!("no experiment {}", ask.experiment))?;
    let control = experiment.control.function.as_str();
    let family = registry
        .get(control)
        .filter(|f| f.role == registry::Role::Control)
        .map(|f| f.family.clone())
        .with_context(|| {
            format!(
                "the control of {} is {control}, not a family's control: nothing to release to",
                ask.experiment
            )
        })?;
    let function = &experiment
        .candidates
        .iter()
        .find(|c| c.id == candidate)
        .with_context(|| format!("{} has no candidate {candidate}", ask.experiment))?
        .function;
    let cases = release_hook::Catalog::builtin()?
        .cases(&family)
        .map_or(0, <[_]>::len);
    let promotion = &experiment.promotion;
    println!(
        "[dry-run] on AWS, `promote <env> <region> <profile> {} {candidate} --release` would deploy \
         {control} running {function}'s code ({}={candidate}); CodeDeploy would run the pre-traffic \
         gate ({cases} cases of functions/release-hook/cases/{family}.yaml) on the new version, move \
         the alias live to it as ReleaseTrafficShifting says (10 % for 5 minutes by default), then \
         let the post-traffic judge keep it only if it is equivalent to {candidate} and not slower \
         on at least {} comparisons of the canary (maxMismatchRate {}, maxDurationRatio {})",
        ask.experiment,
        release_parameter(&family),
        promotion.min_comparisons,
        promotion.max_mismatch_rate,
        promotion.max_duration_ratio,
    );
    let latest = runtime.block_on(store.latest(ask.experiment, REPORT_WINDOW))?;
    let Some(version) = latest
        .iter()
        .find_map(|r| r.compared_with())
        .map(str::to_owned)
    else {
        println!(
            "[dry-run] the post-traffic judge: no comparison names {control}'s version here \
             (the in-process stack does not tell builds apart): nothing to judge"
        );
        return Ok(false);
    };
    let judgement = runtime.block_on(release_hook::judge::judge(
        &store,
        ask.experiment,
        candidate,
        &version,
    ))?;
    println!(
        "[dry-run] the post-traffic judge on this stack's comparisons of {control}'s current build \
         ({version}) against {candidate} (on AWS: of the new version, during the canary): {}",
        judgement.sentence
    );
    println!(
        "[dry-run] {}",
        match judgement.decision {
            Decision::Keep => "CodeDeploy would keep the release",
            Decision::RollBack => "CodeDeploy would roll the release back",
            Decision::Inconclusive =>
                "CodeDeploy would roll the release back for want of evidence: send more traffic during the canary",
        }
    );
    Ok(judgement.decision == Decision::Keep)
}
