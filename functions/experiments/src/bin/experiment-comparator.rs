//! `experiment-comparator`: wiring only; the handler is [`experiments::handlers::comparator::handler`].

use std::sync::Arc;

use experiments::adapters::invoke::LambdaInvoker;
use experiments::config::Config;
use experiments::handlers::comparator::{ComparatorApp, handler};
use experiments::job::ComparisonJob;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let config = Config::from_env(&shared::config::ProcessEnv)?;
    let (lambda, store) = experiments::clients(&config.table).await;
    let invoker = Arc::new(
        LambdaInvoker::new(lambda, config.function_prefix.clone())
            .with_live(config.live_functions.clone())
            .with_local_builds(config.local_builds.clone()),
    );
    let app: &'static ComparatorApp = Box::leak(Box::new(ComparatorApp { store, invoker }));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ComparisonJob>| async move {
            handler(app, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
