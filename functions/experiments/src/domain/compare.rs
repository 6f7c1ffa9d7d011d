//! Comparing a candidate's answer with the control's: status, named headers, body (JSON-aware, with
//! ignored paths), the differences the experiment intends (the control's answer rewritten, see
//! [`crate::domain::definition`]), and the noise baseline (the control compared with itself).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::definition::{Experiment, Rewrite, Within};

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
    /// When the answers differ as they are and agree once the control's answer is rewritten by
    /// the candidate's intended differences: their descriptions, `; ` between them. Absent from
    /// records stored before intended differences existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intended: Option<String>,
}

/// What one comparison of a candidate that answered came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The answers agree as they are.
    Match,
    /// They differ in the body only, as the experiment declares the candidate means to.
    Intended,
    Mismatch,
}

impl Verdict {
    /// The answers agree as they are.
    pub fn matches(&self) -> bool {
        self.status != Some(false) && self.headers_differing.is_empty() && self.body != Some(false)
    }

    pub fn outcome(&self) -> Outcome {
        if self.matches() {
            Outcome::Match
        } else if self.intended.is_some()
            && self.status != Some(false)
            && self.headers_differing.is_empty()
        {
            // Rewrites touch the body only: a status or header difference is never intended.
            Outcome::Intended
        } else {
            Outcome::Mismatch
        }
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
            intended: None,
        }
        .with_intended(self.intended.clone())
    }

    /// `intended`, unless the answers agree anyway.
    fn with_intended(mut self, intended: Option<String>) -> Verdict {
        self.intended = if self.matches() { None } else { intended };
        self
    }
}

/// Compares the answer of the candidate `candidate_id` with the control's, as they are; when they
/// differ, compares again with the candidate's intended differences applied to the control's
/// answer, and names those that made the two agree in [`Verdict::intended`].
pub fn compare_candidate(
    experiment: &Experiment,
    candidate_id: &str,
    control: &Observed,
    candidate: &Observed,
) -> Verdict {
    let verdict = compare(experiment, control, candidate);
    if verdict.matches() {
        return verdict;
    }
    let mut rewritten = control.clone();
    let mut applied = Vec::new();
    for intended in experiment.intended_for(candidate_id) {
        if let Some(body) = rewrite(&intended.rewrite, &rewritten.body) {
            rewritten.body = body;
            applied.push(intended.description.as_str());
        }
    }
    let explained = !applied.is_empty() && compare(experiment, &rewritten, candidate).matches();
    verdict.with_intended(explained.then(|| applied.join("; ")))
}

/// `body` rewritten; `None` when the rewrite changes nothing in it.
pub fn rewrite(rewrite: &Rewrite, body: &str) -> Option<String> {
    let Rewrite { within, from, to } = rewrite;
    match within {
        Within::Body => body.contains(from).then(|| body.replace(from, to)),
        Within::Json(path) => {
            let mut value = serde_json::from_str::<serde_json::Value>(body).ok()?;
            let node = path.find_mut(&mut value)?;
            let text = node.as_str().filter(|text| text.contains(from))?;
            *node = serde_json::Value::from(text.replace(from, to));
            Some(value.to_string())
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
    use crate::domain::definition::Experiments;

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

    const FIZZ_BUZZ: &str = "    intended:\n      - description: the spec prints \"Fizz Buzz\"\n        replace: {in: body, from: FizzBuzz, to: Fizz Buzz}\n";

    fn text(status: u16, body: &str) -> Observed {
        answer(status, "text/plain", body)
    }

    #[test]
    fn a_rewrite_that_makes_the_answers_equal_makes_the_difference_intended() {
        let e = experiment(FIZZ_BUZZ);
        let v = compare_candidate(
            &e,
            "x",
            &text(200, "14\nFizzBuzz"),
            &text(200, "14\nFizz Buzz"),
        );
        assert_eq!(v.outcome(), Outcome::Intended);
        assert!(!v.matches(), "as they are, the answers differ");
        assert_eq!(v.intended.as_deref(), Some("the spec prints \"Fizz Buzz\""));
        assert!(
            v.diff.unwrap().contains("FizzBuzz"),
            "the difference stays visible"
        );
    }

    #[test]
    fn a_rewrite_that_does_not_make_the_answers_equal_leaves_a_mismatch() {
        let e = experiment(FIZZ_BUZZ);
        for candidate in ["14\nFizz Buzz\n16", "14\nFizz-Buzz", "13\nFizz Buzz"] {
            let v = compare_candidate(&e, "x", &text(200, "14\nFizzBuzz"), &text(200, candidate));
            assert_eq!(
                (v.outcome(), v.intended),
                (Outcome::Mismatch, None),
                "{candidate:?}"
            );
        }
        // The rewrite applies to the control's answer only: a candidate printing "FizzBuzz" where
        // the control prints "Fizz Buzz" is not what was declared.
        let v = compare_candidate(&e, "x", &text(200, "Fizz Buzz"), &text(200, "FizzBuzz"));
        assert_eq!(v.outcome(), Outcome::Mismatch);
    }

    #[test]
    fn without_a_rewrite_a_difference_is_a_mismatch_as_before() {
        let e = experiment("");
        let v = compare_candidate(&e, "x", &text(200, "FizzBuzz"), &text(200, "Fizz Buzz"));
        assert_eq!(
            v,
            compare(&e, &text(200, "FizzBuzz"), &text(200, "Fizz Buzz"))
        );
        assert_eq!(v.outcome(), Outcome::Mismatch);
        // Another candidate's rewrite does not apply.
        let yaml = "experiments:\n  e:\n    comparators: [body]\n    path: /e\n    control: {name: c, function: c}\n    candidates:\n      x: {name: x, function: x}\n      y:\n        name: y\n        function: y\n        intended: [{description: d, replace: {in: body, from: FizzBuzz, to: Fizz Buzz}}]\n";
        let e = Experiments::parse(yaml).unwrap().by_name["e"].clone();
        let (control, candidate) = (text(200, "FizzBuzz"), text(200, "Fizz Buzz"));
        assert_eq!(
            compare_candidate(&e, "x", &control, &candidate).outcome(),
            Outcome::Mismatch
        );
        assert_eq!(
            compare_candidate(&e, "y", &control, &candidate).outcome(),
            Outcome::Intended
        );
        // Equal answers match; the rewrite is not even tried.
        let same = compare_candidate(&e, "y", &control, &control);
        assert_eq!((same.outcome(), same.intended), (Outcome::Match, None));
    }

    #[test]
    fn a_status_or_header_difference_is_never_excused_by_a_body_rewrite() {
        let e = experiment(FIZZ_BUZZ);
        let control = text(200, "FizzBuzz");
        for (candidate, what) in [
            (text(500, "Fizz Buzz"), "status"),
            (answer(200, "application/json", "Fizz Buzz"), "header"),
        ] {
            let v = compare_candidate(&e, "x", &control, &candidate);
            assert_eq!(v.outcome(), Outcome::Mismatch, "{what}: {v:?}");
        }
        // Nor by a verdict stored with both.
        let forged = Verdict {
            status: Some(false),
            intended: Some("d".into()),
            ..Verdict::default()
        };
        assert_eq!(forged.outcome(), Outcome::Mismatch);
    }

    #[test]
    fn rewrites_apply_in_order_and_json_paths_rewrite_one_string() {
        let e = experiment(
            "    intended:\n      - {description: first, replace: {in: $.rule, from: half up, to: half even}}\n      - {description: second, replace: {in: $.rule, from: half even, to: ties to even}}\n      - {description: unused, replace: {in: body, from: absent, to: x}}\n",
        );
        let control = answer(
            200,
            "application/json",
            r#"{"rule":"half up","other":"half up"}"#,
        );
        let candidate = answer(
            200,
            "application/json",
            r#"{"other":"half up","rule":"ties to even"}"#,
        );
        let v = compare_candidate(&e, "x", &control, &candidate);
        assert_eq!(
            (v.outcome(), v.intended.as_deref()),
            (Outcome::Intended, Some("first; second"))
        );
        // Outside the path, nothing is rewritten.
        let elsewhere = answer(
            200,
            "application/json",
            r#"{"rule":"ties to even","other":"ties to even"}"#,
        );
        assert_eq!(
            compare_candidate(&e, "x", &control, &elsewhere).outcome(),
            Outcome::Mismatch
        );
        // Not JSON, or not a string there: the path rewrites nothing.
        let rule = &e.intended[0].rewrite;
        assert_eq!(rewrite(rule, "half up"), None);
        assert_eq!(rewrite(rule, r#"{"rule": 1}"#), None);
    }

    #[test]
    fn noise_keeps_an_intended_difference_intended_unless_it_hides_the_body() {
        let e = experiment(FIZZ_BUZZ);
        let v = compare_candidate(&e, "x", &text(200, "FizzBuzz"), &text(200, "Fizz Buzz"));
        let quiet = compare(&e, &text(200, "FizzBuzz"), &text(200, "FizzBuzz"));
        assert_eq!(v.net_of(&quiet).outcome(), Outcome::Intended);
        let noisy = compare(&e, &text(200, "FizzBuzz"), &text(200, "1"));
        let net = v.net_of(&noisy);
        assert_eq!((net.outcome(), net.intended), (Outcome::Match, None));
    }

    #[test]
    fn records_stored_before_intended_differences_still_load() {
        let old = r#"{"status":true,"headers_differing":[],"body":false,"diff":"$.rounded: control 63, candidate 62"}"#;
        let v: Verdict = serde_json::from_str(old).unwrap();
        assert_eq!((v.outcome(), v.intended), (Outcome::Mismatch, None));
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
