//! Comparing a candidate's answer with the control's: status, named headers, body (JSON-aware, with
//! ignored paths), the differences the experiment intends (the control's answer rewritten, see
//! [`crate::domain::definition`]), and the noise baseline (the control compared with itself).
//!
//! A verdict says what differs for people ([`Verdict::diff`]), in the order one reads an HTTP
//! answer: the status, then each compared header with both values, then the body: for JSON the
//! paths that differ with both values, for text the first differing line between its neighbours,
//! with a caret under the first differing character. The text is stored with every comparison, so
//! it is bounded by construction (a few kilobytes at most; a DynamoDB item holds 400 KB).

mod json_diff;
#[cfg(test)]
mod tests;
mod text_diff;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::definition::{Experiment, Rewrite, Within};
use json_diff::{Differences, json_differences};
use text_diff::text_difference;

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

/// At most 200 characters of `text`.
pub fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// What a difference is about, from the comparator's text: `status`, a header's name, a JSON path
/// with its indices dropped (`$[0]` and `$[3]` are one field, `$[]`), or `body` for text; the
/// kinds of difference an input shows, sorted, so that inputs group by them.
pub fn differing_fields(diff: &str) -> Vec<String> {
    let mut fields: Vec<String> = diff
        .lines()
        .filter(|line| !line.starts_with(' ') && !line.starts_with('…'))
        .filter_map(|line| {
            let (field, _) = line.split_once(':')?;
            let field = if field.starts_with("body") {
                "body".to_owned()
            } else if field.starts_with('$') {
                drop_indices(field)
            } else {
                field.to_owned()
            };
            Some(field)
        })
        .collect();
    fields.sort();
    fields.dedup();
    fields
}

/// `$.a[3].b[0]` as `$.a[].b[]`.
fn drop_indices(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '[' => {
                inside = true;
                out.push('[');
            }
            ']' => {
                inside = false;
                out.push(']');
            }
            c if inside && c.is_ascii_digit() => {}
            c => out.push(c),
        }
    }
    out
}
