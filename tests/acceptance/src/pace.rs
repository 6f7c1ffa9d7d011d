//! The suite paces its requests to the HTTP API by the route limits the endpoints file carries
//! (`routeLimits`: the template's, with the stack's parameters), so that it is not throttled by
//! its own traffic; what still gets a `429` (another client, a test that bursts on purpose) is
//! retried by [`crate::when`].
//!
//! One token bucket per limited route, and one for every other route together at the default
//! limit (stricter than API Gateway's bucket per route), each at 90 % of the stack's figures.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;

/// How much of a limit the suite allows itself.
const SHARE: f64 = 0.9;
const DEFAULT_ROUTE: &str = "$default";

#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    then: Instant,
}

impl Bucket {
    /// Takes a token at `now`, or says how long until one is there.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.tokens = (self.tokens
            + now.saturating_duration_since(self.then).as_secs_f64() * self.rate)
            .min(self.burst);
        self.then = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

/// The buckets of one stack's HTTP API.
#[derive(Debug)]
pub struct Pacer {
    buckets: HashMap<String, Mutex<Bucket>>,
}

impl Pacer {
    /// From the endpoints file's `routeLimits`; empty (nothing paced) when it has none.
    pub fn from_endpoints(endpoints: &Value) -> Self {
        let now = Instant::now();
        let buckets = endpoints["routeLimits"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(route, limit)| {
                let rate = limit["rate"].as_f64()? * SHARE;
                let burst = (limit["burst"].as_f64()? * SHARE).floor().max(1.0);
                Some((
                    route.clone(),
                    Mutex::new(Bucket {
                        rate,
                        burst,
                        tokens: burst,
                        then: now,
                    }),
                ))
            })
            .collect();
        Self { buckets }
    }

    /// Waits until a request `method path` (path without the query) may be sent.
    pub async fn wait(&self, method: &str, path: &str) {
        let route = format!("{method} {path}");
        let Some(bucket) = self
            .buckets
            .get(&route)
            .or_else(|| self.buckets.get(DEFAULT_ROUTE))
        else {
            return;
        };
        loop {
            let wait = match bucket.lock().await.take(Instant::now()) {
                Ok(()) => return,
                Err(wait) => wait,
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_gives_its_burst_then_says_how_long_to_wait() {
        let start = Instant::now();
        let mut bucket = Bucket {
            rate: 10.0,
            burst: 2.0,
            tokens: 2.0,
            then: start,
        };
        assert_eq!(bucket.take(start), Ok(()));
        assert_eq!(bucket.take(start), Ok(()));
        let wait = bucket.take(start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        assert_eq!(bucket.take(start + Duration::from_millis(100)), Ok(()));
    }

    #[test]
    fn limits_come_from_the_endpoints_file_at_ninety_percent() {
        let endpoints = serde_json::json!({"routeLimits": {
            "$default": {"rate": 100.0, "burst": 200.0},
            "POST /": {"rate": 50.0, "burst": 50.0},
        }});
        let pacer = Pacer::from_endpoints(&endpoints);
        let create = pacer.buckets["POST /"].try_lock().unwrap();
        assert_eq!((create.rate, create.burst), (45.0, 45.0));
        assert!(
            Pacer::from_endpoints(&serde_json::json!({}))
                .buckets
                .is_empty()
        );
    }
}
