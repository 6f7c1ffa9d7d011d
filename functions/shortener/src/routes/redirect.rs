//! `GET /{code}`: `308 Permanent Redirect` to the stored URL; `404` for an unknown code, `410` once
//! the link expired or used up its visits.
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
    match link.availability(super::now()) {
        Availability::Live => {}
        Availability::Expired => return gone("expired", "this link has expired"),
        Availability::VisitsUsedUp => return used_up(),
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
