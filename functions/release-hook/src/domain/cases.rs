//! The release gate's cases: per family, requests and what every release of the family's control
//! must answer to them. They are data (`cases/<family>.yaml`), compiled into the binary and
//! validated when the [`Catalog`] is built, at cold start and by the unit tests.
//!
//! ```yaml
//! - name: a number under the half rounds down      # unique in the family
//!   request:
//!     method: GET                                   # GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS
//!     path: /round                                  # starts with '/', no query
//!     query: {number: "62.4"}                       # optional; values are strings
//!     headers: {accept: application/json}           # optional
//!     json: [3, 1, 2]                               # optional body, sent as application/json
//!     text: "3, 1, 2"                               # or a body as it is (not both)
//!   expect:
//!     status: 200
//!     content_type: application/json                # media type and parameters, any case
//!     json: {number: 62.4, rounded: 62}             # the body as JSON, compared as values
//!     text: "1\n2\nFizz"                            # or the body exactly
//!     error: invalid_number                         # or a JSON error {"error": <code>, "message": "..."}
//! ```
//!
//! Give a body only where the family's spec fixes it; leave it out and the status and content
//! type are checked alone.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

/// Every family's cases file, by family name (the registry's `family`).
const FILES: [(&str, &str); 4] = [
    ("round", include_str!("../../cases/round.yaml")),
    ("sort", include_str!("../../cases/sort.yaml")),
    ("fizzbuzz", include_str!("../../cases/fizzbuzz.yaml")),
    ("pbkdf2", include_str!("../../cases/pbkdf2.yaml")),
];

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// A cases file that is not valid; names the family and the case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CasesError {
    #[error("cases/{family}.yaml is not valid YAML for cases: {message}")]
    Syntax { family: String, message: String },
    #[error("cases/{family}.yaml, case {case:?}: {message}")]
    Invalid {
        family: String,
        case: String,
        message: String,
    },
    #[error("cases/{family}.yaml has no case")]
    Empty { family: String },
}

/// A request to send the function, as an HTTP API (v2) event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRequest {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// Lower-case names.
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
}

impl CaseRequest {
    /// The query string, form-encoded (empty when there is none).
    pub fn query_string(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.query)
            .finish()
    }

    /// The path and, when there is one, `?` and the query string.
    pub fn path_and_query(&self) -> String {
        match self.query_string() {
            query if query.is_empty() => self.path.clone(),
            query => format!("{}?{query}", self.path),
        }
    }
}

/// What a case's answer body must be.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyExpectation {
    /// Not fixed by the spec: not checked.
    Any,
    /// JSON equal to this value (key order and spacing do not matter).
    Json(Value),
    /// Exactly this text.
    Text(String),
    /// The workspace's JSON error shape with this code and a message.
    Error(String),
}

/// What every release must answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub status: u16,
    pub content_type: String,
    pub body: BodyExpectation,
}

/// One case of a family's release gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub family: String,
    pub name: String,
    pub request: CaseRequest,
    pub expect: Expectation,
}

/// Every family's cases, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    families: BTreeMap<String, Vec<Case>>,
}

impl Catalog {
    /// The cases compiled into the binary.
    pub fn builtin() -> Result<Self, CasesError> {
        Self::from_files(&FILES)
    }

    /// Cases from `(family, YAML text)` pairs.
    pub fn from_files(files: &[(&str, &str)]) -> Result<Self, CasesError> {
        let families = files
            .iter()
            .map(|(family, text)| Ok(((*family).to_owned(), parse(family, text)?)))
            .collect::<Result<_, CasesError>>()?;
        Ok(Self { families })
    }

    /// The family's cases, or `None` for a family without any.
    pub fn cases(&self, family: &str) -> Option<&[Case]> {
        self.families.get(family).map(Vec::as_slice)
    }

    /// The families that have cases.
    pub fn families(&self) -> impl Iterator<Item = &str> {
        self.families.keys().map(String::as_str)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    request: RawRequest,
    expect: RawExpect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    method: String,
    path: String,
    #[serde(default)]
    query: BTreeMap<String, String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    json: Option<Value>,
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    status: u16,
    content_type: String,
    json: Option<Value>,
    text: Option<String>,
    error: Option<String>,
}

/// Parses and validates one family's file.
pub fn parse(family: &str, text: &str) -> Result<Vec<Case>, CasesError> {
    let raw: Vec<RawCase> = serde_norway::from_str(text).map_err(|e| CasesError::Syntax {
        family: family.to_owned(),
        message: e.to_string(),
    })?;
    if raw.is_empty() {
        return Err(CasesError::Empty {
            family: family.to_owned(),
        });
    }
    let mut names = BTreeSet::new();
    raw.into_iter()
        .map(|case| {
            let invalid = |message: &str| CasesError::Invalid {
                family: family.to_owned(),
                case: case.name.clone(),
                message: message.to_owned(),
            };
            if case.name.trim().is_empty() {
                return Err(invalid("the name is empty"));
            }
            if !names.insert(case.name.clone()) {
                return Err(invalid("another case has this name"));
            }
            let request = validate_request(case.request).map_err(|m| invalid(&m))?;
            let expect = validate_expect(case.expect).map_err(|m| invalid(&m))?;
            Ok(Case {
                family: family.to_owned(),
                name: case.name,
                request,
                expect,
            })
        })
        .collect()
}

fn validate_request(raw: RawRequest) -> Result<CaseRequest, String> {
    if !METHODS.contains(&raw.method.as_str()) {
        return Err(format!(
            "request.method {:?} is not one of {}",
            raw.method,
            METHODS.join(", ")
        ));
    }
    if !raw.path.starts_with('/') || raw.path.contains(['?', '#', ' ']) {
        return Err(format!(
            "request.path {:?} must start with '/' and hold no query (use request.query)",
            raw.path
        ));
    }
    let mut headers: BTreeMap<String, String> = raw
        .headers
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect();
    let body = match (raw.json, raw.text) {
        (Some(_), Some(_)) => return Err("give request.json or request.text, not both".into()),
        (Some(json), None) => {
            headers
                .entry("content-type".to_owned())
                .or_insert_with(|| "application/json".to_owned());
            Some(json.to_string())
        }
        (None, text) => text,
    };
    Ok(CaseRequest {
        method: raw.method,
        path: raw.path,
        query: raw.query,
        headers,
        body,
    })
}

fn validate_expect(raw: RawExpect) -> Result<Expectation, String> {
    if !(100..=599).contains(&raw.status) {
        return Err(format!(
            "expect.status {} is not an HTTP status",
            raw.status
        ));
    }
    if raw.content_type.trim().is_empty() {
        return Err("expect.content_type is empty".into());
    }
    let body = match (raw.json, raw.text, raw.error) {
        (None, None, None) => BodyExpectation::Any,
        (Some(json), None, None) => BodyExpectation::Json(json),
        (None, Some(text), None) => BodyExpectation::Text(text),
        (None, None, Some(code)) if !code.trim().is_empty() => BodyExpectation::Error(code),
        (None, None, Some(_)) => return Err("expect.error is empty".into()),
        _ => return Err("give at most one of expect.json, expect.text and expect.error".into()),
    };
    Ok(Expectation {
        status: raw.status,
        content_type: raw.content_type,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_builtin_cases_are_valid() {
        let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
        for family in ["round", "sort", "fizzbuzz", "pbkdf2"] {
            let cases = catalog.cases(family).expect(family);
            assert!(cases.len() >= 4, "{family}: {} cases", cases.len());
            assert!(
                cases.iter().any(|c| c.expect.status == 200)
                    && cases.iter().any(|c| c.expect.status == 400),
                "{family}: a good request and a bad one at least"
            );
        }
    }

    /// A family with a control in functions.toml but no cases would make its pre-traffic hook
    /// report Failed on every release; a cases file for no such family is dead weight.
    #[test]
    fn every_family_with_a_control_has_cases_and_no_other_does() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let registry = registry::Registry::load(&root).unwrap_or_else(|e| panic!("{e}"));
        let controlled: BTreeSet<&str> = registry.workshop_families().into_iter().collect();
        let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
        let with_cases: BTreeSet<&str> = catalog.families().collect();
        assert!(!controlled.is_empty());
        let missing: Vec<_> = controlled.difference(&with_cases).collect();
        assert!(
            missing.is_empty(),
            "families with a control and no cases/<family>.yaml in release-hook: {missing:?}"
        );
        let extra: Vec<_> = with_cases.difference(&controlled).collect();
        assert!(
            extra.is_empty(),
            "cases for families without a control: {extra:?}"
        );
    }

    #[test]
    fn a_case_reads_into_a_request_and_an_expectation() {
        let cases = parse(
            "sort",
            r#"
- name: sorts
  request: {method: POST, path: /sort, query: {a: "1 2", b: "x&y"}, json: [3, 1, 2]}
  expect: {status: 200, content_type: application/json, json: [1, 2, 3]}
- name: refuses
  request: {method: POST, path: /sort, text: "nope", headers: {Content-Type: text/plain}}
  expect: {status: 400, content_type: application/json, error: invalid_json}
- name: answers
  request: {method: GET, path: /sort}
  expect: {status: 405, content_type: application/json}
"#,
        )
        .unwrap();
        let sorts = &cases[0];
        assert_eq!(sorts.family, "sort");
        assert_eq!(sorts.request.path_and_query(), "/sort?a=1+2&b=x%26y");
        assert_eq!(sorts.request.body.as_deref(), Some("[3,1,2]"));
        assert_eq!(sorts.request.headers["content-type"], "application/json");
        assert_eq!(sorts.expect.body, BodyExpectation::Json(json!([1, 2, 3])));
        let refuses = &cases[1];
        assert_eq!(refuses.request.body.as_deref(), Some("nope"));
        assert_eq!(refuses.request.headers["content-type"], "text/plain");
        assert_eq!(
            refuses.expect.body,
            BodyExpectation::Error("invalid_json".into())
        );
        assert_eq!(cases[2].request.path_and_query(), "/sort");
        assert_eq!(cases[2].expect.body, BodyExpectation::Any);
    }

    #[test]
    fn invalid_cases_are_refused_with_the_family_and_the_case() {
        let case = |request: &str, expect: &str| {
            format!("- name: c\n  request: {request}\n  expect: {expect}\n")
        };
        let good_request = "{method: GET, path: /round}";
        let good_expect = "{status: 200, content_type: application/json}";
        let table = [
            (
                "unknown method",
                case("{method: FETCH, path: /round}", good_expect),
                "request.method",
            ),
            (
                "query in the path",
                case("{method: GET, path: /round?number=1}", good_expect),
                "request.path",
            ),
            (
                "two bodies",
                case(
                    "{method: POST, path: /sort, json: [1], text: x}",
                    good_expect,
                ),
                "not both",
            ),
            (
                "status out of range",
                case(good_request, "{status: 42, content_type: text/plain}"),
                "expect.status",
            ),
            (
                "empty content type",
                case(good_request, "{status: 200, content_type: ''}"),
                "content_type",
            ),
            (
                "two body expectations",
                case(
                    good_request,
                    "{status: 200, content_type: text/plain, text: a, error: b}",
                ),
                "at most one",
            ),
            (
                "unknown field",
                case(
                    good_request,
                    "{status: 200, content_type: text/plain, bdy: a}",
                ),
                "bdy",
            ),
            (
                "duplicate names",
                case(good_request, good_expect).repeat(2),
                "another case",
            ),
            ("no case", "[]".to_owned(), "no case"),
        ];
        for (what, text, expected) in table {
            let error = parse("round", &text).expect_err(what).to_string();
            assert!(
                error.contains(expected) && error.contains("cases/round.yaml"),
                "{what}: {error}"
            );
        }
    }
}
