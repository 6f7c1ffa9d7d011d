//! DynamoDB Local started on a port (in memory or with its data in `.local/dynamodb`), and the
//! tables of `template.yaml` made on it.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};

use super::probe::wait_for_http;
use crate::cmd::Cmd;
use crate::log;
use crate::procs::{self, Background};
use crate::template::{TableResource, Template};
use crate::tools::Paths;

/// A running DynamoDB Local.
pub struct DynamoDb {
    pub endpoint: String,
    _process: Background,
}

/// Starts DynamoDB Local on `port`, in memory or with its data in `.local/dynamodb`.
pub(super) fn start_dynamodb(paths: &Paths, port: u16, persistent: bool) -> Result<DynamoDb> {
    let dir = paths.dynamodb_local();
    let mut cmd = Cmd::new("java")
        .arg(format!(
            "-Djava.library.path={}",
            dir.join("DynamoDBLocal_lib").display()
        ))
        .arg("-jar")
        .arg(dir.join("DynamoDBLocal.jar").display().to_string())
        .args(["-sharedDb", "-disableTelemetry", "-port"])
        .arg(port.to_string());
    if persistent {
        let data = paths.local.join("dynamodb");
        std::fs::create_dir_all(&data)?;
        cmd = cmd.arg("-dbPath").arg(data.display().to_string());
    } else {
        cmd = cmd.arg("-inMemory");
    }
    log!(
        "starting DynamoDB Local on 127.0.0.1:{port} ({})",
        if persistent {
            "persistent"
        } else {
            "in memory"
        }
    );
    let mut process = procs::spawn(&cmd, &paths.local.join(format!("dynamodb-{port}.log")))?;
    wait_for_http(
        port,
        "/",
        Duration::from_secs(60),
        "DynamoDB Local",
        &mut process,
    )?;
    Ok(DynamoDb {
        endpoint: format!("http://127.0.0.1:{port}"),
        _process: process,
    })
}

/// The table names of one stack: logical id -> name.
pub type Tables = BTreeMap<String, String>;

/// Creates the tables of `template.yaml` (those missing) on the DynamoDB at `endpoint`, named
/// `<prefix><logical id>`.
pub(super) fn create_tables(template: &Template, endpoint: &str, prefix: &str) -> Result<Tables> {
    let tables = template.tables()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local", "local", None, None, "local",
            ));
        config = config.timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(20))
                .build(),
        );
        let client = aws_sdk_dynamodb::Client::new(&config.load().await);
        let existing = client
            .list_tables()
            .send()
            .await
            .context("DynamoDB Local: ListTables")?
            .table_names
            .unwrap_or_default();
        let mut names = Tables::new();
        for table in &tables {
            let name = format!("{prefix}{}", table.logical_id);
            if !existing.contains(&name) {
                create_table(&client, &name, table).await?;
            }
            names.insert(table.logical_id.clone(), name);
        }
        Ok(names)
    })
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    table: &TableResource,
) -> Result<()> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attribute, kind) in &table.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()?,
        );
    }
    for (attribute, kind) in &table.key_schema {
        request = request.key_schema(
            KeySchemaElement::builder()
                .attribute_name(attribute)
                .key_type(KeyType::from(kind.as_str()))
                .build()?,
        );
    }
    request
        .send()
        .await
        .with_context(|| format!("CreateTable {name}"))?;
    if let Some(attribute) = &table.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("UpdateTimeToLive {name}"))?;
    }
    Ok(())
}
