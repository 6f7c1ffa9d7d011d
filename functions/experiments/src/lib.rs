//! The experiment runner, a serverless Scientist: the control answers the client, candidates are
//! compared in the background, results go to a dashboard.
//!
//! | function                | what it serves                                         | code             |
//! |-------------------------|--------------------------------------------------------|------------------|
//! | `experiment-proxy`      | every experiment's `path` on its own base URL          | [`proxy`]        |
//! | `experiment-comparator` | `Event` invocations from the proxy                     | [`comparator`]   |
//! | `experiment-report`     | `GET /experiments`, `/experiments/{name}`, `.../dashboard` | [`routes`], [`dashboard`] |
//!
//! Definitions ([`definition`]) are YAML files uploaded into the experiments table
//! (`./build.sh experiments upload`); the proxy re-reads them every few seconds, so adding a
//! candidate needs no deploy of the proxy.

pub mod comparator;
pub mod compare;
pub mod config;
pub mod dashboard;
pub mod definition;
pub mod emf;
pub mod invoke;
pub mod payload;
pub mod promotion;
pub mod proxy;
pub mod record;
pub mod report;
pub mod routes;
pub mod stats;
pub mod store;
pub mod verdict;

use std::time::Duration;

use shared::aws::SdkLimits;

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
pub async fn clients(table: &str) -> (aws_sdk_lambda::Client, store::ExperimentStore) {
    let invoke = shared::aws::sdk_config_with(INVOKE_LIMITS).await;
    (aws_sdk_lambda::Client::new(&invoke), store(table).await)
}

/// The DynamoDB-backed store alone: all the report function needs.
pub async fn store(table: &str) -> store::ExperimentStore {
    let data = shared::aws::sdk_config().await;
    store::ExperimentStore::new(aws_sdk_dynamodb::Client::new(&data), table)
}
