//! Visits: the limited and sharded visit counters, and the day shards of a link's analytics.

use super::*;

impl LinkStore {
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
