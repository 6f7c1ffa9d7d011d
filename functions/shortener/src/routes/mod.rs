//! One module per route; each parses its request, calls the domain and the store, maps the outcome.

pub mod aasa;
pub mod create;
pub mod index;
pub mod redirect;
pub mod stats;

use lambda_http::Request;

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
