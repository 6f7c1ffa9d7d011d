//! Cases learned from an experiment: the inputs on which a candidate differed from the control
//! become release gate cases, with the answer a release must give (the control's, or for a
//! difference the experiment intends, the candidate's), so that the next release that changes
//! them is stopped by the pre-traffic hook instead of being found by an experiment again.
//!
//! `./build.sh experiments gate-cases` picks the inputs (a few per kind of difference:
//! [`differing_fields`]), asks the function for its answer, and writes them with [`section`] into
//! the family's `cases/<family>.yaml`, between markers, replacing what an earlier run wrote for
//! the same experiment. They are compiled into the hook like the hand-written cases.

use std::collections::BTreeMap;

use serde_json::Value;

pub use experiments::domain::compare::differing_fields;

/// One learned case: the request and the answer a release must give.
#[derive(Debug, Clone, PartialEq)]
pub struct Learned {
    pub name: String,
    pub method: String,
    pub path: String,
    /// Decoded parameters.
    pub query: BTreeMap<String, String>,
    pub body: Option<String>,
    pub status: u16,
    pub content_type: String,
    pub answer: String,
}

impl Learned {
    /// The case in the format of `cases/<family>.yaml`: JSON bodies as `json:`, others as `text:`.
    pub fn to_value(&self) -> Value {
        let mut request = serde_json::json!({"method": self.method, "path": self.path});
        if !self.query.is_empty() {
            request["query"] = serde_json::to_value(&self.query).unwrap_or_default();
        }
        if let Some(body) = &self.body {
            match serde_json::from_str::<Value>(body) {
                Ok(json) => request["json"] = json,
                Err(_) => request["text"] = Value::from(body.as_str()),
            }
        }
        let mut expect =
            serde_json::json!({"status": self.status, "content_type": self.content_type});
        let json_answer = self
            .content_type
            .starts_with("application/json")
            .then(|| serde_json::from_str::<Value>(&self.answer).ok())
            .flatten();
        match json_answer {
            Some(json) => expect["json"] = json,
            None => expect["text"] = Value::from(self.answer.as_str()),
        }
        serde_json::json!({"name": self.name, "request": request, "expect": expect})
    }
}

/// The markers around what one experiment's run wrote.
fn markers(experiment: &str) -> (String, String) {
    (
        format!(
            "# --- learned from experiment {experiment} (./build.sh experiments gate-cases): begin ---"
        ),
        format!("# --- learned from experiment {experiment}: end ---"),
    )
}

/// `existing` (a family's cases file) with `cases` learned from `experiment` between its markers:
/// an earlier run's section is replaced, else the section is appended. No cases removes it.
pub fn section(existing: &str, experiment: &str, cases: &[Learned]) -> Result<String, String> {
    let (begin, end) = markers(experiment);
    let kept = match (existing.find(&begin), existing.find(&end)) {
        (Some(b), Some(e)) if b < e => {
            let after = &existing[e + end.len()..];
            format!(
                "{}{}",
                existing[..b].trim_end(),
                after.strip_prefix('\n').unwrap_or(after)
            )
        }
        (None, None) => existing.trim_end().to_owned(),
        _ => {
            return Err(format!(
                "the markers of {experiment}'s learned cases are broken"
            ));
        }
    };
    if cases.is_empty() {
        return Ok(format!("{}\n", kept.trim_end()));
    }
    let values: Vec<Value> = cases.iter().map(Learned::to_value).collect();
    let yaml = serde_norway::to_string(&values).map_err(|e| e.to_string())?;
    Ok(format!("{}\n\n{begin}\n{}{end}\n", kept.trim_end(), yaml))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cases::parse;

    fn learned(name: &str, number: &str, rounded: i64) -> Learned {
        Learned {
            name: name.to_owned(),
            method: "GET".to_owned(),
            path: "/round".to_owned(),
            query: BTreeMap::from([("number".to_owned(), number.to_owned())]),
            body: None,
            status: 200,
            content_type: "application/json".to_owned(),
            answer: format!(r#"{{"number":{number},"rounded":{rounded}}}"#),
        }
    }

    #[test]
    fn a_section_is_added_replaced_and_removed_and_stays_valid_cases() {
        let existing = "# round's gate\n\n- name: one\n  request: {method: GET, path: /round, query: {number: \"1.4\"}}\n  expect: {status: 200, content_type: application/json, json: {number: 1.4, rounded: 1}}\n";
        let first = section(existing, "round", &[learned("learned: 62.5", "62.5", 63)]).unwrap();
        let cases = parse("round", &first).unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[1].request.path_and_query(), "/round?number=62.5");
        assert!(first.starts_with("# round's gate"));
        // Run again: the section is replaced, not repeated; other experiments' sections stay.
        let again = section(&first, "round", &[learned("learned: 0.5", "0.5", 1)]).unwrap();
        let other = section(&again, "chaos", &[learned("chaos: 2.5", "2.5", 3)]).unwrap();
        let names: Vec<String> = parse("round", &other)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["one", "learned: 0.5", "chaos: 2.5"]);
        // No cases: the section goes, the rest as it was.
        let removed = section(&other, "round", &[]).unwrap();
        let names: Vec<String> = parse("round", &removed)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["one", "chaos: 2.5"]);
        assert_eq!(
            section(&removed, "chaos", &[]).unwrap(),
            existing.to_owned()
        );
    }
}
