//! What a comparison stores when its experiment redacts fields (`redact:` JSON paths): nothing of
//! a redacted value, wherever it would have gone.
//!
//! - **Bodies**: the request body's redacted paths are replaced ([`super::compare::recorded_body`]);
//!   differences inside them show as "redacted" ([`super::compare`]).
//! - **Query parameters by name**: a parameter named like a redacted path's first key (`$.key`,
//!   `$.key.inner` → `key`) is stored as `key=<redacted>`.
//! - **Failure details**: a malformed answer's excerpt and a function error's payload are the
//!   function's own output, which may hold the secret in any shape (a PBKDF2 candidate answering
//!   garbage prints its key): they are not stored, only what kind of failure it was.
//! - **Everything else stored as text** (SDK error messages, timeouts, differences) is scrubbed of
//!   every value found at a redacted path in the request or in any answer, and of the redacted
//!   query parameters' values.
//!
//! An experiment without `redact` stores everything as it comes.

use serde_json::Value;

use super::compare::FailureKind;
use super::definition::{Experiment, PathSegment};

/// What replaces a redacted value.
pub const REDACTED: &str = "<redacted>";

/// One comparison's redaction: the parameter names and the secret values to keep out of storage.
#[derive(Debug, Default)]
pub struct Redactor {
    active: bool,
    names: Vec<String>,
    /// Longest first, so a value containing another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// For `experiment`'s comparison of the request `event` (API Gateway v2) whose variants
    /// answered with `bodies`.
    pub fn new<'a>(
        experiment: &Experiment,
        event: &'a Value,
        bodies: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        if experiment.redact.is_empty() {
            return Self::default();
        }
        let names: Vec<String> = experiment
            .redact
            .iter()
            .filter_map(|path| match path.segments.first() {
                Some(PathSegment::Key(key)) => Some(key.clone()),
                _ => None,
            })
            .collect();
        let mut secrets = Vec::new();
        let query = event["rawQueryString"].as_str().unwrap_or_default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if names.iter().any(|n| *n == name) {
                secrets.push(value.into_owned());
            }
        }
        let request_body = event["body"].as_str().unwrap_or_default();
        for text in std::iter::once(request_body).chain(bodies) {
            let Ok(mut json) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            for path in &experiment.redact {
                if let Some(found) = path.find_mut(&mut json) {
                    leaves(found, &mut secrets);
                }
            }
        }
        // Very short values would blank out ordinary text ("1", "ok"): they are not searched for
        // (where they are, in bodies and parameters, they are replaced by path and name).
        secrets.retain(|s| s.chars().count() >= 4);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self {
            active: true,
            names,
            secrets,
        }
    }

    /// The query string as it may be stored: redacted parameters' values replaced.
    pub fn query(&self, query: &str) -> String {
        if !self.active || query.is_empty() {
            return query.to_owned();
        }
        query
            .split('&')
            .map(|pair| {
                let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                let decoded: String = form_urlencoded::parse(name.as_bytes())
                    .map(|(k, _)| k.into_owned())
                    .next()
                    .unwrap_or_default();
                if self.names.contains(&decoded) {
                    format!("{name}={REDACTED}")
                } else {
                    self.scrub(pair)
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// A failure's detail as it may be stored.
    pub fn failure_detail(&self, kind: FailureKind, detail: &str) -> String {
        if !self.active {
            return detail.to_owned();
        }
        match kind {
            FailureKind::Malformed => {
                "<not stored: the answer is the function's output, and this experiment redacts fields>"
                    .to_owned()
            }
            FailureKind::FunctionError => {
                let error_type = serde_json::from_str::<Value>(detail)
                    .ok()
                    .and_then(|v| v["errorType"].as_str().map(str::to_owned));
                match error_type {
                    Some(error_type) => format!(
                        "{error_type} (its message is not stored: this experiment redacts fields)"
                    ),
                    None => "<not stored: the error is the function's output, and this experiment redacts fields>"
                        .to_owned(),
                }
            }
            FailureKind::Timeout | FailureKind::InvokeFailed => self.scrub(detail),
        }
    }

    /// `text` with every secret value replaced.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
        text
    }
}

/// Every string and number under `value`, as text.
fn leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| leaves(v, out)),
        Value::Object(map) => map.values().for_each(|v| leaves(v, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::definition::Experiments;
    use serde_json::json;

    fn experiment(redact: &str) -> Experiment {
        let yaml = format!(
            "experiments:\n  e:\n    comparators: [body]\n    path: /e\n    control: {{name: c, function: c}}\n    candidates:\n      x: {{name: x, function: x}}\n{redact}"
        );
        Experiments::parse(&yaml).unwrap().by_name["e"].clone()
    }

    const KEY: &str = "9f86d081884c7d659a2feaa0c55ad015";

    #[test]
    fn without_redact_everything_is_stored_as_it_comes() {
        let r = Redactor::new(&experiment(""), &json!({"rawQueryString": "key=abcd"}), []);
        assert_eq!(r.query("key=abcd"), "key=abcd");
        assert_eq!(r.failure_detail(FailureKind::Malformed, KEY), KEY);
    }

    #[test]
    fn a_secret_is_kept_out_of_every_text() {
        let e = experiment("    redact: [$.key, $.password]\n");
        let event = json!({
            "rawQueryString": "password=hunter22&iterations=1000",
            "body": r#"{"password": "correct horse", "salt": "NaCl"}"#,
        });
        let r = Redactor::new(&e, &event, [format!(r#"{{"key":"{KEY}"}}"#).as_str()]);
        assert_eq!(
            r.query("password=hunter22&iterations=1000"),
            "password=<redacted>&iterations=1000"
        );
        let garbage = format!("not http: {KEY}");
        let malformed = r.failure_detail(FailureKind::Malformed, &garbage);
        assert!(!malformed.contains(KEY), "{malformed}");
        let error = r.failure_detail(
            FailureKind::FunctionError,
            &format!(r#"{{"errorType":"Panic","errorMessage":"key {KEY}"}}"#),
        );
        assert_eq!(
            error,
            "Panic (its message is not stored: this experiment redacts fields)"
        );
        let sdk = r.failure_detail(
            FailureKind::InvokeFailed,
            "service error: payload {\"password\": \"correct horse\"} hunter22",
        );
        assert!(
            !sdk.contains("correct horse") && !sdk.contains("hunter22"),
            "{sdk}"
        );
        assert!(!r.scrub(&format!("differs: {KEY}")).contains(KEY));
        // Short values are replaced where they are named, never searched for in text.
        let short = Redactor::new(&e, &json!({"body": r#"{"key": "1"}"#}), []);
        assert_eq!(short.scrub("status 1 of 1"), "status 1 of 1");
    }
}
