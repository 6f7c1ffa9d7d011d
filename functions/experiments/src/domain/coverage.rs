//! Are comparisons lost evenly? A sampled request that is never compared (the hand-off queue was
//! full, its payload too large for an `Event` invocation, the control gave no answer) is lost to
//! the verdict. Lost at random, that only slows the verdict; lost more for one kind of request,
//! it biases it: a candidate that fails only on large bodies looks clean if large bodies are the
//! ones lost. GrowthBook and Eppo refuse a result on such a sample-ratio mismatch; so does this.
//!
//! Requests are put in classes ([`class_of`]: method, route and body size), and for each class
//! the proxy counts what it samples and the comparator what it compares. A class is lost unevenly
//! when it kept fewer of its sampled requests than the experiment as a whole did, beyond chance:
//! a one-sided binomial test at 5 % Bonferroni-corrected over the classes (so at most a 5 % chance
//! of a false alarm however many classes there are). Comparisons still in flight are credited to
//! every class, so a burst on its way through the comparator never raises the alarm.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::domain::stats;

/// The family-wise false-alarm rate of the test.
pub const ALPHA: f64 = 0.05;

/// Body sizes at which a request changes class: a few hundred bytes, tens of kilobytes, and the
/// 256 KB an asynchronous (`Event`) invocation carries at most, past which a comparison cannot be
/// handed off at all.
const BODY_CLASSES: [(usize, &str); 3] = [
    (1_024, "body < 1 KB"),
    (65_536, "body < 64 KB"),
    (262_144, "body < 256 KB"),
];

/// The methods that name a class; any other is `other`.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The class of a request, from its API Gateway v2 event: `POST /sort, body < 1 KB`. The proxy
/// and the comparator compute it from the same event, so their counts meet.
pub fn class_of(event: &Value) -> String {
    let http = &event["requestContext"]["http"];
    // A client picks the method: only the standard ones name a class, so no client can add
    // counters without bound (the route is bounded already: the proxy serves an experiment's
    // path only).
    let method = http["method"]
        .as_str()
        .filter(|m| METHODS.contains(m))
        .unwrap_or("other");
    let path = event["rawPath"]
        .as_str()
        .or_else(|| http["path"].as_str())
        .unwrap_or("?");
    let body = event["body"].as_str().map_or(0, str::len);
    let size = BODY_CLASSES
        .iter()
        .find(|(limit, _)| body < *limit)
        .map_or("body ≥ 256 KB", |(_, name)| name);
    format!("{method} {path}, {size}")
}

/// One class's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassCount {
    pub class: String,
    pub sampled: u64,
    pub compared: u64,
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    pub classes: Vec<ClassCount>,
    /// Sampled requests neither compared nor skipped yet.
    pub in_flight: u64,
    /// The share of sampled requests compared, all classes together.
    pub kept: Option<f64>,
    /// Why the comparisons cannot be trusted to represent the traffic; `None` when they can.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uneven: Option<String>,
}

/// The check over each class's `(sampled, compared)`, with `in_flight` requests on their way.
pub fn coverage(classes: &BTreeMap<String, (u64, u64)>, in_flight: u64) -> Coverage {
    let classes: Vec<ClassCount> = classes
        .iter()
        .map(|(class, &(sampled, compared))| ClassCount {
            class: class.clone(),
            sampled,
            compared: compared.min(sampled),
        })
        .collect();
    let sampled: u64 = classes.iter().map(|c| c.sampled).sum();
    let compared: u64 = classes.iter().map(|c| c.compared).sum();
    let kept = (sampled > 0).then(|| ((compared + in_flight) as f64 / sampled as f64).min(1.0));
    let mut uneven = None;
    if let Some(p) = kept.filter(|p| *p < 1.0) {
        let tested = classes.iter().filter(|c| c.sampled > 0).count().max(1);
        let threshold = ALPHA / tested as f64;
        let worst = classes
            .iter()
            .filter(|c| c.sampled > 0)
            .map(|c| {
                let credited = (c.compared + in_flight).min(c.sampled);
                (stats::binomial_cdf(credited, c.sampled, p), c)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((chance, c)) = worst.filter(|(chance, _)| *chance < threshold) {
            uneven = Some(format!(
                "comparisons were lost unevenly: {} kept {} of {} sampled requests where the \
                 experiment kept {:.0} % ({:.1e} by chance, under {:.1e}); the comparisons \
                 under-represent that kind of request",
                c.class,
                c.compared,
                c.sampled,
                p * 100.0,
                chance,
                threshold
            ));
        }
    }
    Coverage {
        classes,
        in_flight,
        kept,
        uneven,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(rows: &[(&str, u64, u64)]) -> BTreeMap<String, (u64, u64)> {
        rows.iter()
            .map(|(c, s, k)| ((*c).to_owned(), (*s, *k)))
            .collect()
    }

    #[test]
    fn a_request_is_classed_by_method_route_and_body_size() {
        let event = |body: &str| {
            serde_json::json!({
                "rawPath": "/sort",
                "requestContext": {"http": {"method": "POST", "path": "/sort"}},
                "body": body,
            })
        };
        assert_eq!(class_of(&event("[1]")), "POST /sort, body < 1 KB");
        assert_eq!(
            class_of(&event(&"1".repeat(2_000))),
            "POST /sort, body < 64 KB"
        );
        assert_eq!(
            class_of(&event(&"1".repeat(300_000))),
            "POST /sort, body ≥ 256 KB"
        );
        assert_eq!(class_of(&serde_json::json!({})), "other ?, body < 1 KB");
        let invented = serde_json::json!({
            "rawPath": "/sort",
            "requestContext": {"http": {"method": "X-MADE-UP-1234"}},
        });
        assert_eq!(class_of(&invented), "other /sort, body < 1 KB");
    }

    #[test]
    fn losses_spread_evenly_pass_and_a_class_lost_beyond_chance_is_named() {
        // 10 % lost in each class: even.
        let even = coverage(&classes(&[("small", 1_000, 900), ("large", 100, 90)]), 0);
        assert_eq!(even.uneven, None);
        assert!((even.kept.unwrap() - 0.9).abs() < 1e-9);
        // The large bodies lost wholesale: P(X <= 10 | n = 100, p = 0.82) is about 1e-60.
        let large_lost = coverage(&classes(&[("small", 1_000, 990), ("large", 100, 10)]), 0);
        let why = large_lost.uneven.expect("uneven");
        assert!(
            why.contains("large kept 10 of 100 sampled requests"),
            "{why}"
        );
        // One lost in a class of ten is chance: P(X <= 9 | n = 10, p = 0.99) is about 0.096,
        // above 0.05 / 2 classes.
        let nine = coverage(&classes(&[("small", 1_000, 990), ("rare", 10, 9)]), 0);
        assert_eq!(nine.uneven, None);
    }

    #[test]
    fn comparisons_in_flight_raise_no_alarm_and_nothing_lost_is_even() {
        // 200 sampled in a burst, 50 compared so far, 150 on their way.
        let burst = coverage(&classes(&[("a", 100, 20), ("b", 100, 30)]), 150);
        assert_eq!(burst.uneven, None);
        let none_lost = coverage(&classes(&[("a", 100, 100), ("b", 5, 5)]), 0);
        assert_eq!((none_lost.kept, none_lost.uneven), (Some(1.0), None));
        assert_eq!(coverage(&BTreeMap::new(), 0).kept, None);
    }

    #[test]
    fn the_binomial_tail_it_relies_on_matches_known_values() {
        // P(X <= 8 | n = 10, p = 0.99) = 1 - P(9) - P(10) = 1 - 10(0.99^9)(0.01) - 0.99^10.
        let exact = 1.0 - 10.0 * 0.99f64.powi(9) * 0.01 - 0.99f64.powi(10);
        assert!((stats::binomial_cdf(8, 10, 0.99) - exact).abs() < 1e-12);
    }
}
