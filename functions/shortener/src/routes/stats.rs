//! `GET /{code}/stats`: a link's target, creation time, limits, state, version, earlier targets
//! and visits. A taken-down link answers `410` with the reason, as its redirect does.
//!
//! Without the API key (`x-api-key`) the answer is the counts only ([`LinkCounts`]: state, visits,
//! analytics): the target and its history are what a visit with a limit, an expiry or a take-down
//! protects, so an anonymous client must not read them here. A wrong key is `401`, so an operator
//! with a mistyped key is not silently shown less. With `ALLOW_ANONYMOUS_WRITES` everyone is an
//! operator.
//!
//! `visits` of an unlimited link is the sum of its counter shards, read eventually consistently:
//! it may lag a redirect by a moment, and it misses the (logged) visits whose count failed. For a
//! link with `maxVisits` it is the exact count the limit is enforced on. With `COUNT_VISITS=false`
//! it is left out for links without `maxVisits`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use shared::ApiError;

use crate::App;
use crate::domain::code::ShortCode;
use crate::domain::link::{Availability, Link, rfc3339};

/// A link as stats and edits report it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkView {
    pub code: String,
    pub url: String,
    pub created_at: String,
    /// Left out by edits, and for links without `maxVisits` when `COUNT_VISITS` is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visits: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_visits: Option<u64>,
    /// `live`, `expired`, `visit_limit_reached` or `disabled`.
    pub status: &'static str,
    pub disabled: bool,
    /// What an edit sends as `version` to be applied only to this state of the link.
    pub version: u64,
    /// Earlier targets, oldest first.
    pub history: Vec<HistoryEntry>,
    /// The last [`DAYS`] UTC days of analytics, oldest first (stats only, when counting visits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily: Option<Vec<DayView>>,
}

/// What stats show a client without the API key: no target, no limits, no history.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkCounts {
    pub code: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visits: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily: Option<Vec<DayView>>,
}

impl From<LinkView> for LinkCounts {
    fn from(view: LinkView) -> Self {
        Self {
            code: view.code,
            status: view.status,
            visits: view.visits,
            daily: view.daily,
        }
    }
}

/// How many days of analytics stats show.
pub const DAYS: i64 = 7;

/// One day of a link's analytics.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayView {
    pub date: String,
    pub visits: u64,
    /// HyperLogLog estimate (about 3% standard error) over a salted daily hash.
    pub unique_visitors: u64,
    /// Link-preview bots (chat and social unfurlers), not counted as visits.
    pub previews: u64,
    pub referrers: std::collections::BTreeMap<String, u64>,
    pub devices: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub url: String,
    pub replaced_at: String,
}

impl LinkView {
    pub fn of(link: &Link, visits: Option<u64>, now: i64) -> Self {
        Self {
            code: link.code.to_string(),
            url: link.target.as_str().to_owned(),
            created_at: rfc3339(link.created_at),
            visits,
            expires_at: link.limits.expires_at.map(rfc3339),
            max_visits: link.limits.max_visits,
            status: link.availability(now).as_str(),
            disabled: link.disabled,
            version: link.version,
            history: link
                .history
                .iter()
                .map(|change| HistoryEntry {
                    url: change.url.clone(),
                    replaced_at: rfc3339(change.replaced_at),
                })
                .collect(),
            daily: None,
        }
    }
}

pub async fn get(app: &App, request: &Request, raw_code: &str) -> Response<Body> {
    let operator = match super::presents_key(app, request) {
        Ok(operator) => operator,
        Err(error) => return error.into_response(),
    };
    let Ok(code) = ShortCode::parse(raw_code) else {
        return ApiError::not_found("no link has this code").into_response();
    };
    let link = match app.store.get(&code).await {
        Ok(Some(link)) => link,
        Ok(None) => return ApiError::not_found("no link has this code").into_response(),
        Err(error) => return crate::AppError::from(error).into_response(),
    };
    let now = super::now();
    if link.availability(now) == Availability::TakenDown {
        return super::redirect::taken_down(&link);
    }
    let visits = if link.limits.max_visits.is_some() {
        Some(link.visits)
    } else if app.config.count_visits {
        match app
            .store
            .sharded_visits(&code, app.config.visit_shards)
            .await
        {
            Ok(visits) => Some(visits),
            Err(error) => return crate::AppError::from(error).into_response(),
        }
    } else {
        None
    };
    let mut view = LinkView::of(&link, visits, now);
    if app.config.count_visits && app.config.visit_analytics {
        let dates: Vec<String> = (0..DAYS)
            .rev()
            .map(|ago| super::redirect::day_of(now - ago * 86_400))
            .collect();
        match app.store.days(&code, &dates, app.config.visit_shards).await {
            Ok(days) => {
                view.daily = Some(
                    dates
                        .into_iter()
                        .zip(days)
                        .map(|(date, day)| DayView {
                            date,
                            visits: day.visits,
                            unique_visitors: crate::domain::analytics::estimate(day.registers),
                            previews: day.previews,
                            referrers: crate::domain::analytics::top_referrers(
                                day.referrers,
                                app.config.max_referrers as usize,
                            ),
                            devices: day.devices,
                        })
                        .collect(),
                )
            }
            Err(error) => return crate::AppError::from(error).into_response(),
        }
    }
    if operator {
        shared::http::json(StatusCode::OK, &view)
    } else {
        shared::http::json(StatusCode::OK, &LinkCounts::from(view))
    }
}
