//! `GET /{code}/stats`: a link's target, creation time, limits and visits.
//!
//! `visits` of an unlimited link is the sum of its counter shards, read eventually consistently:
//! it may lag a redirect by a moment, and it misses the (logged) visits whose count failed. For a
//! link with `maxVisits` it is the exact count the limit is enforced on. With `COUNT_VISITS=false`
//! it is left out for links without `maxVisits`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use shared::ApiError;

use crate::App;
use crate::domain::code::ShortCode;
use crate::domain::link::{Availability, rfc3339};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkStats {
    pub code: String,
    pub url: String,
    pub created_at: String,
    /// Left out for links without `maxVisits` when `COUNT_VISITS` is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visits: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_visits: Option<u64>,
    /// `live`, `expired` or `visit_limit_reached`.
    pub status: &'static str,
}

pub async fn get(app: &App, raw_code: &str) -> Response<Body> {
    let Ok(code) = ShortCode::parse(raw_code) else {
        return ApiError::not_found("no link has this code").into_response();
    };
    let link = match app.store.get(&code).await {
        Ok(Some(link)) => link,
        Ok(None) => return ApiError::not_found("no link has this code").into_response(),
        Err(error) => return crate::AppError::from(error).into_response(),
    };
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
    let status = match link.availability(super::now()) {
        Availability::Live => "live",
        Availability::Expired => "expired",
        Availability::VisitsUsedUp => "visit_limit_reached",
    };
    shared::http::json(
        StatusCode::OK,
        &LinkStats {
            code: code.to_string(),
            url: link.target.as_str().to_owned(),
            created_at: rfc3339(link.created_at),
            visits,
            expires_at: link.limits.expires_at.map(rfc3339),
            max_visits: link.limits.max_visits,
            status,
        },
    )
}
