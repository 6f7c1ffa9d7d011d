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
    /// The version that answered ([`crate::adapters::invoke::Invoked::version`]); `None` in
    /// records stored before versions were, and where the invoker cannot tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The function invoked; `None` in records stored before functions were (then the name
    /// tells the arrangement, see [`crate::domain::versions::same_arrangement`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
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
    /// Timed beside the candidates: the control invoked again by the comparator.
    pub control: VariantResult,
    /// The version of the control whose answer the candidates were compared with (the one the
    /// client got, [`crate::job::ComparisonJob::control_version`]). It is [`VariantResult::version`]
    /// of [`ComparisonRecord::control`] too, except while a canary splits the control's alias
    /// between two versions. `None` in records stored before it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    pub candidates: Vec<VariantResult>,
    /// The control's second answer against its first, when the noise baseline is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<Verdict>,
}

impl ComparisonRecord {
    /// The version of the control the candidates' answers were compared with, as best known.
    pub fn compared_with(&self) -> Option<&str> {
        self.answered_by
            .as_deref()
            .or(self.control.version.as_deref())
    }
}

/// How many requests of an experiment were served, sampled, compared and skipped, since `since`
/// (the counters' first update, or the last reset).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub served: u64,
    pub sampled: u64,
    pub compared: u64,
    pub skipped: u64,
    pub since: Option<String>,
    /// `(sampled, compared)` per request class ([`crate::domain::coverage`]); reported as the
    /// coverage check, not here.
    #[serde(skip)]
    pub by_class: std::collections::BTreeMap<String, (u64, u64)>,
}

impl Counts {
    /// Sampled requests neither compared nor skipped yet: on their way through the comparator.
    pub fn pending(&self) -> u64 {
        self.sampled.saturating_sub(self.compared + self.skipped)
    }

    /// `compared X of Y requests`, then what the difference is made of.
    pub fn sentence(&self) -> String {
        let mut sentence = format!("compared {} of {} requests", self.compared, self.served);
        let mut parts = Vec::new();
        if self.sampled < self.served {
            parts.push(format!("{} sampled", self.sampled));
        }
        if self.skipped > 0 {
            parts.push(format!("{} skipped", self.skipped));
        }
        if self.pending() > 0 {
            parts.push(format!("{} in progress", self.pending()));
        }
        if !parts.is_empty() {
            sentence.push_str(&format!(" ({})", parts.join(", ")));
        }
        if let Some(since) = &self.since {
            sentence.push_str(&format!(" since {since}"));
        }
        sentence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counts_read_as_compared_x_of_y_and_name_what_is_missing() {
        let counts = |served, sampled, compared, skipped| Counts {
            served,
            sampled,
            compared,
            skipped,
            by_class: Default::default(),
            since: None,
        };
        let cases = [
            (
                "nothing yet",
                counts(0, 0, 0, 0),
                "compared 0 of 0 requests",
            ),
            (
                "all compared",
                counts(200, 200, 200, 0),
                "compared 200 of 200 requests",
            ),
            (
                "some skipped",
                counts(200, 200, 190, 10),
                "compared 190 of 200 requests (10 skipped)",
            ),
            (
                "sampled at 10 %, some still in the comparator",
                counts(100, 10, 8, 0),
                "compared 8 of 100 requests (10 sampled, 2 in progress)",
            ),
        ];
        for (case, counts, expected) in cases {
            assert_eq!(counts.sentence(), expected, "{case}");
        }
        let since = Counts {
            since: Some("2026-12-01T00:00:00.000Z".into()),
            ..counts(1, 1, 1, 0)
        };
        assert_eq!(
            since.sentence(),
            "compared 1 of 1 requests since 2026-12-01T00:00:00.000Z"
        );
    }
}
