//! "Since the current versions": the records whose variants ran the same versions as in the
//! latest record, so that a fix shows on its own, with the older records one click away.

use std::collections::BTreeMap;

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

/// The records (newest first) that ran the latest record's versions, the versions, and how many
/// older records are left out.
pub fn since_current(
    records: Vec<ComparisonRecord>,
) -> (
    Vec<ComparisonRecord>,
    BTreeMap<String, Option<String>>,
    usize,
) {
    let Some(latest) = records.first() else {
        return (records, BTreeMap::new(), 0);
    };
    let current = versions(latest);
    let total = records.len();
    let kept: Vec<ComparisonRecord> = records
        .into_iter()
        .filter(|r| same_versions(r, &current))
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
        }
    }

    fn record(i: usize, control: Option<&str>, candidate: VariantResult) -> ComparisonRecord {
        ComparisonRecord {
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
        let (kept, current, older) = since_current(records);
        let ids: Vec<&str> = kept.iter().map(|r| r.correlation_id.as_str()).collect();
        assert_eq!(ids, ["c3", "c1"]);
        assert_eq!(older, 1);
        assert_eq!(current["exercise"].as_deref(), Some("fixed"));
        assert_eq!(since_current(Vec::new()).2, 0);
    }
}
