//! The request wrapper every handler goes through, and the runtime loop `main` starts.
//!
//! [`traced`] gives each request a span with its request id and correlation id, echoes the correlation
//! id on the response and logs one line per request with status and duration. Handlers called
//! in-process by the tests go through it too, so both test modes see the same responses.

use std::convert::Infallible;
use std::future::Future;
use std::time::Instant;

use lambda_http::http::HeaderValue;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response, service_fn};
use tracing::Instrument;

use crate::correlation;
use crate::http::{ApiError, MAX_REQUEST_BYTES, body_bytes};

/// Runs `route` for `request` inside the request span and finishes the response. A body over
/// [`MAX_REQUEST_BYTES`] is answered `413` without calling `route`: no function does work for it.
pub async fn traced<F, Fut>(request: Request, route: F) -> Response<Body>
where
    F: FnOnce(Request, String) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let correlation_id = correlation::from_request(&request);
    let request_id = request_id(&request);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        correlation_id = %correlation_id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = Instant::now();
    let header = HeaderValue::from_str(&correlation_id).ok();
    let size = body_bytes(request.body()).len();
    let mut response = if size > MAX_REQUEST_BYTES {
        ApiError::too_large(size).into_response()
    } else {
        route(request, correlation_id)
            .instrument(span.clone())
            .await
    };
    if let Some(header) = header {
        response.headers_mut().insert(correlation::HEADER, header);
    }
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1e3,
            "handled"
        );
    });
    response
}

/// The id that finds this request in the logs: Lambda's, else API Gateway's, else a new one.
fn request_id(request: &Request) -> String {
    if let Some(context) = request.lambda_context_ref() {
        return context.request_id.clone();
    }
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

/// Serves `handler` on the Lambda runtime until the process ends. `main` is this and its set-up.
///
/// Every `main` runs it on a single-threaded runtime (`#[tokio::main(flavor = "current_thread")]`):
/// an instance handles one event at a time, and the shortener spent about 40% less CPU per create +
/// redirect on one thread than on the default multi-thread runtime (`benches/benches/peer.rs`,
/// `PEER_RUST_RUNTIME=multi`).
pub async fn serve<S, F, Fut>(state: &'static S, handler: F) -> Result<(), lambda_http::Error>
where
    S: Sync + 'static,
    F: Fn(&'static S, Request) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = Response<Body>> + Send,
{
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(handler(state, request).await)
    }))
    .await
}

/// [`serve`], for a handler that defers work past its response with `after`: registers the
/// extension that holds each invocation open until that work ends (see [`crate::after`]).
///
/// Each invocation is marked handled by a layer around the runtime's own service, so only after
/// the runtime has posted its response or its error, and also for an event that never reached the
/// handler (one that is not an HTTP request): the extension never waits for a handler that will
/// not run.
#[cfg(feature = "after")]
pub async fn serve_after<S, F, Fut>(
    state: &'static S,
    handler: F,
    after: &'static crate::after::AfterResponse,
) -> Result<(), lambda_http::Error>
where
    S: Sync + 'static,
    F: Fn(&'static S, Request) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = Response<Body>> + Send,
{
    use lambda_http::lambda_runtime::{Runtime, layers::TracingLayer};
    after.register().await;
    let service = service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(handler(state, request).await)
    });
    Runtime::new(lambda_http::Adapter::from(service))
        .layer(TracingLayer::new())
        .layer(crate::after::HandledLayer(after))
        .run()
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    async fn send(body: Vec<u8>, called: &AtomicBool) -> Response<Body> {
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/sort")
            .body(Body::Binary(body))
            .expect("a request");
        traced(request, |_, _| async {
            called.store(true, Ordering::SeqCst);
            crate::http::text(lambda_http::http::StatusCode::OK, "done")
        })
        .await
    }

    #[test]
    fn a_body_over_the_limit_is_refused_before_the_route_runs() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let called = AtomicBool::new(false);
        let over = runtime.block_on(send(vec![b' '; MAX_REQUEST_BYTES + 1], &called));
        assert_eq!(over.status(), 413);
        assert!(
            !called.load(Ordering::SeqCst),
            "the route ran for an oversized body"
        );
        let at = runtime.block_on(send(vec![b' '; MAX_REQUEST_BYTES], &called));
        assert_eq!(at.status(), 200);
        assert!(called.load(Ordering::SeqCst));
    }
}
