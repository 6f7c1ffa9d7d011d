//! The links table in DynamoDB. Every `AttributeValue` conversion of the shortener lives here.
//!
//! One table, one string key `pk`, items told apart by prefix:
//!
//! | `pk`                    | what                                      | attributes                                 |
//! |-------------------------|-------------------------------------------|--------------------------------------------|
//! | `counter#ids`           | the id counter, leased in blocks          | `value`                                    |
//! | `link#<code>`           | a link                                    | `url`, `createdAt`, `expiresAt`, `maxVisits`, `visits`, `ttl`, `version`, `disabled`, `history`, `deletedAt`, `deleteReason` |
//! | `url#<sha256>`          | dedupe: the code of a normalised URL      | `code`                                     |
//! | `visits#<code>#<shard>` | one shard of a link's visit counter       | `count`, `ttl`                             |
//! | `day#<code>#<date>#<shard>` | one shard of a link's analytics for a UTC day | `visits`, `previews`, `ref:<host>`, `refs` (the hosts that have a `ref:`), `dev:<class>`, `hll` (a string set of `index:rank`), `ttl` |
//!
//! Every write that creates an item is conditional, so nothing is ever silently overwritten; an
//! edit is conditional on the link's `version`. A taken-down link keeps its item (without `ttl`),
//! so its code is never handed out again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValue, TransactWriteItem,
};

use crate::domain::code::ShortCode;
use crate::domain::link::{Limits, Link, Takedown, TargetChange};
use crate::domain::target::TargetUrl;

const COUNTER_KEY: &str = "counter#ids";

pub use crate::domain::analytics::OTHER_REFERRER;
/// Per-day analytics are kept this long (DynamoDB TTL cleans them up).
const ANALYTICS_DAYS: i64 = 90;
/// Items outlive their expiry by a day so a late visitor still gets `410` rather than `404`.
const TTL_GRACE_SECONDS: i64 = 24 * 3_600;

/// A failure of the table, as the handler needs to see it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Timeouts, throttling, connection failures, DynamoDB's own 5xx: worth a retry by the client.
    #[error("DynamoDB unavailable: {0}")]
    Unavailable(String),
    /// Anything else (a missing table, a malformed item): a bug or a misconfiguration.
    #[error("DynamoDB request failed: {0}")]
    Unexpected(String),
}

/// The outcome of writing a new link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The link and (when asked) its dedupe item were written.
    New,
    /// The code is already in use (an alias, or a generated code an alias took first).
    CodeTaken,
    /// Another request stored the same URL first; this is its code.
    Existing(ShortCode),
    /// Two writers raced on the same items; try again.
    Conflict,
}

/// What one redirect adds to its link's analytics of the day (nothing identifying the visitor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayVisit {
    Visit {
        referrer: String,
        device: &'static str,
        register: (u16, u8),
    },
    Preview,
}

/// A link's analytics for one UTC day, all shards summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayStats {
    pub visits: u64,
    pub previews: u64,
    pub referrers: std::collections::BTreeMap<String, u64>,
    pub devices: std::collections::BTreeMap<String, u64>,
    pub registers: Vec<(u16, u8)>,
}

/// The outcome of writing an edited (or taken-down) link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updated {
    Done,
    /// The link is no longer at the expected version (or was taken down, or is gone): read it again.
    Stale,
    /// Two writers raced on the same items; try again.
    Conflict,
}

/// Counts of the writes this instance made, for the benchmark's writes-per-request figures.
#[derive(Debug, Default)]
pub struct WriteCounts {
    pub counter: AtomicU64,
    pub links: AtomicU64,
    pub visits: AtomicU64,
}

/// The links table. Clones share the client and the write counts (a redirect moves one into the
/// work it defers past its response).
#[derive(Debug, Clone)]
pub struct LinkStore {
    client: Client,
    table: String,
    pub writes: std::sync::Arc<WriteCounts>,
}

impl LinkStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            writes: std::sync::Arc::default(),
        }
    }

    /// The DynamoDB client (benchmarks compare the handlers with raw calls on it).
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Reserves `size` ids with one atomic `ADD`; returns the counter's new value (the block's end).
    pub async fn lease_ids(&self, size: u64) -> Result<u64, StoreError> {
        self.writes.counter.fetch_add(1, Ordering::Relaxed);
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(COUNTER_KEY))
            .update_expression("ADD #v :size")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":size", n(size))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(classify)?;
        output
            .attributes()
            .and_then(|a| a.get("value"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StoreError::Unexpected("counter update returned no value".into()))
    }

    /// The code already stored for a normalised URL (strongly consistent read).
    pub async fn find_by_url(&self, dedupe_key: &str) -> Result<Option<ShortCode>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("url#{dedupe_key}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output
            .item()
            .and_then(|item| item.get("code"))
            .and_then(|v| v.as_s().ok())
            .and_then(|code| ShortCode::parse(code).ok()))
    }

    /// Writes a new link; with `dedupe_key`, atomically together with the URL's dedupe item, so
    /// two racing requests for one URL can never both create a link.
    pub async fn create(
        &self,
        link: &Link,
        dedupe_key: Option<&str>,
    ) -> Result<Created, StoreError> {
        self.writes.links.fetch_add(1, Ordering::Relaxed);
        let link_item = link_item(link);
        let Some(dedupe_key) = dedupe_key else {
            return match self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(link_item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await
            {
                Ok(_) => Ok(Created::New),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    Ok(Created::CodeTaken)
                }
                Err(e) => Err(classify(e)),
            };
        };
        let url_key = format!("url#{dedupe_key}");
        let put = |item: HashMap<String, AttributeValue>| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map(|put| TransactWriteItem::builder().put(put).build())
                .map_err(|e| StoreError::Unexpected(e.to_string()))
        };
        let dedupe_item = HashMap::from([
            ("pk".to_owned(), s(&url_key)),
            ("code".to_owned(), s(link.code.as_str())),
        ]);
        let result = self
            .client
            .transact_write_items()
            .transact_items(put(link_item)?)
            .transact_items(put(dedupe_item)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Created::New),
            Err(error) => {
                let reasons = cancellation_reasons(&error);
                match reasons
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .as_slice()
                {
                    [_, "ConditionalCheckFailed"] => match self.find_by_url(dedupe_key).await? {
                        Some(code) => Ok(Created::Existing(code)),
                        None => Ok(Created::Conflict),
                    },
                    ["ConditionalCheckFailed", _] => Ok(Created::CodeTaken),
                    _ if conflicted(&reasons, &error) => Ok(Created::Conflict),
                    _ => Err(classify(error)),
                }
            }
        }
    }

    /// The link stored under `code` (strongly consistent read, so a fresh link redirects at once).
    pub async fn get(&self, code: &ShortCode) -> Result<Option<Link>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("link#{code}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.item().map(|item| parse_link(code, item)).transpose()
    }

    /// Writes `next` (an edit or a take-down of the link stored at `expected_version`) if the link
    /// is still at that version and not taken down. With `drop_dedupe`, the dedupe item of the
    /// link's previous URL goes in the same transaction when it names this code, so creating that
    /// URL again no longer hands out an edited or deleted link.
    pub async fn update(
        &self,
        next: &Link,
        expected_version: u64,
        drop_dedupe: Option<&str>,
    ) -> Result<Updated, StoreError> {
        self.writes.links.fetch_add(1, Ordering::Relaxed);
        // DynamoDB refuses names and values an expression does not use: add each only with its use.
        let mut names = HashMap::from([("#version".to_owned(), "version".to_owned())]);
        let mut values = HashMap::from([(":expected".to_owned(), n(expected_version))]);
        let mut set = Vec::new();
        let mut remove = Vec::new();
        for (i, (name, value)) in mutable_attributes(next).into_iter().enumerate() {
            names.insert(format!("#a{i}"), name.to_owned());
            match value {
                Some(value) => {
                    if name == "visits" {
                        set.push(format!("#a{i} = if_not_exists(#a{i}, :v{i})"));
                    } else {
                        set.push(format!("#a{i} = :v{i}"));
                    }
                    values.insert(format!(":v{i}"), value);
                }
                None => remove.push(format!("#a{i}")),
            }
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        // Links stored before edits existed have no version: they are at version 1.
        let version_matches = if expected_version == 1 {
            "(attribute_not_exists(#version) OR #version = :expected)"
        } else {
            "#version = :expected"
        };
        let condition = format!(
            "attribute_exists(pk) AND attribute_not_exists(deletedAt) AND {version_matches}"
        );
        let key = HashMap::from([("pk".to_owned(), s(format!("link#{}", next.code)))]);
        let Some(dedupe_key) = drop_dedupe else {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .update_expression(expression)
                .condition_expression(condition)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .send()
                .await;
            return match result {
                Ok(_) => Ok(Updated::Done),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    Ok(Updated::Stale)
                }
                Err(e) => Err(classify(e)),
            };
        };
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| StoreError::Unexpected(e.to_string()))?;
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .key("pk", s(format!("url#{dedupe_key}")))
            .condition_expression("attribute_not_exists(pk) OR code = :code")
            .expression_attribute_values(":code", s(next.code.as_str()))
            .build()
            .map_err(|e| StoreError::Unexpected(e.to_string()))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Updated::Done),
            Err(error) => match cancellation_reasons(&error).as_slice() {
                [first, _] if first == "ConditionalCheckFailed" => Ok(Updated::Stale),
                // The URL's dedupe item names another link: leave it, write the link alone.
                [_, second] if second == "ConditionalCheckFailed" => {
                    Box::pin(self.update(next, expected_version, None)).await
                }
                reasons if conflicted(reasons, &error) => Ok(Updated::Conflict),
                _ => Err(classify(error)),
            },
        }
    }

    /// Counts a visit on a link with a visit limit, on the link item itself and only while visits
    /// remain; `false` when the limit was already reached (or the link is gone).
    pub async fn count_limited_visit(&self, code: &ShortCode) -> Result<bool, StoreError> {
        self.writes.visits.fetch_add(1, Ordering::Relaxed);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("link#{code}")))
            .update_expression("SET visits = if_not_exists(visits, :zero) + :one")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(visits) OR visits < maxVisits)",
            )
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(classify(e)),
        }
    }

    /// Adds one visit to shard `shard` of the link's counter.
    pub async fn count_visit(
        &self,
        code: &ShortCode,
        shard: u32,
        ttl: Option<i64>,
    ) -> Result<(), StoreError> {
        self.writes.visits.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("visits#{code}#{shard}")))
            .expression_attribute_names("#c", "count")
            .expression_attribute_values(":one", n(1));
        request = match ttl {
            Some(ttl) => request
                .update_expression("ADD #c :one SET #t = :ttl")
                .expression_attribute_names("#t", "ttl")
                .expression_attribute_values(":ttl", n(ttl + TTL_GRACE_SECONDS)),
            None => request.update_expression("ADD #c :one"),
        };
        request.send().await.map_err(classify)?;
        Ok(())
    }

    /// Adds one redirect to shard `shard` of the link's analytics for `date` (`YYYY-MM-DD`).
    ///
    /// A shard keeps at most `max_referrers` distinct referrer hosts: the write is conditional on
    /// the host being one of them already, or there being room (`refs` holds them, so DynamoDB
    /// can count them: `size(refs)`); past that the visit is counted under [`OTHER_REFERRER`].
    /// So no client can grow an item without bound by sending new `Referer` hosts.
    pub async fn record_day(
        &self,
        code: &ShortCode,
        date: &str,
        shard: u32,
        visit: &DayVisit,
        now: i64,
        max_referrers: u32,
    ) -> Result<(), StoreError> {
        self.writes.visits.fetch_add(1, Ordering::Relaxed);
        let request = || {
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(format!("day#{code}#{date}#{shard}")))
                .expression_attribute_names("#t", "ttl")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":ttl", n(now + ANALYTICS_DAYS * 86_400))
        };
        let DayVisit::Visit {
            referrer,
            device,
            register: (index, rank),
        } = visit
        else {
            request()
                .update_expression("ADD #p :one SET #t = :ttl")
                .expression_attribute_names("#p", "previews")
                .send()
                .await
                .map_err(classify)?;
            return Ok(());
        };
        let visit = |referrer: &str| {
            request()
                .update_expression("ADD #v :one, #r :one, #d :one, #h :reg SET #t = :ttl")
                .expression_attribute_names("#v", "visits")
                .expression_attribute_names("#r", format!("ref:{referrer}"))
                .expression_attribute_names("#d", format!("dev:{device}"))
                .expression_attribute_names("#h", "hll")
                .expression_attribute_values(
                    ":reg",
                    AttributeValue::Ss(vec![format!("{index}:{rank}")]),
                )
        };
        let within_limit = visit(referrer)
            .update_expression("ADD #v :one, #r :one, #d :one, #h :reg, #s :hosts SET #t = :ttl")
            .condition_expression(
                "attribute_not_exists(#s) OR contains(#s, :host) OR size(#s) < :max",
            )
            .expression_attribute_names("#s", "refs")
            .expression_attribute_values(":hosts", AttributeValue::Ss(vec![referrer.clone()]))
            .expression_attribute_values(":host", s(referrer.as_str()))
            .expression_attribute_values(":max", n(max_referrers))
            .send()
            .await;
        match within_limit {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                visit(OTHER_REFERRER).send().await.map_err(classify)?;
                Ok(())
            }
            Err(e) => Err(classify(e)),
        }
    }

    /// A link's analytics for each of `dates`, its shards summed (eventually consistent reads).
    pub async fn days(
        &self,
        code: &ShortCode,
        dates: &[String],
        shards: u32,
    ) -> Result<Vec<DayStats>, StoreError> {
        let keys: Vec<String> = dates
            .iter()
            .flat_map(|date| (0..shards).map(move |shard| format!("day#{code}#{date}#{shard}")))
            .collect();
        let mut days: HashMap<String, DayStats> = HashMap::new();
        for chunk in keys.chunks(100) {
            let keys = chunk
                .iter()
                .map(|pk| HashMap::from([("pk".to_owned(), s(pk))]))
                .collect();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .build()
                    .map_err(|e| StoreError::Unexpected(e.to_string()))?,
            );
            for _ in 0..5 {
                let Some(keys) = request.take() else { break };
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, keys)
                    .send()
                    .await
                    .map_err(classify)?;
                for item in output
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    let Some(date) = item
                        .get("pk")
                        .and_then(|v| v.as_s().ok())
                        .and_then(|pk| pk.rsplit('#').nth(1))
                    else {
                        continue;
                    };
                    merge_day(days.entry(date.to_owned()).or_default(), item);
                }
                request = output
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .cloned();
            }
        }
        Ok(dates
            .iter()
            .map(|date| days.remove(date).unwrap_or_default())
            .collect())
    }

    /// The sum of a link's visit counter shards (eventually consistent reads).
    pub async fn sharded_visits(&self, code: &ShortCode, shards: u32) -> Result<u64, StoreError> {
        let keys = (0..shards)
            .map(|shard| HashMap::from([("pk".to_owned(), s(format!("visits#{code}#{shard}")))]))
            .collect();
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .build()
                .map_err(|e| StoreError::Unexpected(e.to_string()))?,
        );
        let mut total = 0;
        // BatchGetItem may hand back unprocessed keys under load; ask again for those.
        for _ in 0..5 {
            let Some(keys) = request.take() else { break };
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .send()
                .await
                .map_err(classify)?;
            total += output
                .responses()
                .and_then(|r| r.get(&self.table))
                .into_iter()
                .flatten()
                .filter_map(|item| item.get("count").and_then(|v| v.as_n().ok()))
                .filter_map(|v| v.parse::<u64>().ok())
                .sum::<u64>();
            request = output
                .unprocessed_keys()
                .and_then(|u| u.get(&self.table))
                .cloned();
        }
        Ok(total)
    }
}

fn merge_day(day: &mut DayStats, item: &HashMap<String, AttributeValue>) {
    let count = |v: &AttributeValue| v.as_n().ok().and_then(|n| n.parse::<u64>().ok());
    for (name, value) in item {
        if name == "visits" {
            day.visits += count(value).unwrap_or_default();
        } else if name == "previews" {
            day.previews += count(value).unwrap_or_default();
        } else if let Some(host) = name.strip_prefix("ref:") {
            *day.referrers.entry(host.to_owned()).or_default() += count(value).unwrap_or_default();
        } else if let Some(class) = name.strip_prefix("dev:") {
            *day.devices.entry(class.to_owned()).or_default() += count(value).unwrap_or_default();
        } else if name == "hll"
            && let Ok(set) = value.as_ss()
        {
            day.registers.extend(set.iter().filter_map(|r| {
                let (index, rank) = r.split_once(':')?;
                Some((index.parse().ok()?, rank.parse().ok()?))
            }));
        }
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Why a transaction was cancelled, one code per item (`None` for the items that were fine).
fn cancellation_reasons<R>(
    error: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> Vec<String> {
    error
        .as_service_error()
        .and_then(|e| match e {
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => Some(
                c.cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None").to_owned())
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

/// Whether a transaction lost to a concurrent one: an item's `TransactionConflict` reason, or
/// the whole call refused with `TransactionConflictException`.
fn conflicted<R>(
    reasons: &[String],
    error: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> bool {
    reasons.iter().any(|r| r == "TransactionConflict")
        || error
            .as_service_error()
            .is_some_and(|e| e.code() == Some("TransactionConflictException"))
}

/// The attributes an edit or a take-down may change: `Some` to set, `None` to remove. `visits`
/// is only ever initialised (the redirect path counts it); a tombstone loses its `ttl`.
fn mutable_attributes(link: &Link) -> Vec<(&'static str, Option<AttributeValue>)> {
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

fn link_item(link: &Link) -> HashMap<String, AttributeValue> {
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

fn parse_link(
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

/// Sorts SDK failures into "retry later" and "our bug", keeping the full cause for the log.
fn classify<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string();
    match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(detail)
        }
        SdkError::ServiceError(service) => match service.err().code() {
            Some(
                "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "InternalServerError"
                | "ServiceUnavailable"
                | "TransactionInProgressException",
            ) => StoreError::Unavailable(detail),
            _ => StoreError::Unexpected(detail),
        },
        _ => StoreError::Unexpected(detail),
    }
}
