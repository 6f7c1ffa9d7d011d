//! "Since the current versions": the records whose variants ran the same functions as the
//! experiment runs now (its definition, promotions applied) and the same versions as the latest
//! such record, so that a fix shows on its own, with the older records one click away.
//!
//! The functions matter after a promotion is undone: the records made while the candidate was
//! the control (the old control compared as `control-before-<id>`) are not evidence about the
//! arrangement serving now, while the records from before the promotion are, and count again.

use std::collections::BTreeMap;

use crate::domain::definition::{Experiment, Variant};
use crate::domain::record::{ComparisonRecord, VariantResult};

/// The version of each variant (by id) in a record, the control's under `control`.
pub fn versions(record: &ComparisonRecord) -> BTreeMap<String, Option<String>> {
    std::iter::once(&record.control)
        .chain(&record.candidates)
        .map(|v| (v.id.clone(), v.version.clone()))
        .collect()
}

/// Whether `variant` ran `current`: the same version, or no version because it failed before one
/// was known (a timeout), which is no sign of another version.
fn ran(variant: &VariantResult, current: &Option<String>) -> bool {
    variant.version == *current || (variant.version.is_none() && variant.failure.is_some())
}

/// Whether every variant of `record` that the latest record also has ran the same version.
pub fn same_versions(
    record: &ComparisonRecord,
    current: &BTreeMap<String, Option<String>>,
) -> bool {
    std::iter::once(&record.control)
        .chain(&record.candidates)
        .all(|variant| {
            current
                .get(&variant.id)
                .is_none_or(|version| ran(variant, version))
        })
}

/// Whether `result` is the part of `variant` of the definition: the same function (records since
/// functions were stored), else the same display name (a promotion renames what it swaps).
fn played_by(result: &VariantResult, variant: &Variant) -> bool {
    match &result.function {
        Some(function) => *function == variant.function,
        None => result.name == variant.name,
    }
}

/// Whether `record` was made by the arrangement `experiment` runs now: its control ran the
/// control's function and each of its candidates still in the definition ran that candidate's.
/// Variants the definition no longer has (a removed candidate, the old control of an undone
/// promotion) do not disqualify a record by themselves: they are not reported on.
pub fn same_arrangement(record: &ComparisonRecord, experiment: &Experiment) -> bool {
    played_by(&record.control, &experiment.control)
        && record.candidates.iter().all(|result| {
            experiment
                .candidates
                .iter()
                .find(|c| c.id == result.id)
                .is_none_or(|variant| played_by(result, variant))
        })
}

/// The records (newest first) of the arrangement `experiment` runs now that ran the latest such
/// record's versions, the versions, and how many records of the window are left out. Only the
/// variants of the definition are kept in them.
pub fn since_current(
    records: Vec<ComparisonRecord>,
    experiment: &Experiment,
) -> (
    Vec<ComparisonRecord>,
    BTreeMap<String, Option<String>>,
    usize,
) {
    let total = records.len();
    let Some(latest) = records.iter().find(|r| same_arrangement(r, experiment)) else {
        return (Vec::new(), BTreeMap::new(), total);
    };
    let current = versions(latest);
    let kept: Vec<ComparisonRecord> = records
        .into_iter()
        .filter(|r| same_arrangement(r, experiment) && same_versions(r, &current))
        .map(|mut r| {
            r.candidates
                .retain(|c| experiment.candidates.iter().any(|v| v.id == c.id));
            r
        })
        .collect();
    let older = total - kept.len();
    (kept, current, older)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::compare::FailureKind;
    use crate::domain::record::RequestSummary;

    fn variant(id: &str, version: Option<&str>, failed: bool) -> VariantResult {
        VariantResult {
            id: id.into(),
            name: id.into(),
            status: (!failed).then_some(200),
            duration_ms: 1.0,
            failure: failed.then_some(FailureKind::Timeout),
            failure_detail: None,
            verdict: None,
            version: version.map(str::to_owned),
            function: None,
        }
    }

    fn record(i: usize, control: Option<&str>, candidate: VariantResult) -> ComparisonRecord {
        ComparisonRecord {
            answered_by: None,
            experiment: "sort".into(),
            correlation_id: format!("c{i}"),
            at: format!("2026-12-01T10:00:{i:02}.000Z"),
            request: RequestSummary {
                method: "GET".into(),
                path: "/sort".into(),
                query: String::new(),
                body: String::new(),
            },
            control: variant("control", control, false),
            candidates: vec![candidate],
            noise: None,
        }
    }

    #[test]
    fn only_the_records_that_ran_the_latest_versions_are_current() {
        let latest = record(9, Some("c1"), variant("exercise", Some("fixed"), false));
        let cases = [
            (
                "the same versions",
                record(8, Some("c1"), variant("exercise", Some("fixed"), false)),
                true,
            ),
            (
                "the candidate before its fix",
                record(7, Some("c1"), variant("exercise", Some("buggy"), false)),
                false,
            ),
            (
                "another control",
                record(6, Some("c0"), variant("exercise", Some("fixed"), false)),
                false,
            ),
            (
                "the candidate timed out: no version known",
                record(5, Some("c1"), variant("exercise", None, true)),
                true,
            ),
            (
                "stored before versions were",
                record(4, None, variant("exercise", None, false)),
                false,
            ),
            (
                "a candidate the latest record does not have",
                record(3, Some("c1"), variant("removed", Some("x"), false)),
                true,
            ),
        ];
        let current = versions(&latest);
        for (case, record, expected) in cases {
            assert_eq!(same_versions(&record, &current), expected, "{case}");
        }
    }

    #[test]
    fn since_current_keeps_the_current_records_and_counts_the_older_ones() {
        let records = vec![
            record(3, Some("c1"), variant("exercise", Some("fixed"), false)),
            record(2, Some("c1"), variant("exercise", Some("buggy"), false)),
            record(1, Some("c1"), variant("exercise", Some("fixed"), false)),
        ];
        let (kept, current, older) = since_current(records, &experiment());
        let ids: Vec<&str> = kept.iter().map(|r| r.correlation_id.as_str()).collect();
        assert_eq!(ids, ["c3", "c1"]);
        assert_eq!(older, 1);
        assert_eq!(current["exercise"].as_deref(), Some("fixed"));
        assert_eq!(since_current(Vec::new(), &experiment()).2, 0);
    }

    /// The definition the records above ran: `name` is each variant's id, the function
    /// `sort-<id>`.
    fn experiment() -> Experiment {
        let yaml = r#"
experiments:
  sort:
    comparators: [body]
    path: /sort
    control: { name: control, function: sort-control }
    candidates:
      exercise: { name: exercise, function: sort-exercise }
"#;
        crate::domain::definition::Experiments::parse(yaml)
            .unwrap()
            .by_name
            .remove("sort")
            .unwrap()
    }

    fn ran(mut result: VariantResult, function: &str) -> VariantResult {
        result.function = Some(function.to_owned());
        result
    }

    #[test]
    fn after_an_undo_the_records_from_before_the_promotion_count_again() {
        let undone = experiment();
        // Newest first: two made while `exercise` was promoted (the old control compared as
        // control-before-exercise), then two from before the promotion, one without functions.
        let mut promoted_1 = record(
            4,
            Some("e1"),
            ran(
                variant("control-before-exercise", Some("c1"), false),
                "sort-control",
            ),
        );
        promoted_1.control = ran(promoted_1.control, "sort-exercise");
        let mut promoted_2 = promoted_1.clone();
        promoted_2.correlation_id = "c3".into();
        let mut before = record(2, Some("c1"), variant("exercise", Some("e1"), false));
        before.control = ran(before.control, "sort-control");
        before.candidates[0] = ran(before.candidates[0].clone(), "sort-exercise");
        let untagged = record(1, Some("c1"), variant("exercise", Some("e1"), false));
        let (kept, current, older) =
            since_current(vec![promoted_1, promoted_2, before, untagged], &undone);
        let ids: Vec<&str> = kept.iter().map(|r| r.correlation_id.as_str()).collect();
        assert_eq!(ids, ["c2", "c1"]);
        assert_eq!(older, 2);
        assert_eq!(current["control"].as_deref(), Some("c1"));
        assert!(
            kept.iter()
                .all(|r| r.candidates.iter().all(|c| c.id == "exercise"))
        );
    }

    #[test]
    fn a_record_of_another_arrangement_is_not_current_even_if_it_is_the_latest() {
        let mut swapped = record(1, Some("c1"), variant("exercise", Some("e1"), false));
        swapped.control = ran(swapped.control, "sort-exercise");
        assert!(!same_arrangement(&swapped, &experiment()));
        let (kept, current, older) = since_current(vec![swapped], &experiment());
        assert!(kept.is_empty() && current.is_empty());
        assert_eq!(older, 1);
        // Without functions stored, the names tell: a promotion renames what it swaps.
        let mut renamed = record(1, Some("c1"), variant("exercise", Some("e1"), false));
        renamed.control.name = "The solution".into();
        assert!(!same_arrangement(&renamed, &experiment()));
    }
}
