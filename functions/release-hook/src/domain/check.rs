//! Whether an answer is what a case expects ([`check`]), and which family a deployed function
//! belongs to ([`family_of`]).

use std::fmt;

use experiments::domain::compare::{Observed, excerpt};
use serde_json::Value;

use crate::domain::cases::{BodyExpectation, Case};

/// How an answer falls short of its case; the first difference found, in the order status,
/// content type, body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseFailure {
    #[error("status {got}, expected {expected}")]
    Status { expected: u16, got: u16 },
    #[error("content-type {}, expected {expected:?}", shown(got))]
    ContentType {
        expected: String,
        got: Option<String>,
    },
    #[error("body {got:?}, expected {expected:?}")]
    Body { expected: String, got: String },
    #[error("body {got:?} is not JSON, expected {expected:?}")]
    NotJson { expected: String, got: String },
    #[error("body {got:?} is not an error with code {expected:?} and a message")]
    Error { expected: String, got: String },
    /// The function failed (panic, crash, unhandled error) instead of answering.
    #[error("the function failed: {0}")]
    FunctionError(String),
    /// The function returned something that is not an HTTP response payload.
    #[error("not an HTTP response: {0:?}")]
    NotHttp(String),
}

fn shown(value: &Option<String>) -> String {
    value
        .as_deref()
        .map_or_else(|| "absent".to_owned(), |v| format!("{v:?}"))
}

/// Whether `answer` is what `case` expects.
pub fn check(case: &Case, answer: &Observed) -> Result<(), CaseFailure> {
    let expect = &case.expect;
    if answer.status != expect.status {
        return Err(CaseFailure::Status {
            expected: expect.status,
            got: answer.status,
        });
    }
    let content_type = answer.headers.get("content-type");
    if content_type.map(|got| MediaType::parse(got)) != Some(MediaType::parse(&expect.content_type))
    {
        return Err(CaseFailure::ContentType {
            expected: expect.content_type.clone(),
            got: content_type.cloned(),
        });
    }
    let got = || excerpt(&answer.body);
    match &expect.body {
        BodyExpectation::Any => Ok(()),
        BodyExpectation::Text(text) if answer.body == *text => Ok(()),
        BodyExpectation::Text(text) => Err(CaseFailure::Body {
            expected: excerpt(text),
            got: got(),
        }),
        BodyExpectation::Json(value) => match serde_json::from_str::<Value>(&answer.body) {
            Ok(body) if body == *value => Ok(()),
            Ok(_) => Err(CaseFailure::Body {
                expected: excerpt(&value.to_string()),
                got: got(),
            }),
            Err(_) => Err(CaseFailure::NotJson {
                expected: excerpt(&value.to_string()),
                got: got(),
            }),
        },
        BodyExpectation::Error(code) => {
            let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
            let has_message = body["message"].as_str().is_some_and(|m| !m.is_empty());
            if body["error"].as_str() == Some(code.as_str()) && has_message {
                Ok(())
            } else {
                Err(CaseFailure::Error {
                    expected: code.clone(),
                    got: got(),
                })
            }
        }
    }
}

/// A content type compared as HTTP does: the media type and parameter names in any case, the
/// spaces around `;` and `=` not counted, parameters in any order. (Charset values are
/// case-insensitive too, and no case here expects another parameter.)
#[derive(Debug, PartialEq, Eq)]
struct MediaType(Vec<String>);

impl MediaType {
    fn parse(text: &str) -> Self {
        let mut parts = text.split(';').map(|part| {
            part.split('=')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("=")
                .to_ascii_lowercase()
        });
        let essence = parts.next().unwrap_or_default();
        let mut parameters: Vec<String> = parts.filter(|p| !p.is_empty()).collect();
        parameters.sort();
        Self(std::iter::once(essence).chain(parameters).collect())
    }
}

/// A workshop family, as `functions.toml` names it (`round`, `sort`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Family(String);

impl Family {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The deployment's function is not a control of this stack: the hook has no cases for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{function:?} is not a control of stack {stack:?} (<stack>-<family>-control)")]
pub struct NotAControl {
    pub function: String,
    pub stack: String,
}

/// The family of a control deployed as `<stack>-<family>-control`. `function` is a function
/// name as CodeDeploy reports it; an ARN, or a name with a version or alias, gives the same.
pub fn family_of(function: &str, stack: &str) -> Result<Family, NotAControl> {
    let name = match function.split_once(":function:") {
        Some((arn, rest)) if arn.starts_with("arn:") => rest,
        _ => function,
    };
    let name = name.split(':').next().unwrap_or_default();
    name.strip_prefix(stack)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|rest| rest.strip_suffix("-control"))
        .filter(|family| !family.is_empty() && !stack.is_empty())
        .map(|family| Family(family.to_owned()))
        .ok_or_else(|| NotAControl {
            function: function.to_owned(),
            stack: stack.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::domain::cases::{CaseRequest, Expectation};

    fn case(status: u16, content_type: &str, body: BodyExpectation) -> Case {
        Case {
            family: "round".into(),
            name: "a case".into(),
            request: CaseRequest {
                method: "GET".into(),
                path: "/round".into(),
                query: BTreeMap::new(),
                headers: BTreeMap::new(),
                body: None,
            },
            expect: Expectation {
                status,
                content_type: content_type.into(),
                body,
            },
        }
    }

    fn answer(status: u16, content_type: Option<&str>, body: &str) -> Observed {
        Observed {
            status,
            headers: content_type
                .map(|ct| ("content-type".to_owned(), ct.to_owned()))
                .into_iter()
                .collect(),
            body: body.into(),
        }
    }

    #[test]
    fn an_answer_as_expected_passes() {
        let json_case = case(
            200,
            "application/json",
            BodyExpectation::Json(json!({"number": 62.4, "rounded": 62})),
        );
        let table = [
            (
                "same JSON, other key order and spacing",
                &json_case,
                answer(
                    200,
                    Some("application/json"),
                    r#"{ "rounded": 62, "number": 62.4 }"#,
                ),
            ),
            (
                "exact text, content type in another case and spacing",
                &case(
                    200,
                    "text/plain; charset=utf-8",
                    BodyExpectation::Text("1\n2\nFizz".into()),
                ),
                answer(200, Some("Text/Plain;charset=UTF-8"), "1\n2\nFizz"),
            ),
            (
                "an error with its code and a message",
                &case(
                    400,
                    "application/json",
                    BodyExpectation::Error("invalid_number".into()),
                ),
                answer(
                    400,
                    Some("application/json"),
                    r#"{"error":"invalid_number","message":"send e.g. ?number=62.5"}"#,
                ),
            ),
            (
                "any body",
                &case(405, "application/json", BodyExpectation::Any),
                answer(405, Some("application/json"), "whatever"),
            ),
        ];
        for (what, case, answer) in table {
            assert_eq!(check(case, &answer), Ok(()), "{what}");
        }
    }

    #[test]
    fn a_status_mismatch_fails_first() {
        let case = case(200, "application/json", BodyExpectation::Json(json!([1])));
        assert_eq!(
            check(&case, &answer(500, Some("text/html"), "<h1>oops</h1>")),
            Err(CaseFailure::Status {
                expected: 200,
                got: 500
            })
        );
    }

    #[test]
    fn a_content_type_mismatch_or_none_fails() {
        let case = case(
            200,
            "application/json",
            BodyExpectation::Json(json!([1, 2])),
        );
        assert_eq!(
            check(&case, &answer(200, Some("text/plain"), "[1,2]")),
            Err(CaseFailure::ContentType {
                expected: "application/json".into(),
                got: Some("text/plain".into())
            })
        );
        assert_eq!(
            check(&case, &answer(200, None, "[1,2]")),
            Err(CaseFailure::ContentType {
                expected: "application/json".into(),
                got: None
            })
        );
        let with_charset =
            super::tests::case(200, "text/plain; charset=utf-8", BodyExpectation::Any);
        assert!(matches!(
            check(&with_charset, &answer(200, Some("text/plain"), "")),
            Err(CaseFailure::ContentType { .. })
        ));
    }

    #[test]
    fn a_body_mismatch_fails() {
        let json_case = case(
            200,
            "application/json",
            BodyExpectation::Json(json!([2, 9, 10])),
        );
        assert_eq!(
            check(
                &json_case,
                &answer(200, Some("application/json"), "[10,2,9]")
            ),
            Err(CaseFailure::Body {
                expected: "[2,9,10]".into(),
                got: "[10,2,9]".into()
            })
        );
        assert!(matches!(
            check(
                &json_case,
                &answer(200, Some("application/json"), "2, 9, 10")
            ),
            Err(CaseFailure::NotJson { .. })
        ));
        let text_case = case(200, "text/plain", BodyExpectation::Text("Fizz Buzz".into()));
        assert!(matches!(
            check(&text_case, &answer(200, Some("text/plain"), "FizzBuzz")),
            Err(CaseFailure::Body { .. })
        ));
        let error_case = case(
            400,
            "application/json",
            BodyExpectation::Error("invalid_number".into()),
        );
        for body in [
            r#"{"error":"missing_number","message":"add ?number="}"#,
            r#"{"error":"invalid_number"}"#,
            r#"{"error":"invalid_number","message":""}"#,
            "invalid_number",
        ] {
            assert!(
                matches!(
                    check(&error_case, &answer(400, Some("application/json"), body)),
                    Err(CaseFailure::Error { .. })
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn failures_read_as_sentences() {
        let failure = CaseFailure::ContentType {
            expected: "application/json".into(),
            got: Some("text/plain".into()),
        };
        assert_eq!(
            failure.to_string(),
            r#"content-type "text/plain", expected "application/json""#
        );
        let absent = CaseFailure::ContentType {
            expected: "application/json".into(),
            got: None,
        };
        assert_eq!(
            absent.to_string(),
            r#"content-type absent, expected "application/json""#
        );
    }

    #[test]
    fn family_of_reads_stack_family_and_control() {
        let stack = "rust-serverless-dev";
        for (function, family) in [
            ("rust-serverless-dev-round-control", "round"),
            ("rust-serverless-dev-pbkdf2-control", "pbkdf2"),
            ("rust-serverless-dev-sort-control:7", "sort"),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:rust-serverless-dev-fizzbuzz-control",
                "fizzbuzz",
            ),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:rust-serverless-dev-fizzbuzz-control:live",
                "fizzbuzz",
            ),
        ] {
            assert_eq!(
                family_of(function, stack).map(|f| f.to_string()),
                Ok(family.to_owned()),
                "{function}"
            );
        }
    }

    #[test]
    fn family_of_refuses_what_is_not_a_control_of_the_stack() {
        let stack = "rust-serverless-dev";
        for function in [
            "rust-serverless-dev-sort-candidate-fixed",
            "rust-serverless-prod-round-control",
            "rust-serverless-devround-control",
            "rust-serverless-dev--control",
            "rust-serverless-dev-pbkdf2-control-256",
            "round-control",
            "",
        ] {
            assert_eq!(
                family_of(function, stack),
                Err(NotAControl {
                    function: function.into(),
                    stack: stack.into()
                }),
                "{function}"
            );
        }
        assert!(family_of("-round-control", "").is_err());
    }
}
