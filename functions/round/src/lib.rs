//! `GET /round?number=62.5`: rounds a number to an integer.
//!
//! Three deployable functions share one handler shape and differ only in the rounding rule:
//! `round-control` (production: halves away from zero), `round-candidate-half-even` (banker's
//! rounding) and `round-candidate-floor` (`floor(x + 0.5)`). The rules live in [`domain`].
//!
//! Response: `200 {"number": 62.5, "rounded": 63}`. A missing or unusable `number` is a `400`
//! (`missing_number`, `invalid_number`), any method but GET a `405`.

pub mod domain;

/// Candidates written by workshop attendees (`./build.sh new-candidate <family> <name>`), one
/// module per file in `src/attendees/`, declared by build.rs: adding one edits no file here.
pub mod attendees {
    include!(concat!(env!("OUT_DIR"), "/attendees.rs"));
}
use shared::query;

use domain::{Number, Rounded, Rule};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use shared::ApiError;

/// The body of a successful response.
#[derive(Debug, Serialize)]
pub struct RoundResponse {
    pub number: f64,
    pub rounded: Rounded,
}

/// Handler of `round-control`.
pub async fn round_control(request: Request) -> Response<Body> {
    handle(request, domain::round_half_away_from_zero).await
}

/// Handler of `round-candidate-half-even`.
pub async fn round_candidate_half_even(request: Request) -> Response<Body> {
    handle(request, domain::round_half_even).await
}

/// Handler of `round-candidate-floor`.
pub async fn round_candidate_floor(request: Request) -> Response<Body> {
    handle(request, domain::round_floor_of_x_plus_half).await
}

async fn handle(request: Request, rule: Rule) -> Response<Body> {
    shared::run::traced(request, |request, _correlation_id| async move {
        match respond(&request, rule) {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    })
    .await
}

fn respond(request: &Request, rule: Rule) -> Result<Response<Body>, ApiError> {
    if request.method() != Method::GET {
        return Err(ApiError::method_not_allowed("GET"));
    }
    let text = query::param(request, "number").ok_or_else(|| {
        ApiError::bad_request(
            "missing_number",
            "add a query parameter such as ?number=62.5",
        )
    })?;
    let number = Number::parse(&text).map_err(|error| {
        ApiError::bad_request("invalid_number", format!("{error}; send e.g. ?number=62.5"))
    })?;
    let body = RoundResponse {
        number: number.value(),
        rounded: rule(number),
    };
    Ok(shared::http::json(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use shared::http::body_bytes;

    fn get(uri: &str) -> Request {
        lambda_http::http::Request::builder()
            .method(Method::GET)
            .uri(uri)
            .body(Body::Empty)
            .expect("static test request is valid")
    }

    fn json_of(response: &Response<Body>) -> Value {
        serde_json::from_slice(body_bytes(response.body())).expect("body is JSON")
    }

    #[tokio::test]
    async fn each_function_answers_with_the_number_and_its_rounding() {
        let cases = [
            (
                "control",
                round_control(get("/round?number=62.5")).await,
                63,
            ),
            (
                "half-even",
                round_candidate_half_even(get("/round?number=62.5")).await,
                62,
            ),
            (
                "floor",
                round_candidate_floor(get("/round?number=62.5")).await,
                63,
            ),
        ];
        for (name, response, rounded) in cases {
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            assert_eq!(
                response.headers()["content-type"],
                "application/json",
                "{name}"
            );
            assert_eq!(
                json_of(&response),
                json!({"number": 62.5, "rounded": rounded}),
                "{name}"
            );
        }
    }

    #[tokio::test]
    async fn floor_candidate_differs_from_control_at_minus_2_5() {
        let control = json_of(&round_control(get("/round?number=-2.5")).await);
        let floor = json_of(&round_candidate_floor(get("/round?number=-2.5")).await);
        assert_eq!(control["rounded"], -3);
        assert_eq!(floor["rounded"], -2);
    }

    #[tokio::test]
    async fn bad_input_is_a_400_with_a_code() {
        for (uri, code) in [
            ("/round", "missing_number"),
            ("/round?number=", "missing_number"),
            ("/round?number=abc", "invalid_number"),
            ("/round?number=NaN", "invalid_number"),
            ("/round?number=inf", "invalid_number"),
            ("/round?number=1e999", "invalid_number"),
        ] {
            let response = round_control(get(uri)).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
            assert_eq!(json_of(&response)["error"], code, "{uri}");
        }
    }

    #[tokio::test]
    async fn post_is_a_405() {
        let request = lambda_http::http::Request::builder()
            .method(Method::POST)
            .uri("/round?number=1")
            .body(Body::Empty)
            .expect("static test request is valid");
        let response = round_control(request).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(json_of(&response)["error"], "method_not_allowed");
    }

    #[tokio::test]
    async fn correlation_id_is_echoed() {
        let response = round_control(get("/round?number=1")).await;
        assert!(response.headers().contains_key(shared::correlation::HEADER));
    }
}
