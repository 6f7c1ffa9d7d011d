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
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_attempt_timeout(Duration::from_millis(1_000))
                .operation_timeout(Duration::from_millis(2_500))
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
