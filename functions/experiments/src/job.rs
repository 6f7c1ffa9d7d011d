//! The contract between two functions: what `experiment-proxy` hands `experiment-comparator` (an
//! `Event` invocation whose payload is one [`ComparisonJob`] as JSON).

use serde::{Deserialize, Serialize};

use crate::domain::compare::Observed;
use crate::domain::definition::Experiment;

/// What the comparator receives: everything it needs, so it reads no definitions itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonJob {
    pub experiment: Experiment,
    pub correlation_id: String,
    pub event: serde_json::Value,
    pub control: Observed,
    pub control_duration_ms: f64,
    /// RFC 3339 with milliseconds, UTC: when the proxy received the request.
    pub at: String,
}

/// Comparison jobs above this size are not handed off (an `Event` payload is limited to 256 KB).
pub const MAX_JOB_BYTES: usize = 240 * 1024;
