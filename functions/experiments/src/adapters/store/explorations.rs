//! The latest `./build.sh explore` of each candidate.

use super::*;

impl ExperimentStore {
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
        let items = self
            .query_partition(PartitionQuery::all(format!("explore#{experiment}")))
            .await?;
        items
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
}
