//! Candidates that misbehave on purpose, for the `chaos` experiment: whatever a candidate does, the
//! client gets the control's answer, byte for byte, and the comparison records the failure.
//!
//! | function                  | does                                                    | recorded as      |
//! |---------------------------|---------------------------------------------------------|------------------|
//! | `chaos-candidate-panics`  | panics                                                   | `function_error` |
//! | `chaos-candidate-slow`    | answers after `CHAOS_SLEEP_MS` (default 2000)            | `timeout`        |
//! | `chaos-candidate-500`     | answers `500` with a JSON error                          | a mismatch       |
//! | `chaos-candidate-garbage` | answers with a payload that is not an HTTP response      | `malformed`      |

use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::ApiError;

/// Handler of `chaos-candidate-panics`.
pub async fn panics(_request: Request) -> Response<Body> {
    panic!("chaos-candidate-panics panics on every request, on purpose");
}

/// Handler of `chaos-candidate-slow`.
pub async fn slow(request: Request, sleep: Duration) -> Response<Body> {
    shared::run::traced(request, |_, _| async move {
        tokio::time::sleep(sleep).await;
        shared::http::json(
            StatusCode::OK,
            &serde_json::json!({"slept_ms": sleep.as_millis() as u64}),
        )
    })
    .await
}

/// Handler of `chaos-candidate-500`.
pub async fn fails(request: Request) -> Response<Body> {
    shared::run::traced(request, |_, _| async {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "chaos",
            "chaos-candidate-500 always fails, on purpose",
        )
        .into_response()
    })
    .await
}

/// What `chaos-candidate-garbage` returns as its raw payload: JSON, but not an HTTP response.
pub fn garbage() -> serde_json::Value {
    serde_json::json!({"this is": "not an HTTP response", "statusCode": "teapot"})
}

/// `CHAOS_SLEEP_MS`, default 2000.
pub fn sleep_from_env() -> Result<Duration, shared::config::ConfigError> {
    shared::config::parsed_or(&shared::config::ProcessEnv, "CHAOS_SLEEP_MS", 2_000u64)
        .map(Duration::from_millis)
}
