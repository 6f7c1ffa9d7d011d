//! Running totals of correctness, one per candidate version: every comparison a candidate ever
//! had against one control version is counted in one item, atomically and exactly once (with the
//! record it comes from, [`crate::adapters::store::Store::put_compared`]), and never leaves it.
//!
//! The verdict's always-valid bound holds for one growing sequence of comparisons, however often
//! it is read ([`crate::domain::verdict`]). The report's window of the latest records is not such
//! a sequence: once an experiment has more, old comparisons (failures among them) leave it, and a
//! candidate with 30 early failures and 1,000 clean comparisons after them would read
//! `equivalent` under a 2 % margin while its rate is 2.9 %. Its correctness counts therefore come
//! from these totals; durations still come from the window (the latest pairs are the ones worth
//! timing, and the duration ratio carries no sequential guarantee).
//!
//! A comparison is counted under the candidate's id, its function and version, and the control's
//! function and version (the version whose answer it was compared with, which during a canary
//! is not always the one serving most traffic): a new build of either starts a new sequence. A failure with no version
//! (a timeout: nothing answered to say which build it was) is counted against whichever version
//! is current: it may belong to an older one, which can only make `equivalent` later, never
//! sooner.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::compare::Outcome;
use crate::domain::definition::Experiment;
use crate::domain::record::{ComparisonRecord, VariantResult};

/// Which sequence a comparison belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TallyKey {
    pub candidate: String,
    pub candidate_function: String,
    pub candidate_version: Option<String>,
    pub control_function: String,
    pub control_version: Option<String>,
}

impl TallyKey {
    /// The key as one string (the store's sort key): its parts joined by a character no
    /// function name, ARN or build id holds.
    pub fn joined(&self) -> String {
        let version = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
        [
            self.candidate.clone(),
            self.candidate_function.clone(),
            version(&self.candidate_version),
            self.control_function.clone(),
            version(&self.control_version),
        ]
        .join("|")
    }
}

/// One candidate's counts in one sequence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    pub comparisons: u64,
    /// Differences the experiment does not intend.
    pub mismatches: u64,
    /// Timeouts, function errors, failed invocations, malformed answers.
    pub errors: u64,
    /// Of the errors, timeouts.
    pub timeouts: u64,
    /// Differences the experiment intends: not failures.
    pub intended: u64,
}

impl Tally {
    /// The counts one comparison adds, classified as the report classifies it.
    pub fn of(result: &VariantResult) -> Self {
        let mut tally = Self {
            comparisons: 1,
            ..Self::default()
        };
        match (result.failure, result.outcome()) {
            (Some(kind), _) => {
                tally.errors = 1;
                tally.timeouts = u64::from(kind == crate::domain::compare::FailureKind::Timeout);
            }
            (None, Some(Outcome::Mismatch)) => tally.mismatches = 1,
            (None, Some(Outcome::Intended)) => tally.intended = 1,
            (None, _) => {}
        }
        tally
    }

    pub fn add(&mut self, other: &Tally) {
        self.comparisons += other.comparisons;
        self.mismatches += other.mismatches;
        self.errors += other.errors;
        self.timeouts += other.timeouts;
        self.intended += other.intended;
    }

    /// The counters as the store names them, with their values.
    pub fn counters(&self) -> [(&'static str, u64); 5] {
        [
            ("comparisons", self.comparisons),
            ("mismatches", self.mismatches),
            ("errors", self.errors),
            ("timeouts", self.timeouts),
            ("intended", self.intended),
        ]
    }
}

/// What one record adds: one key and its counts for each candidate.
pub fn of_record(record: &ComparisonRecord) -> Vec<(TallyKey, Tally)> {
    let function = |v: &VariantResult| v.function.clone().unwrap_or_else(|| v.name.clone());
    record
        .candidates
        .iter()
        .map(|candidate| {
            (
                TallyKey {
                    candidate: candidate.id.clone(),
                    candidate_function: function(candidate),
                    candidate_version: candidate.version.clone(),
                    control_function: function(&record.control),
                    control_version: record.compared_with().map(str::to_owned),
                },
                Tally::of(candidate),
            )
        })
        .collect()
}

/// Each candidate's totals (by id) in the sequence of the versions serving now: `current` holds
/// the version of each variant (`control` for the control) in the latest record of the
/// arrangement the experiment runs ([`crate::domain::versions::since_current`]). Totals without a
/// version (failures before any answer) count with the current version, see the module's notes.
pub fn current(
    tallies: &[(TallyKey, Tally)],
    experiment: &Experiment,
    current: &BTreeMap<String, Option<String>>,
) -> BTreeMap<String, Tally> {
    let Some(control_version) = current.get(&experiment.control.id) else {
        return BTreeMap::new();
    };
    let runs = |version: &Option<String>, now: &Option<String>| version.is_none() || version == now;
    let mut totals = BTreeMap::new();
    for candidate in &experiment.candidates {
        let Some(candidate_version) = current.get(&candidate.id) else {
            continue;
        };
        let total: &mut Tally = totals.entry(candidate.id.clone()).or_default();
        for (key, tally) in tallies {
            if key.candidate == candidate.id
                && key.candidate_function == candidate.function
                && key.control_function == experiment.control.function
                && runs(&key.candidate_version, candidate_version)
                && runs(&key.control_version, control_version)
            {
                total.add(tally);
            }
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::compare::{FailureKind, Verdict};
    use crate::domain::definition::Experiments;
    use crate::domain::record::RequestSummary;

    fn experiment() -> Experiment {
        let yaml = "experiments:\n  round:\n    comparators: [body]\n    path: /round\n    control: {name: c, function: round-control}\n    candidates:\n      half-even: {name: Half even, function: h}\n";
        Experiments::parse(yaml).unwrap().by_name["round"].clone()
    }

    fn result(
        id: &str,
        function: &str,
        version: Option<&str>,
        same: Option<bool>,
    ) -> VariantResult {
        VariantResult {
            id: id.into(),
            name: id.into(),
            status: same.map(|_| 200),
            duration_ms: 1.0,
            failure: same.is_none().then_some(FailureKind::Timeout),
            failure_detail: None,
            verdict: same.map(|same| Verdict {
                body: Some(same),
                diff: (!same).then(|| "differs".to_owned()),
                ..Verdict::default()
            }),
            version: version.map(str::to_owned),
            function: Some(function.into()),
        }
    }

    fn record(candidate_version: Option<&str>, same: Option<bool>) -> ComparisonRecord {
        ComparisonRecord {
            answered_by: None,
            experiment: "round".into(),
            correlation_id: "c".into(),
            at: "2026-12-05T10:00:00.000Z".into(),
            request: RequestSummary {
                method: "GET".into(),
                path: "/round".into(),
                query: String::new(),
                body: String::new(),
            },
            control: result("control", "round-control", Some("c1"), Some(true)),
            candidates: vec![result("half-even", "h", candidate_version, same)],
            noise: None,
        }
    }

    #[test]
    fn a_record_adds_one_comparison_per_candidate_classified_as_the_report_does() {
        let of = |version, same| of_record(&record(version, same));
        let [(key, matched)] = of(Some("v1"), Some(true)).try_into().unwrap();
        assert_eq!(key.joined(), "half-even|h|v1|round-control|c1");
        assert_eq!(
            matched,
            Tally {
                comparisons: 1,
                ..Tally::default()
            }
        );
        assert_eq!(of(Some("v1"), Some(false))[0].1.mismatches, 1);
        let timeout = of(None, None)[0].clone();
        assert_eq!(timeout.0.joined(), "half-even|h|-|round-control|c1");
        assert_eq!((timeout.1.errors, timeout.1.timeouts), (1, 1));
    }

    #[test]
    fn the_current_totals_are_the_current_versions_and_the_unversioned_failures() {
        let experiment = experiment();
        let mut tallies = Vec::new();
        for (version, same, times) in [
            (Some("v1"), Some(false), 30),
            (Some("v2"), Some(true), 500),
            (Some("v2"), Some(false), 2),
            (None, None, 3),
        ] {
            for _ in 0..times {
                tallies.extend(of_record(&record(version, same)));
            }
        }
        let now = BTreeMap::from([
            ("control".to_owned(), Some("c1".to_owned())),
            ("half-even".to_owned(), Some("v2".to_owned())),
        ]);
        let totals = current(&tallies, &experiment, &now);
        assert_eq!(
            totals["half-even"],
            Tally {
                comparisons: 505,
                mismatches: 2,
                errors: 3,
                timeouts: 3,
                intended: 0,
            }
        );
        // Another control build starts afresh; so does another function for the candidate.
        let other = BTreeMap::from([
            ("control".to_owned(), Some("c2".to_owned())),
            ("half-even".to_owned(), Some("v2".to_owned())),
        ]);
        assert_eq!(
            current(&tallies, &experiment, &other)["half-even"],
            Tally::default()
        );
        assert!(current(&tallies, &experiment, &BTreeMap::new()).is_empty());
    }

    #[test]
    fn thirty_early_failures_then_a_thousand_clean_comparisons_are_not_equivalent() {
        use crate::domain::report::{report, report_on_totals};
        use crate::domain::verdict::CorrectnessState;
        let experiment = experiment();
        // Newest first, as the store returns them: 1,000 clean after 30 mismatches.
        let records: Vec<ComparisonRecord> =
            std::iter::repeat_n(record(Some("v1"), Some(true)), 1_000)
                .chain(std::iter::repeat_n(record(Some("v1"), Some(false)), 30))
                .collect();
        let state = |r: &crate::domain::report::Report| r.verdicts[0].correctness.state;
        // The window of the latest 1,000 holds no failure: read alone, it says equivalent.
        let window = report(&experiment, &records[..1_000], &BTreeMap::new());
        assert_eq!(state(&window), CorrectnessState::Equivalent);
        // The running totals hold all 1,030 comparisons, 2.9 % failed: not equivalent.
        let tallies: Vec<(TallyKey, Tally)> = records.iter().flat_map(of_record).collect();
        let now = BTreeMap::from([
            ("control".to_owned(), Some("c1".to_owned())),
            ("half-even".to_owned(), Some("v1".to_owned())),
        ]);
        let totals = current(&tallies, &experiment, &now);
        let whole = report_on_totals(
            &experiment,
            &records[..1_000],
            &BTreeMap::new(),
            Some(&totals),
            None,
        );
        let correctness = &whole.verdicts[0].correctness;
        assert_eq!((correctness.comparisons, correctness.failures), (1_030, 30));
        assert_ne!(state(&whole), CorrectnessState::Equivalent);
    }
}
