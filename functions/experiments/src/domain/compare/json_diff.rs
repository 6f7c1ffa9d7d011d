//! Where two JSON values differ, for people: each differing path with both values, numbers
//! compared as the clients that parse them would.

use super::{JSON_DIFFERENCES, excerpt};

/// The differences found between two JSON values: the first few for people, and how many in all.
#[derive(Default)]
pub(super) struct Differences {
    pub(super) shown: Vec<Difference>,
    pub(super) count: usize,
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
pub(super) struct Difference {
    pub(super) at: String,
    pub(super) text: String,
}

/// Two JSON numbers are the same answer when they are the same integer, or, when either is
/// written as a float, the same `f64`: 63 and 63.0 are one number to every client that parses
/// them, but 9007199254740993 and 9007199254740992 are two integers that an `f64` cannot tell
/// apart (past 2^53 it holds only every other one), and a candidate that sorts through `f64`
/// must show as differing.
pub(super) fn same_number(x: &serde_json::Number, y: &serde_json::Number) -> bool {
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
pub(super) fn json_differences(
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

pub(super) fn show(value: Option<&serde_json::Value>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), |v| excerpt(&v.to_string()))
}
