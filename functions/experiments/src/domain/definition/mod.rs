//! Experiment definitions: the YAML format of the tutorial's slide 36, validated on load.
//!
//! ```yaml
//! experiments:
//!   round:
//!     comparators: [body, statuscode, {headers: [content-type]}]
//!     path: /round
//!     control: {name: Round half away from zero, function: round-control}
//!     candidates:
//!       half-even: {name: Python 3 round, function: round-candidate-half-even}
//!     sample: 100          # percent of requests compared (default 100)
//!     timeoutMs: 3000      # per candidate invocation (default 3000)
//!     ignore: [$.requestId] # JSON paths left out of the body comparison
//!     redact: [$.password]  # JSON paths whose values are never stored (request and answer bodies)
//!     noiseBaseline: true  # invoke the control twice and report mismatches net of its own noise
//!     promotion:           # what a candidate must show to be promoted (see crate::domain::verdict)
//!       maxMismatchRate: 0.02  # highest share of failed comparisons (default 0.02)
//!       minComparisons: 300    # comparisons before `equivalent` (default 300, at most 1000)
//!       maxDurationRatio: 1.2  # slowest candidate / control median duration (default 1.2)
//!     intended: []         # differences every candidate makes on purpose (see below)
//! ```
//!
//! `function` is a function name (prefixed with the stack's name when deployed) or an ARN; the
//! slide's `arn` key is accepted too. Errors name the field: `experiments.round.sample: ...`.
//!
//! ## Intended differences
//! A candidate that fixes a bug differs from the control on purpose. Like the `ignore` blocks of
//! GitHub's Scientist, an experiment (for every candidate) or a candidate (for itself) lists the
//! differences it intends, each a rewrite of the control's answer after which the two answers must
//! be equal:
//!
//! ```yaml
//!     candidates:
//!       reference:
//!         name: FizzBuzz by the spec
//!         function: fizzbuzz-candidate-reference
//!         intended:
//!           - description: the spec prints "Fizz Buzz", the control "FizzBuzz"
//!             replace: {in: body, from: FizzBuzz, to: Fizz Buzz}
//! ```
//!
//! An experiment's own `intended` list applies to every candidate. `replace` substitutes every
//! occurrence of the text `from` with `to`, literally (no patterns), `in` the whole body (`body`)
//! or in the string a JSON path points at in a JSON body (`$.message`). A comparison that differs
//! as-is is compared again with the experiment's rewrites, then the candidate's, in order, applied
//! to the control's answer; if the two are then equal it counts as `intended`
//! ([`crate::domain::compare::Verdict::intended`]). Rewrites touch the body only, so a status or header
//! difference is never excused.

mod json_path;
mod raw;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::verdict::{self, Promotion};
pub use json_path::{JsonPath, PathSegment};
use raw::*;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(3_000);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DefinitionError {
    #[error("not valid experiment YAML: {0}")]
    Syntax(String),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> DefinitionError {
    DefinitionError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// What a comparison looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparators {
    pub status: bool,
    pub body: bool,
    /// Lower-case header names.
    pub headers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    /// `control`, or the candidate's key.
    pub id: String,
    pub name: String,
    /// A function name or an ARN.
    pub function: String,
}

/// Where a [`Rewrite`] applies in the control's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Within {
    /// The whole body, as text.
    Body,
    /// The string this path points at in a JSON body.
    Json(JsonPath),
}

/// Every occurrence of `from` becomes `to`, literally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewrite {
    pub within: Within,
    pub from: String,
    pub to: String,
}

/// A difference a candidate makes on purpose: the control's answer, rewritten, is what the
/// candidate answers (see the module's documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intended {
    /// The candidate's id; `None` when declared for the whole experiment.
    pub candidate: Option<String>,
    pub description: String,
    pub rewrite: Rewrite,
}

/// The most intended differences one experiment or candidate may declare.
pub const MAX_INTENDED: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub name: String,
    /// The path the proxy serves it on, e.g. `/round`.
    pub path: String,
    pub comparators: Comparators,
    pub control: Variant,
    pub candidates: Vec<Variant>,
    /// Percent of requests compared, 0 to 100.
    pub sample_percent: f64,
    #[serde(with = "millis")]
    pub timeout: Duration,
    pub ignore: Vec<JsonPath>,
    /// Values never stored: replaced in the recorded request body, and shown as "redacted" in a
    /// difference between answers. Comparisons still see the whole bodies.
    #[serde(default)]
    pub redact: Vec<JsonPath>,
    pub noise_baseline: bool,
    /// Thresholds of the verdict; absent from jobs queued before it existed, hence the default.
    #[serde(default)]
    pub promotion: Promotion,
    /// The experiment's own first, then each candidate's; absent from jobs queued before they
    /// existed, hence the default.
    #[serde(default)]
    pub intended: Vec<Intended>,
}

impl Experiment {
    /// The intended differences of `candidate`: the experiment's, then its own, in order.
    pub fn intended_for<'a>(&'a self, candidate: &'a str) -> impl Iterator<Item = &'a Intended> {
        self.intended
            .iter()
            .filter(move |i| i.candidate.as_deref().is_none_or(|c| c == candidate))
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(deserializer)?))
    }
}

/// Every experiment of a definitions file, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Experiments {
    pub by_name: BTreeMap<String, Experiment>,
}

impl Experiments {
    pub fn parse(yaml: &str) -> Result<Self, DefinitionError> {
        let raw: RawFile =
            serde_norway::from_str(yaml).map_err(|e| DefinitionError::Syntax(e.to_string()))?;
        let mut by_name = BTreeMap::new();
        let mut paths: BTreeMap<String, String> = BTreeMap::new();
        for (name, raw) in raw.experiments {
            let experiment = validate(&name, raw)?;
            if let Some(other) = paths.insert(experiment.path.clone(), name.clone()) {
                return Err(invalid(
                    format!("experiments.{name}.path"),
                    format!(
                        "{} is already the path of experiment {other}",
                        experiment.path
                    ),
                ));
            }
            by_name.insert(name, experiment);
        }
        Ok(Self { by_name })
    }

    /// The experiments of several definition files (`(source, yaml)`), which may not share names
    /// or paths; errors name the source first.
    pub fn merge(sources: &[(String, String)]) -> Result<Self, DefinitionError> {
        let mut all = Self::default();
        for (source, yaml) in sources {
            let parsed = Self::parse(yaml).map_err(|e| match e {
                DefinitionError::Syntax(m) => DefinitionError::Syntax(format!("{source}: {m}")),
                DefinitionError::Invalid { field, reason } => {
                    invalid(format!("{source}: {field}"), reason)
                }
            })?;
            for (name, experiment) in parsed.by_name {
                if all.by_name.contains_key(&name) {
                    return Err(invalid(
                        format!("{source}: experiments.{name}"),
                        "another definitions file has an experiment of this name",
                    ));
                }
                if let Some(other) = all.for_path(&experiment.path) {
                    return Err(invalid(
                        format!("{source}: experiments.{name}.path"),
                        format!(
                            "{} is already the path of experiment {}",
                            experiment.path, other.name
                        ),
                    ));
                }
                all.by_name.insert(name, experiment);
            }
        }
        Ok(all)
    }

    /// The experiment served on `path`.
    pub fn for_path(&self, path: &str) -> Option<&Experiment> {
        let path = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        self.by_name.values().find(|e| e.path == path)
    }
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn validate(name: &str, raw: RawExperiment) -> Result<Experiment, DefinitionError> {
    let at = |field: &str| format!("experiments.{name}.{field}");
    if !valid_id(name) {
        return Err(invalid(
            format!("experiments.{name}"),
            "names are 1-64 characters of A-Z, a-z, 0-9, '-' and '_'",
        ));
    }
    if !raw.path.starts_with('/') || raw.path.contains(['?', '#', ' ']) || raw.path.len() > 200 {
        return Err(invalid(
            at("path"),
            "must be a path starting with '/', without query or fragment",
        ));
    }
    let mut comparators = Comparators::default();
    if raw.comparators.is_empty() {
        return Err(invalid(
            at("comparators"),
            "name at least one of body, statuscode, headers",
        ));
    }
    for comparator in raw.comparators {
        match comparator {
            RawComparator::Named(n) if n == "body" => comparators.body = true,
            RawComparator::Named(n) if n == "statuscode" => comparators.status = true,
            RawComparator::Named(other) => {
                return Err(invalid(
                    at("comparators"),
                    format!(
                        "unknown comparator {other:?}: use body, statuscode or headers: [names]"
                    ),
                ));
            }
            RawComparator::Headers { headers } => {
                if headers.is_empty() {
                    return Err(invalid(
                        at("comparators.headers"),
                        "list at least one header",
                    ));
                }
                comparators
                    .headers
                    .extend(headers.iter().map(|h| h.to_ascii_lowercase()));
            }
        }
    }
    if !raw.control.intended.is_empty() {
        return Err(invalid(
            at("control.intended"),
            "intended differences belong to a candidate or to the experiment, not the control",
        ));
    }
    let control = variant(&at("control"), "control", raw.control)?;
    let mut intended = intended_differences(&at("intended"), None, raw.intended)?;
    if raw.candidates.is_empty() {
        return Err(invalid(at("candidates"), "list at least one candidate"));
    }
    let mut candidates = Vec::new();
    for (id, mut candidate) in raw.candidates {
        let field = at(&format!("candidates.{id}"));
        if !valid_id(&id) || id == "control" {
            return Err(invalid(
                field,
                "candidate ids are 1-64 characters of A-Z, a-z, 0-9, '-' and '_', not 'control'",
            ));
        }
        let own = std::mem::take(&mut candidate.intended);
        candidates.push(variant(&field, &id, candidate)?);
        intended.extend(intended_differences(
            &format!("{field}.intended"),
            Some(&id),
            own,
        )?);
    }
    let sample_percent = raw.sample.unwrap_or(100.0);
    if !(0.0..=100.0).contains(&sample_percent) {
        return Err(invalid(at("sample"), "a percentage from 0 to 100"));
    }
    let timeout = raw
        .timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_TIMEOUT);
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        return Err(invalid(at("timeoutMs"), "from 1 to 60000 milliseconds"));
    }
    let ignore = json_paths(&at("ignore"), &raw.ignore)?;
    let redact = json_paths(&at("redact"), &raw.redact)?;
    let promotion = promotion(&at("promotion"), raw.promotion.unwrap_or_default())?;
    Ok(Experiment {
        name: name.to_owned(),
        path: raw.path,
        comparators,
        control,
        candidates,
        sample_percent,
        timeout,
        ignore,
        redact,
        noise_baseline: raw.noise_baseline,
        promotion,
        intended,
    })
}

fn intended_differences(
    field: &str,
    candidate: Option<&str>,
    raw: Vec<RawIntended>,
) -> Result<Vec<Intended>, DefinitionError> {
    if raw.len() > MAX_INTENDED {
        return Err(invalid(
            field,
            format!("at most {MAX_INTENDED} intended differences"),
        ));
    }
    raw.into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let at = |name: &str| format!("{field}[{i}].{name}");
            let description = raw.description.trim();
            if description.is_empty() || description.chars().count() > 200 {
                return Err(invalid(
                    at("description"),
                    "say in 1-200 characters what the candidate does differently, and why",
                ));
            }
            let replace = raw.replace;
            let within = match replace.within.as_str() {
                "body" => Within::Body,
                path => Within::Json(JsonPath::parse(path).ok_or_else(|| {
                    invalid(
                        at("replace.in"),
                        format!(
                            "{path:?} is neither body nor a JSON path like $.field or $.list[0].field"
                        ),
                    )
                })?),
            };
            if replace.from.is_empty() {
                return Err(invalid(
                    at("replace.from"),
                    "the text to replace must not be empty",
                ));
            }
            if replace.from == replace.to {
                return Err(invalid(
                    at("replace.to"),
                    "the same as from: this rewrite would change nothing",
                ));
            }
            Ok(Intended {
                candidate: candidate.map(str::to_owned),
                description: description.to_owned(),
                rewrite: Rewrite {
                    within,
                    from: replace.from,
                    to: replace.to,
                },
            })
        })
        .collect()
}

fn promotion(field: &str, raw: RawPromotion) -> Result<Promotion, DefinitionError> {
    let defaults = Promotion::default();
    let max_mismatch_rate = raw.max_mismatch_rate.unwrap_or(defaults.max_mismatch_rate);
    let lowest = verdict::lowest_reachable_rate();
    if !(lowest..1.0).contains(&max_mismatch_rate) {
        return Err(invalid(
            format!("{field}.maxMismatchRate"),
            format!(
                "a share from {:.4} (what {} clean comparisons, the report's window, can show) to below 1",
                (lowest * 1e4).ceil() / 1e4,
                verdict::WINDOW
            ),
        ));
    }
    let min_comparisons = raw.min_comparisons.unwrap_or(defaults.min_comparisons);
    if !(1..=verdict::WINDOW).contains(&min_comparisons) {
        return Err(invalid(
            format!("{field}.minComparisons"),
            format!(
                "from 1 to {}, the comparisons the report's window holds",
                verdict::WINDOW
            ),
        ));
    }
    let max_duration_ratio = raw
        .max_duration_ratio
        .unwrap_or(defaults.max_duration_ratio);
    if !(1.0..=100.0).contains(&max_duration_ratio) {
        return Err(invalid(
            format!("{field}.maxDurationRatio"),
            "a ratio from 1 (no slower than the control) to 100",
        ));
    }
    Ok(Promotion {
        max_mismatch_rate,
        min_comparisons,
        max_duration_ratio,
    })
}

fn json_paths(field: &str, texts: &[String]) -> Result<Vec<JsonPath>, DefinitionError> {
    texts
        .iter()
        .map(|p| {
            JsonPath::parse(p).ok_or_else(|| {
                invalid(
                    field,
                    format!("{p:?} is not a JSON path like $.field or $.list[0].field"),
                )
            })
        })
        .collect()
}

fn variant(field: &str, id: &str, raw: RawVariant) -> Result<Variant, DefinitionError> {
    let function = match (raw.function, raw.arn) {
        (Some(f), None) | (None, Some(f)) => f,
        (Some(_), Some(_)) => return Err(invalid(field, "give function or arn, not both")),
        (None, None) => return Err(invalid(field, "needs function (a function name) or arn")),
    };
    if function.is_empty() || function.len() > 140 || function.contains(char::is_whitespace) {
        return Err(invalid(
            format!("{field}.function"),
            "not a function name or ARN",
        ));
    }
    if raw.name.trim().is_empty() {
        return Err(invalid(format!("{field}.name"), "must not be empty"));
    }
    Ok(Variant {
        id: id.to_owned(),
        name: raw.name,
        function,
    })
}
