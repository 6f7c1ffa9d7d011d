//! The comparisons: each record with its counts and running totals (one transaction), the
//! latest records, the counters, and a reset.

use super::*;

impl ExperimentStore {
    /// Stores a comparison exactly once, with what it adds to the experiment's `compared`
    /// counter and to each candidate's running totals ([`crate::domain::tally`]), in one
    /// transaction: all of it or none. `Ok(false)` when the record was already stored (the
    /// comparator's invocation retried): nothing is counted twice.
    pub async fn put_compared(
        &self,
        record: &ComparisonRecord,
        class: &str,
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
                        .update_expression(add_expression(&[(Counter::Compared, 1)], true))
                        .expression_attribute_names(
                            "#compared_class",
                            class_attribute(Counter::Compared, class),
                        )
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
        let items = self
            .query_partition(PartitionQuery::all(format!("tally#{experiment}")))
            .await?;
        items
            .iter()
            .map(|item| {
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
                Ok((
                    key,
                    Tally {
                        comparisons: number("comparisons")?,
                        mismatches: number("mismatches")?,
                        errors: number("errors")?,
                        timeouts: number("timeouts")?,
                        intended: number("intended")?,
                    },
                ))
            })
            .collect()
    }

    /// Adds to an experiment's counters in one atomic update (no read first).
    pub async fn add_counts(
        &self,
        experiment: &str,
        counters: &[(Counter, u64)],
        class: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", counters_key(experiment))
            .key("sk", s("total"))
            .update_expression(add_expression(counters, class.is_some()))
            .expression_attribute_values(":since", s(crate::now_rfc3339()));
        for (counter, n) in counters {
            if let Some(class) = class.filter(|_| per_class(*counter)) {
                update = update.expression_attribute_names(
                    format!("#{}_class", counter.attribute()),
                    class_attribute(*counter, class),
                );
            }
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
        // `sampled@<class>` and `compared@<class>`: (sampled, compared) per class.
        let mut by_class: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
        for (name, value) in item {
            let Some((counter, class)) = name.split_once('@') else {
                continue;
            };
            let n: u64 = value.as_n().ok().and_then(|n| n.parse().ok()).unwrap_or(0);
            let entry = by_class.entry(class.to_owned()).or_default();
            match counter {
                "sampled" => entry.0 = n,
                "compared" => entry.1 = n,
                _ => {}
            }
        }
        Ok(Counts {
            served: number(Counter::Served)?,
            sampled: number(Counter::Sampled)?,
            compared: number(Counter::Compared)?,
            skipped: number(Counter::Skipped)?,
            since: item.get("since").and_then(|v| v.as_s().ok()).cloned(),
            by_class,
        })
    }

    /// Deletes an experiment's records and counters (a fresh start, for local use); returns how
    /// many records were deleted. Its definition stays.
    pub async fn reset(&self, experiment: &str) -> Result<usize, StoreError> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        let mut deleted = 0;
        // The records, then the running totals (not counted in what is returned).
        for partition in ["results", "tally"] {
            let keys = self
                .query_partition(PartitionQuery {
                    keys_only: true,
                    ..PartitionQuery::all(format!("{partition}#{experiment}"))
                })
                .await?;
            for keys in keys.chunks(25) {
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

    /// The latest `limit` records of an experiment, newest first (strongly consistent).
    pub async fn latest(
        &self,
        experiment: &str,
        limit: usize,
    ) -> Result<Vec<ComparisonRecord>, StoreError> {
        let items = self
            .query_partition(PartitionQuery {
                newest_first: true,
                limit: Some(limit),
                ..PartitionQuery::all(format!("results#{experiment}"))
            })
            .await?;
        items
            .iter()
            .map(|item| {
                let json = item
                    .get("record")
                    .and_then(|v| v.as_s().ok())
                    .ok_or_else(|| StoreError::Corrupt("record item without record".into()))?;
                serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }
}
