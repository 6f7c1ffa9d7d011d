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

/// The `UpdateExpression` that adds to `counters` and sets `since` on the item's first update.
pub fn add_expression(counters: &[(Counter, u64)]) -> String {
    let adds: Vec<String> = counters
        .iter()
        .map(|(counter, _)| format!("{0} :{0}", counter.attribute()))
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

    /// Every uploaded definitions file, as `(source, yaml)`.
    pub async fn definitions(&self) -> Result<Vec<(String, String)>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s("definitions"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output
            .items()
            .iter()
            .filter(|item| {
                item.get("sk")
                    .and_then(|v| v.as_s().ok())
                    .is_none_or(|sk| !sk.starts_with(PROMOTION_PREFIX))
            })
            .map(|item| {
                let field = |name: &str| {
                    item.get(name)
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!("definitions item without {name}"))
                        })
                };
                let source = field("sk")?;
                let source = source.strip_prefix("file#").unwrap_or(&source).to_owned();
                Ok((source, field("yaml")?))
            })
            .collect()
    }

    /// Every experiment's promotions, as `(experiment, state)`.
    pub async fn promotions(&self) -> Result<Vec<(String, Promotions)>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :promotion)")
            .expression_attribute_values(":pk", s("definitions"))
            .expression_attribute_values(":promotion", s(PROMOTION_PREFIX))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output
            .items()
            .iter()
            .map(|item| {
                let sk = item.get("sk").and_then(|v| v.as_s().ok());
                let state = item.get("state").and_then(|v| v.as_s().ok());
                let (Some(sk), Some(state)) = (sk, state) else {
                    return Err(StoreError::Corrupt(
                        "promotion item without sk or state".into(),
                    ));
                };
                let state: Promotions =
                    serde_json::from_str(state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((sk[PROMOTION_PREFIX.len()..].to_owned(), state))
            })
            .collect()
    }

    /// The promotions of one experiment (version 0 when none are stored).
    pub async fn promotions_of(&self, experiment: &str) -> Result<Promotions, StoreError> {
        Ok(self
            .promotions()
            .await?
            .into_iter()
            .find(|(name, _)| name == experiment)
            .map(|(_, state)| state)
            .unwrap_or_default())
    }

    /// Writes `next` (its version is set to `read.version + 1`) only if the stored state is still
    /// at `read.version`: of two writers who read the same state, one wins and the other gets
    /// [`StoreError::Conflict`].
    pub async fn put_promotions(
        &self,
        experiment: &str,
        read: &Promotions,
        mut next: Promotions,
    ) -> Result<Promotions, StoreError> {
        next.version = read.version + 1;
        let json = serde_json::to_string(&next).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s("definitions"))
            .item("sk", s(format!("{PROMOTION_PREFIX}{experiment}")))
            .item("state", s(json))
            .item("version", AttributeValue::N(next.version.to_string()))
            .condition_expression("attribute_not_exists(sk) OR version = :read")
            .expression_attribute_values(":read", AttributeValue::N(read.version.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(next),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                let current = self.promotions_of(experiment).await?.version;
                Err(StoreError::Conflict {
                    experiment: experiment.to_owned(),
                    current,
                })
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    /// The experiments as they run: the uploaded definitions with their promotions applied.
    /// Promotions that no longer fit a definition are logged and left out.
    pub async fn experiments(&self) -> Result<Experiments, LoadError> {
        let sources = self.definitions().await?;
        let promotions = self.promotions().await?;
        let mut experiments = Experiments::merge(&sources)?;
        for warning in promotion::apply_all(&mut experiments, &promotions) {
            tracing::warn!(%warning, "promotion not applied");
        }
        Ok(experiments)
    }

    /// Stores one definitions file under its source name (validate it first).
    pub async fn put_definitions(
        &self,
        source: &str,
        yaml: &str,
        updated_at: &str,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s("definitions"))
            .item("sk", s(format!("file#{source}")))
            .item("yaml", s(yaml))
            .item("updatedAt", s(updated_at))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Stores a comparison exactly once, with what it adds to the experiment's `compared`
    /// counter and to each candidate's running totals ([`crate::domain::tally`]), in one
    /// transaction: all of it or none. `Ok(false)` when the record was already stored (the
    /// comparator's invocation retried): nothing is counted twice.
    pub async fn put_compared(
        &self,
        record: &ComparisonRecord,
        now_epoch: i64,
    ) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
        let json = serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let built = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Corrupt(e.to_string());
        let since = s(crate::now_rfc3339());
        let mut items = vec![
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .item("pk", s(format!("results#{}", record.experiment)))
                        .item("sk", s(format!("{}#{}", record.at, record.correlation_id)))
                        .item("record", s(json))
                        .item(
                            "ttl",
                            AttributeValue::N((now_epoch + RECORD_TTL_SECONDS).to_string()),
                        )
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .map_err(built)?,
                )
                .build(),
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.table)
                        .key("pk", counters_key(&record.experiment))
                        .key("sk", s("total"))
                        .update_expression(add_expression(&[(Counter::Compared, 1)]))
                        .expression_attribute_values(":compared", AttributeValue::N("1".into()))
                        .expression_attribute_values(":since", since.clone())
                        .build()
                        .map_err(built)?,
                )
                .build(),
        ];
        for (key, tally) in tally::of_record(record) {
            let key_json =
                serde_json::to_string(&key).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let mut update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(format!("tally#{}", record.experiment)))
                .key("sk", s(key.joined()))
                .update_expression(tally_expression())
                // `key` is one of DynamoDB's reserved words.
                .expression_attribute_names("#key", "key")
                .expression_attribute_values(":key", s(key_json))
                .expression_attribute_values(":since", since.clone());
            for (name, value) in tally.counters() {
                update = update.expression_attribute_values(
                    format!(":{name}"),
                    AttributeValue::N(value.to_string()),
                );
            }
            items.push(
                TransactWriteItem::builder()
                    .update(update.build().map_err(built)?)
                    .build(),
            );
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) => {
                use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
                let already_stored = matches!(
                    error.as_service_error(),
                    Some(TransactWriteItemsError::TransactionCanceledException(cancelled))
                        if cancelled.cancellation_reasons().first()
                            .and_then(|reason| reason.code()) == Some("ConditionalCheckFailed")
                );
                if already_stored {
                    Ok(false)
                } else {
                    Err(unavailable(error))
                }
            }
        }
    }

    /// Every running total of an experiment, with its key.
    pub async fn tallies(&self, experiment: &str) -> Result<Vec<(TallyKey, Tally)>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(format!("tally#{experiment}")))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in output.items() {
                let key: TallyKey = item
                    .get("key")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|json| serde_json::from_str(json).ok())
                    .ok_or_else(|| StoreError::Corrupt("a tally without its key".into()))?;
                let number = |name: &str| -> Result<u64, StoreError> {
                    item.get(name).map_or(Ok(0), |v| {
                        v.as_n().ok().and_then(|n| n.parse().ok()).ok_or_else(|| {
                            StoreError::Corrupt(format!("tally {name} is not a number"))
                        })
                    })
                };
                found.push((
                    key,
                    Tally {
                        comparisons: number("comparisons")?,
                        mismatches: number("mismatches")?,
                        errors: number("errors")?,
                        timeouts: number("timeouts")?,
                        intended: number("intended")?,
                    },
                ));
            }
            start = output.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        Ok(found)
    }

    /// Adds to an experiment's counters in one atomic update (no read first).
    pub async fn add_counts(
        &self,
        experiment: &str,
        counters: &[(Counter, u64)],
    ) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", counters_key(experiment))
            .key("sk", s("total"))
            .update_expression(add_expression(counters))
            .expression_attribute_values(":since", s(crate::now_rfc3339()));
        for (counter, n) in counters {
            update = update.expression_attribute_values(
                format!(":{}", counter.attribute()),
                AttributeValue::N(n.to_string()),
            );
        }
        update.send().await.map_err(unavailable)?;
        Ok(())
    }

    /// An experiment's counters (all 0 before its first request).
    pub async fn counts(&self, experiment: &str) -> Result<Counts, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", counters_key(experiment))
            .key("sk", s("total"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = output.item() else {
            return Ok(Counts::default());
        };
        let number = |counter: Counter| -> Result<u64, StoreError> {
            match item.get(counter.attribute()) {
                None => Ok(0),
                Some(value) => value
                    .as_n()
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "counter {} is not a number",
                            counter.attribute()
                        ))
                    }),
            }
        };
        Ok(Counts {
            served: number(Counter::Served)?,
            sampled: number(Counter::Sampled)?,
            compared: number(Counter::Compared)?,
            skipped: number(Counter::Skipped)?,
            since: item.get("since").and_then(|v| v.as_s().ok()).cloned(),
        })
    }

    /// Deletes an experiment's records and counters (a fresh start, for local use); returns how
    /// many records were deleted. Its definition stays.
    pub async fn reset(&self, experiment: &str) -> Result<usize, StoreError> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        let mut deleted = 0;
        // The records, then the running totals (not counted in what is returned).
        for partition in ["results", "tally"] {
            let mut start = None;
            loop {
                let output = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk")
                    .expression_attribute_values(":pk", s(format!("{partition}#{experiment}")))
                    .projection_expression("pk, sk")
                    .consistent_read(true)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for keys in output.items().chunks(25) {
                    let mut requests: Vec<WriteRequest> = keys
                        .iter()
                        .map(|key| {
                            let delete = DeleteRequest::builder()
                                .set_key(Some(key.clone()))
                                .build()
                                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                            Ok(WriteRequest::builder().delete_request(delete).build())
                        })
                        .collect::<Result<_, StoreError>>()?;
                    // Unprocessed items (throttling) are sent again, a bounded number of times.
                    for _ in 0..10 {
                        if requests.is_empty() {
                            break;
                        }
                        let output = self
                            .client
                            .batch_write_item()
                            .request_items(&self.table, requests)
                            .send()
                            .await
                            .map_err(unavailable)?;
                        requests = output
                            .unprocessed_items()
                            .and_then(|items| items.get(&self.table))
                            .cloned()
                            .unwrap_or_default();
                    }
                    if !requests.is_empty() {
                        return Err(StoreError::Unavailable(format!(
                            "{} records of {experiment} were not deleted; run the reset again",
                            requests.len()
                        )));
                    }
                    if partition == "results" {
                        deleted += keys.len();
                    }
                }
                start = output.last_evaluated_key().cloned();
                if start.is_none() {
                    break;
                }
            }
        }
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", counters_key(experiment))
            .key("sk", s("total"))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(deleted)
    }

    /// Deletes one definitions file (what [`ExperimentStore::put_definitions`] stored).
    pub async fn delete_definitions(&self, source: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s("definitions"))
            .key("sk", s(format!("file#{source}")))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Stores the latest exploration of a candidate (`./build.sh explore`), replacing the last.
    pub async fn put_exploration(
        &self,
        experiment: &str,
        explored: &Explored,
    ) -> Result<(), StoreError> {
        let json =
            serde_json::to_string(explored).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("explore#{experiment}")))
            .item("sk", s(explored.candidate.clone()))
            .item("explored", s(json))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// The latest exploration of each candidate of an experiment that has been explored.
    pub async fn explorations(&self, experiment: &str) -> Result<Vec<Explored>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(format!("explore#{experiment}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output
            .items()
            .iter()
            .map(|item| {
                let json = item
                    .get("explored")
                    .and_then(|v| v.as_s().ok())
                    .ok_or_else(|| StoreError::Corrupt("explore item without explored".into()))?;
                serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// The latest `limit` records of an experiment, newest first (strongly consistent).
    pub async fn latest(
        &self,
        experiment: &str,
        limit: usize,
    ) -> Result<Vec<ComparisonRecord>, StoreError> {
        let mut records = Vec::new();
        let mut start = None;
        while records.len() < limit {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(format!("results#{experiment}")))
                .scan_index_forward(false)
                .consistent_read(true)
                .limit(i32::try_from(limit - records.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in output.items() {
                let json = item
                    .get("record")
                    .and_then(|v| v.as_s().ok())
                    .ok_or_else(|| StoreError::Corrupt("record item without record".into()))?;
                records.push(
                    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                );
            }
            start = output.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        Ok(records)
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
            assert_eq!(add_expression(&counters), expected, "{case}");
        }
    }
}
