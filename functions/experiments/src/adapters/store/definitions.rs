//! The definitions files and the promotions: what experiments run, and what was promoted.

use super::*;

impl ExperimentStore {
    /// Every uploaded definitions file, as `(source, yaml)`.
    pub async fn definitions(&self) -> Result<Vec<(String, String)>, StoreError> {
        let items = self
            .query_partition(PartitionQuery::all("definitions"))
            .await?;
        items
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
        let items = self
            .query_partition(PartitionQuery {
                sk_prefix: Some(PROMOTION_PREFIX),
                ..PartitionQuery::all("definitions")
            })
            .await?;
        items
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
}
