//! `GET /apple-app-site-association`: the Universal Links manifest. Its content comes from the
//! `APPLE_APP_SITE_ASSOCIATION` variable, parsed and compacted once at cold start.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};

pub fn get(app: &crate::App) -> Response<Body> {
    shared::http::with_body(
        StatusCode::OK,
        "application/json",
        Body::Text(app.config.apple_app_site_association.clone()),
    )
}
