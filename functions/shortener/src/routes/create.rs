//! `POST /`: create a short URL.
//!
//! Body: JSON `{"url", "alias"?, "reuse"?, "expiresAt"?, "ttlSeconds"?, "maxVisits"?}` or the same
//! fields form-encoded (the index page without JavaScript). `201` with the new link, `200` with the
//! existing one when the same URL was shortened before (unless `"reuse": false`, or the link has an
//! alias or limits: those always get a link of their own). The request needs the API key in
//! `x-api-key` (`401` otherwise) unless writes are open on purpose (`ALLOW_ANONYMOUS_WRITES`).

use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use shared::ApiError;

use crate::domain::code::{CodeError, ShortCode};
use crate::domain::link::{Limits, Link, rfc3339};
use crate::domain::target::{TargetPolicy, TargetUrl};
use crate::store::Created;
use crate::{App, AppError};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 8 * 1024;
/// Attempts before giving up on a create that keeps racing other writers.
const MAX_ATTEMPTS: u32 = 12;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateRequest {
    url: Option<String>,
    alias: Option<String>,
    reuse: Option<bool>,
    expires_at: Option<String>,
    ttl_seconds: Option<i64>,
    max_visits: Option<u64>,
}

/// A create request that passed every check.
#[derive(Debug)]
struct NewLink {
    target: TargetUrl,
    alias: Option<ShortCode>,
    reuse: bool,
    limits: Limits,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedLink {
    pub code: String,
    pub short_url: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_visits: Option<u64>,
    /// `true` when an earlier link for the same URL was returned.
    pub reused: bool,
}

pub async fn post(app: &App, request: &Request) -> Response<Body> {
    if let Err(error) = super::authorize(app, request, "creating links") {
        return error.into_response();
    }
    let fields = match read_fields(request) {
        Ok(fields) => fields,
        Err(error) => return error.into_response(),
    };
    let context = match Context::of(app, request) {
        Ok(context) => context,
        Err(error) => return error.into_response(),
    };
    match create_one(app, &context, fields).await {
        Ok((status, link)) => shared::http::json(status, &link),
        Err(error) => error.into_response(),
    }
}

/// What every link of one request is checked and answered against.
pub(crate) struct Context {
    policy: TargetPolicy,
    base: String,
}

impl Context {
    pub(crate) fn of(app: &App, request: &Request) -> Result<Self, ApiError> {
        Ok(Self {
            policy: TargetPolicy {
                own_hosts: super::own_hosts(app, request),
                blocked_domains: app.config.blocked_domains.clone(),
            },
            base: super::short_url_base(app, request)?,
        })
    }
}

/// Validates and stores one link: `201` new, `200` reused, or the error to answer with.
pub(crate) async fn create_one(
    app: &App,
    context: &Context,
    fields: CreateRequest,
) -> Result<(StatusCode, CreatedLink), ApiError> {
    let new = validate(context, fields)?;
    match create(app, new).await {
        Ok((link, reused)) => {
            tracing::info!(code = %link.code, reused, "link created");
            let status = if reused {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            Ok((
                status,
                CreatedLink {
                    short_url: format!("{}/{}", context.base, link.code),
                    code: link.code.to_string(),
                    url: link.target.as_str().to_owned(),
                    created_at: (!reused).then(|| rfc3339(link.created_at)),
                    expires_at: link.limits.expires_at.map(rfc3339),
                    max_visits: link.limits.max_visits,
                    reused,
                },
            ))
        }
        Err(CreateFailure::AliasTaken(alias)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "alias_taken",
            format!("the alias {alias:?} is already in use; choose another"),
        )),
        Err(CreateFailure::App(error)) => Err(error.into_api_error()),
    }
}

enum CreateFailure {
    AliasTaken(String),
    App(AppError),
}

impl<E: Into<AppError>> From<E> for CreateFailure {
    fn from(error: E) -> Self {
        CreateFailure::App(error.into())
    }
}

fn read_fields(request: &Request) -> Result<CreateRequest, ApiError> {
    let body = shared::http::body_bytes(request.body());
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body must be at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    let is_form = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        from_form(body)
    } else {
        from_json(body)
    }
}

fn validate(context: &Context, fields: CreateRequest) -> Result<NewLink, ApiError> {
    let url = fields.url.ok_or_else(|| {
        ApiError::bad_request(
            "missing_url",
            r#"send the URL to shorten as {"url": "https://..."}"#,
        )
    })?;
    let target = TargetUrl::parse(&url, &context.policy).map_err(|e| {
        ApiError::bad_request(e.code(), format!("{e}; send an absolute http(s) URL"))
    })?;
    let alias = fields
        .alias
        .filter(|a| !a.is_empty())
        .map(|a| {
            ShortCode::parse_alias(&a).map_err(|e| match e {
                CodeError::ReservedAlias(_) => {
                    ApiError::bad_request("reserved_alias", e.to_string())
                }
                _ => ApiError::bad_request("invalid_alias", e.to_string()),
            })
        })
        .transpose()?;
    let limits = Limits::parse(
        fields.expires_at.as_deref(),
        fields.ttl_seconds,
        fields.max_visits,
        super::now(),
    )
    .map_err(|e| ApiError::bad_request("invalid_limits", e.to_string()))?;
    Ok(NewLink {
        target,
        alias,
        reuse: fields.reuse.unwrap_or(true),
        limits,
    })
}

fn from_json(body: &[u8]) -> Result<CreateRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "missing_body",
            r#"send a JSON body such as {"url": "https://example.com/"}"#,
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!(
                r#"the body must be a JSON object such as {{"url": "https://example.com/"}}: {e}"#
            ),
        )
    })
}

fn from_form(body: &[u8]) -> Result<CreateRequest, ApiError> {
    let mut fields = CreateRequest::default();
    fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ApiError> {
        value.parse().map_err(|_| {
            ApiError::bad_request("invalid_form", format!("{name} must be a whole number"))
        })
    }
    for (name, value) in form_urlencoded::parse(body) {
        if value.is_empty() {
            continue;
        }
        match name.as_ref() {
            "url" => fields.url = Some(value.into_owned()),
            "alias" => fields.alias = Some(value.into_owned()),
            "reuse" => fields.reuse = Some(value != "false"),
            "expiresAt" => fields.expires_at = Some(value.into_owned()),
            "ttlSeconds" => fields.ttl_seconds = Some(number("ttlSeconds", &value)?),
            "maxVisits" => fields.max_visits = Some(number("maxVisits", &value)?),
            other => {
                return Err(ApiError::bad_request(
                    "invalid_form",
                    format!(
                        "unknown field {other:?}; send url, alias, reuse, expiresAt, ttlSeconds or maxVisits"
                    ),
                ));
            }
        }
    }
    Ok(fields)
}

/// Stores the link; returns it and whether it is an earlier link for the same URL.
async fn create(app: &App, new: NewLink) -> Result<(Link, bool), CreateFailure> {
    let dedupe_key = (new.alias.is_none() && new.reuse && new.limits.is_unlimited())
        .then(|| new.target.dedupe_key());
    if let Some(key) = &dedupe_key
        && let Some(code) = app.store.find_by_url(key).await?
    {
        return Ok((existing(code, new.target), true));
    }
    let mut code = match &new.alias {
        Some(alias) => alias.clone(),
        None => app.next_code().await?,
    };
    let created_at = super::now();
    for attempt in 1..=MAX_ATTEMPTS {
        let link = Link::new(code.clone(), new.target.clone(), created_at, new.limits);
        match app.store.create(&link, dedupe_key.as_deref()).await? {
            Created::New => return Ok((link, false)),
            Created::Existing(code) => return Ok((existing(code, new.target), true)),
            Created::CodeTaken if new.alias.is_some() => {
                return Err(CreateFailure::AliasTaken(code.to_string()));
            }
            Created::CodeTaken => {
                // A custom alias already holds this generated code: take the next id.
                tracing::info!(code = %code, "generated code taken by an alias; skipping it");
                code = app.next_code().await?;
            }
            Created::Conflict => {
                // Another transaction on the same items was in flight; back off and retry.
                let backoff = (5u64 << attempt.min(5)).min(150);
                tokio::time::sleep(Duration::from_millis(backoff + fastrand::u64(0..backoff)))
                    .await;
            }
        }
    }
    Err(CreateFailure::App(AppError::TooManyConflicts(MAX_ATTEMPTS)))
}

fn existing(code: ShortCode, target: TargetUrl) -> Link {
    Link::new(code, target, 0, Limits::default())
}
