//! The HTTP API's route throttling, as `template.yaml` declares it: a token bucket per route
//! (`ThrottlingRateLimit` tokens a second, at most `ThrottlingBurstLimit`), the stage's
//! `DefaultRouteSettings` for routes without their own, `429` when the bucket is empty
//! (API Gateway developer guide, "Throttle requests to your HTTP APIs").
//!
//! Values written `!Ref <Parameter>` take the parameter's value for this stack (an override, or
//! its default), as CloudFormation would.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};
use serde_norway::Value;

use crate::template::{Template, untag};

/// The endpoints file's key for the route limits, which clients pace themselves by:
/// `{"$default": {"rate": r, "burst": b}, "POST /": {...}, ...}`.
pub const ROUTE_LIMITS_KEY: &str = "routeLimits";

/// One route's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Requests a second, refilled continuously.
    pub rate: f64,
    /// Requests at once.
    pub burst: f64,
}

/// Every route's limit: its own, or the stage's default.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteLimits {
    pub default: Option<Limit>,
    /// Route key (`POST /links`) -> limit.
    pub routes: BTreeMap<String, Limit>,
}

impl RouteLimits {
    /// From the `AWS::Serverless::HttpApi`'s settings, with `parameters` overriding defaults.
    pub fn from_template(
        template: &Template,
        parameters: &BTreeMap<String, String>,
    ) -> Result<Self> {
        let (_, api) = template
            .resources()
            .iter()
            .find(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::HttpApi"))
            .context("template.yaml has no AWS::Serverless::HttpApi")?;
        let properties = &api["Properties"];
        let number = |value: &Value| -> Result<Option<f64>> {
            let value = untag(value);
            if value.is_null() {
                return Ok(None);
            }
            if let Some(n) = value.as_f64() {
                return Ok(Some(n));
            }
            // `!Ref Parameter`: untagged, the parameter's name.
            let name = value
                .as_str()
                .context("a throttling value is neither a number nor !Ref")?;
            let text = match parameters.get(name) {
                Some(text) => text.clone(),
                None => {
                    let default = &template.value["Parameters"][name]["Default"];
                    default
                        .as_f64()
                        .map(|n| n.to_string())
                        .or_else(|| default.as_str().map(str::to_owned))
                        .with_context(|| format!("parameter {name} has no default"))?
                }
            };
            Ok(Some(text.parse().with_context(|| {
                format!("{name}={text} is not a number")
            })?))
        };
        let limit = |settings: &Value| -> Result<Option<Limit>> {
            match (
                number(&settings["ThrottlingRateLimit"])?,
                number(&settings["ThrottlingBurstLimit"])?,
            ) {
                (Some(rate), Some(burst)) => Ok(Some(Limit { rate, burst })),
                _ => Ok(None),
            }
        };
        let mut routes = BTreeMap::new();
        for (key, settings) in properties["RouteSettings"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            if let (Some(key), Some(limit)) = (key.as_str(), limit(settings)?) {
                routes.insert(key.to_owned(), limit);
            }
        }
        Ok(Self {
            default: limit(&properties["DefaultRouteSettings"])?,
            routes,
        })
    }

    /// As the endpoints file carries them ([`ROUTE_LIMITS_KEY`]).
    pub fn to_json(&self) -> serde_json::Value {
        let entry = |l: &Limit| serde_json::json!({"rate": l.rate, "burst": l.burst});
        let mut map = serde_json::Map::new();
        if let Some(default) = &self.default {
            map.insert("$default".to_owned(), entry(default));
        }
        for (route, limit) in &self.routes {
            map.insert(route.clone(), entry(limit));
        }
        serde_json::Value::Object(map)
    }

    pub fn of(&self, route: &str) -> Option<Limit> {
        self.routes.get(route).copied().or(self.default)
    }
}

/// Token buckets, one per route key.
#[derive(Debug)]
pub struct Buckets {
    limits: RouteLimits,
    state: BTreeMap<String, (f64, Instant)>,
}

impl Buckets {
    pub fn new(limits: RouteLimits) -> Self {
        Self {
            limits,
            state: BTreeMap::new(),
        }
    }

    /// Takes a token for `route` at `now`: `false` when the request is to be throttled.
    pub fn admit(&mut self, route: &str, now: Instant) -> bool {
        let Some(limit) = self.limits.of(route) else {
            return true;
        };
        let (tokens, then) = self
            .state
            .entry(route.to_owned())
            .or_insert((limit.burst, now));
        let refilled = *tokens + now.saturating_duration_since(*then).as_secs_f64() * limit.rate;
        *tokens = refilled.min(limit.burst);
        *then = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The route key of `method path` among `routes` (`"GET /{code}"`, ...): literal segments beat
/// parameters, as in API Gateway; `None` when no route matches.
pub fn route_key<'a>(routes: &'a [String], method: &str, path: &str) -> Option<&'a str> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    routes
        .iter()
        .filter_map(|route| {
            let (m, p) = route.split_once(' ')?;
            if m != method {
                return None;
            }
            let pattern: Vec<&str> = p.trim_start_matches('/').split('/').collect();
            if pattern.len() != segments.len() {
                return None;
            }
            let mut parameters = 0;
            for (want, have) in pattern.iter().zip(&segments) {
                if want.starts_with('{') {
                    if have.is_empty() {
                        return None;
                    }
                    parameters += 1;
                } else if want != have {
                    return None;
                }
            }
            Some((parameters, route.as_str()))
        })
        .min()
        .map(|(_, route)| route)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits() -> RouteLimits {
        RouteLimits {
            default: Some(Limit {
                rate: 100.0,
                burst: 200.0,
            }),
            routes: BTreeMap::from([(
                "POST /links".to_owned(),
                Limit {
                    rate: 1.0,
                    burst: 2.0,
                },
            )]),
        }
    }

    #[test]
    fn a_bucket_admits_its_burst_then_its_rate() {
        let mut buckets = Buckets::new(limits());
        let start = Instant::now();
        assert!(buckets.admit("POST /links", start));
        assert!(buckets.admit("POST /links", start));
        assert!(!buckets.admit("POST /links", start), "burst of 2 used");
        assert!(!buckets.admit("POST /links", start + Duration::from_millis(900)));
        assert!(buckets.admit("POST /links", start + Duration::from_millis(1_000)));
        // Other routes have the default's own buckets.
        for _ in 0..200 {
            assert!(buckets.admit("GET /{code}", start));
        }
        assert!(!buckets.admit("GET /{code}", start));
        assert!(buckets.admit("POST /", start));
    }

    #[test]
    fn routes_match_literal_segments_before_parameters() {
        let routes: Vec<String> = [
            "GET /",
            "GET /{code}",
            "GET /openapi.json",
            "GET /{code}/stats",
            "POST /links",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(route_key(&routes, "GET", "/"), Some("GET /"));
        assert_eq!(route_key(&routes, "GET", "/abc"), Some("GET /{code}"));
        assert_eq!(
            route_key(&routes, "GET", "/openapi.json"),
            Some("GET /openapi.json")
        );
        assert_eq!(
            route_key(&routes, "GET", "/abc/stats"),
            Some("GET /{code}/stats")
        );
        assert_eq!(route_key(&routes, "POST", "/links"), Some("POST /links"));
        assert_eq!(route_key(&routes, "DELETE", "/links"), None);
        assert_eq!(route_key(&routes, "GET", "/a/b/c"), None);
    }

    #[test]
    fn the_workspace_template_limits_creates_by_parameters() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let template = Template::load(&root).unwrap();
        let defaults = RouteLimits::from_template(&template, &BTreeMap::new()).unwrap();
        let create = defaults.of("POST /").unwrap();
        assert_eq!((create.rate, create.burst), (10.0, 20.0));
        let raised = RouteLimits::from_template(
            &template,
            &BTreeMap::from([("CreateRateLimit".to_owned(), "50".to_owned())]),
        )
        .unwrap();
        assert_eq!(raised.of("POST /").unwrap().rate, 50.0);
        assert_eq!(raised.of("GET /{code}"), defaults.default);
    }
}
