//! The experiments table: the current definitions (one item) and comparison records (TTL).
//!
//! | pk                    | sk                              | attributes            |
//! |-----------------------|---------------------------------|-----------------------|
//! | `definitions`         | `file#<definitions file stem>`  | `yaml`, `updatedAt`   |
//! | `results#<experiment>`| `<at, RFC 3339 ms>#<correlation>`| `record` (JSON), `ttl`|

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::record::ComparisonRecord;

/// How long comparison records are kept (DynamoDB TTL removes them after).
pub const RECORD_TTL_SECONDS: i64 = 30 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the experiments table is unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected item in the experiments table: {0}")]
    Corrupt(String),
}

fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(
    error: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> StoreError {
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
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

    pub async fn put_record(
        &self,
        record: &ComparisonRecord,
        now_epoch: i64,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("results#{}", record.experiment)))
            .item("sk", s(format!("{}#{}", record.at, record.correlation_id)))
            .item("record", s(json))
            .item(
                "ttl",
                AttributeValue::N((now_epoch + RECORD_TTL_SECONDS).to_string()),
            )
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
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
