//! One module per route; each parses its request, calls the domain and the store, maps the outcome.

pub mod aasa;
pub mod bulk;
pub mod create;
pub mod index;
pub mod manage;
pub mod openapi;
pub mod qr;
pub mod redirect;
pub mod stats;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use shared::ApiError;

/// The header that carries the API key when `CREATE_API_KEY` is set.
pub const API_KEY_HEADER: &str = "x-api-key";

/// Lets the request through when no API key is configured or it presents the configured one
/// (compared in constant time); `401` otherwise. `action` completes "… needs an API key".
pub fn authorize(app: &crate::App, request: &Request, action: &str) -> Result<(), ApiError> {
    let Some(key) = &app.config.create_api_key else {
        return Ok(());
    };
    let presented = request
        .headers()
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok());
    if presented.is_some_and(|p| key.matches(p)) {
        return Ok(());
    }
    let message = match presented {
        None => format!("{action} needs an API key: send it in the x-api-key header"),
        Some(_) => "the API key in x-api-key is not valid".to_owned(),
    };
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        message,
    ))
}

/// The public base of short URLs: `SHORT_URL_BASE`, else the scheme and host the request came in on.
pub fn short_url_base(app: &crate::App, request: &Request) -> String {
    if let Some(base) = &app.config.short_url_base {
        return base.as_str().trim_end_matches('/').to_owned();
    }
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or(v).trim().to_owned())
    };
    let scheme = header("x-forwarded-proto")
        .filter(|p| p == "http" || p == "https")
        .unwrap_or_else(|| "https".to_owned());
    let host = header("x-forwarded-host")
        .or_else(|| header("host"))
        .or_else(|| request.uri().host().map(str::to_owned))
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{scheme}://{host}")
}

/// The host names this shortener answers on, for the redirect-loop check.
pub fn own_hosts(app: &crate::App, request: &Request) -> Vec<String> {
    let mut hosts = Vec::with_capacity(2);
    if let Some(host) = app
        .config
        .short_url_base
        .as_ref()
        .and_then(|u| u.host_str())
    {
        hosts.push(host.to_ascii_lowercase());
    }
    if let Some(host) = request.headers().get("host").and_then(|v| v.to_str().ok()) {
        let name = host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host
            }
        });
        hosts.push(name.to_ascii_lowercase());
    }
    hosts
}

pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
