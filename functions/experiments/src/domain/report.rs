//! Per-variant figures over the latest comparisons of an experiment, and the verdict on each
//! candidate ([`crate::domain::verdict`]). Every candidate's call is a match, an intended difference (see
//! [`crate::domain::definition`]), a mismatch or an error; intended differences are listed apart from
//! mismatches and do not count against the candidate.

use std::collections::BTreeMap;

use measure::percentile;
use serde::{Deserialize, Serialize};

use crate::domain::compare::{FailureKind, Outcome};
use crate::domain::coverage::Coverage;
use crate::domain::definition::Experiment;
use crate::domain::pace::{self, Pace};
use crate::domain::record::{ComparisonRecord, RequestSummary, VariantResult};
use crate::domain::tally::Tally;
use crate::domain::verdict::{self, CandidateVerdict, Differing, Observations};

/// How many of the latest comparisons of an experiment a report covers (the verdict's window).
pub const REPORT_WINDOW: usize = verdict::WINDOW as usize;
/// How many of the latest mismatches a report lists.
pub const LATEST_MISMATCHES: usize = 10;
/// How many of the latest intended differences a report lists.
pub const LATEST_INTENDED: usize = 5;
/// How many distinct mismatching inputs a report lists, the most frequent first.
pub const MISMATCH_GROUPS: usize = 20;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantFigures {
    pub id: String,
    pub name: String,
    pub calls: u64,
    pub matches: u64,
    pub mismatches: u64,
    /// Differences the experiment declares the candidate means to make.
    pub intended: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// A comparison whose answers differed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mismatch {
    pub at: String,
    pub correlation_id: String,
    pub variant: String,
    pub request: RequestSummary,
    pub diff: String,
    /// For an intended difference: the descriptions of those that explain it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intended: Option<String>,
}

/// The mismatches of one candidate on one input, however many times it was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MismatchGroup {
    pub variant: String,
    /// The request on one line ([`RequestSummary::line`]).
    pub input: String,
    /// Mismatches on it in the window.
    pub count: u64,
    /// The latest one's time and difference.
    pub latest_at: String,
    pub diff: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub experiment: String,
    /// Comparisons the figures cover (the latest ones, newest first).
    pub comparisons: usize,
    pub since: Option<String>,
    pub variants: Vec<VariantFigures>,
    pub latest_mismatches: Vec<Mismatch>,
    /// The latest differences the experiment intends, newest first, at most [`LATEST_INTENDED`].
    pub latest_intended: Vec<Mismatch>,
    /// One per candidate of the definition, in its order.
    pub verdicts: Vec<CandidateVerdict>,
    /// Every mismatch of the window grouped by candidate and input, the most frequent first (then
    /// the latest), at most [`MISMATCH_GROUPS`].
    pub mismatches_by_input: Vec<MismatchGroup>,
    /// The latest exploration of each candidate explored (`./build.sh explore`); the report
    /// function adds them from the store.
    pub explorations: Vec<Explored>,
    /// How fast the experiment compares requests lately; `None` with too few comparisons.
    pub pace: Option<Pace>,
    /// What one comparison costs in invocations ([`pace::usd_per_comparison`]), for what a
    /// higher sample percentage would cost; `None` where a memory size is unknown.
    pub usd_per_comparison: Option<f64>,
    /// Whether comparisons were lost evenly across kinds of request; `None` when not checked
    /// (the window alone, or no counts).
    pub coverage: Option<Coverage>,
    /// With the noise baseline on: the fields in which the control disagrees with itself, most
    /// often first ([`noisy_fields`]).
    pub noisy_fields: Vec<NoisyField>,
}

/// A field (JSON path, header, status or text body) in which the control's two answers to the
/// same request differed, and how often.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoisyField {
    pub field: String,
    pub disagreements: u64,
    /// Comparisons with a noise baseline in the window.
    pub of: u64,
    pub share: f64,
    /// The line to add to the definition's `ignore:` (JSON paths only), proposed when the field
    /// disagrees with itself in at least [`NOISY_SHARE`] of the comparisons; for a person to
    /// review, never applied by itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_ignore: Option<String>,
}

/// How often a field must disagree with itself to be proposed for `ignore:`.
pub const NOISY_SHARE: f64 = 0.01;

/// The fields of `records`' noise baselines (control against control) that ever differed, by how
/// often, most often first. Indices are dropped from JSON paths (`$.items[].id`): an `ignore:`
/// path names one index, so the proposal names the first index for a person to widen.
pub fn noisy_fields(records: &[ComparisonRecord]) -> Vec<NoisyField> {
    let mut of = 0u64;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for record in records {
        let Some(noise) = &record.noise else { continue };
        of += 1;
        if let Some(diff) = &noise.diff {
            for field in crate::domain::compare::differing_fields(diff) {
                *counts.entry(field).or_default() += 1;
            }
        }
    }
    let mut fields: Vec<NoisyField> = counts
        .into_iter()
        .map(|(field, disagreements)| {
            let share = disagreements as f64 / of.max(1) as f64;
            let suggested_ignore = (share >= NOISY_SHARE && field.starts_with('$'))
                .then(|| format!("ignore: [{}]", field.replace("[]", "[0]")));
            NoisyField {
                field,
                disagreements,
                of,
                share,
                suggested_ignore,
            }
        })
        .collect();
    fields.sort_by(|a, b| {
        b.disagreements
            .cmp(&a.disagreements)
            .then(a.field.cmp(&b.field))
    });
    fields
}

/// The latest exploration of a candidate (`./build.sh explore`, the `explore` crate): generated
/// requests to the control and the candidate, the first disagreement shrunk to a minimal one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Explored {
    /// The candidate's id in the experiment.
    pub candidate: String,
    /// When it ran (RFC 3339).
    pub at: String,
    /// `generated` (the family's edge cases) or `uniform`.
    pub distribution: String,
    pub seed: u64,
    /// Requests drawn: up to the first that disagreed, or all of them.
    pub cases: u32,
    /// The minimal disagreeing request (`METHOD /path?query body`, redacted as the experiment
    /// says); absent when none disagreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// What differs first, as the comparator writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// Figures and verdicts from `records`, newest first (as the store returns them). `memory_mb` maps
/// function names to their memory size where it is known, for the cost of each.
///
/// Correctness is counted over `records` here; [`report_on_totals`] counts it over running totals
/// instead, which is what the verdict's guarantee needs.
pub fn report(
    experiment: &Experiment,
    records: &[ComparisonRecord],
    memory_mb: &BTreeMap<String, u32>,
) -> Report {
    report_on_totals(experiment, records, memory_mb, None, None)
}

/// Like [`report`], with each candidate's correctness counts (comparisons, mismatches, errors,
/// timeouts, intended) taken from `totals` ([`crate::domain::tally`]) where given: every
/// comparison of the versions serving now, not only those of the window. Durations, the tables
/// and the latest differing inputs still come from `records`.
pub fn report_on_totals(
    experiment: &Experiment,
    records: &[ComparisonRecord],
    memory_mb: &BTreeMap<String, u32>,
    totals: Option<&BTreeMap<String, Tally>>,
    coverage: Option<Coverage>,
) -> Report {
    let mut figures: BTreeMap<String, (VariantFigures, Vec<f64>)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut latest_mismatches = Vec::new();
    let mut latest_intended = Vec::new();
    let mut groups: Vec<MismatchGroup> = Vec::new();
    for record in records {
        for variant in std::iter::once(&record.control).chain(&record.candidates) {
            let (f, durations) = figures.entry(variant.id.clone()).or_insert_with(|| {
                order.push(variant.id.clone());
                (
                    VariantFigures {
                        id: variant.id.clone(),
                        name: variant.name.clone(),
                        ..VariantFigures::default()
                    },
                    Vec::new(),
                )
            });
            f.calls += 1;
            match variant.failure {
                Some(kind) => {
                    f.errors += 1;
                    *f.errors_by_kind
                        .entry(kind_name(kind).to_owned())
                        .or_default() += 1;
                }
                None => durations.push(variant.duration_ms),
            }
            let (count, latest, limit) = match variant.outcome() {
                None => continue,
                Some(Outcome::Match) => {
                    f.matches += 1;
                    continue;
                }
                Some(Outcome::Intended) => (&mut f.intended, &mut latest_intended, LATEST_INTENDED),
                Some(Outcome::Mismatch) => {
                    (&mut f.mismatches, &mut latest_mismatches, LATEST_MISMATCHES)
                }
            };
            *count += 1;
            if variant.outcome() == Some(Outcome::Mismatch) {
                group(&mut groups, record, variant);
            }
            if latest.len() < limit {
                let verdict = variant.verdict.as_ref();
                latest.push(Mismatch {
                    at: record.at.clone(),
                    correlation_id: record.correlation_id.clone(),
                    variant: variant.id.clone(),
                    request: record.request.clone(),
                    diff: difference(variant),
                    intended: verdict.and_then(|v| v.intended.clone()),
                });
            }
        }
    }
    // The control first, then candidates in the order they first appear.
    order.sort_by_key(|id| id != "control");
    let variants = order
        .into_iter()
        .filter_map(|id| figures.remove(&id))
        .map(|(mut f, mut durations)| {
            f.p50_ms = percentile(&mut durations, 0.50);
            f.p90_ms = percentile(&mut durations, 0.90);
            f.p99_ms = percentile(&mut durations, 0.99);
            f
        })
        .collect();
    let pace = pace::pace(records, experiment.sample_percent);
    let mut verdicts = verdicts(experiment, records, memory_mb, totals);
    if let Some(why) = coverage.as_ref().and_then(|c| c.uneven.as_deref()) {
        for v in &mut verdicts {
            verdict::make_inconclusive(v, why);
        }
    }
    if let Some(pace) = &pace {
        for v in &mut verdicts {
            v.correctness.eta_seconds = v
                .correctness
                .more_needed
                .map(|more| pace::seconds_for(more, pace));
        }
    }
    let usd_per_comparison = pace::usd_per_comparison(&verdicts);
    Report {
        experiment: experiment.name.clone(),
        comparisons: records.len(),
        since: records.last().map(|r| r.at.clone()),
        variants,
        latest_mismatches,
        latest_intended,
        verdicts,
        mismatches_by_input: most_frequent(groups),
        explorations: Vec::new(),
        usd_per_comparison,
        pace,
        coverage,
        noisy_fields: noisy_fields(records),
    }
}

/// What a verdict says differs, for people.
fn difference(variant: &VariantResult) -> String {
    variant
        .verdict
        .as_ref()
        .and_then(|v| v.diff.clone())
        .unwrap_or_else(|| "headers differ".to_owned())
}

/// Counts a mismatch of `variant` in its group, made on first sight: records come newest first,
/// so the first one seen is the latest.
fn group(groups: &mut Vec<MismatchGroup>, record: &ComparisonRecord, variant: &VariantResult) {
    let input = record.request.line();
    match groups
        .iter_mut()
        .find(|g| g.variant == variant.id && g.input == input)
    {
        Some(group) => group.count += 1,
        None => groups.push(MismatchGroup {
            variant: variant.id.clone(),
            input,
            count: 1,
            latest_at: record.at.clone(),
            diff: difference(variant),
        }),
    }
}

/// The most frequent groups first, the latest first among equals; at most [`MISMATCH_GROUPS`].
fn most_frequent(mut groups: Vec<MismatchGroup>) -> Vec<MismatchGroup> {
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| b.latest_at.cmp(&a.latest_at))
    });
    groups.truncate(MISMATCH_GROUPS);
    groups
}

fn verdicts(
    experiment: &Experiment,
    records: &[ComparisonRecord],
    memory_mb: &BTreeMap<String, u32>,
    totals: Option<&BTreeMap<String, Tally>>,
) -> Vec<CandidateVerdict> {
    experiment
        .candidates
        .iter()
        .map(|candidate| {
            let mut observed = Observations {
                candidate: candidate.id.clone(),
                control_memory_mb: memory_mb.get(&experiment.control.function).copied(),
                candidate_memory_mb: memory_mb.get(&candidate.function).copied(),
                ..Observations::default()
            };
            for record in records {
                if let Some(result) = record.candidates.iter().find(|c| c.id == candidate.id) {
                    observe(&mut observed, record, result);
                }
            }
            if let Some(totals) = totals {
                let total = totals.get(&candidate.id).copied().unwrap_or_default();
                observed.comparisons = total.comparisons;
                observed.mismatches = total.mismatches;
                observed.errors = total.errors;
                observed.timeouts = total.timeouts;
                observed.intended = total.intended;
            }
            verdict::verdict(&observed, &experiment.promotion)
        })
        .collect()
}

/// Adds one comparison of the candidate to what its verdict sees.
fn observe(observed: &mut Observations, record: &ComparisonRecord, result: &VariantResult) {
    observed.comparisons += 1;
    let why = match (result.failure, &result.verdict) {
        (Some(kind), _) => {
            observed.errors += 1;
            Some(match &result.failure_detail {
                Some(detail) => format!("{}: {detail}", kind_name(kind)),
                None => kind_name(kind).to_owned(),
            })
        }
        (None, Some(v)) => match v.outcome() {
            Outcome::Match => None,
            Outcome::Intended => {
                observed.intended += 1;
                None
            }
            Outcome::Mismatch => {
                observed.mismatches += 1;
                Some(
                    v.diff
                        .clone()
                        .unwrap_or_else(|| "headers differ".to_owned()),
                )
            }
        },
        (None, None) => None,
    };
    if let Some(why) = why
        && observed.latest_differing.len() < verdict::LATEST_DIFFERING
    {
        observed.latest_differing.push(Differing {
            at: record.at.clone(),
            input: record.request.line(),
            why,
        });
    }
    // A timeout is timed at the timeout, a lower bound of its duration; a crash has none, and
    // neither has the pair when the control's own timing crashed. A malformed answer took time
    // but is no answer: timed, a candidate answering garbage fast read "faster" (an attendee saw
    // chaos-candidate-garbage at 0.77x), so it is left out too.
    let timed = |failure: Option<FailureKind>| matches!(failure, None | Some(FailureKind::Timeout));
    let timed_out = result.failure == Some(FailureKind::Timeout);
    if timed_out {
        observed.timeouts += 1;
    }
    if timed(result.failure)
        && timed(record.control.failure)
        && observed.durations.len() < verdict::MAX_PAIRS
    {
        observed
            .durations
            .push((record.control.duration_ms, result.duration_ms));
        if timed_out {
            observed.timed_out_pairs += 1;
        }
    }
}

pub fn kind_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Timeout => "timeout",
        FailureKind::FunctionError => "function_error",
        FailureKind::Malformed => "malformed",
        FailureKind::InvokeFailed => "invoke_failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::compare::Verdict;
    use crate::domain::definition::Experiments;
    use crate::domain::verdict::CorrectnessState;
    use proptest::prelude::*;

    fn round() -> Experiment {
        let yaml = "experiments:\n  round:\n    comparators: [body]\n    path: /round\n    control: {name: c, function: round-control}\n    candidates:\n      x: {name: X, function: round-x}\n";
        Experiments::parse(yaml).unwrap().by_name["round"].clone()
    }

    fn report(records: &[ComparisonRecord]) -> Report {
        super::report(&round(), records, &BTreeMap::new())
    }

    /// A result whose body differs, as the experiment intends.
    fn intended(id: &str) -> VariantResult {
        let mut r = result(id, 10.0, Some(false), None);
        if let Some(v) = r.verdict.as_mut() {
            v.intended = Some("rounds half to even on purpose".to_owned());
        }
        r
    }

    fn result(
        id: &str,
        ms: f64,
        verdict: Option<bool>,
        failure: Option<FailureKind>,
    ) -> VariantResult {
        VariantResult {
            id: id.to_owned(),
            name: id.to_uppercase(),
            status: failure.is_none().then_some(200),
            duration_ms: ms,
            failure,
            failure_detail: None,
            version: None,
            function: None,
            verdict: verdict.map(|same| Verdict {
                body: Some(same),
                diff: (!same).then(|| "$.rounded: control 63, candidate 62".to_owned()),
                ..Verdict::default()
            }),
        }
    }

    fn record(i: usize, candidate: VariantResult) -> ComparisonRecord {
        ComparisonRecord {
            answered_by: None,
            experiment: "round".into(),
            correlation_id: format!("c{i}"),
            at: format!("2026-11-22T10:00:{i:02}.000Z"),
            request: RequestSummary {
                method: "GET".into(),
                path: "/round".into(),
                query: format!("number={i}.5"),
                body: String::new(),
            },
            control: result("control", 10.0, None, None),
            candidates: vec![candidate],
            noise: None,
        }
    }

    #[test]
    fn counts_matches_mismatches_and_errors_per_variant() {
        let records = vec![
            record(3, result("x", 12.0, Some(false), None)),
            record(2, result("x", 11.0, Some(true), None)),
            record(1, result("x", 3000.0, None, Some(FailureKind::Timeout))),
        ];
        let report = report(&records);
        assert_eq!(report.comparisons, 3);
        assert_eq!(report.variants[0].id, "control");
        assert_eq!(report.variants[0].calls, 3);
        let x = &report.variants[1];
        assert_eq!((x.calls, x.matches, x.mismatches, x.errors), (3, 1, 1, 1));
        assert_eq!(x.errors_by_kind["timeout"], 1);
        assert_eq!(x.p50_ms, Some(11.0));
        assert_eq!(report.latest_mismatches.len(), 1);
        assert_eq!(report.latest_mismatches[0].request.query, "number=3.5");
        assert!(report.latest_mismatches[0].diff.contains("62"));
    }

    #[test]
    fn a_candidate_answering_garbage_fast_is_not_faster() {
        let records: Vec<ComparisonRecord> = (0..40)
            .map(|i| record(i, result("x", 1.0, None, Some(FailureKind::Malformed))))
            .collect();
        let report = report(&records);
        let [verdict] = report.verdicts.as_slice() else {
            panic!("{:?}", report.verdicts)
        };
        // Ten times as quick as the control, and never an answer: no speed to speak of.
        assert_eq!(verdict.performance, None, "{:?}", verdict.performance);
        assert_eq!(verdict.correctness.errors, 40);
    }

    #[test]
    fn the_verdict_counts_mismatches_and_errors_and_lists_their_inputs() {
        let records = vec![
            record(3, result("x", 12.0, Some(false), None)),
            record(2, result("x", 11.0, Some(true), None)),
            record(1, result("x", 1000.0, None, Some(FailureKind::Timeout))),
        ];
        let report = report(&records);
        let [verdict] = report.verdicts.as_slice() else {
            panic!("{:?}", report.verdicts)
        };
        let c = &verdict.correctness;
        assert_eq!((c.comparisons, c.mismatches, c.errors), (3, 1, 1));
        assert_eq!(c.state, CorrectnessState::Differs);
        let inputs: Vec<(&str, &str)> = c
            .latest_differing
            .iter()
            .map(|d| (d.input.as_str(), d.why.as_str()))
            .collect();
        assert_eq!(
            inputs,
            [
                (
                    "GET /round?number=3.5",
                    "$.rounded: control 63, candidate 62"
                ),
                ("GET /round?number=1.5", "timeout"),
            ]
        );
        assert!(
            verdict
                .sentence
                .starts_with("x differs from the control: 2 of 3")
        );
    }

    #[test]
    fn a_candidate_without_comparisons_is_inconclusive_and_memory_sizes_price_it() {
        let memory = BTreeMap::from([
            ("round-control".to_owned(), 128),
            ("round-x".to_owned(), 256),
        ]);
        let records: Vec<_> = (0..30)
            .map(|i| record(i, result("x", 20.0, Some(true), None)))
            .collect();
        let priced = super::report(&round(), &records, &memory);
        let cost = &priced.verdicts[0].cost;
        // The control: 10 ms at 128 MB; the candidate: 20 ms at 256 MB, four times the compute.
        let compute = |usd: Option<f64>| usd.unwrap() - verdict::USD_PER_MILLION_REQUESTS;
        let ratio = compute(cost.candidate_usd_per_million) / compute(cost.control_usd_per_million);
        assert!((ratio - 4.0).abs() < 1e-9, "{cost:?}");
        // One comparison: the control again and the candidate, each at its own price.
        let per_comparison =
            (cost.control_usd_per_million.unwrap() + cost.candidate_usd_per_million.unwrap()) / 1e6;
        assert_eq!(priced.usd_per_comparison, Some(per_comparison));
        // No data is never a pass, nor "collecting" as if something were on its way.
        let empty = report(&[]);
        assert_eq!(empty.usd_per_comparison, None);
        assert_eq!(
            empty.verdicts[0].correctness.state,
            CorrectnessState::Inconclusive
        );
        assert_eq!(empty.verdicts[0].cost.control_usd_per_million, None);
    }

    #[test]
    fn intended_differences_are_counted_and_listed_apart_and_do_not_count_against_the_verdict() {
        let mut records: Vec<_> = (0..700).map(|i| record(i % 60, intended("x"))).collect();
        records.insert(0, record(59, result("x", 10.0, Some(false), None)));
        let report = report(&records);
        let x = &report.variants[1];
        assert_eq!(
            (x.calls, x.matches, x.intended, x.mismatches, x.errors),
            (701, 0, 700, 1, 0)
        );
        assert_eq!(report.latest_mismatches.len(), 1);
        assert_eq!(report.latest_mismatches[0].intended, None);
        assert_eq!(report.latest_intended.len(), LATEST_INTENDED);
        assert_eq!(
            report.latest_intended[0].intended.as_deref(),
            Some("rounds half to even on purpose")
        );
        let c = &report.verdicts[0].correctness;
        assert_eq!((c.failures, c.mismatches, c.intended), (1, 1, 700));
        assert_eq!(c.latest_differing.len(), 1, "{:?}", c.latest_differing);
        assert_eq!(c.state, CorrectnessState::Equivalent, "{c:?}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["variants"][1]["intended"], 700);
        assert_eq!(json["verdicts"][0]["correctness"]["intended"], 700);
        assert_eq!(
            json["latestIntended"][0]["intended"],
            "rounds half to even on purpose"
        );
        assert!(json["latestMismatches"][0].get("intended").is_none());
    }

    #[test]
    fn mismatches_are_grouped_by_input_with_counts_the_most_frequent_first() {
        // Newest first, as the store returns them: 62.5 four times, 2.5 once (the latest), a
        // match and an intended difference on 62.5 that are not mismatches.
        let mut records = vec![record(9, result("x", 1.0, Some(false), None))];
        records[0].request.query = "number=2.5".into();
        for i in (4..8).rev() {
            let mut r = record(i, result("x", 1.0, Some(false), None));
            r.request.query = "number=62.5".into();
            records.push(r);
        }
        for (i, r) in [(2, result("x", 1.0, Some(true), None)), (1, intended("x"))] {
            let mut r = record(i, r);
            r.request.query = "number=62.5".into();
            records.push(r);
        }
        let report = report(&records);
        let groups: Vec<(&str, u64, &str)> = report
            .mismatches_by_input
            .iter()
            .map(|g| (g.input.as_str(), g.count, g.latest_at.as_str()))
            .collect();
        assert_eq!(
            groups,
            [
                ("GET /round?number=62.5", 4, "2026-11-22T10:00:07.000Z"),
                ("GET /round?number=2.5", 1, "2026-11-22T10:00:09.000Z"),
            ]
        );
        assert_eq!(report.mismatches_by_input[0].variant, "x");
        assert!(report.mismatches_by_input[0].diff.contains("candidate 62"));
        // The counts add up to the candidate's mismatches.
        let total: u64 = report.mismatches_by_input.iter().map(|g| g.count).sum();
        assert_eq!(total, report.variants[1].mismatches);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["mismatchesByInput"][0]["count"], 4);
        assert_eq!(json["explorations"], serde_json::json!([]));
    }

    #[test]
    fn at_most_so_many_distinct_inputs_are_listed() {
        let records: Vec<_> = (0..MISMATCH_GROUPS + 5)
            .map(|i| {
                let mut r = record(i % 60, result("x", 1.0, Some(false), None));
                r.request.query = format!("number={i}.5");
                r
            })
            .collect();
        assert_eq!(report(&records).mismatches_by_input.len(), MISMATCH_GROUPS);
    }

    #[test]
    fn an_exploration_is_stored_and_read_back_as_json() {
        let explored = Explored {
            candidate: "half-even".into(),
            at: "2026-12-01T03:00:00.000Z".into(),
            distribution: "generated".into(),
            seed: u64::MAX,
            cases: 3,
            input: Some("GET /round?number=0.5".into()),
            outcome: Some(Outcome::Mismatch),
            diff: Some("$.rounded: control 1, candidate 0".into()),
        };
        let json = serde_json::to_string(&explored).unwrap();
        assert_eq!(serde_json::from_str::<Explored>(&json).unwrap(), explored);
        let none =
            r#"{"candidate":"fixed","at":"t","distribution":"uniform","seed":1,"cases":256}"#;
        let none: Explored = serde_json::from_str(none).unwrap();
        assert_eq!((none.input, none.outcome), (None, None));
    }

    #[test]
    fn comparisons_lost_unevenly_make_every_verdict_inconclusive() {
        let records: Vec<_> = (0..500)
            .map(|i| record(i % 60, result("x", 10.0, Some(true), None)))
            .collect();
        let plain = super::report(&round(), &records, &BTreeMap::new());
        assert!(plain.verdicts[0].promotable, "{:?}", plain.verdicts[0]);
        let lost = crate::domain::coverage::coverage(
            &BTreeMap::from([
                ("GET /round, body < 1 KB".to_owned(), (1_000, 990)),
                ("POST /round, body ≥ 256 KB".to_owned(), (100, 10)),
            ]),
            0,
        );
        let judged = report_on_totals(&round(), &records, &BTreeMap::new(), None, Some(lost));
        let v = &judged.verdicts[0];
        assert_eq!(v.correctness.state, CorrectnessState::Inconclusive);
        assert!(!v.promotable);
        assert!(v.sentence.starts_with("x: inconclusive, comparisons were lost unevenly: POST /round, body ≥ 256 KB kept 10 of 100"), "{}", v.sentence);
        assert!(judged.coverage.is_some_and(|c| c.uneven.is_some()));
    }

    #[test]
    fn fields_the_control_disagrees_with_itself_on_are_proposed_for_ignore() {
        use crate::domain::compare::Verdict;
        let noisy = |diff: Option<&str>| Verdict {
            body: Some(diff.is_none()),
            diff: diff.map(str::to_owned),
            ..Verdict::default()
        };
        let records: Vec<_> = (0..200)
            .map(|i| {
                let mut r = record(i % 60, result("x", 10.0, Some(true), None));
                r.noise = Some(noisy(match i % 20 {
                    0 => Some("$.requestId: control \"a\", candidate \"b\"\n$.items[3].at: control 1, candidate 2"),
                    1 => Some("$.requestId: control \"c\", candidate \"d\""),
                    _ if i == 7 => Some("x-trace: control \"1\", candidate \"2\""),
                    _ => None,
                }));
                r
            })
            .collect();
        let fields = noisy_fields(&records);
        let summary: Vec<(&str, u64, Option<&str>)> = fields
            .iter()
            .map(|f| {
                (
                    f.field.as_str(),
                    f.disagreements,
                    f.suggested_ignore.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("$.requestId", 20, Some("ignore: [$.requestId]")),
                ("$.items[].at", 10, Some("ignore: [$.items[0].at]")),
                // A header cannot be ignored by a JSON path; 1 in 200 is under 1 % anyway.
                ("x-trace", 1, None),
            ]
        );
        assert!(fields.iter().all(|f| f.of == 200));
        assert!(noisy_fields(&records[..0]).is_empty());
    }

    proptest! {
        #[test]
        fn a_percentile_is_one_of_the_values_and_ordered(values in proptest::collection::vec(0.0f64..1e6, 1..200)) {
            let mut v = values.clone();
            let p50 = percentile(&mut v, 0.5).unwrap();
            let p90 = percentile(&mut v, 0.9).unwrap();
            let p99 = percentile(&mut v, 0.99).unwrap();
            prop_assert!(values.contains(&p50));
            prop_assert!(p50 <= p90 && p90 <= p99);
        }

        #[test]
        fn every_call_is_a_match_an_intended_difference_a_mismatch_or_an_error(kinds in proptest::collection::vec(0u8..4, 0..50)) {
            let records: Vec<_> = kinds.iter().enumerate().map(|(i, k)| record(i % 60, match k {
                0 => result("x", 1.0, Some(true), None),
                1 => result("x", 1.0, Some(false), None),
                2 => intended("x"),
                _ => result("x", 1.0, None, Some(FailureKind::FunctionError)),
            })).collect();
            let report = report(&records);
            for v in report.variants.iter().filter(|v| v.id != "control") {
                prop_assert_eq!(v.calls, v.matches + v.intended + v.mismatches + v.errors);
                let c = &report.verdicts[0].correctness;
                prop_assert_eq!(c.intended, v.intended);
                prop_assert_eq!(c.failures, v.mismatches + v.errors);
            }
        }
    }
}
