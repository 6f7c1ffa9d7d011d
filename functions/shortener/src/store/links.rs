//! Links: create (with its dedupe item, in one transaction), find by URL, read and edit.

use super::*;

impl LinkStore {
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
}
