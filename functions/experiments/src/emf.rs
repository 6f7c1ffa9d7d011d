//! CloudWatch Embedded Metric Format: one log line per variant per comparison, which CloudWatch
//! turns into metrics (namespace `ServerlessScientist`, dimensions experiment and variant).

use serde_json::{Value, json};

use crate::domain::record::VariantResult;

pub const NAMESPACE: &str = "ServerlessScientist";

/// The EMF document for one variant's result.
pub fn line(
    experiment: &str,
    correlation_id: &str,
    variant: &VariantResult,
    timestamp_ms: u64,
) -> Value {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Experiment", "Variant"]],
                "Metrics": [
                    {"Name": "Calls", "Unit": "Count"},
                    {"Name": "Matches", "Unit": "Count"},
                    {"Name": "Mismatches", "Unit": "Count"},
                    {"Name": "Intended", "Unit": "Count"},
                    {"Name": "Errors", "Unit": "Count"},
                    {"Name": "Duration", "Unit": "Milliseconds"}
                ]
            }]
        },
        "Experiment": experiment,
        "Variant": variant.id,
        "Calls": 1,
        "Matches": u8::from(variant.matched()),
        // Intended differences are not mismatches: an alarm on Mismatches ignores them.
        "Mismatches": u8::from(variant.mismatched()),
        "Intended": u8::from(variant.intended()),
        "Errors": u8::from(variant.failure.is_some()),
        "Duration": variant.duration_ms,
        "correlation_id": correlation_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::compare::FailureKind;

    #[test]
    fn a_failed_variant_counts_one_error_and_no_match() {
        let variant = VariantResult {
            id: "slow".into(),
            name: "Slow".into(),
            status: None,
            duration_ms: 500.0,
            failure: Some(FailureKind::Timeout),
            failure_detail: None,
            version: None,
            function: None,
            verdict: None,
        };
        let doc = line("round", "c-1", &variant, 1_700_000_000_000);
        assert_eq!(doc["Errors"], 1);
        assert_eq!(doc["Matches"], 0);
        assert_eq!(doc["Mismatches"], 0);
        assert_eq!(doc["Intended"], 0);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        // Every metric named in the directive is a top-level member, as EMF requires.
        for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
        {
            assert!(doc.get(metric["Name"].as_str().unwrap()).is_some());
        }
    }

    #[test]
    fn an_intended_difference_is_counted_apart_from_mismatches() {
        let variant = VariantResult {
            id: "reference".into(),
            name: "Reference".into(),
            status: Some(200),
            duration_ms: 5.0,
            failure: None,
            failure_detail: None,
            version: None,
            function: None,
            verdict: Some(crate::domain::compare::Verdict {
                body: Some(false),
                intended: Some("the spec prints \"Fizz Buzz\"".into()),
                ..Default::default()
            }),
        };
        let doc = line("fizzbuzz", "c-2", &variant, 1_700_000_000_000);
        let counts = ["Matches", "Mismatches", "Intended", "Errors"].map(|m| doc[m].clone());
        assert_eq!(counts, [0, 0, 1, 0]);
    }
}
