//! `GET /{code}`: `308 Permanent Redirect` to the stored URL; `404` for an unknown code, `410` once
//! the link expired, used up its visits, was disabled or taken down (with the take-down's reason).
//!
//! A `308` may be cached: `cache-control: private, max-age=90` lets a browser replay it for at most
//! 90 seconds and forbids shared caches (CDNs, proxies) from storing it, so an edit or a take-down
//! reaches every visitor within 90 seconds. Links with limits get `no-store`.
//!
//! Visit counting never fails a redirect and never holds its response: the count and the day's
//! analytics are written after the response, by work handed to [`shared::after`] (on Lambda an
//! internal extension keeps the invocation open until they end), concurrently, within
//! `VISIT_COUNT_BUDGET_MS`. The count goes to one of `VISIT_COUNTER_SHARDS` counter items picked
//! at random, so a viral link spreads its writes over that many partition keys instead of
//! throttling on one item; the day's analytics go to one of as many shards (see
//! [`crate::domain::analytics`]). A write that fails or runs past its budget is logged and
//! lost, never an error. With `COUNT_VISITS=false` those links' redirects write nothing at all.
//!
//! Links with `maxVisits` are the exception: their count is the rule that ends them, so it is a
//! conditional write on the link itself, in the request's path. A known link-preview bot (Slack,
//! Twitter, Facebook, Discord unfurlers) is counted apart as a preview, never as a visit: on a link
//! without `maxVisits` it is redirected; on a link with `maxVisits` it is answered `200` with a page
//! that does not reveal the target, so an unfurl does not use up a one-time link.

use std::time::Duration;

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use shared::ApiError;

use crate::App;
use crate::domain::analytics::{self, Device};
use crate::domain::code::ShortCode;
use crate::domain::link::{Availability, Link};
use crate::store::{DayVisit, LinkStore};

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
    let device = analytics::classify(header(request, "user-agent"));
    let day = (app.config.count_visits && app.config.visit_analytics)
        .then(|| day_visit(app, request, device, now));
    if link.limits.max_visits.is_some() {
        // Counted on the link itself, in the path, or (a preview) not at all.
        let writes = VisitWrites::new(app, &link, now, false, day);
        if device.is_none() {
            writes.defer(app);
            return preview_withheld();
        }
        match app.store.count_limited_visit(&code).await {
            Ok(true) => {}
            Ok(false) => return used_up(),
            Err(error) => return crate::AppError::from(error).into_response(),
        }
        writes.defer(app);
    } else if app.config.count_visits {
        // A link-preview bot is not a visit: only the analytics count it, apart.
        VisitWrites::new(app, &link, now, device.is_some(), day).defer(app);
    }
    redirect(&link)
}

/// The writes one redirect leaves for after its response.
struct VisitWrites {
    store: LinkStore,
    code: ShortCode,
    expires_at: Option<i64>,
    shards: u32,
    max_referrers: u32,
    budget: Duration,
    now: i64,
    /// Add one to the link's sharded visit counter.
    count: bool,
    /// Add this to the day's analytics.
    day: Option<DayVisit>,
}

impl VisitWrites {
    fn new(app: &App, link: &Link, now: i64, count: bool, day: Option<DayVisit>) -> Self {
        Self {
            store: app.store.clone(),
            code: link.code.clone(),
            expires_at: link.limits.expires_at,
            shards: app.config.visit_shards,
            max_referrers: app.config.max_referrers,
            budget: app.config.visit_count_budget,
            now,
            count,
            day,
        }
    }

    /// Hands the writes to [`shared::after`], unless there are none.
    fn defer(self, app: &App) {
        if self.count || self.day.is_some() {
            app.after.spawn(self.run());
        }
    }

    /// Both writes, concurrently, within the budget; a failure is logged, never returned.
    async fn run(self) {
        let count = async {
            if !self.count {
                return Ok(());
            }
            let shard = fastrand::u32(0..self.shards);
            self.store
                .count_visit(&self.code, shard, self.expires_at)
                .await
        };
        let record = async {
            let Some(visit) = &self.day else {
                return Ok(());
            };
            let shard = fastrand::u32(0..self.shards);
            self.store
                .record_day(
                    &self.code,
                    &day_of(self.now),
                    shard,
                    visit,
                    self.now,
                    self.max_referrers,
                )
                .await
        };
        let both = async {
            let (counted, recorded) = tokio::join!(count, record);
            counted.and(recorded)
        };
        match tokio::time::timeout(self.budget, both).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(code = %self.code, %error, "visit not counted"),
            Err(_) => tracing::warn!(code = %self.code, "visit not counted within its budget"),
        }
    }
}

fn header<'r>(request: &'r Request, name: &str) -> &'r str {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// What this redirect adds to the day's analytics (`device` `None`: a link-preview bot); see
/// [`crate::domain::analytics`].
fn day_visit(app: &App, request: &Request, device: Option<Device>, now: i64) -> DayVisit {
    let Some(device) = device else {
        return DayVisit::Preview;
    };
    let user_agent = header(request, "user-agent");
    let ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    }
    .unwrap_or_else(|| {
        header(request, "x-forwarded-for")
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned()
    });
    let salt = analytics::daily_salt(&app.visitor_secret, &day_of(now));
    DayVisit::Visit {
        referrer: analytics::referrer_host(
            Some(header(request, "referer")).filter(|r| !r.is_empty()),
        ),
        device: device.as_str(),
        register: analytics::register(&salt, &ip, user_agent),
    }
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

/// What a link-preview bot gets from a link with `maxVisits`: no visit used up, no target shown.
fn preview_withheld() -> Response<Body> {
    static POLICY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let mut response = shared::page::fixed(StatusCode::OK, PREVIEW_WITHHELD_HTML, &POLICY);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

const PREVIEW_WITHHELD_HTML: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"robots\" content=\"noindex\"><title>A short link with a visit limit</title></head><body>\
<p>This short link can be opened a limited number of times. Link previews do not use up a visit, \
so its target is not shown here: open the link itself.</p></body></html>";

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
