//! `PATCH /{code}` (edit a link) and `DELETE /{code}` (take it down): the operator's routes. Both
//! need the API key, as creating does (see [`super::authorize`]).
//!
//! `PATCH` body: JSON `{"version"?, "url"?, "expiresAt"?, "ttlSeconds"?, "maxVisits"?, "disabled"?}`;
//! `null` removes `expiresAt` or `maxVisits`. The write is conditional on the link's version (the
//! one sent, else the one just read), so of two edits of one version one wins and the other gets
//! `409` with `currentVersion`. `200` with the link as stats shows it.
//!
//! `DELETE` body (optional): JSON `{"reason"?}`. The link's item stays as a tombstone: the code
//! answers `410` with the reason from then on and is never handed out again. `200` with the
//! take-down.
//!
//! Both drop the dedupe item of the link's previous URL (when it names this code), so creating
//! that URL again gets a new link rather than an edited or deleted one.

use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Deserializer, Serialize};
use shared::ApiError;

use crate::App;
use crate::domain::code::ShortCode;
use crate::domain::edit::{Change, EditError, LinkEdit};
use crate::domain::link::{Availability, Link, rfc3339};
use crate::domain::target::{TargetPolicy, TargetUrl};
use crate::routes::stats::LinkView;
use crate::store::Updated;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 8 * 1024;
/// Attempts when a write races another transaction on the same items.
const MAX_ATTEMPTS: u32 = 6;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatchRequest {
    version: Option<u64>,
    url: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    expires_at: Option<Option<String>>,
    ttl_seconds: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    max_visits: Option<Option<u64>>,
    disabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeleteRequest {
    reason: Option<String>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionConflict {
    error: &'static str,
    message: String,
    current_version: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TakenDownLink {
    code: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    taken_down_at: String,
    version: u64,
}

pub async fn patch(app: &App, request: &Request, raw_code: &str) -> Response<Body> {
    if let Err(error) = super::authorize(app, request, "editing links") {
        return error.into_response();
    }
    let Ok(code) = ShortCode::parse(raw_code) else {
        return not_found();
    };
    let body: PatchRequest = match json_body(request, true) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let now = super::now();
    let edit = match parse_edit(app, request, &body, now) {
        Ok(edit) => edit,
        Err(error) => return error.into_response(),
    };
    let link = match current(app, &code).await {
        Ok(link) => link,
        Err(response) => return response,
    };
    let expected = body.version.unwrap_or(link.version);
    if expected != link.version {
        return conflict(expected, link.version);
    }
    let next = link.edited(edit, now);
    match write(app, &next, &link, expected).await {
        Ok(()) => {
            tracing::info!(code = %code, version = next.version, "link edited");
            shared::http::json(StatusCode::OK, &LinkView::of(&next, None, now))
        }
        Err(response) => response,
    }
}

pub async fn delete(app: &App, request: &Request, raw_code: &str) -> Response<Body> {
    if let Err(error) = super::authorize(app, request, "taking links down") {
        return error.into_response();
    }
    let Ok(code) = ShortCode::parse(raw_code) else {
        return not_found();
    };
    let body: DeleteRequest = match json_body(request, false) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let now = super::now();
    // A take-down does not depend on what the link says: a concurrent edit only makes it re-read.
    for _ in 0..MAX_ATTEMPTS {
        let link = match current(app, &code).await {
            Ok(link) => link,
            Err(response) => return response,
        };
        let next = match link.taken_down(body.reason.as_deref(), now) {
            Ok(next) => next,
            Err(error) => return edit_error(error).into_response(),
        };
        match write(app, &next, &link, link.version).await {
            Ok(()) => {
                tracing::info!(code = %code, "link taken down");
                return shared::http::json(
                    StatusCode::OK,
                    &TakenDownLink {
                        code: code.to_string(),
                        status: Availability::TakenDown.as_str(),
                        reason: next.takedown.as_ref().and_then(|t| t.reason.clone()),
                        taken_down_at: rfc3339(now),
                        version: next.version,
                    },
                );
            }
            // Edited meanwhile (409), or a race between transactions: read it again.
            Err(response) if response.status() == StatusCode::CONFLICT => continue,
            Err(response) => return response,
        }
    }
    crate::AppError::TooManyConflicts(MAX_ATTEMPTS).into_response()
}

/// The link as stored, or the response for a missing or taken-down one.
async fn current(app: &App, code: &ShortCode) -> Result<Link, Response<Body>> {
    match app.store.get(code).await {
        Ok(Some(link)) if link.takedown.is_some() => Err(super::redirect::taken_down(&link)),
        Ok(Some(link)) => Ok(link),
        Ok(None) => Err(not_found()),
        Err(error) => Err(crate::AppError::from(error).into_response()),
    }
}

/// Writes `next` over `previous` (stored at `expected`), retrying races between transactions;
/// a stale version becomes the `409` (or the `404`/`410` of a link gone meanwhile).
async fn write(
    app: &App,
    next: &Link,
    previous: &Link,
    expected: u64,
) -> Result<(), Response<Body>> {
    let dedupe_key = previous.target.dedupe_key();
    for attempt in 1..=MAX_ATTEMPTS {
        match app.store.update(next, expected, Some(&dedupe_key)).await {
            Ok(Updated::Done) => return Ok(()),
            Ok(Updated::Stale) => {
                let link = current(app, &next.code).await?;
                return Err(conflict(expected, link.version));
            }
            Ok(Updated::Conflict) => {
                let backoff = (5u64 << attempt.min(5)).min(150);
                tokio::time::sleep(Duration::from_millis(backoff + fastrand::u64(0..backoff)))
                    .await;
            }
            Err(error) => return Err(crate::AppError::from(error).into_response()),
        }
    }
    Err(crate::AppError::TooManyConflicts(MAX_ATTEMPTS).into_response())
}

fn parse_edit(
    app: &App,
    request: &Request,
    body: &PatchRequest,
    now: i64,
) -> Result<LinkEdit, ApiError> {
    let target = body
        .url
        .as_deref()
        .map(|raw| {
            let policy = TargetPolicy {
                own_hosts: super::own_hosts(app, request),
                blocked_domains: app.config.blocked_domains.clone(),
            };
            TargetUrl::parse(raw, &policy).map_err(|e| {
                ApiError::bad_request(e.code(), format!("{e}; send an absolute http(s) URL"))
            })
        })
        .transpose()?;
    let expires_at = match (&body.expires_at, body.ttl_seconds) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_limits",
                "give either expiresAt or ttlSeconds, not both",
            ));
        }
        (Some(Some(raw)), None) => Change::Set(
            time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
                .map_err(|_| {
                    ApiError::bad_request(
                        "invalid_limits",
                        "expiresAt must be an RFC 3339 time such as 2030-01-31T12:00:00Z, or null",
                    )
                })?
                .unix_timestamp(),
        ),
        (Some(None), None) => Change::Clear,
        (None, Some(ttl)) => Change::Set(now.saturating_add(ttl)),
        (None, None) => Change::Keep,
    };
    let max_visits = match body.max_visits {
        Some(Some(max)) => Change::Set(max),
        Some(None) => Change::Clear,
        None => Change::Keep,
    };
    LinkEdit {
        target,
        expires_at,
        max_visits,
        disabled: body.disabled,
    }
    .validate(now)
    .map_err(edit_error)
}

fn edit_error(error: EditError) -> ApiError {
    let code = match error {
        EditError::Empty => "empty_edit",
        EditError::ExpiryOutOfRange | EditError::ZeroVisits => "invalid_limits",
        EditError::ReasonTooLong => "reason_too_long",
    };
    ApiError::bad_request(code, error.to_string())
}

/// The JSON body; an empty one is `T::default()` unless `required`.
fn json_body<T: for<'de> Deserialize<'de> + Default>(
    request: &Request,
    required: bool,
) -> Result<T, ApiError> {
    let body = shared::http::body_bytes(request.body());
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body must be at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return if required {
            Err(ApiError::bad_request(
                "missing_body",
                r#"send a JSON body such as {"url": "https://example.com/", "version": 1}"#,
            ))
        } else {
            Ok(T::default())
        };
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("the body must be a JSON object with the documented fields: {e}"),
        )
    })
}

fn conflict(expected: u64, current: u64) -> Response<Body> {
    shared::http::json(
        StatusCode::CONFLICT,
        &VersionConflict {
            error: "version_conflict",
            message: format!(
                "the link is at version {current}, not {expected}: read it again (GET /{{code}}/stats) and send its version"
            ),
            current_version: current,
        },
    )
}

fn not_found() -> Response<Body> {
    ApiError::not_found("no link has this code; check the short URL").into_response()
}
