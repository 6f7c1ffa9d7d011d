//! The AWS SDK configuration every function builds once at cold start.
//!
//! Timeouts and retries are bounded so that when a dependency is down a request fails fast with a
//! `503` instead of hanging until the function's own timeout. Endpoints come from the standard
//! variables (`AWS_ENDPOINT_URL_DYNAMODB` points at DynamoDB Local in the local stack).
//!
//! Stalled-stream protection is off: it watches every response body's throughput with timers on
//! each call (0.7 % of the shortener's CPU in a `perf` profile of the peer bench), and it guards
//! against slow streaming downloads, which these functions do not make; the attempt timeout already
//! bounds a response that stalls.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Bounds on one SDK call: one attempt, and the whole call with its retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdkLimits {
    pub attempt: Duration,
    pub operation: Duration,
}

impl Default for SdkLimits {
    /// What the deployed functions use: a DynamoDB call normally takes single-digit milliseconds.
    fn default() -> Self {
        Self {
            attempt: Duration::from_millis(1_000),
            operation: Duration::from_millis(2_500),
        }
    }
}

impl SdkLimits {
    /// `SDK_ATTEMPT_TIMEOUT_MS` and `SDK_OPERATION_TIMEOUT_MS`, each defaulting to [`SdkLimits::default`].
    /// The local test stack raises them: DynamoDB Local on a loaded two-core machine is far slower
    /// than DynamoDB.
    pub fn from_env(env: &impl crate::config::Env) -> Self {
        let defaults = Self::default();
        let millis = |name: &'static str, default: Duration| {
            crate::config::parsed_or(env, name, default.as_millis() as u64)
                .map(Duration::from_millis)
                .unwrap_or(default)
        };
        Self {
            attempt: millis("SDK_ATTEMPT_TIMEOUT_MS", defaults.attempt),
            operation: millis("SDK_OPERATION_TIMEOUT_MS", defaults.operation),
        }
    }
}

/// Loads region, credentials and endpoints from the environment, with the timeouts of
/// [`SdkLimits::from_env`] and bounded retries.
pub async fn sdk_config() -> SdkConfig {
    sdk_config_with(SdkLimits::from_env(&crate::config::ProcessEnv)).await
}

/// Like [`sdk_config`] with explicit limits: three attempts at most, with short backoff.
pub async fn sdk_config_with(limits: SdkLimits) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_attempt_timeout(limits.attempt)
                .operation_timeout(limits.operation)
                .build(),
        )
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(20))
                .with_max_backoff(Duration::from_millis(200)),
        )
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_to_production_values_and_read_the_environment() {
        assert_eq!(
            SdkLimits::from_env(&[("UNRELATED", "1")]),
            SdkLimits::default()
        );
        let limits = SdkLimits::from_env(&[
            ("SDK_ATTEMPT_TIMEOUT_MS", "5000"),
            ("SDK_OPERATION_TIMEOUT_MS", "12000"),
        ]);
        assert_eq!(limits.attempt, Duration::from_secs(5));
        assert_eq!(limits.operation, Duration::from_secs(12));
    }
}
