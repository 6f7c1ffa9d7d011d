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

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::verdict::{self, Promotion};

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    experiments: BTreeMap<String, RawExperiment>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawExperiment {
    comparators: Vec<RawComparator>,
    path: String,
    control: RawVariant,
    candidates: BTreeMap<String, RawVariant>,
    sample: Option<f64>,
    timeout_ms: Option<u64>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    redact: Vec<String>,
    #[serde(default)]
    noise_baseline: bool,
    promotion: Option<RawPromotion>,
    #[serde(default)]
    intended: Vec<RawIntended>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntended {
    description: String,
    replace: RawReplace,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReplace {
    #[serde(rename = "in")]
    within: String,
    from: String,
    to: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPromotion {
    max_mismatch_rate: Option<f64>,
    min_comparisons: Option<u64>,
    max_duration_ratio: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawComparator {
    Named(String),
    Headers { headers: Vec<String> },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariant {
    name: String,
    function: Option<String>,
    arn: Option<String>,
    /// Candidates only.
    #[serde(default)]
    intended: Vec<RawIntended>,
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

/// One segment of a JSON path: `$.a.b[2]` is `[Key(a), Key(b), Index(2)]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonPath {
    pub text: String,
    pub segments: Vec<PathSegment>,
}

impl JsonPath {
    /// `$`, then `.key` or `[index]` segments.
    pub fn parse(text: &str) -> Option<Self> {
        let mut rest = text.strip_prefix('$')?;
        let mut segments = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let key = &after[..end];
                if key.is_empty() {
                    return None;
                }
                segments.push(PathSegment::Key(key.to_owned()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']')?;
                segments.push(PathSegment::Index(after[..end].parse().ok()?));
                rest = &after[end + 1..];
            } else {
                return None;
            }
        }
        if segments.is_empty() {
            return None;
        }
        Some(Self {
            text: text.to_owned(),
            segments,
        })
    }

    /// Whether `at`, a path written the same way (`$.a[0].b`), is this path or inside it.
    pub fn covers(&self, at: &str) -> bool {
        at.strip_prefix(self.text.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
    }

    /// Replaces what the path points at in `value` with `replacement`, if it is there.
    pub fn replace_in(&self, value: &mut serde_json::Value, replacement: &serde_json::Value) {
        if let Some(node) = descend(value, &self.segments) {
            *node = replacement.clone();
        }
    }

    /// What the path points at in `value`, if it is there.
    pub fn find_mut<'a>(
        &self,
        value: &'a mut serde_json::Value,
    ) -> Option<&'a mut serde_json::Value> {
        descend(value, &self.segments)
    }

    /// Removes what the path points at from `value`, if it is there.
    pub fn remove_from(&self, value: &mut serde_json::Value) {
        let Some((last, parents)) = self.segments.split_last() else {
            return;
        };
        let Some(node) = descend(value, parents) else {
            return;
        };
        match (last, node) {
            (PathSegment::Key(key), serde_json::Value::Object(map)) => {
                map.remove(key);
            }
            (PathSegment::Index(index), serde_json::Value::Array(items))
                if *index < items.len() =>
            {
                items[*index] = serde_json::Value::Null;
            }
            _ => {}
        }
    }
}

/// The node `segments` lead to from `value`, if every step exists.
fn descend<'a>(
    value: &'a mut serde_json::Value,
    segments: &[PathSegment],
) -> Option<&'a mut serde_json::Value> {
    segments
        .iter()
        .try_fold(value, |node, segment| match segment {
            PathSegment::Key(key) => node.get_mut(key),
            PathSegment::Index(index) => node.get_mut(*index),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    const SLIDE_36: &str = r#"
experiments:
  rounding-float:
    comparators:
      - body
      - statuscode
      - headers:
          - Content-Type
    path: /round
    control:
      name: Round Node8.10
      arn: arn:aws:lambda:eu-west-1:123456789012:function:control-round
    candidates:
      candidate-1:
        name: Round Python3-math
        arn: arn:aws:lambda:eu-west-1:123456789012:function:candidate-round-python3-math
"#;

    #[test]
    fn the_slide_format_loads_with_defaults() {
        let experiments = Experiments::parse(SLIDE_36).unwrap();
        let e = &experiments.by_name["rounding-float"];
        assert_eq!(e.path, "/round");
        assert_eq!(
            e.comparators,
            Comparators {
                status: true,
                body: true,
                headers: vec!["content-type".into()]
            }
        );
        assert_eq!(e.candidates[0].id, "candidate-1");
        assert_eq!(e.sample_percent, 100.0);
        assert_eq!(e.timeout, DEFAULT_TIMEOUT);
        assert!(!e.noise_baseline);
        assert_eq!(e.promotion, Promotion::default());
        assert_eq!(
            experiments.for_path("/round/").unwrap().name,
            "rounding-float"
        );
        assert!(experiments.for_path("/sort").is_none());
    }

    #[test]
    fn promotion_thresholds_load_and_default_one_by_one() {
        let yaml =
            format!("{SLIDE_36}    promotion: {{maxMismatchRate: 0.05, minComparisons: 50}}\n");
        let e = &Experiments::parse(&yaml).unwrap().by_name["rounding-float"];
        assert_eq!(
            e.promotion,
            Promotion {
                max_mismatch_rate: 0.05,
                min_comparisons: 50,
                max_duration_ratio: Promotion::default().max_duration_ratio,
            }
        );
    }

    #[test]
    fn promotion_thresholds_out_of_range_are_refused_by_name() {
        for (promotion, field, reason) in [
            ("{maxMismatchRate: 0}", "maxMismatchRate", "0.0099"),
            (
                "{maxMismatchRate: 0.005}",
                "maxMismatchRate",
                "report's window",
            ),
            ("{maxMismatchRate: 1.0}", "maxMismatchRate", "below 1"),
            ("{maxMismatchRate: .nan}", "maxMismatchRate", "share"),
            ("{minComparisons: 0}", "minComparisons", "from 1 to 1000"),
            ("{minComparisons: 5000}", "minComparisons", "from 1 to 1000"),
            ("{maxDurationRatio: 0.9}", "maxDurationRatio", "from 1"),
            ("{maxDurationRatio: .inf}", "maxDurationRatio", "to 100"),
            ("{maxMismatch: 0.1}", "maxMismatch", "unknown field"),
        ] {
            let yaml = format!("{SLIDE_36}    promotion: {promotion}\n");
            let error = Experiments::parse(&yaml).unwrap_err().to_string();
            assert!(
                error.contains(field) && error.contains(reason),
                "{promotion}: {error}"
            );
        }
        let yaml = format!("{SLIDE_36}    promotion: {{maxMismatchRate: 0}}\n");
        let error = Experiments::parse(&yaml).unwrap_err().to_string();
        assert!(
            error.starts_with("experiments.rounding-float.promotion.maxMismatchRate: "),
            "{error}"
        );
    }

    #[test]
    fn the_definitions_in_the_repository_parse() {
        let sources: Vec<(String, String)> = ["workshop", "resilience"]
            .into_iter()
            .map(|name| {
                let path = format!("{}/definitions/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
                (name.to_owned(), std::fs::read_to_string(path).unwrap())
            })
            .collect();
        let experiments = Experiments::merge(&sources).unwrap();
        assert!(experiments.by_name.contains_key("round"), "{experiments:?}");
    }

    /// SLIDE_36 with `intended` lists on the experiment and on its candidate.
    fn with_intended(experiment: &str, candidate: &str) -> String {
        let candidate = SLIDE_36.replace(
            "function:candidate-round-python3-math\n",
            &format!("function:candidate-round-python3-math\n{candidate}"),
        );
        format!("{candidate}{experiment}")
    }

    #[test]
    fn intended_differences_load_for_the_experiment_then_each_candidate() {
        let yaml = with_intended(
            "    intended:\n      - description: every candidate says ties to even\n        replace: {in: $.rule, from: half up, to: ties to even}\n",
            "        intended:\n          - description: the spec prints \"Fizz Buzz\"\n            replace: {in: body, from: FizzBuzz, to: Fizz Buzz}\n",
        );
        let e = &Experiments::parse(&yaml).unwrap().by_name["rounding-float"];
        let loaded: Vec<(Option<&str>, &str, &Within, &str, &str)> = e
            .intended_for("candidate-1")
            .map(|i| {
                (
                    i.candidate.as_deref(),
                    i.description.as_str(),
                    &i.rewrite.within,
                    i.rewrite.from.as_str(),
                    i.rewrite.to.as_str(),
                )
            })
            .collect();
        assert_eq!(
            loaded,
            [
                (
                    None,
                    "every candidate says ties to even",
                    &Within::Json(JsonPath::parse("$.rule").unwrap()),
                    "half up",
                    "ties to even"
                ),
                (
                    Some("candidate-1"),
                    "the spec prints \"Fizz Buzz\"",
                    &Within::Body,
                    "FizzBuzz",
                    "Fizz Buzz"
                ),
            ]
        );
        assert_eq!(e.intended_for("another").count(), 1);
        assert!(
            Experiments::parse(SLIDE_36).unwrap().by_name["rounding-float"]
                .intended
                .is_empty()
        );
    }

    #[test]
    fn intended_differences_travel_in_comparison_jobs_and_old_jobs_still_load() {
        let yaml = with_intended(
            "    intended: [{description: d, replace: {in: $.rule, from: a, to: b}}]\n",
            "        intended: [{description: e, replace: {in: body, from: c, to: d}}]\n",
        );
        let e = Experiments::parse(&yaml).unwrap().by_name["rounding-float"].clone();
        let mut job = serde_json::to_value(&e).unwrap();
        assert_eq!(
            serde_json::from_value::<Experiment>(job.clone()).unwrap(),
            e
        );
        job.as_object_mut().unwrap().remove("intended");
        let old: Experiment = serde_json::from_value(job).unwrap();
        assert!(old.intended.is_empty());
    }

    #[test]
    fn bad_intended_differences_are_refused_by_field() {
        let candidate = "experiments.rounding-float.candidates.candidate-1.intended";
        for (replace, field, reason) in [
            (
                "{in: headers, from: a, to: b}",
                format!("{candidate}[0].replace.in"),
                "neither body nor a JSON path",
            ),
            (
                "{in: body, from: \"\", to: b}",
                format!("{candidate}[0].replace.from"),
                "must not be empty",
            ),
            (
                "{in: body, from: a, to: a}",
                format!("{candidate}[0].replace.to"),
                "change nothing",
            ),
            (
                "{in: body, from: a}",
                format!("{candidate}[0].replace"),
                "missing field `to`",
            ),
            (
                "{in: body, from: a, to: b, regex: true}",
                format!("{candidate}[0].replace"),
                "unknown field `regex`",
            ),
        ] {
            let yaml = with_intended(
                "",
                &format!(
                    "        intended:\n          - description: d\n            replace: {replace}\n"
                ),
            );
            let error = Experiments::parse(&yaml).unwrap_err().to_string();
            assert!(
                error.contains(&field) && error.contains(reason),
                "{replace}: {error}"
            );
        }
        let blank = with_intended(
            "    intended: [{description: \" \", replace: {in: body, from: a, to: b}}]\n",
            "",
        );
        assert!(
            Experiments::parse(&blank)
                .unwrap_err()
                .to_string()
                .starts_with("experiments.rounding-float.intended[0].description: "),
        );
        let on_the_control = SLIDE_36.replace(
            "function:control-round\n",
            "function:control-round\n      intended: [{description: d, replace: {in: body, from: a, to: b}}]\n",
        );
        assert!(
            Experiments::parse(&on_the_control)
                .unwrap_err()
                .to_string()
                .starts_with("experiments.rounding-float.control.intended: "),
        );
        let many = format!(
            "    intended:\n{}",
            "      - {description: d, replace: {in: body, from: a, to: b}}\n"
                .repeat(MAX_INTENDED + 1)
        );
        let error = Experiments::parse(&with_intended(&many, ""))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("experiments.rounding-float.intended: at most 20"),
            "{error}"
        );
    }

    #[test]
    fn the_workshop_declares_exactly_the_fizzbuzz_controls_bug_as_intended() {
        use crate::domain::compare::{self, Observed, Outcome};
        use fizzbuzz::domain::{self, Range};
        let workshop = Experiments::parse(include_str!("../../definitions/workshop.yaml")).unwrap();
        let e = &workshop.by_name["fizzbuzz"];
        let answer = |body: String| Observed {
            status: 200,
            headers: BTreeMap::new(),
            body,
        };
        let big = i64::MAX - 300;
        let ranges = (1..=100)
            .flat_map(|from| (from - 1..=100).map(move |to| (from, to)))
            .chain([(1, 100_000), (big, big + 150), (big + 200, i64::MAX)]);
        let mut outcomes = BTreeMap::new();
        for (from, to) in ranges {
            let range = Range::parse(Some(&from.to_string()), Some(&to.to_string())).unwrap();
            let control = domain::render(range, domain::control_line);
            let reference = domain::render(range, domain::reference_line);
            let rewritten = e
                .intended_for("reference")
                .fold(control.clone(), |body, i| {
                    compare::rewrite(&i.rewrite, &body).unwrap_or(body)
                });
            assert_eq!(rewritten, reference, "from={from} to={to}");
            let verdict =
                compare::compare_candidate(e, "reference", &answer(control), &answer(reference));
            let expected = if (from..=to).any(|n| n % 15 == 0) {
                Outcome::Intended
            } else {
                Outcome::Match
            };
            assert_eq!(verdict.outcome(), expected, "from={from} to={to}");
            *outcomes.entry(format!("{expected:?}")).or_insert(0) += 1;
        }
        // Both kinds occurred: the check above was not vacuous.
        assert_eq!(outcomes.len(), 2, "{outcomes:?}");
        // The other candidates of the workshop declare nothing.
        assert!(workshop.by_name.values().all(|e| {
            e.intended
                .iter()
                .all(|i| i.candidate.as_deref() == Some("reference"))
        }));
    }

    #[test]
    fn a_redacted_path_covers_what_is_inside_it_and_nothing_else() {
        let path = JsonPath::parse("$.key").unwrap();
        for (at, covered) in [
            ("$.key", true),
            ("$.key.inner", true),
            ("$.key[3]", true),
            ("$.keyLength", false),
            ("$.other", false),
            ("$", false),
        ] {
            assert_eq!(path.covers(at), covered, "{at}");
        }
    }

    #[test]
    fn redact_replaces_values_where_they_are_and_ignores_absent_paths() {
        let mut body = serde_json::json!({"password": "hunter2", "list": [{"salt": "s"}], "n": 1});
        let hidden = serde_json::json!("<redacted>");
        for path in [
            "$.password",
            "$.list[0].salt",
            "$.missing.deeper",
            "$.list[5]",
        ] {
            JsonPath::parse(path)
                .unwrap()
                .replace_in(&mut body, &hidden);
        }
        assert_eq!(
            body,
            serde_json::json!({"password": "<redacted>", "list": [{"salt": "<redacted>"}], "n": 1})
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("    sample: 101\n", "experiments.rounding-float.sample"),
            ("    timeoutMs: 0\n", "experiments.rounding-float.timeoutMs"),
            (
                "    ignore: [\"body.x\"]\n",
                "experiments.rounding-float.ignore",
            ),
            (
                "    redact: [\"password\"]\n",
                "experiments.rounding-float.redact",
            ),
            ("    colour: blue\n", "colour"),
        ];
        for (extra, field) in cases {
            let yaml = format!("{SLIDE_36}{extra}");
            let error = Experiments::parse(&yaml).unwrap_err().to_string();
            assert!(error.contains(field), "{extra:?}: {error}");
        }
        let no_function = SLIDE_36.replace(
            "      arn: arn:aws:lambda:eu-west-1:123456789012:function:control-round\n",
            "",
        );
        let error = Experiments::parse(&no_function).unwrap_err().to_string();
        assert!(
            error.contains("experiments.rounding-float.control"),
            "{error}"
        );
        let bad_comparator = SLIDE_36.replace("      - body\n", "      - bodies\n");
        let error = Experiments::parse(&bad_comparator).unwrap_err().to_string();
        assert!(
            error.contains("comparators") && error.contains("bodies"),
            "{error}"
        );
    }

    #[test]
    fn json_paths_parse_and_remove() {
        let path = JsonPath::parse("$.a.list[1].b").unwrap();
        assert_eq!(path.segments.len(), 4);
        let mut value = serde_json::json!({"a": {"list": [{"b": 1}, {"b": 2, "c": 3}]}});
        path.remove_from(&mut value);
        assert_eq!(
            value,
            serde_json::json!({"a": {"list": [{"b": 1}, {"c": 3}]}})
        );
        JsonPath::parse("$.missing.x")
            .unwrap()
            .remove_from(&mut value);
        for bad in ["", "$", "a.b", "$..a", "$.a[x]", "$.a["] {
            assert!(JsonPath::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn files_merge_unless_they_share_names_or_paths() {
        let other = SLIDE_36
            .replace("rounding-float", "other")
            .replace("/round", "/other");
        let merged =
            Experiments::merge(&[("a".into(), SLIDE_36.into()), ("b".into(), other)]).unwrap();
        assert_eq!(merged.by_name.len(), 2);
        let error =
            Experiments::merge(&[("a".into(), SLIDE_36.into()), ("b".into(), SLIDE_36.into())])
                .unwrap_err()
                .to_string();
        assert!(
            error.starts_with("b: experiments.rounding-float"),
            "{error}"
        );
        let same_path = SLIDE_36.replace("rounding-float", "other");
        let error = Experiments::merge(&[("a".into(), SLIDE_36.into()), ("b".into(), same_path)])
            .unwrap_err()
            .to_string();
        assert!(error.contains("b: experiments.other.path"), "{error}");
    }

    #[test]
    fn two_experiments_cannot_share_a_path() {
        let yaml = format!(
            "{SLIDE_36}  again:\n    comparators: [body]\n    path: /round\n    control: {{name: c, function: f}}\n    candidates:\n      x: {{name: x, function: g}}\n"
        );
        let error = Experiments::parse(&yaml).unwrap_err().to_string();
        // Names load in order: "again" first, so the second owner of /round is the one named.
        assert!(
            error.starts_with(
                "experiments.rounding-float.path: /round is already the path of experiment again"
            ),
            "{error}"
        );
    }
}
