//! What `/sort` accepts and what "sorted" means, shared by the control, the exercise and its solution.
//!
//! A request body is a JSON list of only numbers or only strings (an empty list is fine). Numbers
//! sort by exact numeric value, strings by Unicode code point; equal elements keep their order.
//! Numbers are kept as `serde_json::Number`, so `10` is answered as `10`, not `10.0`.

use std::cmp::Ordering;

use serde_json::{Number, Value};

/// The largest body accepted, in bytes: a list this long is far beyond any workshop traffic.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A list that can be sorted: homogeneous, flat, no nulls.
#[derive(Debug, Clone, PartialEq)]
pub enum SortableList {
    Numbers(Vec<Number>),
    Strings(Vec<String>),
}

/// Why a body is not a [`SortableList`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("the body is {0} bytes; send at most {MAX_BODY_BYTES} bytes")]
    TooLarge(usize),
    #[error("the body is not valid JSON; send a list such as [3, 1, 2]")]
    InvalidJson,
    #[error("the body is JSON but not a list; send a list such as [3, 1, 2]")]
    NotAList,
    #[error("element {index} is {found}; the list may hold only numbers or only strings")]
    UnsupportedElement { index: usize, found: &'static str },
    #[error(
        "element {index} is a {found} in a list of {expected}s; send only numbers or only strings"
    )]
    MixedTypes {
        index: usize,
        found: &'static str,
        expected: &'static str,
    },
}

impl ListError {
    /// The stable code a client sees in the `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge(_) => "body_too_large",
            Self::InvalidJson => "invalid_json",
            Self::NotAList => "not_a_list",
            Self::UnsupportedElement { .. } => "unsupported_element",
            Self::MixedTypes { .. } => "mixed_types",
        }
    }
}

impl SortableList {
    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<Self, ListError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ListError::TooLarge(body.len()));
        }
        let value: Value = serde_json::from_slice(body).map_err(|_| ListError::InvalidJson)?;
        let Value::Array(items) = value else {
            return Err(ListError::NotAList);
        };
        let mut numbers = Vec::new();
        let mut strings = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            let expected = match (numbers.is_empty(), strings.is_empty()) {
                (false, _) => Some("number"),
                (_, false) => Some("string"),
                _ => None,
            };
            match (item, expected) {
                (Value::Number(n), None | Some("number")) => numbers.push(n),
                (Value::String(s), None | Some("string")) => strings.push(s),
                (Value::Number(_), Some(expected)) => {
                    return Err(mixed(index, "number", expected));
                }
                (Value::String(_), Some(expected)) => {
                    return Err(mixed(index, "string", expected));
                }
                (other, _) => {
                    return Err(ListError::UnsupportedElement {
                        index,
                        found: kind(&other),
                    });
                }
            }
        }
        Ok(if strings.is_empty() {
            Self::Numbers(numbers)
        } else {
            Self::Strings(strings)
        })
    }

    /// The list as the JSON a client gets back.
    pub fn to_json(&self) -> String {
        let value = match self {
            Self::Numbers(numbers) => numbers.iter().cloned().map(Value::Number).collect(),
            Self::Strings(strings) => strings.iter().cloned().map(Value::String).collect(),
        };
        Value::Array(value).to_string()
    }
}

fn mixed(index: usize, found: &'static str, expected: &'static str) -> ListError {
    ListError::MixedTypes {
        index,
        found,
        expected,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Array(_) => "a nested list",
        Value::Object(_) => "an object",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
    }
}

/// The control's sort: ascending, stable.
pub fn sorted(list: SortableList) -> SortableList {
    match list {
        SortableList::Numbers(mut numbers) => {
            numbers.sort_by(compare_numbers);
            SortableList::Numbers(numbers)
        }
        SortableList::Strings(mut strings) => {
            // `str`'s order is byte order of UTF-8, which is Unicode code point order.
            strings.sort();
            SortableList::Strings(strings)
        }
    }
}

/// Exact numeric order of two JSON numbers.
///
/// Converting everything to `f64` would make 2^53 and 2^53 + 1 equal, so integers are compared as
/// integers and an integer against a float by the float's integer part, then its fraction. JSON
/// floats are always finite here (serde_json refuses NaN and infinities).
pub fn compare_numbers(a: &Number, b: &Number) -> Ordering {
    match (integer(a), integer(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(a), None) => compare_integer_to_float(a, float(b)),
        (None, Some(b)) => compare_integer_to_float(b, float(a)).reverse(),
        (None, None) => float(a).total_cmp(&float(b)),
    }
}

fn integer(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

fn float(n: &Number) -> f64 {
    // A `Number` that is neither i64 nor u64 is an f64; 0.0 is unreachable.
    n.as_f64().unwrap_or(0.0)
}

fn compare_integer_to_float(integer: i128, float: f64) -> Ordering {
    // Every JSON integer lies within ±2^64, so a float beyond that is beyond the integer too.
    const BOUND: f64 = 18_446_744_073_709_551_616.0;
    let whole = float.floor();
    if whole >= BOUND {
        return Ordering::Less;
    }
    if whole < -BOUND {
        return Ordering::Greater;
    }
    // Exact: `whole` is an integer within ±2^64.
    match integer.cmp(&(whole as i128)) {
        Ordering::Equal if float > whole => Ordering::Less,
        order => order,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Random bodies that parse: lists of integers, of floats, of mixed-representation numbers, or
    /// of strings (any Unicode).
    pub(crate) fn any_list() -> impl Strategy<Value = SortableList> {
        let number = prop_oneof![
            any::<i64>().prop_map(Number::from),
            any::<u64>().prop_map(Number::from),
            (-100i64..100).prop_map(Number::from),
            (-1e20f64..1e20).prop_filter_map("finite", Number::from_f64),
            (-100.0f64..100.0).prop_filter_map("finite", Number::from_f64),
        ];
        prop_oneof![
            prop::collection::vec(number, 0..40).prop_map(SortableList::Numbers),
            prop::collection::vec(any::<String>(), 0..40).prop_map(SortableList::Strings),
        ]
    }

    fn parse(body: &str) -> Result<SortableList, ListError> {
        SortableList::parse(body.as_bytes())
    }

    #[test]
    fn numbers_sort_numerically() {
        let list = parse("[10, 9, 2, -1.5, 2.25, 0]").expect("valid");
        assert_eq!(sorted(list).to_json(), "[-1.5,0,2,2.25,9,10]");
    }

    #[test]
    fn strings_sort_by_code_point() {
        let list = parse(r#"["b", "a", "B", "é", "z", ""]"#).expect("valid");
        assert_eq!(sorted(list).to_json(), r#"["","B","a","b","z","é"]"#);
    }

    #[test]
    fn integers_beyond_2_pow_53_keep_their_exact_order() {
        let list =
            parse("[9007199254740993, 9007199254740992.0, 9007199254740992]").expect("valid");
        assert_eq!(
            sorted(list).to_json(),
            "[9007199254740992.0,9007199254740992,9007199254740993]"
        );
    }

    #[test]
    fn bad_bodies_are_refused_with_a_code() {
        for (body, code) in [
            ("", "invalid_json"),
            ("[1, 2", "invalid_json"),
            ("{\"a\": 1}", "not_a_list"),
            ("42", "not_a_list"),
            ("[1, \"2\"]", "mixed_types"),
            ("[\"a\", 1]", "mixed_types"),
            ("[1, null]", "unsupported_element"),
            ("[[1], [2]]", "unsupported_element"),
            ("[true]", "unsupported_element"),
            ("[{}]", "unsupported_element"),
        ] {
            assert_eq!(
                parse(body).map_err(|e| e.code()),
                Err(code),
                "body {body:?}"
            );
        }
    }

    #[test]
    fn a_body_over_one_mebibyte_is_too_large() {
        let body = format!("[{}1]", "1,".repeat(MAX_BODY_BYTES / 2));
        assert_eq!(parse(&body).map_err(|e| e.code()), Err("body_too_large"));
    }

    #[test]
    fn an_empty_list_is_a_list() {
        assert_eq!(sorted(parse("[]").expect("valid")).to_json(), "[]");
    }

    proptest! {
        #[test]
        fn sorted_numbers_are_in_ascending_f64_order_and_a_permutation(list in any_list()) {
            let output = sorted(list.clone());
            match (list, output) {
                (SortableList::Numbers(mut input), SortableList::Numbers(output)) => {
                    // An independent, coarser check: never descending as f64.
                    for pair in output.windows(2) {
                        prop_assert!(float(&pair[0]) <= float(&pair[1]), "{:?}", pair);
                    }
                    let key = |n: &Number| n.to_string();
                    let mut output_keys: Vec<_> = output.iter().map(key).collect();
                    input.sort_by_key(key);
                    output_keys.sort();
                    prop_assert_eq!(input.iter().map(key).collect::<Vec<_>>(), output_keys);
                }
                (SortableList::Strings(mut input), SortableList::Strings(output)) => {
                    let chars = |s: &String| s.chars().collect::<Vec<char>>();
                    input.sort_by_key(chars);
                    prop_assert_eq!(input, output);
                }
                (input, output) => prop_assert!(false, "kind changed: {:?} -> {:?}", input, output),
            }
        }

        #[test]
        fn integers_sort_as_i128_would(values in prop::collection::vec(any::<i64>(), 0..50)) {
            let list = SortableList::Numbers(values.iter().copied().map(Number::from).collect());
            let mut expected = values;
            expected.sort();
            let expected = SortableList::Numbers(expected.into_iter().map(Number::from).collect());
            prop_assert_eq!(sorted(list), expected);
        }

        #[test]
        fn serialised_lists_parse_back_to_the_same_json(list in any_list()) {
            let json = list.to_json();
            prop_assert_eq!(parse(&json).map(|list| list.to_json()), Ok(json));
        }
    }
}
