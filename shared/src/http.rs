//! HTTP responses as every function writes them: JSON bodies and one shape for errors.
//!
//! Client mistakes are `4xx` with `{"error": "<code>", "message": "<what to fix>"}`. Anything else is an
//! opaque `5xx` with the same shape; its cause is logged once, where it is mapped, never sent out.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::{Deserialize, Serialize};

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable, machine-readable code such as `invalid_url`.
    pub error: String,
    /// A sentence telling the caller what to fix.
    pub message: String,
}

/// The largest request body any function reads: larger ones are answered `413 body_too_large`
/// by [`crate::run::traced`] before the handler runs (a function may keep a tighter limit of its
/// own, such as the shortener's 8 KiB). The largest any function needs is sort's list, 1 MiB.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// An error on its way to becoming a response: status, stable code, human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn method_not_allowed(allowed: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("this route accepts {allowed}"),
        )
    }

    /// The request's body is over [`MAX_REQUEST_BYTES`].
    pub fn too_large(bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is {bytes} bytes; send at most {MAX_REQUEST_BYTES} bytes"),
        )
    }

    /// A dependency (DynamoDB, another function) failed or timed out; the client may retry.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "a backing service is unavailable; retry in a moment",
        )
    }

    /// A bug or an unexpected state; details are in the logs under the request id.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "unexpected error; it has been logged",
        )
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code.to_owned(),
            message: self.message.clone(),
        }
    }

    pub fn into_response(self) -> Response<Body> {
        json(self.status, &self.body())
    }
}

impl From<ApiError> for Response<Body> {
    fn from(error: ApiError) -> Self {
        error.into_response()
    }
}

/// A JSON response. Serialising our own types cannot fail; if it ever did, the caller gets a 500.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(bytes) => with_body(status, "application/json", Body::Binary(bytes)),
        Err(error) => {
            tracing::error!(%error, "response did not serialise");
            with_body(
                StatusCode::INTERNAL_SERVER_ERROR,
                "application/json",
                Body::Text(r#"{"error":"internal_error","message":"unexpected error"}"#.into()),
            )
        }
    }
}

/// A response with a body and its content type.
pub fn with_body(status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A plain-text response.
pub fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    with_body(status, "text/plain; charset=utf-8", Body::Text(body.into()))
}

/// The request body as bytes, whatever form the event carried it in.
pub fn body_bytes(body: &Body) -> &[u8] {
    match body {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_response_has_status_json_type_and_body() {
        let response = ApiError::bad_request("invalid_url", "send an https URL").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body: ErrorBody = serde_json::from_slice(body_bytes(response.body())).unwrap();
        assert_eq!(body.error, "invalid_url");
        assert_eq!(body.message, "send an https URL");
    }

    #[test]
    fn too_large_is_413_naming_the_limit() {
        let error = ApiError::too_large(MAX_REQUEST_BYTES + 1);
        assert_eq!(error.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(error.code, "body_too_large");
        assert!(error.message.contains(&MAX_REQUEST_BYTES.to_string()));
    }
}
