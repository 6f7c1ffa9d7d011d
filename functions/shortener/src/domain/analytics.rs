//! Per-day visit analytics that stay private: what one redirect contributes, computed without
//! keeping anything that identifies the visitor.
//!
//! - **Referrer**: the host of the `Referer` header (lower case, at most 100 characters), else
//!   `direct`; never the path or query.
//! - **Device class** from the user agent, by a small rule set (first match wins): empty →
//!   `unknown`; a known link-preview bot → counted apart as a preview, not a visit; `bot`,
//!   `crawler`, `spider`, `curl`, `wget`, `python-requests` → `bot`; `iPad`, `Tablet`, or `Android`
//!   without `Mobile` → `tablet`; `Mobi`, `iPhone`, `Android` → `mobile`; anything else → `desktop`.
//! - **Unique visitors** are estimated with a HyperLogLog sketch (2^10 registers, about 3% standard
//!   error). Its input is a keyed SHA-256 of the client's IP address and user agent under a salt
//!   that changes every UTC day and is never stored: the salt is derived when needed from
//!   `CODE_KEY` and the date, so the table holds only one register index and rank per visit
//!   (`idx:rank`), from which neither the address nor the agent can be recovered, and hashes of two
//!   days cannot be linked.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// Where the referrers past a day shard's limit are counted: not a host name, so no referrer
/// can be mistaken for it.
pub const OTHER_REFERRER: &str = "(other)";

/// log2 of the number of HyperLogLog registers.
pub const HLL_BITS: u32 = 10;
const REGISTERS: usize = 1 << HLL_BITS;

/// Link-preview fetchers (chat and social unfurlers): counted apart, not as visits.
const PREVIEW_BOTS: &[&str] = &[
    "slackbot",
    "slack-imgproxy",
    "twitterbot",
    "facebookexternalhit",
    "facebot",
    "discordbot",
    "linkedinbot",
    "whatsapp",
    "telegrambot",
    "skypeuripreview",
    "mastodon",
];

const OTHER_BOTS: &[&str] = &[
    "bot",
    "crawler",
    "spider",
    "curl",
    "wget",
    "python-requests",
];

/// What a visit is, as analytics count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Desktop,
    Mobile,
    Tablet,
    Bot,
    Unknown,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
            Device::Bot => "bot",
            Device::Unknown => "unknown",
        }
    }
}

/// A user agent sorted by the rules above: `None` for a link-preview bot.
pub fn classify(user_agent: &str) -> Option<Device> {
    let ua = user_agent.to_ascii_lowercase();
    if ua.trim().is_empty() {
        return Some(Device::Unknown);
    }
    if PREVIEW_BOTS.iter().any(|bot| ua.contains(bot)) {
        return None;
    }
    Some(if OTHER_BOTS.iter().any(|bot| ua.contains(bot)) {
        Device::Bot
    } else if ua.contains("ipad")
        || ua.contains("tablet")
        || (ua.contains("android") && !ua.contains("mobile"))
    {
        Device::Tablet
    } else if ua.contains("mobi") || ua.contains("iphone") || ua.contains("android") {
        Device::Mobile
    } else {
        Device::Desktop
    })
}

/// The referrer's host, or `direct`.
pub fn referrer_host(referer: Option<&str>) -> String {
    referer
        .and_then(|r| url::Url::parse(r).ok())
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        })
        .filter(|h| !h.is_empty() && h.len() <= 100)
        .unwrap_or_else(|| "direct".to_owned())
}

/// The `keep` referrers with the most visits (ties by name), the rest summed under
/// [`OTHER_REFERRER`]: a day of stats lists a bounded number of hosts whatever was
/// written (each of a link's shards keeps its own `MAX_REFERRERS`).
pub fn top_referrers(referrers: BTreeMap<String, u64>, keep: usize) -> BTreeMap<String, u64> {
    let other = OTHER_REFERRER;
    let mut ranked: Vec<(String, u64)> = referrers.into_iter().collect();
    ranked.sort_by(|(a, x), (b, y)| y.cmp(x).then_with(|| a.cmp(b)));
    let (mut top, mut kept) = (BTreeMap::new(), 0);
    for (host, visits) in ranked {
        if kept < keep && host != other {
            top.insert(host, visits);
            kept += 1;
        } else {
            *top.entry(other.to_owned()).or_default() += visits;
        }
    }
    top
}

/// The day's salt: derived from the secret and the UTC date (`YYYY-MM-DD`), never stored.
pub fn daily_salt(secret: &[u8; 32], date: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"shortener-visitor-salt");
    hasher.update(secret);
    hasher.update(date.as_bytes());
    hasher.finalize().into()
}

/// The HyperLogLog register a visitor sets that day: `(index, rank)`.
pub fn register(salt: &[u8; 32], ip: &str, user_agent: &str) -> (u16, u8) {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(ip.as_bytes());
    hasher.update([0]);
    hasher.update(user_agent.as_bytes());
    let digest = hasher.finalize();
    let hash = u64::from_be_bytes(digest[..8].try_into().unwrap_or_default());
    let index = (hash >> (64 - HLL_BITS)) as u16;
    let rest = hash << HLL_BITS;
    let rank = (rest.leading_zeros().min(64 - HLL_BITS) + 1) as u8;
    (index, rank)
}

/// The estimated number of distinct visitors from the registers seen (`(index, rank)` pairs, in
/// any order and with repeats): HyperLogLog with the small-range (linear counting) correction.
pub fn estimate(registers: impl IntoIterator<Item = (u16, u8)>) -> u64 {
    let mut max = [0u8; REGISTERS];
    for (index, rank) in registers {
        if let Some(slot) = max.get_mut(index as usize) {
            *slot = (*slot).max(rank);
        }
    }
    let m = REGISTERS as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let sum: f64 = max.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
    let raw = alpha * m * m / sum;
    let zeros = max.iter().filter(|&&r| r == 0).count();
    let estimate = if raw <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        raw
    };
    estimate.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_busiest_referrers_are_kept_and_the_rest_counted_as_other() {
        let day = BTreeMap::from([
            ("a.example".to_owned(), 5),
            ("b.example".to_owned(), 1),
            ("c.example".to_owned(), 3),
            ("d.example".to_owned(), 3),
            ("(other)".to_owned(), 20),
        ]);
        let top = top_referrers(day, 2);
        assert_eq!(
            top,
            BTreeMap::from([
                ("a.example".to_owned(), 5),
                ("c.example".to_owned(), 3),
                ("(other)".to_owned(), 24),
            ])
        );
    }

    proptest! {
        #[test]
        fn top_referrers_keep_every_visit_and_at_most_keep_hosts(
            mut day in proptest::collection::btree_map("[a-z]{1,6}", 1u64..100, 0..40),
            other in proptest::option::of(1u64..500),
            keep in 1usize..10,
        ) {
            if let Some(other) = other {
                day.insert("(other)".to_owned(), other);
            }
            let total: u64 = day.values().sum();
            let top = top_referrers(day.clone(), keep);
            prop_assert_eq!(top.values().sum::<u64>(), total);
            let hosts = day.keys().filter(|h| *h != "(other)").count();
            prop_assert_eq!(top.keys().filter(|h| *h != "(other)").count(), hosts.min(keep));
            // Nothing dropped into "(other)" had more visits than a host that was kept.
            let least_kept = top.iter().filter(|(h, _)| *h != "(other)").map(|(_, v)| *v).min();
            for (host, visits) in &day {
                if !top.contains_key(host) {
                    prop_assert!(least_kept.is_some_and(|least| *visits <= least));
                }
            }
        }
    }

    #[test]
    fn user_agents_fall_in_the_documented_classes() {
        let cases = [
            ("", Some(Device::Unknown)),
            (
                "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
                None,
            ),
            (
                "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
                None,
            ),
            ("facebookexternalhit/1.1", None),
            ("Twitterbot/1.0", None),
            ("Mozilla/5.0 (compatible; Googlebot/2.1)", Some(Device::Bot)),
            ("curl/8.5.0", Some(Device::Bot)),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
                Some(Device::Mobile),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari",
                Some(Device::Mobile),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-X710) Safari",
                Some(Device::Tablet),
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)",
                Some(Device::Tablet),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
                Some(Device::Desktop),
            ),
        ];
        for (ua, want) in cases {
            assert_eq!(classify(ua), want, "case {ua:?}");
        }
    }

    #[test]
    fn the_referrer_is_only_its_host() {
        assert_eq!(
            referrer_host(Some("https://News.Example.com/a?b=c")),
            "news.example.com"
        );
        assert_eq!(referrer_host(Some("not a url")), "direct");
        assert_eq!(referrer_host(None), "direct");
    }

    #[test]
    fn the_same_visitor_sets_the_same_register_on_a_day_and_an_unrelated_one_the_next() {
        let secret = [7u8; 32];
        let today = daily_salt(&secret, "2026-12-01");
        let tomorrow = daily_salt(&secret, "2026-12-02");
        assert_ne!(today, tomorrow);
        let a = register(&today, "203.0.113.10", "ua");
        assert_eq!(a, register(&today, "203.0.113.10", "ua"));
        let differing = (0..50)
            .filter(|i| {
                let ip = format!("203.0.113.{i}");
                register(&today, &ip, "ua") != register(&tomorrow, &ip, "ua")
            })
            .count();
        assert!(
            differing > 40,
            "{differing} of 50 registers differ across days"
        );
    }

    #[test]
    fn the_estimate_is_within_ten_percent_at_several_sizes() {
        let salt = daily_salt(&[1u8; 32], "2026-12-01");
        for n in [0usize, 1, 10, 100, 1_000, 20_000] {
            let registers = (0..n).map(|i| {
                register(
                    &salt,
                    &format!("10.0.{}.{}", i / 256, i % 256),
                    &format!("ua{i}"),
                )
            });
            let got = estimate(registers) as f64;
            let error = (got - n as f64).abs() / (n.max(1) as f64);
            assert!(error <= 0.1, "{n} visitors estimated as {got}");
        }
    }

    proptest! {
        #[test]
        fn repeats_never_change_the_estimate(visits in proptest::collection::vec(0u32..300, 1..400)) {
            let salt = daily_salt(&[2u8; 32], "2026-12-01");
            let registers: Vec<_> = visits.iter().map(|v| register(&salt, &v.to_string(), "ua")).collect();
            let mut distinct = registers.clone();
            distinct.sort();
            distinct.dedup();
            prop_assert_eq!(estimate(registers), estimate(distinct));
        }
    }
}
