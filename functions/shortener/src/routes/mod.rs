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

use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use shared::ApiError;

use crate::config::WriteAccess;

/// The header that carries the API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// Lets the request through when writes are open on purpose or it presents the key (compared in
/// constant time); `401` otherwise. `action` completes "… needs an API key".
pub fn authorize(app: &crate::App, request: &Request, action: &str) -> Result<(), ApiError> {
    let WriteAccess::Key(key) = &app.config.access else {
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

/// Whether the request may see what only an operator sees: `true` when writes are open on purpose
/// or it presents the key, `false` when it presents none, `401` when it presents a wrong one.
pub fn presents_key(app: &crate::App, request: &Request) -> Result<bool, ApiError> {
    let WriteAccess::Key(key) = &app.config.access else {
        return Ok(true);
    };
    match request
        .headers()
        .get(API_KEY_HEADER)
        .map(|v| v.to_str().unwrap_or_default())
    {
        None => Ok(false),
        Some(presented) if key.matches(presented) => Ok(true),
        Some(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the API key in x-api-key is not valid",
        )),
    }
}

/// The public base of short URLs: `SHORT_URL_BASE`, else the domain API Gateway (or a Function URL)
/// received the request on, from its request context. Never a client's `Host` or
/// `X-Forwarded-Host`: a short URL or QR code built from those would point wherever the client
/// said. `500` (logged) when neither is there, which only a non-HTTP invocation can cause.
pub fn short_url_base(app: &crate::App, request: &Request) -> Result<String, ApiError> {
    if let Some(base) = &app.config.short_url_base {
        return Ok(base.as_str().trim_end_matches('/').to_owned());
    }
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.domain_name.clone(),
        _ => None,
    }
    .filter(|domain| !domain.is_empty())
    .map(|domain| format!("https://{domain}"))
    .ok_or_else(|| {
        tracing::error!("no SHORT_URL_BASE and no domain in the request context");
        ApiError::internal()
    })
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
