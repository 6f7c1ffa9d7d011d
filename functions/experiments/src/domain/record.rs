//! What one comparison produced, as stored and reported.

use serde::{Deserialize, Serialize};

use crate::domain::compare::{FailureKind, Outcome, Verdict};

/// The client's request, as far as a person reading a mismatch needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSummary {
    pub method: String,
    pub path: String,
    pub query: String,
    /// At most 200 characters.
    pub body: String,
}

impl RequestSummary {
    /// The request on one line: `GET /round?number=62.5`, then the body if there is one.
    pub fn line(&self) -> String {
        let mut line = format!("{} {}", self.method, self.path);
        if !self.query.is_empty() {
            line.push('?');
            line.push_str(&self.query);
        }
        if !self.body.is_empty() {
            line.push(' ');
            line.push_str(&self.body);
        }
        line
    }
}

/// One variant's part in a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantResult {
    pub id: String,
    pub name: String,
    pub status: Option<u16>,
    pub duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_detail: Option<String>,
    /// Against the control, net of the noise baseline when it is on; `None` for the control and
    /// for a variant that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

impl VariantResult {
    /// How its answer compared with the control's; `None` for the control and a failed variant.
    pub fn outcome(&self) -> Option<Outcome> {
        self.verdict.as_ref().map(Verdict::outcome)
    }

    pub fn matched(&self) -> bool {
        self.outcome() == Some(Outcome::Match)
    }

    /// It differs from the control as the experiment declares it means to.
    pub fn intended(&self) -> bool {
        self.outcome() == Some(Outcome::Intended)
    }

    /// It differs from the control otherwise.
    pub fn mismatched(&self) -> bool {
        self.outcome() == Some(Outcome::Mismatch)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonRecord {
    pub experiment: String,
    pub correlation_id: String,
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    pub request: RequestSummary,
    pub control: VariantResult,
    pub candidates: Vec<VariantResult>,
    /// The control's second answer against its first, when the noise baseline is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<Verdict>,
}
