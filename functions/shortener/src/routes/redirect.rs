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
//!
//! The same budget covers the day's analytics (one more write, concurrent with the count, to one
//! of the same number of shards; see [`crate::domain::analytics`]). A known link-preview bot is
//! redirected but counted only as a preview, not as a visit (on links without `maxVisits`).

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use shared::ApiError;

use crate::App;
use crate::domain::analytics;
use crate::domain::code::ShortCode;
use crate::domain::link::{Availability, Link};
use crate::store::DayVisit;

pub async fn get(app: &App, request: &Request, raw_code: &str) -> Response<Body> {
    let Ok(code) = ShortCode::parse(raw_code) else {
        return not_found();
    };
    let link = match app.store.get(&code).await {
        Ok(Some(link)) => link,
        Ok(None) => return not_found(),
        Err(error) => return crate::AppError::from(error).into_response(),
    };
    let now = super::now();
    if let Some(response) = unavailable(&link, link.availability(now)) {
        return response;
    }
    let visit =
        (app.config.count_visits && app.config.visit_analytics).then(|| day_visit(app, request));
    if link.limits.max_visits.is_some() {
        match app.store.count_limited_visit(&code).await {
            Ok(true) => {}
            Ok(false) => return used_up(),
            Err(error) => return crate::AppError::from(error).into_response(),
        }
        if let Some(visit) = &visit {
            within_budget(app, &link, Box::pin(record_day(app, &link, visit, now))).await;
        }
    } else if app.config.count_visits {
        // A link-preview bot is not a visit: only the analytics count it, apart.
        let count = async {
            match visit {
                Some(DayVisit::Preview) => Ok(()),
                _ => count_visit(app, &link).await,
            }
        };
        let record = async {
            match &visit {
                Some(visit) => record_day(app, &link, visit, now).await,
                None => Ok(()),
            }
        };
        let both = async {
            let (counted, recorded) = tokio::join!(count, record);
            counted.and(recorded)
        };
        // Boxed: the two writes' state would otherwise sit in every caller's future.
        within_budget(app, &link, Box::pin(both)).await;
    }
    redirect(&link)
}

/// What this redirect adds to the day's analytics: see [`crate::domain::analytics`].
fn day_visit(app: &App, request: &Request) -> DayVisit {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let user_agent = header("user-agent");
    let Some(device) = analytics::classify(user_agent) else {
        return DayVisit::Preview;
    };
    let ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    }
    .unwrap_or_else(|| {
        header("x-forwarded-for")
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned()
    });
    let salt = analytics::daily_salt(&app.config.code_key.derive("visitor-salt"), &today());
    DayVisit::Visit {
        referrer: analytics::referrer_host(
            request
                .headers()
                .get("referer")
                .and_then(|v| v.to_str().ok()),
        ),
        device: device.as_str(),
        register: analytics::register(&salt, &ip, user_agent),
    }
}

/// Today's UTC date, `YYYY-MM-DD`.
pub fn today() -> String {
    day_of(super::now())
}

/// The UTC date of Unix seconds, `YYYY-MM-DD`.
pub fn day_of(unix_seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .map(|t| {
            let d = t.date();
            format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
        })
        .unwrap_or_default()
}

async fn record_day(
    app: &App,
    link: &Link,
    visit: &DayVisit,
    now: i64,
) -> Result<(), crate::store::StoreError> {
    let shard = fastrand::u32(0..app.config.visit_shards);
    app.store
        .record_day(&link.code, &day_of(now), shard, visit, now)
        .await
}

/// Runs the redirect's writes within `VISIT_COUNT_BUDGET_MS`; a failure is logged, never returned.
async fn within_budget(
    app: &App,
    link: &Link,
    writes: impl std::future::Future<Output = Result<(), crate::store::StoreError>>,
) {
    match tokio::time::timeout(app.config.visit_count_budget, writes).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(code = %link.code, %error, "visit not counted"),
        Err(_) => tracing::warn!(code = %link.code, "visit not counted within its budget"),
    }
}

/// Adds one visit to a random shard of the link's counter.
pub async fn count_visit(app: &App, link: &Link) -> Result<(), crate::store::StoreError> {
    let shard = fastrand::u32(0..app.config.visit_shards);
    app.store
        .count_visit(&link.code, shard, link.limits.expires_at)
        .await
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
