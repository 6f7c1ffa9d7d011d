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

mod items;
mod links;
mod visits;

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
use items::{link_item, mutable_attributes, parse_link};
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
