//! `GET /openapi.json`: the shortener's OpenAPI 3.1 document, kept in the repository
//! (`functions/shortener/openapi.json`) and compiled into the binary. The acceptance suite
//! validates every shortener response it receives against it, so it cannot drift from the code.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};

/// The document, as kept in the repository.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

pub fn get() -> Response<Body> {
    shared::http::with_body(
        StatusCode::OK,
        "application/json",
        Body::Text(OPENAPI_JSON.to_owned()),
    )
}
