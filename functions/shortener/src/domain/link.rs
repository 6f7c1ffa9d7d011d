//! A stored link and the rules that decide whether it still redirects.
//!
//! Expiry is checked when a link is read: DynamoDB's TTL deletes expired items only eventually
//! (hours to days on AWS, not at all in DynamoDB Local), so TTL is cleanup, never the rule.

use time::OffsetDateTime;

use super::code::ShortCode;
use super::target::TargetUrl;

/// The longest a link may be set to live: ten years.
pub const MAX_TTL_SECONDS: i64 = 10 * 365 * 24 * 3_600;

/// When a link stops redirecting, if ever.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Unix seconds after which the link answers `410 Gone`.
    pub expires_at: Option<i64>,
    /// Number of redirects after which the link answers `410 Gone`.
    pub max_visits: Option<u64>,
}

impl Limits {
    pub fn is_unlimited(&self) -> bool {
        self.expires_at.is_none() && self.max_visits.is_none()
    }
}

/// Why requested limits were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    #[error("give either expiresAt or ttlSeconds, not both")]
    BothExpiries,
    #[error("expiresAt must be an RFC 3339 time such as 2030-01-31T12:00:00Z")]
    BadTimestamp,
    #[error("the expiry must be in the future and at most ten years away")]
    ExpiryOutOfRange,
    #[error("maxVisits must be at least 1")]
    ZeroVisits,
}

impl Limits {
    /// Builds limits from the request's optional fields, relative to `now` (Unix seconds).
    pub fn parse(
        expires_at: Option<&str>,
        ttl_seconds: Option<i64>,
        max_visits: Option<u64>,
        now: i64,
    ) -> Result<Self, LimitsError> {
        let expires_at = match (expires_at, ttl_seconds) {
            (Some(_), Some(_)) => return Err(LimitsError::BothExpiries),
            (Some(raw), None) => Some(
                OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| LimitsError::BadTimestamp)?
                    .unix_timestamp(),
            ),
            (None, Some(ttl)) => Some(now.saturating_add(ttl)),
            (None, None) => None,
        };
        if let Some(at) = expires_at
            && (at <= now || at - now > MAX_TTL_SECONDS)
        {
            return Err(LimitsError::ExpiryOutOfRange);
        }
        if max_visits == Some(0) {
            return Err(LimitsError::ZeroVisits);
        }
        Ok(Self {
            expires_at,
            max_visits,
        })
    }
}

/// A link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub code: ShortCode,
    pub target: TargetUrl,
    /// Unix seconds.
    pub created_at: i64,
    pub limits: Limits,
    /// Redirects counted on the link itself (only for links with `max_visits`).
    pub visits: u64,
    /// Bumped by every edit and by a take-down; edits are written only if it is still the version
    /// the editor saw. Links stored before edits existed have none and read as 1.
    pub version: u64,
    /// Switched off by its operator (`PATCH {"disabled": true}`): answers `410` until re-enabled.
    pub disabled: bool,
    /// Set once by `DELETE`; the item stays as a tombstone so the code is never handed out again.
    pub takedown: Option<Takedown>,
    /// Earlier targets, oldest first, at most [`MAX_HISTORY`].
    pub history: Vec<TargetChange>,
}

/// How many earlier targets a link keeps (the oldest are dropped first); bounds the item's size
/// (each entry is at most about 2 KB, a DynamoDB item at most 400 KB).
pub const MAX_HISTORY: usize = 50;

/// A link's take-down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Takedown {
    /// Unix seconds.
    pub at: i64,
    pub reason: Option<String>,
}

/// A target a link pointed at before an edit replaced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetChange {
    pub url: String,
    /// Unix seconds.
    pub replaced_at: i64,
}

/// What a redirect request finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Live,
    Expired,
    VisitsUsedUp,
    Disabled,
    TakenDown,
}

impl Availability {
    /// The `status` that stats and edits report.
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Live => "live",
            Availability::Expired => "expired",
            Availability::VisitsUsedUp => "visit_limit_reached",
            Availability::Disabled => "disabled",
            Availability::TakenDown => "taken_down",
        }
    }
}

impl Link {
    /// A new link: version 1, enabled, no history.
    pub fn new(code: ShortCode, target: TargetUrl, created_at: i64, limits: Limits) -> Self {
        Self {
            code,
            target,
            created_at,
            limits,
            visits: 0,
            version: 1,
            disabled: false,
            takedown: None,
            history: Vec::new(),
        }
    }

    /// Whether the link redirects at `now` (Unix seconds), before counting this visit.
    pub fn availability(&self, now: i64) -> Availability {
        if self.takedown.is_some() {
            Availability::TakenDown
        } else if self.disabled {
            Availability::Disabled
        } else if self.limits.expires_at.is_some_and(|at| now >= at) {
            Availability::Expired
        } else if self.limits.max_visits.is_some_and(|max| self.visits >= max) {
            Availability::VisitsUsedUp
        } else {
            Availability::Live
        }
    }
}

/// Formats Unix seconds as RFC 3339 (UTC) for responses.
pub fn rfc3339(unix_seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::target::TargetPolicy;

    const NOW: i64 = 1_800_000_000;

    fn link(limits: Limits, visits: u64) -> Link {
        Link {
            visits,
            ..Link::new(
                ShortCode::parse("abc1234").unwrap(),
                TargetUrl::parse("https://example.com/", &TargetPolicy::default()).unwrap(),
                NOW - 10,
                limits,
            )
        }
    }

    #[test]
    fn limits_parse_from_request_fields() {
        type Case<'a> = (
            Option<&'a str>,
            Option<i64>,
            Option<u64>,
            Result<Limits, LimitsError>,
        );
        let cases: [Case; 7] = [
            (None, None, None, Ok(Limits::default())),
            (
                None,
                Some(60),
                Some(3),
                Ok(Limits {
                    expires_at: Some(NOW + 60),
                    max_visits: Some(3),
                }),
            ),
            (
                Some("2030-01-01T00:00:00Z"),
                None,
                None,
                Ok(Limits {
                    expires_at: Some(1_893_456_000),
                    max_visits: None,
                }),
            ),
            (Some("tomorrow"), None, None, Err(LimitsError::BadTimestamp)),
            (
                Some("2030-01-01T00:00:00Z"),
                Some(5),
                None,
                Err(LimitsError::BothExpiries),
            ),
            (None, Some(-5), None, Err(LimitsError::ExpiryOutOfRange)),
            (None, None, Some(0), Err(LimitsError::ZeroVisits)),
        ];
        for (i, (at, ttl, max, want)) in cases.into_iter().enumerate() {
            assert_eq!(Limits::parse(at, ttl, max, NOW), want, "case {i}");
        }
    }

    #[test]
    fn expired_link_is_gone_at_its_expiry_second() {
        let l = link(
            Limits {
                expires_at: Some(NOW),
                max_visits: None,
            },
            0,
        );
        assert_eq!(l.availability(NOW - 1), Availability::Live);
        assert_eq!(l.availability(NOW), Availability::Expired);
    }

    #[test]
    fn link_is_gone_once_its_visits_are_used_up() {
        let limits = Limits {
            expires_at: None,
            max_visits: Some(2),
        };
        assert_eq!(link(limits, 1).availability(NOW), Availability::Live);
        assert_eq!(
            link(limits, 2).availability(NOW),
            Availability::VisitsUsedUp
        );
    }

    #[test]
    fn a_taken_down_link_is_gone_before_anything_else_and_a_disabled_one_next() {
        let expired = Limits {
            expires_at: Some(NOW - 1),
            max_visits: None,
        };
        let mut l = link(expired, 0);
        assert_eq!(l.availability(NOW), Availability::Expired);
        l.disabled = true;
        assert_eq!(l.availability(NOW), Availability::Disabled);
        l.takedown = Some(Takedown {
            at: NOW,
            reason: None,
        });
        assert_eq!(l.availability(NOW), Availability::TakenDown);
    }

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(1_893_456_000), "2030-01-01T00:00:00Z");
    }
}
