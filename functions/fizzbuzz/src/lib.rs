//! `GET /fizzbuzz?from=1&to=100`: the FizzBuzz sequence as plain text (slide 29).
//!
//! Two deployable functions share parsing and errors and differ in one line rule:
//! `fizzbuzz-control` (production, with its known "FizzBuzz" bug) and
//! `fizzbuzz-candidate-reference` (the spec exactly). Both live in [`domain`].
//!
//! Response: `200 text/plain; charset=utf-8`, lines joined by `\n`, empty when `from > to`. Errors
//! are `400` JSON (`invalid_from`, `invalid_to`, `range_too_large`), `405` for any method but GET.
//! An empty parameter (`?from=`) counts as not given.

pub mod domain;

/// Candidates written by workshop attendees (`./build.sh new-candidate <family> <name>`), one
/// module per file in `src/attendees/`, declared by build.rs: adding one edits no file here.
pub mod attendees {
    include!(concat!(env!("OUT_DIR"), "/attendees.rs"));
}
use shared::query;

use domain::Range;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use shared::ApiError;

/// Handler of `fizzbuzz-control`.
pub async fn fizzbuzz_control(request: Request) -> Response<Body> {
    handle(request, domain::control_line).await
}

/// Handler of `fizzbuzz-candidate-reference`.
pub async fn fizzbuzz_candidate_reference(request: Request) -> Response<Body> {
    handle(request, domain::reference_line).await
}

async fn handle(request: Request, line: fn(i128) -> String) -> Response<Body> {
    shared::run::traced(request, |request, _correlation_id| async move {
        if request.method() != Method::GET {
            return ApiError::method_not_allowed("GET").into_response();
        }
        let from = query::param(&request, "from");
        let to = query::param(&request, "to");
        match Range::parse(from.as_deref(), to.as_deref()) {
            Ok(range) => shared::http::text(StatusCode::OK, domain::render(range, line)),
            Err(error) => ApiError::bad_request(error.code(), error.to_string()).into_response(),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::http::body_bytes;

    fn get(uri: &str) -> Request {
        lambda_http::http::Request::builder()
            .method(Method::GET)
            .uri(uri)
            .body(Body::Empty)
            .expect("static test request is valid")
    }

    fn text(response: &Response<Body>) -> &str {
        std::str::from_utf8(body_bytes(response.body())).expect("UTF-8 body")
    }

    #[tokio::test]
    async fn reference_answers_plain_text_with_fizz_buzz_spelled_with_a_space() {
        let response = fizzbuzz_candidate_reference(get("/fizzbuzz?from=13&to=16")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
        assert_eq!(text(&response), "13\n14\nFizz Buzz\n16");
    }

    #[tokio::test]
    async fn control_answers_fizzbuzz_without_the_space() {
        let response = fizzbuzz_control(get("/fizzbuzz?from=13&to=16")).await;
        assert_eq!(text(&response), "13\n14\nFizzBuzz\n16");
    }

    #[tokio::test]
    async fn no_parameters_give_1_to_100() {
        let response = fizzbuzz_candidate_reference(get("/fizzbuzz")).await;
        let body = text(&response);
        assert_eq!(body.split('\n').count(), 100);
        assert!(body.starts_with("1\n2\nFizz\n") && body.ends_with("\n98\nFizz\nBuzz"));
    }

    #[tokio::test]
    async fn from_above_to_is_an_empty_200() {
        let response = fizzbuzz_candidate_reference(get("/fizzbuzz?from=5&to=-3")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(text(&response), "");
    }

    #[tokio::test]
    async fn invalid_parameters_are_a_400_with_a_code() {
        for (uri, code) in [
            ("/fizzbuzz?from=0", "invalid_from"),
            ("/fizzbuzz?from=-1", "invalid_from"),
            ("/fizzbuzz?from=abc", "invalid_from"),
            ("/fizzbuzz?to=abc", "invalid_to"),
            ("/fizzbuzz?to=1e3", "invalid_to"),
            ("/fizzbuzz?from=1&to=9999999999", "range_too_large"),
        ] {
            for response in [
                fizzbuzz_control(get(uri)).await,
                fizzbuzz_candidate_reference(get(uri)).await,
            ] {
                assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
                let error: shared::ErrorBody =
                    serde_json::from_slice(body_bytes(response.body())).expect("JSON error");
                assert_eq!(error.error, code, "{uri}");
            }
        }
    }

    #[tokio::test]
    async fn post_is_a_405() {
        let request = lambda_http::http::Request::builder()
            .method(Method::POST)
            .uri("/fizzbuzz")
            .body(Body::Empty)
            .expect("static test request is valid");
        let response = fizzbuzz_control(request).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
