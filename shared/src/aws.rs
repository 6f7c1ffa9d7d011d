//! The AWS SDK configuration every function builds once at cold start.
//!
//! Timeouts and retries are bounded so that when a dependency is down a request fails fast with a
//! `503` instead of hanging until the function's own timeout. Endpoints come from the standard
//! variables (`AWS_ENDPOINT_URL_DYNAMODB` points at DynamoDB Local in the local stack).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Loads region, credentials and endpoints from the environment, with bounded timeouts and retries.
///
/// `SDK_ATTEMPT_TIMEOUT_MS` (default 1000) and `SDK_OPERATION_TIMEOUT_MS` (default 2500) bound one
/// attempt and the whole call with its retries; the local test stack raises them because DynamoDB
/// Local on a loaded two-core machine is far slower than DynamoDB.
pub async fn sdk_config() -> SdkConfig {
    let millis = |name: &'static str, default: u64| {
        crate::config::parsed_or(&crate::config::ProcessEnv, name, default).unwrap_or(default)
    };
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_attempt_timeout(Duration::from_millis(millis(
                    "SDK_ATTEMPT_TIMEOUT_MS",
                    1_000,
                )))
                .operation_timeout(Duration::from_millis(millis(
                    "SDK_OPERATION_TIMEOUT_MS",
                    2_500,
                )))
                .build(),
        )
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(20))
                .with_max_backoff(Duration::from_millis(200)),
        )
        .load()
        .await
}
