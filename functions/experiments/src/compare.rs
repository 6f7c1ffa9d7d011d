//! Comparing a candidate's answer with the control's: status, named headers, body (JSON-aware, with
//! ignored paths), and the noise baseline (the control compared with itself).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::definition::Experiment;

/// An HTTP answer as a function gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub status: u16,
    /// Lower-case names.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// Why a variant gave no answer to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No answer within the experiment's `timeoutMs`.
    Timeout,
    /// The function failed: a panic, a crash, or an error the runtime reported.
    FunctionError,
    /// It answered, but not with an HTTP response (API Gateway's payload format).
    Malformed,
    /// It could not be invoked (throttled, missing, no permission).
    InvokeFailed,
}

/// How one answer compares with the control's; `None` where the comparator is not configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub status: Option<bool>,
    /// Compared headers whose values differ.
    pub headers_differing: Vec<String>,
    pub body: Option<bool>,
    /// What differs, for people: the first differing JSON path, or both bodies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl Verdict {
    pub fn matches(&self) -> bool {
        self.status != Some(false) && self.headers_differing.is_empty() && self.body != Some(false)
    }

    /// The mismatch left after discounting what the control disagrees with itself on.
    pub fn net_of(&self, noise: &Verdict) -> Verdict {
        Verdict {
            status: if noise.status == Some(false) {
                None
            } else {
                self.status
            },
            headers_differing: self
                .headers_differing
                .iter()
                .filter(|h| !noise.headers_differing.contains(h))
                .cloned()
                .collect(),
            body: if noise.body == Some(false) {
                None
            } else {
                self.body
            },
            diff: if noise.body == Some(false) {
                None
            } else {
                self.diff.clone()
            },
        }
    }
}

/// Compares `candidate` with `control` on the experiment's comparators.
pub fn compare(experiment: &Experiment, control: &Observed, candidate: &Observed) -> Verdict {
    let comparators = &experiment.comparators;
    let mut verdict = Verdict {
        status: comparators
            .status
            .then_some(control.status == candidate.status),
        headers_differing: comparators
            .headers
            .iter()
            .filter(|h| control.headers.get(*h) != candidate.headers.get(*h))
            .cloned()
            .collect(),
        ..Verdict::default()
    };
    if comparators.status && control.status != candidate.status {
        verdict.diff = Some(format!(
            "status: control {}, candidate {}",
            control.status, candidate.status
        ));
    }
    if comparators.body {
        let difference = body_difference(experiment, &control.body, &candidate.body);
        verdict.body = Some(difference.is_none());
        if difference.is_some() {
            verdict.diff = difference;
        }
    }
    verdict
}

/// `None` when the bodies are equal: as JSON without the ignored paths when both are JSON, else
/// byte for byte.
fn body_difference(experiment: &Experiment, control: &str, candidate: &str) -> Option<String> {
    let parsed = (
        serde_json::from_str::<serde_json::Value>(control),
        serde_json::from_str::<serde_json::Value>(candidate),
    );
    if let (Ok(mut a), Ok(mut b)) = parsed {
        for path in &experiment.ignore {
            path.remove_from(&mut a);
            path.remove_from(&mut b);
        }
        return first_json_difference("$", &a, &b).map(|difference| {
            if experiment.redact.iter().any(|p| p.covers(&difference.at)) {
                format!("{}: the values differ (redacted)", difference.at)
            } else {
                difference.text
            }
        });
    }
    if !experiment.redact.is_empty() {
        return (control != candidate)
            .then(|| "body: the answers differ and are not JSON (redacted)".to_owned());
    }
    (control != candidate).then(|| {
        format!(
            "body: control {:?}, candidate {:?}",
            excerpt(control),
            excerpt(candidate)
        )
    })
}

/// Where two JSON values first differ, and how, for people.
struct Difference {
    at: String,
    text: String,
}

fn first_json_difference(
    at: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
) -> Option<Difference> {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                let path = format!("{at}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => first_json_difference(&path, p, q),
                    (p, q) => Some(Difference {
                        text: format!("{path}: control {}, candidate {}", show(p), show(q)),
                        at: path,
                    }),
                }
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_json_difference(&format!("{at}[{i}]"), p, q)),
        // 63 and 63.0 are the same JSON number to every client that parses it.
        (Value::Number(x), Value::Number(y)) if x.as_f64() == y.as_f64() => None,
        _ if a == b => None,
        _ => Some(Difference {
            at: at.to_owned(),
            text: format!(
                "{at}: control {}, candidate {}",
                excerpt(&a.to_string()),
                excerpt(&b.to_string())
            ),
        }),
    }
}

/// The request body as it may be stored: at most 200 characters, with the experiment's redacted
/// paths replaced. A body that is not JSON is not stored at all when something must be redacted.
pub fn recorded_body(experiment: &Experiment, body: &str) -> String {
    if experiment.redact.is_empty() || body.is_empty() {
        return excerpt(body);
    }
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut value) => {
            let hidden = serde_json::Value::from("<redacted>");
            for path in &experiment.redact {
                path.replace_in(&mut value, &hidden);
            }
            excerpt(&value.to_string())
        }
        Err(_) => "<not stored: not JSON, and this experiment redacts fields>".to_owned(),
    }
}

fn show(value: Option<&serde_json::Value>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), |v| excerpt(&v.to_string()))
}

/// At most 200 characters of `text`.
pub fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::Experiments;

    fn experiment(extra: &str) -> Experiment {
        let yaml = format!(
            "experiments:\n  e:\n    comparators: [body, statuscode, {{headers: [content-type]}}]\n    path: /e\n    control: {{name: c, function: c}}\n    candidates:\n      x: {{name: x, function: x}}\n{extra}"
        );
        Experiments::parse(&yaml).unwrap().by_name["e"].clone()
    }

    fn answer(status: u16, content_type: &str, body: &str) -> Observed {
        Observed {
            status,
            headers: BTreeMap::from([("content-type".to_owned(), content_type.to_owned())]),
            body: body.to_owned(),
        }
    }

    #[test]
    fn equal_answers_match_and_json_is_compared_as_json() {
        let e = experiment("");
        let control = answer(200, "application/json", r#"{"a": 1, "b": [1, 2]}"#);
        let same = answer(200, "application/json", r#"{"b":[1,2],"a":1.0}"#);
        assert!(compare(&e, &control, &same).matches());
    }

    #[test]
    fn each_comparator_reports_its_difference() {
        let e = experiment("");
        let control = answer(200, "application/json", r#"{"rounded": 63}"#);
        let body = compare(
            &e,
            &control,
            &answer(200, "application/json", r#"{"rounded": 62}"#),
        );
        assert_eq!(body.body, Some(false));
        assert_eq!(
            body.diff.as_deref(),
            Some("$.rounded: control 63, candidate 62")
        );
        let status = compare(
            &e,
            &control,
            &answer(500, "application/json", r#"{"rounded": 63}"#),
        );
        assert_eq!(status.status, Some(false));
        assert!(!status.matches());
        let header = compare(
            &e,
            &control,
            &answer(200, "text/plain", r#"{"rounded": 63}"#),
        );
        assert_eq!(header.headers_differing, vec!["content-type".to_owned()]);
        let text = compare(
            &e,
            &answer(200, "text/plain", "Fizz Buzz"),
            &answer(200, "text/plain", "FizzBuzz"),
        );
        assert_eq!(text.body, Some(false));
        assert!(text.diff.unwrap().contains("FizzBuzz"));
    }

    #[test]
    fn ignored_paths_are_left_out() {
        let e = experiment("    ignore: [$.elapsed]\n");
        let control = answer(200, "application/json", r#"{"key": "ab", "elapsed": 3}"#);
        let candidate = answer(200, "application/json", r#"{"key": "ab", "elapsed": 9}"#);
        assert!(compare(&e, &control, &candidate).matches());
    }

    #[test]
    fn noise_is_discounted() {
        let e = experiment("");
        let control = answer(200, "application/json", r#"{"at": 1}"#);
        let control_again = answer(200, "application/json", r#"{"at": 2}"#);
        let candidate = answer(200, "application/json", r#"{"at": 3}"#);
        let noise = compare(&e, &control, &control_again);
        let verdict = compare(&e, &control, &candidate);
        assert!(!verdict.matches());
        assert!(verdict.net_of(&noise).matches());
        // Noise in the body does not hide a status mismatch.
        let failing = answer(500, "application/json", r#"{"at": 3}"#);
        assert!(!compare(&e, &control, &failing).net_of(&noise).matches());
    }

    #[test]
    fn excerpts_cut_long_text_on_a_character_boundary() {
        let long = "é".repeat(300);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), 201);
        assert_eq!(excerpt("short"), "short");
    }

    #[test]
    fn a_difference_inside_a_redacted_path_is_reported_without_its_values() {
        let e = experiment("    redact: [$.key]\n");
        let v = compare(
            &e,
            &answer(200, "application/json", r#"{"key":"aaaa","keyLength":2}"#),
            &answer(200, "application/json", r#"{"key":"bbbb","keyLength":2}"#),
        );
        assert_eq!(v.body, Some(false));
        let diff = v.diff.unwrap_or_default();
        assert_eq!(diff, "$.key: the values differ (redacted)");
        let v = compare(
            &e,
            &answer(200, "application/json", r#"{"key":"aaaa","keyLength":2}"#),
            &answer(200, "application/json", r#"{"key":"aaaa","keyLength":3}"#),
        );
        assert_eq!(
            v.diff.as_deref(),
            Some("$.keyLength: control 2, candidate 3")
        );
        let v = compare(
            &e,
            &answer(200, "application/json", "secret-a"),
            &answer(200, "application/json", "secret-b"),
        );
        assert!(!v.diff.unwrap_or_default().contains("secret"));
    }

    #[test]
    fn recorded_bodies_hide_redacted_values_and_unparsable_bodies() {
        let e = experiment("    redact: [$.password, $.salt]\n");
        assert_eq!(
            recorded_body(&e, r#"{"password":"hunter2","salt":"NaCl","iterations":5}"#),
            r#"{"iterations":5,"password":"<redacted>","salt":"<redacted>"}"#
        );
        let stored = recorded_body(&e, "password=hunter2");
        assert!(!stored.contains("hunter2"), "{stored}");
        assert_eq!(
            recorded_body(&experiment(""), "password=hunter2"),
            "password=hunter2"
        );
    }
}
