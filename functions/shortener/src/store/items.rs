//! A link as a DynamoDB item and back: every attribute of a link is named here.

use super::*;

/// The attributes an edit or a take-down may change: `Some` to set, `None` to remove. `visits`
/// is only ever initialised (the redirect path counts it); a tombstone loses its `ttl`.
pub(super) fn mutable_attributes(link: &Link) -> Vec<(&'static str, Option<AttributeValue>)> {
    let history = link
        .history
        .iter()
        .map(|change| {
            AttributeValue::M(HashMap::from([
                ("url".to_owned(), s(&change.url)),
                ("at".to_owned(), n(change.replaced_at)),
            ]))
        })
        .collect();
    let ttl = link
        .limits
        .expires_at
        .filter(|_| link.takedown.is_none())
        .map(|at| n(at + TTL_GRACE_SECONDS));
    vec![
        ("url", Some(s(link.target.as_str()))),
        ("version", Some(n(link.version))),
        ("disabled", Some(AttributeValue::Bool(link.disabled))),
        ("history", Some(AttributeValue::L(history))),
        ("expiresAt", link.limits.expires_at.map(n)),
        ("ttl", ttl),
        ("maxVisits", link.limits.max_visits.map(n)),
        ("visits", link.limits.max_visits.map(|_| n(0))),
        ("deletedAt", link.takedown.as_ref().map(|t| n(t.at))),
        (
            "deleteReason",
            link.takedown
                .as_ref()
                .and_then(|t| t.reason.as_deref())
                .map(s),
        ),
    ]
}

pub(super) fn link_item(link: &Link) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([
        ("pk".to_owned(), s(format!("link#{}", link.code))),
        ("url".to_owned(), s(link.target.as_str())),
        ("createdAt".to_owned(), n(link.created_at)),
        ("version".to_owned(), n(link.version)),
    ]);
    if let Some(at) = link.limits.expires_at {
        item.insert("expiresAt".to_owned(), n(at));
        item.insert("ttl".to_owned(), n(at + TTL_GRACE_SECONDS));
    }
    if let Some(max) = link.limits.max_visits {
        item.insert("maxVisits".to_owned(), n(max));
        item.insert("visits".to_owned(), n(0));
    }
    item
}

pub(super) fn parse_link(
    code: &ShortCode,
    item: &HashMap<String, AttributeValue>,
) -> Result<Link, StoreError> {
    let number = |name: &str| -> Option<i64> { item.get(name)?.as_n().ok()?.parse().ok() };
    let url = item
        .get("url")
        .and_then(|v| v.as_s().ok())
        .and_then(|u| url::Url::parse(u).ok())
        .ok_or_else(|| StoreError::Unexpected(format!("link {code} has no valid url")))?;
    Ok(Link {
        code: code.clone(),
        target: TargetUrl::from(url),
        created_at: number("createdAt").unwrap_or_default(),
        limits: Limits {
            expires_at: number("expiresAt"),
            max_visits: number("maxVisits").map(|v| v.max(0) as u64),
        },
        visits: number("visits").unwrap_or_default().max(0) as u64,
        version: number("version").map_or(1, |v| v.max(1) as u64),
        disabled: item
            .get("disabled")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        takedown: number("deletedAt").map(|at| Takedown {
            at,
            reason: item
                .get("deleteReason")
                .and_then(|v| v.as_s().ok())
                .cloned(),
        }),
        history: item
            .get("history")
            .and_then(|v| v.as_l().ok())
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let entry = entry.as_m().ok()?;
                Some(TargetChange {
                    url: entry.get("url")?.as_s().ok()?.clone(),
                    replaced_at: entry.get("at")?.as_n().ok()?.parse().ok()?,
                })
            })
            .collect(),
    })
}
