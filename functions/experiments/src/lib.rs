//! The experiment runner, a serverless Scientist: the control answers the client, candidates are
//! compared in the background, results go to a dashboard.
//!
//! | function                | what it serves                                             | code                          |
//! |-------------------------|------------------------------------------------------------|-------------------------------|
//! | `experiment-proxy`      | every experiment's `path` on its own base URL              | [`handlers::proxy`]           |
//! | `experiment-comparator` | `Event` invocations from the proxy, each a [`job::ComparisonJob`] | [`handlers::comparator`] |
//! | `experiment-report`     | `GET /experiments`, `/experiments/{name}`, `.../dashboard` | [`handlers::report`] (page: [`handlers::report::dashboard`]) |
//!
//! | module       | what it holds                                                                  |
//! |--------------|--------------------------------------------------------------------------------|
//! | [`handlers`] | one module per function: parse the input, call the domain and adapters, answer |
//! | [`job`]      | the contract between two functions: what the proxy sends the comparator        |
//! | [`domain`]   | pure logic: definitions, comparison, records, report, verdict, stats, promotion |
//! | [`adapters`] | the experiments table ([`adapters::store`]), the Invoke API ([`adapters::invoke`]) and its payloads |
//! | [`config`], [`emf`] | the functions' settings from the environment; CloudWatch EMF metric lines |
//!
//! Definitions ([`domain::definition`]) are YAML files uploaded into the experiments table
//! (`./build.sh experiments upload`); the proxy re-reads them every few seconds, so adding a
//! candidate needs no deploy of the proxy.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod emf;
pub mod handlers;
pub mod job;

use std::time::Duration;

use shared::aws::SdkLimits;

use crate::adapters::store::ExperimentStore;

/// Now, as RFC 3339 in UTC with milliseconds (sorts as text in time order).
pub fn now_rfc3339() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

/// SDK limits for invoking functions: an invocation may run as long as a candidate's timeout
/// allows (at most 60 s), which the callers bound themselves.
pub const INVOKE_LIMITS: SdkLimits = SdkLimits {
    attempt: Duration::from_secs(65),
    operation: Duration::from_secs(65),
};

/// The Lambda client and the DynamoDB-backed store the proxy and the comparator build at cold
/// start.
pub async fn clients(table: &str) -> (aws_sdk_lambda::Client, ExperimentStore) {
    let invoke = shared::aws::sdk_config_with(INVOKE_LIMITS).await;
    (aws_sdk_lambda::Client::new(&invoke), store(table).await)
}

/// The DynamoDB-backed store alone: all the report function needs.
pub async fn store(table: &str) -> ExperimentStore {
    let data = shared::aws::sdk_config().await;
    ExperimentStore::new(aws_sdk_dynamodb::Client::new(&data), table)
}
