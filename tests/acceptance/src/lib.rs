//! The acceptance suite's harness: one test body, two ways to run it.
//!
//! `TEST_MODE=handler` (the default) calls each function's handler in-process with a real API
//! Gateway HTTP API (v2) event, against a real DynamoDB (DynamoDB Local, or the deployed table).
//! `TEST_MODE=http` sends the same request over HTTP to the URLs in `ENDPOINTS_FILE`
//! (`.local/endpoints.json` locally, the stack outputs otherwise). [`when`] hides the difference;
//! [`eventually`] polls what is eventually consistent, with bounded attempts and no fixed sleeps.

pub mod in_process;
pub mod pace;
pub mod when;

use std::future::Future;
use std::time::Duration;

pub use when::{Call, Mode, Reply, World};

/// Polls `check` until it passes, at most `attempts` times with exponential backoff from 50 ms
/// (capped at 1 s); fails with the last check's message.
pub async fn eventually<T, F, Fut>(attempts: u32, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let mut delay = Duration::from_millis(50);
    let mut last = String::new();
    for attempt in 1..=attempts {
        match check().await {
            Ok(value) => return value,
            Err(message) => last = message,
        }
        if attempt < attempts {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }
    panic!("still failing after {attempts} attempts: {last}");
}

/// A value no other test uses, for URLs and aliases.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
