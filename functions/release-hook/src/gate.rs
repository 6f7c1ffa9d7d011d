//! The release gate: a family's cases sent to one function (a version, on AWS) through the
//! Invoke API, each as the HTTP API (v2) event API Gateway would send, and each answer held to its
//! case. The pre-traffic hook runs it on the version CodeDeploy is about to shift traffic to; the
//! acceptance suite runs it on the controls and candidates (`tests/suite/release_gate.rs`).

use experiments::adapters::invoke::{InvokeError, Invoker};
use experiments::adapters::payload;
use experiments::domain::compare::excerpt;
use lambda_http::Body;

use crate::domain::cases::Case;
use crate::domain::check::{CaseFailure, check};

/// One case and how the function answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<'a> {
    pub case: &'a Case,
    pub result: Result<(), CaseFailure>,
}

/// Why the gate could not finish: it has no verdict on the function, only on the calls.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The Invoke API did not run the function (permissions, throttling, no such version) or its
    /// answer was lost.
    #[error("could not invoke {function} for case {case:?}")]
    Invoke {
        function: String,
        case: String,
        #[source]
        source: InvokeError,
    },
    /// A case that cannot be sent as an HTTP request (a header that is not one).
    #[error("case {case:?} is not an HTTP request")]
    Request {
        case: String,
        #[source]
        source: lambda_http::http::Error,
    },
}

/// Every case, one at a time, in order, against `function` (a name, `name:version` or an ARN, as
/// the invoker takes it). `correlation_id` goes in every event's `x-correlation-id` header, so
/// the function's log lines for the gate can be found.
pub async fn run<'a>(
    invoker: &dyn Invoker,
    function: &str,
    cases: &'a [Case],
    correlation_id: &str,
) -> Result<Vec<Outcome<'a>>, GateError> {
    let mut outcomes = Vec::with_capacity(cases.len());
    for case in cases {
        let event = event(case, correlation_id).map_err(|source| GateError::Request {
            case: case.name.clone(),
            source,
        })?;
        let result = match invoker.invoke(function, event).await {
            Ok(bytes) => match payload::observed(&bytes) {
                Some(answer) => check(case, &answer),
                None => Err(CaseFailure::NotHttp(excerpt(&String::from_utf8_lossy(
                    &bytes,
                )))),
            },
            Err(InvokeError::FunctionError(detail)) => Err(CaseFailure::FunctionError(detail)),
            Err(source @ InvokeError::Failed(_)) => {
                return Err(GateError::Invoke {
                    function: function.to_owned(),
                    case: case.name.clone(),
                    source,
                });
            }
        };
        outcomes.push(Outcome { case, result });
    }
    Ok(outcomes)
}

/// The HTTP API (v2) event for `case`: the payload the experiment runner sends its functions.
pub fn event(case: &Case, correlation_id: &str) -> Result<Vec<u8>, lambda_http::http::Error> {
    let request = &case.request;
    let mut builder = lambda_http::http::Request::builder()
        .method(request.method.as_str())
        .uri(request.path_and_query());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let body = match &request.body {
        Some(text) => Body::Text(text.clone()),
        None => Body::Empty,
    };
    let request = builder.body(body)?;
    Ok(payload::event_for(&request, correlation_id)
        .to_string()
        .into_bytes())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;
    use crate::domain::cases::Catalog;
    use crate::fakes::{Scripted, http};

    fn sort_cases() -> Vec<Case> {
        crate::domain::cases::parse(
            "sort",
            r#"
- name: sorts
  request: {method: POST, path: /sort, query: {debug: "1"}, json: [3, 1, 2]}
  expect: {status: 200, content_type: application/json, json: [1, 2, 3]}
- name: refuses
  request: {method: POST, path: /sort, json: {}}
  expect: {status: 400, content_type: application/json, error: not_a_list}
"#,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn each_case_is_sent_as_an_http_api_event_and_its_answer_checked() {
        let cases = sort_cases();
        let invoker = Scripted::new(vec![
            http(200, "text/plain", "[1,2,3]"),
            http(
                400,
                "application/json",
                r#"{"error":"not_a_list","message":"send a list"}"#,
            ),
        ]);
        let outcomes = run(&invoker, "stack-sort-control:3", &cases, "gate-d-1")
            .await
            .unwrap();
        assert_eq!(outcomes.len(), 2);
        assert!(matches!(
            outcomes[0].result,
            Err(CaseFailure::ContentType { .. })
        ));
        assert_eq!(outcomes[1].result, Ok(()));

        let sent = invoker.sent();
        let (function, event) = &sent[0];
        assert_eq!(function, "stack-sort-control:3");
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["requestContext"]["http"]["method"], "POST");
        assert_eq!(event["rawPath"], "/sort");
        assert_eq!(event["rawQueryString"], "debug=1");
        assert_eq!(event["body"], "[3,1,2]");
        assert_eq!(event["headers"]["content-type"], "application/json");
        assert_eq!(event["headers"]["x-correlation-id"], "gate-d-1");
        // The event reads back as the request the case describes.
        let request = lambda_http::request::from_str(&event.to_string()).expect("a v2 event");
        assert_eq!(request.method(), "POST");
        assert_eq!(request.uri().path(), "/sort");
    }

    #[tokio::test]
    async fn a_function_error_or_a_non_http_answer_fails_the_case_not_the_gate() {
        let cases = sort_cases();
        let invoker = Scripted::new(vec![
            Err(InvokeError::FunctionError("Unhandled: panicked".into())),
            Ok(b"\"just a string\"".to_vec()),
        ]);
        let outcomes = run(&invoker, "f", &cases, "c").await.unwrap();
        assert!(matches!(
            &outcomes[0].result,
            Err(CaseFailure::FunctionError(detail)) if detail.contains("panicked")
        ));
        assert!(matches!(&outcomes[1].result, Err(CaseFailure::NotHttp(_))));
    }

    #[tokio::test]
    async fn an_invocation_that_does_not_happen_stops_the_gate() {
        let cases = sort_cases();
        let invoker = Scripted::new(vec![Err(InvokeError::Failed("AccessDenied".into()))]);
        let error = run(&invoker, "f:2", &cases, "c").await.unwrap_err();
        assert!(
            matches!(&error, GateError::Invoke { function, case, .. } if function == "f:2" && case == "sorts"),
            "{error:?}"
        );
        assert_eq!(invoker.sent().len(), 1, "no case after it");
    }

    #[test]
    fn every_builtin_case_makes_an_event() {
        let catalog = Catalog::builtin().unwrap();
        for family in catalog.families() {
            for case in catalog.cases(family).unwrap() {
                let event = event(case, "c").unwrap_or_else(|e| panic!("{}: {e}", case.name));
                let event: Value = serde_json::from_slice(&event).unwrap();
                let query: BTreeMap<String, String> = event["queryStringParameters"]
                    .as_object()
                    .map(|q| {
                        q.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                assert_eq!(query, case.request.query, "{}", case.name);
            }
        }
    }
}
