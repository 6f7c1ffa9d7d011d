//! `POST /links`: create up to [`MAX_LINKS`] short URLs in one request, answered item by item.
//!
//! Body: a JSON array of create requests (each as `POST /` takes it). `200` with
//! `{"results": [...]}`, one result per item in the same order: the item's own `status` (`201`,
//! `200` reused, `4xx`/`5xx`) with the created link's fields or the `{"error", "message"}` of that
//! item, so one bad URL does not fail the batch. The batch as a whole answers `400` only when it
//! is not an array, is empty or too long; `401` without the API key (see [`super::authorize`]).

use futures::StreamExt;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::Value;
use shared::ApiError;

use super::create::{Context, CreateRequest, CreatedLink, create_one};
use crate::App;

/// The most links one request may create.
pub const MAX_LINKS: usize = 100;
/// The largest batch body: 100 items of the longest URL and then some.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Items stored at the same time: enough to hide DynamoDB's latency, few enough not to throttle.
const CONCURRENCY: usize = 8;

#[derive(Debug, Serialize)]
struct BulkResponse {
    results: Vec<ItemResult>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum ItemResult {
    Created {
        status: u16,
        #[serde(flatten)]
        link: CreatedLink,
    },
    Failed {
        status: u16,
        error: &'static str,
        message: String,
    },
}

pub async fn post(app: &App, request: &Request) -> Response<Body> {
    if let Err(error) = super::authorize(app, request, "creating links") {
        return error.into_response();
    }
    let items = match parse(request) {
        Ok(items) => items,
        Err(error) => return error.into_response(),
    };
    let context = match Context::of(app, request) {
        Ok(context) => context,
        Err(error) => return error.into_response(),
    };
    let context = &context;
    let results: Vec<ItemResult> = futures::stream::iter(items)
        .map(|item| async move {
            let outcome = match serde_json::from_value::<CreateRequest>(item) {
                Ok(fields) => create_one(app, context, fields).await,
                Err(e) => Err(ApiError::bad_request(
                    "invalid_json",
                    format!(r#"each item must be an object such as {{"url": "https://example.com/"}}: {e}"#),
                )),
            };
            match outcome {
                Ok((status, link)) => ItemResult::Created {
                    status: status.as_u16(),
                    link,
                },
                Err(error) => ItemResult::Failed {
                    status: error.status.as_u16(),
                    error: error.code,
                    message: error.message,
                },
            }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let failed = results
        .iter()
        .filter(|r| matches!(r, ItemResult::Failed { .. }))
        .count();
    tracing::info!(items = results.len(), failed, "bulk create");
    shared::http::json(StatusCode::OK, &BulkResponse { results })
}

fn parse(request: &Request) -> Result<Vec<Value>, ApiError> {
    let body = shared::http::body_bytes(request.body());
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body must be at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    let items: Vec<Value> = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!(r#"send a JSON array such as [{{"url": "https://example.com/"}}]: {e}"#),
        )
    })?;
    if items.is_empty() {
        return Err(ApiError::bad_request(
            "empty_batch",
            "send at least one link to create",
        ));
    }
    if items.len() > MAX_LINKS {
        return Err(ApiError::bad_request(
            "too_many_links",
            format!(
                "a batch holds at most {MAX_LINKS} links, not {}; split it",
                items.len()
            ),
        ));
    }
    Ok(items)
}
