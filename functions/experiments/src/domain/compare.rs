//! Comparing a candidate's answer with the control's: status, named headers, body (JSON-aware, with
//! ignored paths), the differences the experiment intends (the control's answer rewritten, see
//! [`crate::domain::definition`]), and the noise baseline (the control compared with itself).
//!
//! A verdict says what differs for people ([`Verdict::diff`]), in the order one reads an HTTP
//! answer: the status, then each compared header with both values, then the body: for JSON the
//! paths that differ with both values, for text the first differing line between its neighbours,
//! with a caret under the first differing character. The text is stored with every comparison, so
//! it is bounded by construction (a few kilobytes at most; a DynamoDB item holds 400 KB).

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
    /// What differs, for people, one part after another: a line `status: control 200, candidate
    /// 500` when the status differs, then a line per header in `headers_differing` (`content-type:
    /// control "application/json", candidate "text/plain"`), then, when the body differs, the
    /// body's lines (see the module's documentation). Records stored before this order hold the
    /// body's part alone.
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

    /// The mismatch left after discounting what the control disagrees with itself on; its diff
    /// keeps the parts of this one that still count.
    pub fn net_of(&self, noise: &Verdict) -> Verdict {
        let parts = self.diff_parts();
        let status = if noise.status == Some(false) {
            None
        } else {
            self.status
        };
        let body = if noise.body == Some(false) {
            None
        } else {
            self.body
        };
        let mut lines = Vec::new();
        if status == Some(false) {
            lines.extend(parts.status);
        }
        let mut headers_differing = Vec::new();
        for (name, line) in parts.headers {
            if !noise.headers_differing.contains(name) {
                headers_differing.push(name.clone());
                lines.extend(line);
            }
        }
        if body == Some(false) {
            lines.extend(parts.body);
        }
        Verdict {
            status,
            headers_differing,
            body,
            diff: (!lines.is_empty()).then(|| lines.join("\n")),
            intended: None,
        }
        .with_intended(self.intended.clone())
    }

    /// [`Verdict::diff`] cut into its parts, by the fields that say which parts it has.
    fn diff_parts(&self) -> DiffParts<'_> {
        let mut rest = self.diff.as_deref();
        let status = if self.status == Some(false) {
            next_line(&mut rest)
        } else {
            None
        };
        let headers = self
            .headers_differing
            .iter()
            .map(|name| (name, next_line(&mut rest)))
            .collect();
        DiffParts {
            status,
            headers,
            body: rest.filter(|_| self.body == Some(false)),
        }
    }

    /// `intended`, unless the answers agree anyway.
    fn with_intended(mut self, intended: Option<String>) -> Verdict {
        self.intended = if self.matches() { None } else { intended };
        self
    }
}

/// The parts of a [`Verdict::diff`]: the status line, a line per differing header, the body's
/// lines.
struct DiffParts<'a> {
    status: Option<&'a str>,
    headers: Vec<(&'a String, Option<&'a str>)>,
    body: Option<&'a str>,
}

/// The first line of `rest`, which keeps what follows it.
fn next_line<'a>(rest: &mut Option<&'a str>) -> Option<&'a str> {
    let text = rest.take()?;
    match text.split_once('\n') {
        Some((line, after)) => {
            *rest = Some(after);
            Some(line)
        }
        None => Some(text),
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
    let status_differs = comparators.status && control.status != candidate.status;
    let headers_differing: Vec<String> = comparators
        .headers
        .iter()
        .filter(|h| control.headers.get(*h) != candidate.headers.get(*h))
        .cloned()
        .collect();
    let body = comparators
        .body
        .then(|| body_difference(experiment, &control.body, &candidate.body));
    let mut lines = Vec::new();
    if status_differs {
        lines.push(format!(
            "status: control {}, candidate {}",
            control.status, candidate.status
        ));
    }
    for name in &headers_differing {
        lines.push(format!(
            "{}: control {}, candidate {}",
            name.escape_debug(),
            header_value(control.headers.get(name)),
            header_value(candidate.headers.get(name)),
        ));
    }
    if let Some(Some(text)) = &body {
        lines.push(text.clone());
    }
    Verdict {
        status: comparators.status.then_some(!status_differs),
        headers_differing,
        body: body.map(|difference| difference.is_none()),
        diff: (!lines.is_empty()).then(|| lines.join("\n")),
        intended: None,
    }
}

/// A header's value quoted, or `(absent)`.
fn header_value(value: Option<&String>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), |v| format!("{:?}", excerpt(v)))
}

/// How many differing JSON paths a diff lists; the rest are counted.
const JSON_DIFFERENCES: usize = 3;

/// `None` when the bodies are equal: as JSON without the ignored paths when both are JSON, else
/// byte for byte. Otherwise, for people: when both are JSON, a line per differing path (at most
/// [`JSON_DIFFERENCES`], then `… N more differences`), values redacted where the experiment says;
/// else the first differing line of text, see [`text_difference`].
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
        hide_redacted(experiment, &mut a, &mut b);
        let mut found = Differences::default();
        json_differences("$", &a, &b, &mut found);
        if found.count == 0 {
            return None;
        }
        let mut lines: Vec<String> = found
            .shown
            .into_iter()
            .map(|difference| {
                if experiment.redact.iter().any(|p| p.covers(&difference.at)) {
                    format!("{}: the values differ (redacted)", excerpt(&difference.at))
                } else {
                    difference.text
                }
            })
            .collect();
        lines.extend(more(found.count - lines.len(), "difference", "differences"));
        return Some(lines.join("\n"));
    }
    let difference = text_difference(control, candidate)?;
    if !experiment.redact.is_empty() {
        return Some("body: the answers differ and are not JSON (redacted)".to_owned());
    }
    Some(difference)
}

/// Replaces each redacted value in `a` and `b` with a placeholder, the same in both when the values
/// are equal: a difference inside one still shows, at its path, as redacted, and a difference
/// found around it (a whole object that differs) shows the placeholder, not the value.
fn hide_redacted(experiment: &Experiment, a: &mut serde_json::Value, b: &mut serde_json::Value) {
    for path in &experiment.redact {
        // Where only one has it, the difference is its presence: one placeholder is enough.
        let differ = match (path.find_mut(a), path.find_mut(b)) {
            (Some(x), Some(y)) => {
                let mut found = Differences::default();
                json_differences("$", x, y, &mut found);
                found.count > 0
            }
            _ => false,
        };
        let (control, candidate) = if differ {
            ("<redacted, control>", "<redacted, candidate>")
        } else {
            ("<redacted>", "<redacted>")
        };
        path.replace_in(a, &serde_json::Value::from(control));
        path.replace_in(b, &serde_json::Value::from(candidate));
    }
}

/// `… 3 more differences`, or nothing when there are none.
fn more(count: usize, one: &str, many: &str) -> Option<String> {
    match count {
        0 => None,
        1 => Some(format!("… 1 more {one}")),
        n => Some(format!("… {n} more {many}")),
    }
}

/// Characters of a differing line shown before its first difference.
const BEFORE: usize = 40;
/// Characters of a line shown at most.
const LINE_CHARS: usize = 100;

/// Where two texts first differ, for people; `None` when they are equal. The line's number
/// (unless both are one line), the line before it, the control's and the candidate's line quoted
/// with a caret under the first character that differs, the line after it when both have it alike,
/// and how many lines below differ too. Long lines are cut around the difference, `…` outside the
/// quotes where cut.
///
/// ```text
/// body, line 15:
///   line 14    "14"
///   control    "FizzBuzz"
///   candidate  "Fizz Buzz"
///                   ^
///   line 16    "16"
/// ```
fn text_difference(control: &str, candidate: &str) -> Option<String> {
    let a: Vec<&str> = control.split('\n').collect();
    let b: Vec<&str> = candidate.split('\n').collect();
    let lines = a.len().max(b.len());
    let differs = |i: &usize| a.get(*i) != b.get(*i);
    let first = (0..lines).find(differs)?;
    let mut heading = if lines == 1 {
        "body".to_owned()
    } else {
        format!("body, line {}", first + 1)
    };
    if a.len() != b.len() {
        heading.push_str(&format!(
            " (control {} lines, candidate {})",
            a.len(),
            b.len()
        ));
    }
    heading.push(':');
    let (x, y) = (a.get(first).copied(), b.get(first).copied());
    let at = match (x, y) {
        (Some(x), Some(y)) => first_differing_char(x, y),
        _ => 0,
    };
    let start = at.saturating_sub(BEFORE);
    let shown = |line: Option<&str>| match line {
        Some(line) => quoted(line, start),
        None => format!("(no line {})", first + 1),
    };
    // The first differing line is the first: the line before it is alike in both.
    let before = first
        .checked_sub(1)
        .map(|i| (format!("line {first}"), quoted(a[i], 0)));
    let after = first + 1;
    let after = a
        .get(after)
        .filter(|line| b.get(after) == Some(*line))
        .map(|line| (format!("line {}", after + 1), quoted(line, 0)));
    let width = [before.as_ref(), after.as_ref()]
        .into_iter()
        .flatten()
        .map(|(label, _)| label.chars().count())
        .chain(["candidate".len()])
        .max()
        .unwrap_or_default();
    let row = |label: &str, text: &str| format!("  {label:<width$}  {text}");
    let mut out = vec![heading];
    out.extend(before.map(|(label, text)| row(&label, &text)));
    out.push(row("control", &shown(x)));
    out.push(row("candidate", &shown(y)));
    if let Some(x) = x.filter(|_| y.is_some()) {
        // Both lines have the same characters up to `at`, so their quoted forms do too.
        let prefix: String = x.chars().skip(start).take(at - start).collect();
        let column = usize::from(start > 0) + format!("{prefix:?}").chars().count() - 1;
        out.push(row("", &format!("{:column$}^", "")));
    }
    out.extend(after.map(|(label, text)| row(&label, &text)));
    out.extend(more(
        (first + 1..lines).filter(differs).count(),
        "differing line",
        "differing lines",
    ));
    Some(out.join("\n"))
}

/// How many characters `a` and `b` have alike at their start.
fn first_differing_char(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// At most [`LINE_CHARS`] characters of `line` from character `start`, quoted as Rust quotes
/// strings (control characters and quotes escaped), with `…` outside the quotes where cut.
fn quoted(line: &str, start: usize) -> String {
    let shown: String = line.chars().skip(start).take(LINE_CHARS).collect();
    let cut_after = line.chars().count() > start + LINE_CHARS;
    format!(
        "{}{shown:?}{}",
        if start > 0 { "…" } else { "" },
        if cut_after { "…" } else { "" }
    )
}

/// The differences found between two JSON values: the first few for people, and how many in all.
#[derive(Default)]
struct Differences {
    shown: Vec<Difference>,
    count: usize,
}

impl Differences {
    fn add(&mut self, at: String, text: impl FnOnce(&str) -> String) {
        if self.shown.len() < JSON_DIFFERENCES {
            self.shown.push(Difference {
                text: text(&at),
                at,
            });
        }
        self.count += 1;
    }
}

/// Where two JSON values differ, and how, for people.
struct Difference {
    at: String,
    text: String,
}

/// Two JSON numbers are the same answer when they are the same integer, or, when either is
/// written as a float, the same `f64`: 63 and 63.0 are one number to every client that parses
/// them, but 9007199254740993 and 9007199254740992 are two integers that an `f64` cannot tell
/// apart (past 2^53 it holds only every other one), and a candidate that sorts through `f64`
/// must show as differing.
fn same_number(x: &serde_json::Number, y: &serde_json::Number) -> bool {
    let integer = |n: &serde_json::Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (integer(x), integer(y)) {
        (Some(a), Some(b)) => a == b,
        _ => x.as_f64() == y.as_f64(),
    }
}

/// Every path where `a` and `b` differ, under `at`, in document order (object keys sorted).
fn json_differences(
    at: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
    found: &mut Differences,
) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let path = format!("{at}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => json_differences(&path, p, q, found),
                    (p, q) => found.add(path, |path| {
                        format!(
                            "{}: control {}, candidate {}",
                            excerpt(path),
                            show(p),
                            show(q)
                        )
                    }),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                json_differences(&format!("{at}[{i}]"), p, q, found);
            }
        }
        (Value::Number(x), Value::Number(y)) if same_number(x, y) => {}
        _ if a == b => {}
        _ => found.add(at.to_owned(), |at| {
            format!(
                "{}: control {}, candidate {}",
                excerpt(at),
                excerpt(&a.to_string()),
                excerpt(&b.to_string())
            )
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
    fn integers_an_f64_cannot_tell_apart_differ_and_a_float_equals_its_integer() {
        let e = experiment("");
        let control = answer(
            200,
            "application/json",
            "[9007199254740992, 9007199254740993]",
        );
        let through_f64 = answer(
            200,
            "application/json",
            "[9007199254740993, 9007199254740992]",
        );
        let verdict = compare(&e, &control, &through_f64);
        assert!(!verdict.matches());
        let as_float = answer(
            200,
            "application/json",
            "[9007199254740992.0, 9007199254740993]",
        );
        assert!(
            compare(&e, &control, &as_float).matches(),
            "2^53 and 2^53 as a float"
        );
        let negative = answer(200, "application/json", "[-3, 63]");
        assert!(
            compare(
                &e,
                &negative,
                &answer(200, "application/json", "[-3.0, 63.0]")
            )
            .matches()
        );
        assert!(!compare(&e, &negative, &answer(200, "application/json", "[-3, 64]")).matches());
    }

    fn with_header(mut observed: Observed, name: &str, value: &str) -> Observed {
        observed.headers.insert(name.to_owned(), value.to_owned());
        observed
    }

    #[test]
    fn a_diff_names_the_status_then_each_header_with_both_values_then_the_body() {
        let e = experiment("");
        let json = |status, body| answer(status, "application/json", body);
        let control = json(200, r#"{"rounded":2}"#);
        let cases = [
            (
                "the body alone",
                json(200, r#"{"rounded":3}"#),
                "$.rounded: control 2, candidate 3",
            ),
            (
                "the status alone",
                json(500, r#"{"rounded":2}"#),
                "status: control 200, candidate 500",
            ),
            (
                "a header alone",
                answer(200, "text/plain", r#"{"rounded":2}"#),
                r#"content-type: control "application/json", candidate "text/plain""#,
            ),
            (
                "a header the candidate leaves out",
                Observed {
                    headers: BTreeMap::new(),
                    ..json(200, r#"{"rounded":2}"#)
                },
                r#"content-type: control "application/json", candidate (absent)"#,
            ),
            (
                "a 500 whose body says why (the chaos candidate)",
                json(500, r#"{"error":"chaos"}"#),
                "status: control 200, candidate 500\n\
                 $.error: control (absent), candidate \"chaos\"\n\
                 $.rounded: control 2, candidate (absent)",
            ),
            (
                "all three, in reading order",
                answer(404, "text/plain", r#"{"rounded":1}"#),
                "status: control 200, candidate 404\n\
                 content-type: control \"application/json\", candidate \"text/plain\"\n\
                 $.rounded: control 2, candidate 1",
            ),
        ];
        for (case, candidate, expected) in cases {
            let v = compare(&e, &control, &candidate);
            assert!(!v.matches(), "{case}");
            assert_eq!(v.diff.as_deref(), Some(expected), "{case}");
        }
    }

    #[test]
    fn headers_that_are_not_compared_are_not_named() {
        let e = experiment("");
        let control = answer(200, "application/json", "{}");
        let candidate = with_header(control.clone(), "x-request-id", "other");
        let v = compare(&e, &control, &candidate);
        assert_eq!((v.matches(), v.diff), (true, None));
    }

    #[test]
    fn json_diffs_list_the_first_three_paths_and_count_the_others() {
        let e = experiment("");
        let json = |body: &str| answer(200, "application/json", body);
        let sorted: Vec<u32> = (1..=100).collect();
        let as_strings = {
            let mut v = sorted.clone();
            v.sort_by_key(|n| n.to_string());
            v
        };
        let cases = [
            (
                "the sort exercise's answer",
                "[2,9,10]".to_owned(),
                "[10,2,9]".to_owned(),
                "$[0]: control 2, candidate 10\n$[1]: control 9, candidate 2\n$[2]: control 10, candidate 9",
            ),
            (
                "four differences",
                r#"{"a":1,"b":1,"c":1,"d":1}"#.to_owned(),
                r#"{"a":2,"b":2,"c":2,"d":2}"#.to_owned(),
                "$.a: control 1, candidate 2\n$.b: control 1, candidate 2\n$.c: control 1, candidate 2\n… 1 more difference",
            ),
            (
                "a hundred numbers sorted as strings",
                serde_json::to_string(&sorted).unwrap(),
                serde_json::to_string(&as_strings).unwrap(),
                "$[1]: control 2, candidate 10\n$[2]: control 3, candidate 100\n$[3]: control 4, candidate 11\n… 86 more differences",
            ),
            (
                "arrays of different lengths",
                "[1,2]".to_owned(),
                "[1,2,3]".to_owned(),
                "$: control [1,2], candidate [1,2,3]",
            ),
        ];
        for (case, control, candidate, expected) in cases {
            let v = compare(&e, &json(&control), &json(&candidate));
            assert_eq!(v.diff.as_deref(), Some(expected), "{case}");
        }
    }

    /// FizzBuzz from 1 to 100 as the control prints it and as the spec does.
    fn fizzbuzz_1_to_100() -> (String, String) {
        use fizzbuzz::domain::{self, Range};
        let range = Range::parse(Some("1"), Some("100")).unwrap();
        (
            domain::render(range, domain::control_line),
            domain::render(range, domain::reference_line),
        )
    }

    #[test]
    fn text_diffs_show_the_first_differing_line_between_its_neighbours_with_a_caret() {
        let (fizzbuzz_control, fizzbuzz_reference) = fizzbuzz_1_to_100();
        let cases = [
            (
                "FizzBuzz from 1 to 100",
                fizzbuzz_control.as_str(),
                fizzbuzz_reference.as_str(),
                "body, line 15:\n\
                 \x20 line 14    \"14\"\n\
                 \x20 control    \"FizzBuzz\"\n\
                 \x20 candidate  \"Fizz Buzz\"\n\
                 \x20                 ^\n\
                 \x20 line 16    \"16\"\n\
                 … 5 more differing lines",
            ),
            (
                "one line each",
                "FizzBuzz",
                "Fizz Buzz",
                "body:\n\
                 \x20 control    \"FizzBuzz\"\n\
                 \x20 candidate  \"Fizz Buzz\"\n\
                 \x20                 ^",
            ),
            (
                "the first line, the next one differing too",
                "a\nb\nc",
                "x\ny\nc",
                "body, line 1:\n\
                 \x20 control    \"a\"\n\
                 \x20 candidate  \"x\"\n\
                 \x20             ^\n\
                 … 1 more differing line",
            ),
            (
                "a line the candidate leaves out",
                "1\n2\n3",
                "1\n2",
                "body, line 3 (control 3 lines, candidate 2):\n\
                 \x20 line 2     \"2\"\n\
                 \x20 control    \"3\"\n\
                 \x20 candidate  (no line 3)",
            ),
            (
                "a trailing newline, and carriage returns, made visible",
                "a\r\nb",
                "a\nb\n",
                "body, line 1 (control 2 lines, candidate 3):\n\
                 \x20 control    \"a\\r\"\n\
                 \x20 candidate  \"a\"\n\
                 \x20              ^\n\
                 \x20 line 2     \"b\"\n\
                 … 1 more differing line",
            ),
            (
                "quotes and tabs before the difference move the caret with their escapes",
                "\"é\"\tA",
                "\"é\"\tB",
                "body:\n\
                 \x20 control    \"\\\"é\\\"\\tA\"\n\
                 \x20 candidate  \"\\\"é\\\"\\tB\"\n\
                 \x20                    ^",
            ),
        ];
        let e = experiment("");
        for (case, control, candidate, expected) in cases {
            let v = compare(&e, &text(200, control), &text(200, candidate));
            assert_eq!(v.body, Some(false), "{case}");
            let diff = v.diff.unwrap_or_default();
            assert_eq!(diff, expected, "{case}:\n{diff}\n---\n{expected}");
        }
    }

    #[test]
    fn a_long_line_is_cut_around_its_first_difference_with_the_caret_under_it() {
        let before = "x".repeat(300);
        let control = format!("{before}A{before}");
        let candidate = format!("{before}B{before}");
        let diff = text_difference(&control, &candidate).unwrap();
        let lines: Vec<&str> = diff.lines().collect();
        let window = format!(
            "\"{}A{}\"",
            "x".repeat(BEFORE),
            "x".repeat(LINE_CHARS - BEFORE - 1)
        );
        assert_eq!(lines[1], format!("  control    …{window}…"), "{diff}");
        let caret = lines[3].find('^').unwrap();
        assert_eq!(lines[1].chars().nth(caret), Some('A'), "{diff}");
        assert_eq!(lines[2].chars().nth(caret), Some('B'), "{diff}");
    }

    #[test]
    fn diffs_stay_small_whatever_the_answers() {
        let e = experiment("");
        let huge = "é".repeat(1_000_000);
        let escapes = "\u{1}".repeat(100_000);
        let numbers = |offset: u64| {
            let v: Vec<u64> = (0..100_000).map(|n| n + offset).collect();
            serde_json::to_string(&v).unwrap()
        };
        let key = |v: u32| {
            format!(
                r#"{{"{}":{{"{}":{v}}}}}"#,
                "k".repeat(50_000),
                "j".repeat(50_000)
            )
        };
        let cases = [
            ("one huge line", format!("{huge}a"), format!("{huge}b")),
            (
                "huge lines around",
                format!("{huge}\na\n{huge}"),
                format!("{huge}\nb\n{huge}"),
            ),
            (
                "control characters",
                format!("{escapes}a{escapes}"),
                format!("{escapes}b{escapes}"),
            ),
            (
                "many lines, all different",
                "a\n".repeat(100_000),
                "b\n".repeat(100_000),
            ),
            ("a huge JSON array", numbers(0), numbers(1)),
            ("huge JSON keys", key(1), key(2)),
        ];
        for (case, control, candidate) in cases {
            let long = |body: &str| Observed {
                headers: BTreeMap::from([("content-type".to_owned(), huge.clone())]),
                ..text(500, body)
            };
            let v = compare(&e, &text(200, &control), &long(&candidate));
            let diff = v.diff.unwrap_or_default();
            assert!(diff.len() < 8_000, "{case}: {} bytes\n{diff}", diff.len());
            assert!(diff.starts_with("status: "), "{case}");
        }
    }

    #[test]
    fn net_of_noise_the_diff_keeps_the_parts_that_still_count() {
        let e = experiment("");
        let control = answer(200, "application/json", r#"{"at":1}"#);
        let candidate = answer(500, "text/plain", r#"{"at":3}"#);
        let verdict = compare(&e, &control, &candidate);
        let status = "status: control 200, candidate 500";
        let header = r#"content-type: control "application/json", candidate "text/plain""#;
        let body = "$.at: control 1, candidate 3";
        let cases = [
            ("no noise", control.clone(), vec![status, header, body]),
            (
                "a body that changes",
                answer(200, "application/json", r#"{"at":2}"#),
                vec![status, header],
            ),
            (
                "a status that changes",
                answer(503, "application/json", r#"{"at":1}"#),
                vec![header, body],
            ),
            (
                "a header that changes",
                answer(200, "text/html", r#"{"at":1}"#),
                vec![status, body],
            ),
            ("everything changes", answer(503, "text/html", "{}"), vec![]),
        ];
        for (case, again, expected) in cases {
            let net = verdict.net_of(&compare(&e, &control, &again));
            let expected = (!expected.is_empty()).then(|| expected.join("\n"));
            assert_eq!(net.diff, expected, "{case}");
            assert_eq!(net.matches(), net.diff.is_none(), "{case}");
        }
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
    fn a_difference_around_a_redacted_path_shows_no_redacted_value() {
        let e = experiment("    redact: [$.user.password, $.key]\n");
        let json = |body: &str| answer(200, "application/json", body);
        let control = r#"{"user":{"name":"ann","password":"hunter2"},"key":"k1"}"#;
        let cases = [
            (
                "the object holding it differs in type",
                r#"{"user":null,"key":"k1"}"#,
                r#"$.user: control {"name":"ann","password":"<redacted>"}, candidate null"#,
            ),
            (
                "the object holding it is absent",
                r#"{"key":"k1"}"#,
                r#"$.user: control {"name":"ann","password":"<redacted>"}, candidate (absent)"#,
            ),
            (
                "the redacted values differ, and a value beside them",
                r#"{"user":{"name":"bob","password":"hunter3"},"key":"k2"}"#,
                "$.key: the values differ (redacted)\n\
                 $.user.name: control \"ann\", candidate \"bob\"\n\
                 $.user.password: the values differ (redacted)",
            ),
            (
                "the whole answer differs in type",
                "[1]",
                r#"$: control {"key":"<redacted>","user":{"name":"ann","password":"<redacted>"}}, candidate [1]"#,
            ),
        ];
        for (case, candidate, expected) in cases {
            let diff = compare(&e, &json(control), &json(candidate)).diff;
            assert_eq!(diff.as_deref(), Some(expected), "{case}");
        }
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

    /// Texts of a few short lines from a few characters, quotes and tabs among them: lines often
    /// alike, and differences after characters that are escaped when quoted.
    fn texts() -> impl Strategy<Value = String> {
        proptest::collection::vec("[ab\"é\t ]{0,4}", 1..8).prop_map(|lines| lines.join("\n"))
    }

    fn observed() -> impl Strategy<Value = Observed> {
        (
            prop_oneof![Just(200u16), Just(404), Just(500)],
            proptest::option::of(prop_oneof![Just("text/plain"), Just("application/json")]),
            prop_oneof![
                texts(),
                Just(r#"{"a":[1,2]}"#.to_owned()),
                Just("[1]".to_owned())
            ],
        )
            .prop_map(|(status, content_type, body)| Observed {
                status,
                headers: content_type
                    .map(|t| BTreeMap::from([("content-type".to_owned(), t.to_owned())]))
                    .unwrap_or_default(),
                body,
            })
    }

    /// The line a text diff names: `body, line 15 …:`, or `body:` when both texts are one line.
    fn named_line(diff: &str) -> usize {
        let heading = diff.lines().next().unwrap_or_default();
        match heading.strip_prefix("body, line ") {
            Some(rest) => rest
                .split([' ', ':'])
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_default(),
            None => 1,
        }
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_diff_of_two_different_texts_names_a_line_that_really_differs(
            control in texts(),
            candidate in texts(),
        ) {
            let Some(diff) = text_difference(&control, &candidate) else {
                prop_assert_eq!(&control, &candidate);
                return Ok(());
            };
            let line = named_line(&diff);
            prop_assert!(line >= 1, "{}", diff);
            let a: Vec<&str> = control.split('\n').collect();
            let b: Vec<&str> = candidate.split('\n').collect();
            prop_assert_ne!(a.get(line - 1), b.get(line - 1), "{}", diff);
            prop_assert!(a[..line - 1] == b[..line - 1], "an earlier line differs: {}", diff);
            // The caret sits under the first character the two lines do not share, in both.
            if let (Some(x), Some(y)) = (a.get(line - 1), b.get(line - 1)) {
                let at = first_differing_char(x, y);
                prop_assert!(x.chars().take(at).eq(y.chars().take(at)));
                prop_assert_ne!(x.chars().nth(at), y.chars().nth(at));
                let rows: Vec<&str> = diff.lines().collect();
                let row = rows
                    .iter()
                    .position(|r| r.starts_with("  candidate"))
                    .unwrap_or_default();
                let caret = rows[row + 1].chars().position(|c| c == '^').unwrap_or_default();
                let from_caret = |row: &str| row.chars().skip(caret).collect::<String>();
                let rest = |line: &str| format!("{:?}", line.chars().skip(at).collect::<String>());
                prop_assert_eq!(format!("\"{}", from_caret(rows[row - 1])), rest(x), "{}", diff);
                prop_assert_eq!(format!("\"{}", from_caret(rows[row])), rest(y), "{}", diff);
            }
        }

        #[test]
        fn the_comparator_gives_two_different_texts_their_text_diff(
            control in texts(),
            candidate in texts(),
        ) {
            // Texts that parse as JSON are compared as JSON.
            prop_assume!(serde_json::from_str::<serde_json::Value>(&control).is_err());
            let v = compare(&experiment(""), &text(200, &control), &text(200, &candidate));
            prop_assert_eq!(v.diff, text_difference(&control, &candidate));
        }

        #[test]
        fn equal_answers_give_no_diff(answer in observed()) {
            let v = compare(&experiment(""), &answer, &answer.clone());
            prop_assert!(v.matches());
            prop_assert_eq!(v.diff, None);
        }

        #[test]
        fn answers_differ_exactly_when_there_is_a_diff(
            control in observed(),
            candidate in observed(),
        ) {
            let v = compare(&experiment(""), &control, &candidate);
            prop_assert_eq!(v.matches(), v.diff.is_none(), "{:?}", v);
            let status_line = v.diff.as_deref().is_some_and(|d| d.starts_with("status: "));
            prop_assert_eq!(status_line, control.status != candidate.status);
        }
    }
}
