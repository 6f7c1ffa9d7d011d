//! Editing a link (`PATCH /{code}`) and taking it down (`DELETE /{code}`): the rules, without storage.
//!
//! An edit names only what changes. Each change of target is kept in the link's history (the
//! oldest dropped past [`MAX_HISTORY`]); every edit bumps the version the store's conditional
//! write compares, so two editors who saw the same version cannot both win.

use super::link::{Link, MAX_HISTORY, MAX_TTL_SECONDS, Takedown, TargetChange};
use super::target::TargetUrl;

/// The longest take-down reason kept, in characters.
pub const MAX_REASON_LEN: usize = 500;

/// A field an edit may set, clear (JSON `null`) or leave alone (absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Change<T> {
    #[default]
    Keep,
    Set(T),
    Clear,
}

/// A validated edit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkEdit {
    pub target: Option<TargetUrl>,
    /// Unix seconds.
    pub expires_at: Change<i64>,
    pub max_visits: Change<u64>,
    pub disabled: Option<bool>,
}

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error(
        "the edit changes nothing; send at least one of url, expiresAt, ttlSeconds, maxVisits, disabled"
    )]
    Empty,
    #[error("the expiry must be in the future and at most ten years away")]
    ExpiryOutOfRange,
    #[error("maxVisits must be at least 1 (or null to remove the limit)")]
    ZeroVisits,
    #[error("the reason is longer than {MAX_REASON_LEN} characters")]
    ReasonTooLong,
}

impl LinkEdit {
    /// Checks the edit's own rules at `now` (Unix seconds); the target was checked when parsed.
    pub fn validate(self, now: i64) -> Result<Self, EditError> {
        if self.target.is_none()
            && self.expires_at == Change::Keep
            && self.max_visits == Change::Keep
            && self.disabled.is_none()
        {
            return Err(EditError::Empty);
        }
        if let Change::Set(at) = self.expires_at
            && (at <= now || at - now > MAX_TTL_SECONDS)
        {
            return Err(EditError::ExpiryOutOfRange);
        }
        if self.max_visits == Change::Set(0) {
            return Err(EditError::ZeroVisits);
        }
        Ok(self)
    }
}

fn apply<T>(current: Option<T>, change: Change<T>) -> Option<T> {
    match change {
        Change::Keep => current,
        Change::Set(value) => Some(value),
        Change::Clear => None,
    }
}

impl Link {
    /// The link after `edit` at `now`: one version later, the replaced target in its history.
    pub fn edited(&self, edit: LinkEdit, now: i64) -> Link {
        let mut next = self.clone();
        if let Some(target) = edit.target
            && target != self.target
        {
            next.history.push(TargetChange {
                url: self.target.as_str().to_owned(),
                replaced_at: now,
            });
            let excess = next.history.len().saturating_sub(MAX_HISTORY);
            next.history.drain(..excess);
            next.target = target;
        }
        next.limits.expires_at = apply(self.limits.expires_at, edit.expires_at);
        next.limits.max_visits = apply(self.limits.max_visits, edit.max_visits);
        if let Some(disabled) = edit.disabled {
            next.disabled = disabled;
        }
        next.version = self.version + 1;
        next
    }

    /// The link taken down at `now`: one version later, with the reason (trimmed; empty is none).
    pub fn taken_down(&self, reason: Option<&str>, now: i64) -> Result<Link, EditError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.chars().count() > MAX_REASON_LEN) {
            return Err(EditError::ReasonTooLong);
        }
        Ok(Link {
            takedown: Some(Takedown {
                at: now,
                reason: reason.map(str::to_owned),
            }),
            version: self.version + 1,
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::code::ShortCode;
    use crate::domain::link::{Availability, Limits};
    use crate::domain::target::TargetPolicy;
    use proptest::prelude::*;

    const NOW: i64 = 1_800_000_000;

    fn url(raw: &str) -> TargetUrl {
        TargetUrl::parse(raw, &TargetPolicy::default()).unwrap()
    }

    fn link() -> Link {
        Link::new(
            ShortCode::parse("abc1234").unwrap(),
            url("https://example.com/a"),
            NOW - 100,
            Limits::default(),
        )
    }

    #[test]
    fn a_new_target_is_kept_in_history_and_the_version_moves_on() {
        let edit = LinkEdit {
            target: Some(url("https://example.com/b")),
            ..LinkEdit::default()
        };
        let next = link().edited(edit, NOW);
        assert_eq!(next.target.as_str(), "https://example.com/b");
        assert_eq!(next.version, 2);
        assert_eq!(
            next.history,
            vec![TargetChange {
                url: "https://example.com/a".into(),
                replaced_at: NOW
            }]
        );
    }

    #[test]
    fn the_same_target_again_adds_no_history() {
        let edit = LinkEdit {
            target: Some(url("https://example.com/a")),
            ..LinkEdit::default()
        };
        let next = link().edited(edit, NOW);
        assert!(next.history.is_empty());
        assert_eq!(next.version, 2);
    }

    #[test]
    fn limits_are_set_cleared_or_kept() {
        let set = LinkEdit {
            expires_at: Change::Set(NOW + 60),
            max_visits: Change::Set(3),
            ..LinkEdit::default()
        };
        let limited = link().edited(set, NOW);
        assert_eq!(
            limited.limits,
            Limits {
                expires_at: Some(NOW + 60),
                max_visits: Some(3)
            }
        );
        let clear_one = LinkEdit {
            max_visits: Change::Clear,
            ..LinkEdit::default()
        };
        let next = limited.edited(clear_one, NOW);
        assert_eq!(next.limits.expires_at, Some(NOW + 60));
        assert_eq!(next.limits.max_visits, None);
    }

    #[test]
    fn disable_and_enable() {
        let off = link().edited(
            LinkEdit {
                disabled: Some(true),
                ..LinkEdit::default()
            },
            NOW,
        );
        assert_eq!(off.availability(NOW), Availability::Disabled);
        let on = off.edited(
            LinkEdit {
                disabled: Some(false),
                ..LinkEdit::default()
            },
            NOW,
        );
        assert_eq!(on.availability(NOW), Availability::Live);
        assert_eq!(on.version, 3);
    }

    #[test]
    fn invalid_edits_are_refused() {
        let cases = [
            ("empty", LinkEdit::default(), EditError::Empty),
            (
                "past expiry",
                LinkEdit {
                    expires_at: Change::Set(NOW),
                    ..LinkEdit::default()
                },
                EditError::ExpiryOutOfRange,
            ),
            (
                "zero visits",
                LinkEdit {
                    max_visits: Change::Set(0),
                    ..LinkEdit::default()
                },
                EditError::ZeroVisits,
            ),
        ];
        for (name, edit, want) in cases {
            assert_eq!(edit.validate(NOW), Err(want), "case {name}");
        }
    }

    #[test]
    fn a_takedown_keeps_a_trimmed_reason_and_refuses_a_long_one() {
        let down = link().taken_down(Some("  phishing "), NOW).unwrap();
        assert_eq!(down.availability(NOW), Availability::TakenDown);
        assert_eq!(down.takedown.unwrap().reason.as_deref(), Some("phishing"));
        let blank = link().taken_down(Some("  "), NOW).unwrap();
        assert_eq!(blank.takedown.unwrap().reason, None);
        let long = "x".repeat(MAX_REASON_LEN + 1);
        assert_eq!(
            link().taken_down(Some(&long), NOW),
            Err(EditError::ReasonTooLong)
        );
    }

    proptest! {
        #[test]
        fn history_never_exceeds_its_bound_and_keeps_the_latest(edits in 1usize..120) {
            let mut current = link();
            for i in 0..edits {
                let edit = LinkEdit {
                    target: Some(url(&format!("https://example.com/{i}"))),
                    ..LinkEdit::default()
                };
                current = current.edited(edit, NOW + i as i64);
            }
            prop_assert!(current.history.len() <= MAX_HISTORY);
            prop_assert_eq!(current.history.len(), edits.min(MAX_HISTORY));
            prop_assert_eq!(current.version, 1 + edits as u64);
            if edits >= 2 {
                let last = current.history.last().unwrap();
                prop_assert_eq!(last.url.clone(), format!("https://example.com/{}", edits - 2));
            }
        }
    }
}
