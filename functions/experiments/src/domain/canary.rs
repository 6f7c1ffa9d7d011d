//! A canary judged by evidence: may a released version of a control keep its traffic?
//!
//! `./build.sh promote ... --release` deploys a candidate's code as the control's new version, and
//! CodeDeploy moves the control's alias `live` to it a share at a time. The experiment keeps
//! running through `live` all along, so its comparisons of the canary's window hold the new
//! version's answers beside the released candidate's, on the same production requests. After the
//! traffic has shifted, the post-traffic hook (`functions/release-hook`, binary `release-judge`)
//! asks [`judge`] whether the new version earned it; anything but [`Decision::Keep`] fails the
//! deployment and CodeDeploy shifts the traffic back.
//!
//! The question is whether the new version, in the control's place (its memory size, its alias,
//! production's requests), does what the candidate whose verdict earned the release did:
//! - **correctness**: the released candidate's answers against the new version's, counted from
//!   the running totals of that pair ([`crate::domain::tally`], keyed by the control version the
//!   candidate was compared with), so the always-valid bound of [`crate::domain::verdict`] holds
//!   however long the canary runs. The candidate's own failures (it timed out, say) are no
//!   evidence about the new version and are left out; the new version's failures (the control's
//!   errors in the window's records) count as failures. A failure that names no version (a
//!   timeout: nothing answered) cannot be told to be the new version's and is left to the
//!   control's errors alarm on the deployment (`<Control>ReleaseErrorsAlarm` in template.yaml).
//! - **speed**: the new version's duration over the candidate's on the same request (the
//!   comparator times both, [`crate::handlers::comparator`]), from the window's records: it must
//!   not be `slower` than the experiment's `maxDurationRatio` allows, shown with at least
//!   [`MIN_PAIRS`] timed pairs.
//!
//! The experiment's own thresholds (`promotion`) apply, so the canary needs as many comparisons
//! as the promotion did. Too few is never a pass: the answer is `inconclusive: no traffic`, and
//! the release fails (CodeDeploy's hooks can only succeed or fail; a failed release is run again
//! with more traffic, a higher sample rate or a longer canary).
//!
//! The verdict that earned the release compared the candidate with the old control; this one
//! compares the new version with the candidate. Together they chain: the new version answers
//! like the candidate, which answered like the old control (each within its bound).

use serde::Serialize;

use crate::domain::compare::{FailureKind, Outcome};
use crate::domain::definition::Experiment;
use crate::domain::record::ComparisonRecord;
use crate::domain::tally::{Tally, TallyKey};
use crate::domain::verdict::{
    self, CandidateVerdict, CorrectnessState, MIN_PAIRS, Observations, PerformanceState,
};

/// What the post-traffic hook does with the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Equivalent and not slower: the new version keeps the traffic.
    Keep,
    /// Shown to differ, or to be slower: roll back.
    RollBack,
    /// Too little evidence either way: roll back too, saying so.
    Inconclusive,
}

/// The judgement, with the verdict it rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Judgement {
    pub decision: Decision,
    /// One sentence: the decision and why, e.g. `inconclusive: no traffic, 12 comparisons of
    /// version 7 against fixed, 300 needed`.
    pub sentence: String,
    /// The new version (`candidate` in the verdict's terms) against the released candidate.
    pub verdict: CandidateVerdict,
}

/// Judges `version` of `experiment`'s control, which runs the code of the candidate `released`,
/// on the running totals `tallies` and the window `records` (newest first, as the store returns
/// them).
pub fn judge(
    experiment: &Experiment,
    released: &str,
    version: &str,
    tallies: &[(TallyKey, Tally)],
    records: &[ComparisonRecord],
) -> Judgement {
    let observed = observations(experiment, released, version, tallies, records);
    let verdict = verdict::verdict(&observed, &experiment.promotion);
    let (decision, sentence) = decide(&verdict, released, version, &experiment.promotion);
    Judgement {
        decision,
        sentence,
        verdict,
    }
}

/// The counts and pairs of the new version against the released candidate.
fn observations(
    experiment: &Experiment,
    released: &str,
    version: &str,
    tallies: &[(TallyKey, Tally)],
    records: &[ComparisonRecord],
) -> Observations {
    let mut total = Tally::default();
    for (key, tally) in tallies {
        if key.candidate == released
            && key.control_function == experiment.control.function
            && key.control_version.as_deref() == Some(version)
        {
            total.add(tally);
        }
    }
    let mut observed = Observations {
        candidate: format!("version {version}"),
        // The candidate's failures say nothing of the new version.
        comparisons: total.comparisons - total.errors,
        mismatches: total.mismatches,
        intended: total.intended,
        ..Observations::default()
    };
    for record in records {
        let control = &record.control;
        if control.version.as_deref() != Some(version) {
            continue;
        }
        if let Some(kind) = control.failure {
            observed.comparisons += 1;
            observed.errors += 1;
            observed.timeouts += u64::from(kind == FailureKind::Timeout);
            continue;
        }
        let Some(candidate) = record.candidates.iter().find(|c| c.id == released) else {
            continue;
        };
        if candidate.failure.is_none() {
            // The verdict divides its "candidate" (the new version) by its "control".
            observed
                .durations
                .push((candidate.duration_ms, control.duration_ms));
        }
        if observed.latest_differing.len() < verdict::LATEST_DIFFERING
            && candidate.outcome() == Some(Outcome::Mismatch)
            && record.compared_with() == Some(version)
        {
            observed.latest_differing.push(verdict::Differing {
                at: record.at.clone(),
                input: record.request.line(),
                why: candidate
                    .verdict
                    .as_ref()
                    .and_then(|v| v.diff.clone())
                    .unwrap_or_else(|| "headers differ".to_owned()),
            });
        }
    }
    observed
}

fn decide(
    verdict: &CandidateVerdict,
    released: &str,
    version: &str,
    promotion: &verdict::Promotion,
) -> (Decision, String) {
    let c = &verdict.correctness;
    let performance = verdict.performance.as_ref();
    let seen = format!(
        "{} of version {version} against {released}",
        verdict::count(c.comparisons, "comparison")
    );
    if c.comparisons < promotion.min_comparisons {
        return (
            Decision::Inconclusive,
            format!(
                "inconclusive: no traffic, {seen}, {} needed",
                promotion.min_comparisons
            ),
        );
    }
    match (c.state, performance.map(|p| p.state)) {
        (CorrectnessState::Differs, _) => (
            Decision::RollBack,
            format!(
                "differs: {} failed ({} mismatched, {} errors), {seen}; at least {} of its answers differ, with 95 % confidence, more than the {} allowed",
                c.failures,
                c.mismatches,
                c.errors,
                verdict::percent(c.always_valid.low),
                verdict::percent(c.max_mismatch_rate),
            ),
        ),
        (_, Some(PerformanceState::Slower)) => (
            Decision::RollBack,
            format!(
                "slower: version {version} takes {:.2}× {released}'s time on the same request (95 % interval {:.2}-{:.2}), more than the {}× allowed",
                performance.map_or(0.0, |p| p.p50_ratio.value),
                performance.map_or(0.0, |p| p.p50_ratio.low),
                performance.map_or(0.0, |p| p.p50_ratio.high),
                promotion.max_duration_ratio,
            ),
        ),
        (CorrectnessState::Equivalent, Some(state)) => (
            Decision::Keep,
            format!(
                "equivalent and not slower ({}): {seen}, {} failed, at most {} with 95 % confidence",
                match state {
                    PerformanceState::Faster => "faster",
                    _ => "within the tolerance",
                },
                c.failures,
                verdict::percent(c.always_valid.high),
            ),
        ),
        (CorrectnessState::Equivalent, None) => (
            Decision::Inconclusive,
            format!(
                "inconclusive: too few timed comparisons to tell it is not slower ({seen}, {MIN_PAIRS} timed pairs needed)"
            ),
        ),
        (_, _) => (
            Decision::Inconclusive,
            format!(
                "inconclusive: {seen}, {} failed; {} more clean comparisons would show it equivalent",
                c.failures,
                c.more_needed.unwrap_or_default()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::compare::Verdict;
    use crate::domain::definition::Experiments;
    use crate::domain::record::{RequestSummary, VariantResult};

    /// The round experiment with the suite's lenient thresholds: 20 comparisons at least.
    fn experiment() -> Experiment {
        let yaml = "experiments:\n  round:\n    comparators: [body]\n    path: /round\n    control: {name: c, function: round-control}\n    candidates:\n      half-even: {name: Half even, function: round-candidate-half-even}\n      floor: {name: Floor, function: round-candidate-floor}\n    promotion: {maxMismatchRate: 0.25, minComparisons: 20, maxDurationRatio: 1.2}\n";
        Experiments::parse(yaml).unwrap().by_name["round"].clone()
    }

    fn variant(
        id: &str,
        function: &str,
        version: &str,
        ms: f64,
        same: Option<bool>,
    ) -> VariantResult {
        VariantResult {
            id: id.into(),
            name: id.into(),
            status: same.map(|_| 200),
            duration_ms: ms,
            failure: same.is_none().then_some(FailureKind::FunctionError),
            failure_detail: None,
            verdict: same.map(|same| Verdict {
                body: Some(same),
                diff: (!same).then(|| "1 != 2".to_owned()),
                ..Verdict::default()
            }),
            version: Some(version.into()),
            function: Some(function.into()),
        }
    }

    /// One comparison: the control (version `control_version`, `control_ms`, failing when
    /// `control_ok` is false) beside half-even (`same`: its outcome, `None` a failure).
    fn record(
        control_version: &str,
        control_ms: f64,
        control_ok: bool,
        same: Option<bool>,
    ) -> ComparisonRecord {
        ComparisonRecord {
            experiment: "round".into(),
            correlation_id: "c".into(),
            at: "2026-12-05T10:00:00.000Z".into(),
            request: RequestSummary {
                method: "GET".into(),
                path: "/round".into(),
                query: "number=2.5".into(),
                body: String::new(),
            },
            control: VariantResult {
                verdict: None,
                ..variant(
                    "control",
                    "round-control",
                    control_version,
                    control_ms,
                    control_ok.then_some(true),
                )
            },
            answered_by: Some(control_version.into()),
            candidates: vec![variant(
                "half-even",
                "round-candidate-half-even",
                "$LATEST@ab",
                1.0,
                same,
            )],
            noise: None,
        }
    }

    /// The window's records and the running totals the comparator would have written for them.
    fn stream(records: Vec<ComparisonRecord>) -> (Vec<(TallyKey, Tally)>, Vec<ComparisonRecord>) {
        let tallies = records
            .iter()
            .flat_map(crate::domain::tally::of_record)
            .collect();
        (tallies, records)
    }

    fn judged(records: Vec<ComparisonRecord>) -> Judgement {
        let (tallies, records) = stream(records);
        judge(&experiment(), "half-even", "7", &tallies, &records)
    }

    #[test]
    fn no_comparison_of_the_new_version_is_inconclusive_no_traffic() {
        let judgement = judged(vec![]);
        assert_eq!(judgement.decision, Decision::Inconclusive);
        assert_eq!(
            judgement.sentence,
            "inconclusive: no traffic, 0 comparisons of version 7 against half-even, 20 needed"
        );
        // Plenty of the old version's comparisons are no evidence on the new one.
        let old = (0..100)
            .map(|_| record("6", 1.0, true, Some(true)))
            .collect();
        let judgement = judged(old);
        assert_eq!(judgement.decision, Decision::Inconclusive);
        assert!(
            judgement
                .sentence
                .starts_with("inconclusive: no traffic, 0 comparisons"),
            "{}",
            judgement.sentence
        );
    }

    #[test]
    fn fewer_than_the_minimum_is_no_traffic_even_when_all_clean() {
        let judgement = judged(
            (0..19)
                .map(|_| record("7", 1.0, true, Some(true)))
                .collect(),
        );
        assert_eq!(judgement.decision, Decision::Inconclusive);
        assert!(
            judgement.sentence.contains("19 comparisons of version 7"),
            "{}",
            judgement.sentence
        );
    }

    #[test]
    fn clean_comparisons_at_the_same_speed_keep_the_release() {
        let records = (0..40)
            .map(|i| record("7", 1.0 + f64::from(i % 3) * 0.01, true, Some(true)))
            .collect();
        let judgement = judged(records);
        assert_eq!(judgement.decision, Decision::Keep, "{}", judgement.sentence);
        assert!(
            judgement.sentence.starts_with("equivalent and not slower"),
            "{}",
            judgement.sentence
        );
        assert_eq!(judgement.verdict.correctness.comparisons, 40);
    }

    #[test]
    fn mismatches_roll_it_back() {
        let records = (0..40)
            .map(|i| record("7", 1.0, true, Some(i % 2 == 0)))
            .collect();
        let judgement = judged(records);
        assert_eq!(judgement.decision, Decision::RollBack);
        assert!(
            judgement
                .sentence
                .starts_with("differs: 20 failed (20 mismatched, 0 errors)"),
            "{}",
            judgement.sentence
        );
        assert_eq!(judgement.verdict.correctness.latest_differing.len(), 5);
    }

    #[test]
    fn the_new_versions_errors_count_and_the_candidates_do_not() {
        // 20 clean, 40 where the new version failed: differs.
        let mut records: Vec<_> = (0..20)
            .map(|_| record("7", 1.0, true, Some(true)))
            .collect();
        records.extend((0..40).map(|_| record("7", 1.0, false, None)));
        let judgement = judged(records);
        assert_eq!(
            judgement.decision,
            Decision::RollBack,
            "{}",
            judgement.sentence
        );
        assert_eq!(judgement.verdict.correctness.errors, 40);
        // 30 clean, 15 where the candidate failed: no evidence either way, still equivalent.
        let mut records: Vec<_> = (0..30)
            .map(|_| record("7", 1.0, true, Some(true)))
            .collect();
        records.extend((0..15).map(|_| record("7", 1.0, true, None)));
        let judgement = judged(records);
        assert_eq!(judgement.decision, Decision::Keep, "{}", judgement.sentence);
        assert_eq!(judgement.verdict.correctness.comparisons, 30);
    }

    #[test]
    fn a_slower_new_version_rolls_back() {
        // The new version takes 3 ms where the candidate takes 1 ms, tolerance 1.2.
        let records = (0..40)
            .map(|_| record("7", 3.0, true, Some(true)))
            .collect();
        let judgement = judged(records);
        assert_eq!(judgement.decision, Decision::RollBack);
        assert!(
            judgement
                .sentence
                .starts_with("slower: version 7 takes 3.00× half-even's time"),
            "{}",
            judgement.sentence
        );
    }

    #[test]
    fn comparisons_with_the_old_versions_answer_are_not_counted() {
        // The comparator's own invocation reached version 7, but the client's answer (the one
        // compared) came from version 6: timed for 7, counted for 6.
        let records: Vec<_> = (0..40)
            .map(|_| ComparisonRecord {
                answered_by: Some("6".into()),
                ..record("7", 1.0, true, Some(false))
            })
            .collect();
        let judgement = judged(records);
        assert_eq!(judgement.verdict.correctness.comparisons, 0);
        assert_eq!(judgement.decision, Decision::Inconclusive);
    }
}
