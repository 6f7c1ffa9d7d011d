//! The experiments table: the current definitions (one item) and comparison records (TTL).
//!
//! | pk                    | sk                              | attributes            |
//! |-----------------------|---------------------------------|-----------------------|
//! | `definitions`         | `file#<definitions file stem>`  | `yaml`, `updatedAt`   |
//! | `definitions`         | `promotion#<experiment>`        | `state` (JSON), `version` |
//! | `results#<experiment>`| `<at, RFC 3339 ms>#<correlation>`| `record` (JSON), `ttl`|
//! | `counters#<experiment>`| `total`                        | `served`, `sampled`, `compared`, `skipped` (numbers, atomic `ADD`), `since` |
//! | `tally#<experiment>`  | [`TallyKey::joined`]            | `key` (JSON), `comparisons`, `mismatches`, `errors`, `timeouts`, `intended` (atomic `ADD`), `since` |
//! | `explore#<experiment>`| `<candidate>`                   | `explored` (JSON): the latest `./build.sh explore` |
//!
//! The counters are one item per experiment, updated with `ADD` (atomic, no read first): the proxy
//! adds every request it serves and those it samples in one update, the comparator each
//! comparison it stores, the proxy each sampled request it could not hand off.

mod comparisons;
mod definitions;
mod explorations;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::definition::Experiments;
use crate::domain::promotion::{self, Promotions};
use crate::domain::record::{ComparisonRecord, Counts};
use crate::domain::report::Explored;
use crate::domain::tally::{self, Tally, TallyKey};

/// How long comparison records are kept (DynamoDB TTL removes them after).
pub const RECORD_TTL_SECONDS: i64 = 30 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the experiments table is unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected item in the experiments table: {0}")]
    Corrupt(String),
    #[error(
        "the promotions of {experiment} changed meanwhile (now at version {current}); look again and retry"
    )]
    Conflict { experiment: String, current: u64 },
}

fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(
    error: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> StoreError {
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// Why the running experiments could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored definitions are invalid: {0}")]
    Invalid(#[from] crate::domain::definition::DefinitionError),
}

const PROMOTION_PREFIX: &str = "promotion#";

/// One of an experiment's counters ([`Counts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Requests the proxy served for the experiment.
    Served,
    /// Of them, those sampled for a comparison.
    Sampled,
    /// Comparisons the comparator stored.
    Compared,
    /// Sampled requests never compared: the control gave no answer to compare with, the job was
    /// not handed off (queue full, too large) or the hand-off failed.
    Skipped,
}

impl Counter {
    pub fn attribute(self) -> &'static str {
        match self {
            Counter::Served => "served",
            Counter::Sampled => "sampled",
            Counter::Compared => "compared",
            Counter::Skipped => "skipped",
        }
    }
}

fn counters_key(experiment: &str) -> AttributeValue {
    s(format!("counters#{experiment}"))
}

/// The `UpdateExpression` of a running total: adds each count, keeps the key readable and the
/// first update's time.
pub fn tally_expression() -> String {
    let adds: Vec<String> = Tally::default()
        .counters()
        .iter()
        .map(|(name, _)| format!("{name} :{name}"))
        .collect();
    format!(
        "ADD {} SET #key = :key, since = if_not_exists(since, :since)",
        adds.join(", ")
    )
}

/// Whether a counter is also kept per request class ([`crate::domain::coverage`]): what was
/// sampled and what was compared, `sampled@<class>` and `compared@<class>`.
fn per_class(counter: Counter) -> bool {
    matches!(counter, Counter::Sampled | Counter::Compared)
}

/// The attribute of `counter` for requests of `class`; the update names it `#<counter>_class`.
pub fn class_attribute(counter: Counter, class: &str) -> String {
    format!("{}@{class}", counter.attribute())
}

/// The `UpdateExpression` that adds to `counters` (and, when `classed`, to their per-class
/// attributes) and sets `since` on the item's first update.
pub fn add_expression(counters: &[(Counter, u64)], classed: bool) -> String {
    let adds: Vec<String> = counters
        .iter()
        .flat_map(|(counter, _)| {
            let name = counter.attribute();
            let class = (classed && per_class(*counter)).then(|| format!("#{name}_class :{name}"));
            std::iter::once(format!("{name} :{name}")).chain(class)
        })
        .collect();
    format!(
        "ADD {} SET since = if_not_exists(since, :since)",
        adds.join(", ")
    )
}

#[derive(Debug, Clone)]
pub struct ExperimentStore {
    client: Client,
    table: String,
}

impl ExperimentStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The items of one partition, every page of it (a query returns at most 1 MB at a time),
    /// strongly consistent: each reader here reads what was just written.
    async fn query_partition(&self, query: PartitionQuery<'_>) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        let condition = match query.sk_prefix {
            Some(_) => "pk = :pk AND begins_with(sk, :prefix)",
            None => "pk = :pk",
        };
        while query.limit.is_none_or(|limit| items.len() < limit) {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(condition)
                .expression_attribute_values(":pk", s(query.pk.as_str()))
                .scan_index_forward(!query.newest_first)
                .consistent_read(true)
                .set_exclusive_start_key(start);
            if let Some(prefix) = query.sk_prefix {
                request = request.expression_attribute_values(":prefix", s(prefix));
            }
            if query.keys_only {
                request = request.projection_expression("pk, sk");
            }
            if let Some(limit) = query.limit {
                request = request.limit(i32::try_from(limit - items.len()).unwrap_or(i32::MAX));
            }
            let output = request.send().await.map_err(unavailable)?;
            start = output.last_evaluated_key;
            items.extend(output.items.unwrap_or_default());
            if start.is_none() {
                break;
            }
        }
        Ok(items)
    }
}

/// One item as DynamoDB returns it.
type Item = std::collections::HashMap<String, AttributeValue>;

/// Which items of a partition [`ExperimentStore::query_partition`] reads.
#[derive(Debug, Default)]
struct PartitionQuery<'a> {
    /// The partition key value, `tally#<experiment>` say.
    pk: String,
    /// Only the items whose sort key starts with this.
    sk_prefix: Option<&'a str>,
    /// Only `pk` and `sk` of each item (what a delete needs).
    keys_only: bool,
    /// In descending sort-key order (the records' keys start with their time).
    newest_first: bool,
    /// At most this many items.
    limit: Option<usize>,
}

impl PartitionQuery<'_> {
    /// Every item of partition `pk`, in sort-key order.
    fn all(pk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counters_update_adds_each_counter_and_keeps_the_first_since() {
        let cases = [
            (
                "a request served and sampled",
                vec![(Counter::Served, 1), (Counter::Sampled, 1)],
                "ADD served :served, sampled :sampled SET since = if_not_exists(since, :since)",
            ),
            (
                "a comparison stored",
                vec![(Counter::Compared, 1)],
                "ADD compared :compared SET since = if_not_exists(since, :since)",
            ),
            (
                "a hand-off skipped",
                vec![(Counter::Skipped, 1)],
                "ADD skipped :skipped SET since = if_not_exists(since, :since)",
            ),
        ];
        for (case, counters, expected) in cases {
            assert_eq!(add_expression(&counters, false), expected, "{case}");
        }
        assert_eq!(
            add_expression(&[(Counter::Served, 1), (Counter::Sampled, 1)], true),
            "ADD served :served, sampled :sampled, #sampled_class :sampled SET since = if_not_exists(since, :since)"
        );
        assert_eq!(
            class_attribute(Counter::Compared, "POST /sort, body < 1 KB"),
            "compared@POST /sort, body < 1 KB"
        );
    }
}
