//! The contract between two functions: what `experiment-proxy` hands `experiment-comparator` (an
//! `Event` invocation whose payload is one [`ComparisonJob`] as JSON).

use serde::{Deserialize, Serialize};

use crate::domain::compare::Observed;
use crate::domain::definition::Experiment;

/// What the comparator receives: everything it needs, so it reads no definitions itself.
///
/// No duration: the comparator times the control itself, beside the candidates, so that both
/// sides of the duration ratio are measured the same way (`handlers::comparator`). Jobs queued by
/// a proxy that still sent its own timing (`controlDurationMs`) load; the field is ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonJob {
    pub experiment: Experiment,
    pub correlation_id: String,
    pub event: serde_json::Value,
    /// The control's answer to the client: what the candidates are compared with.
    pub control: Observed,
    /// The version of the control that gave that answer ([`crate::adapters::invoke::Invoked::version`]).
    /// During a release's canary the control's alias `live` serves two versions, so this is how
    /// a comparison is told apart as evidence on the new one (`release-judge`). `None` from a
    /// proxy that did not send it, and where the invoker cannot tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_version: Option<String>,
    /// RFC 3339 with milliseconds, UTC: when the proxy received the request.
    pub at: String,
}

/// Comparison jobs above this size are not handed off (an `Event` payload is limited to 256 KB).
pub const MAX_JOB_BYTES: usize = 240 * 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::definition::Experiments;

    #[test]
    fn jobs_queued_with_the_proxys_control_duration_still_load() {
        let yaml = "experiments:\n  sort:\n    comparators: [body]\n    path: /sort\n    control: {name: c, function: sort-control}\n    candidates:\n      fixed: {name: F, function: sort-candidate-fixed}\n";
        let job = ComparisonJob {
            experiment: Experiments::parse(yaml).unwrap().by_name["sort"].clone(),
            correlation_id: "c1".into(),
            event: serde_json::json!({"rawPath": "/sort"}),
            control: Observed {
                status: 200,
                headers: Default::default(),
                body: "[1,2]".into(),
            },
            control_version: None,
            at: "2026-12-01T10:00:00.000Z".into(),
        };
        let mut old = serde_json::to_value(&job).unwrap();
        assert!(old.get("controlDurationMs").is_none(), "{old}");
        old["controlDurationMs"] = 0.42.into();
        let loaded: ComparisonJob = serde_json::from_value(old).unwrap();
        assert_eq!(loaded.control, job.control);
        assert_eq!(loaded.correlation_id, "c1");
    }
}
