//! The workspace's common crate: what every Lambda function needs and nothing function-specific.
//!
//! - [`aws`]: the SDK configuration with bounded timeouts and retries.
//! - [`config`]: typed, fail-fast reading of the environment variables `template.yaml` declares.
//! - [`telemetry`]: `tracing` set-up (JSON lines on Lambda) and the per-request span.
//! - [`http`]: JSON responses and the `{"error", "message"}` error body every 4xx/5xx uses.
//! - [`correlation`]: the `x-correlation-id` that follows one request across functions.
//! - [`query`]: one query-string parameter, from the parsed event or the URI.
//! - [`run`]: the one-line `main` every function uses.
//! - [`secrets`]: secrets read at cold start from Secrets Manager (by ARN), or locally from the
//!   environment.
//! - [`signed`]: a SigV4-signed AWS JSON 1.1 client without an SDK crate.
//! - [`function_url`]: signing requests to Function URLs whose `AuthType` is `AWS_IAM`.

#[cfg(feature = "after")]
pub mod after;
pub mod aws;
pub mod config;
pub mod correlation;
pub mod function_url;
pub mod http;
pub mod page;
pub mod query;
pub mod run;
pub mod secrets;
pub mod signed;
pub mod telemetry;

pub use http::{ApiError, ErrorBody};
