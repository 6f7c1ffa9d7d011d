//! `GET /`: the page that creates short URLs. Compiled into the binary, so it is loaded once per
//! cold start and never read from disk per request. Served with its Content-Security-Policy
//! ([`shared::page`]).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};

const INDEX_HTML: &str = include_str!("../../static/index.html");

pub fn get() -> Response<Body> {
    static POLICY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let mut response = shared::page::fixed(StatusCode::OK, INDEX_HTML, &POLICY);
    response.headers_mut().insert(
        "cache-control",
        lambda_http::http::HeaderValue::from_static("public, max-age=300"),
    );
    response
}
