//! `GET /{code}`: `308 Permanent Redirect` to the stored URL; `404` for an unknown code, `410` once
//! the link expired, used up its visits, was disabled or taken down (with the take-down's reason).
//!
//! A `308` may be cached: `cache-control: private, max-age=90` lets a browser replay it for at most
//! 90 seconds and forbids shared caches (CDNs, proxies) from storing it, so an edit or a take-down
//! reaches every visitor within 90 seconds. Links with limits get `no-store`.
//!
//! Visit counting never fails a redirect and never holds it longer than `VISIT_COUNT_BUDGET_MS`:
//! the count goes to one of `VISIT_COUNTER_SHARDS` counter items picked at random, so a viral link
//! spreads its writes over that many partition keys instead of throttling on one item. If the
//! write fails or runs past its budget the redirect still answers and the miss is logged. Links
//! with `maxVisits` are the exception: their count is the rule that ends them, so it is a
//! conditional write on the link itself, in the request's path. With `COUNT_VISITS=false` the
//! other links' redirects write nothing at all.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use shared::ApiError;

use crate::App;
use crate::domain::code::ShortCode;
use crate::domain::link::{Availability, Link};

pub async fn get(app: &App, raw_code: &str) -> Response<Body> {
    let Ok(code) = ShortCode::parse(raw_code) else {
        return not_found();
    };
    let link = match app.store.get(&code).await {
        Ok(Some(link)) => link,
        Ok(None) => return not_found(),
        Err(error) => return crate::AppError::from(error).into_response(),
    };
    if let Some(response) = unavailable(&link, link.availability(super::now())) {
        return response;
    }
    if link.limits.max_visits.is_some() {
        match app.store.count_limited_visit(&code).await {
            Ok(true) => {}
            Ok(false) => return used_up(),
            Err(error) => return crate::AppError::from(error).into_response(),
        }
    } else if app.config.count_visits {
        count_visit(app, &link).await;
    }
    redirect(&link)
}

/// Counts one visit within the budget; a failure is logged, never returned.
pub async fn count_visit(app: &App, link: &Link) {
    let shard = fastrand::u32(0..app.config.visit_shards);
    let write = app
        .store
        .count_visit(&link.code, shard, link.limits.expires_at);
    match tokio::time::timeout(app.config.visit_count_budget, write).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(code = %link.code, %error, "visit not counted"),
        Err(_) => tracing::warn!(code = %link.code, "visit not counted within its budget"),
    }
}

fn redirect(link: &Link) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
    match HeaderValue::from_str(link.target.as_str()) {
        Ok(location) => {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Err(_) => return ApiError::internal().into_response(),
    }
    // Browsers cache a 308 for good unless told otherwise; a short private lifetime keeps expiry,
    // visit limits and stats meaningful.
    let cache = if link.limits.is_unlimited() {
        "private, max-age=90"
    } else {
        "no-store"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The `410` a link that does not redirect answers with; `None` when it is live.
pub fn unavailable(link: &Link, availability: Availability) -> Option<Response<Body>> {
    match availability {
        Availability::Live => None,
        Availability::Expired => Some(gone("expired", "this link has expired")),
        Availability::VisitsUsedUp => Some(used_up()),
        Availability::Disabled => Some(gone(
            "disabled",
            "this link has been disabled by its operator",
        )),
        Availability::TakenDown => Some(taken_down(link)),
    }
}

/// The body of a taken-down link's `410`: the error shape plus the operator's reason.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TakenDown<'a> {
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    taken_down_at: String,
}

pub fn taken_down(link: &Link) -> Response<Body> {
    let (reason, at) = link
        .takedown
        .as_ref()
        .map_or((None, 0), |t| (t.reason.as_deref(), t.at));
    let message = match reason {
        Some(reason) => format!("this link was taken down: {reason}"),
        None => "this link was taken down".to_owned(),
    };
    shared::http::json(
        StatusCode::GONE,
        &TakenDown {
            error: "taken_down",
            message,
            reason,
            taken_down_at: crate::domain::link::rfc3339(at),
        },
    )
}

fn not_found() -> Response<Body> {
    ApiError::not_found("no link has this code; check the short URL").into_response()
}

fn gone(code: &'static str, message: &str) -> Response<Body> {
    ApiError::new(StatusCode::GONE, code, message).into_response()
}

fn used_up() -> Response<Body> {
    gone(
        "visit_limit_reached",
        "this link has reached its visit limit",
    )
}
