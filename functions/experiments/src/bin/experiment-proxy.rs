//! `experiment-proxy`: wiring only; the handler is [`experiments::handlers::proxy::handler`].

use std::sync::Arc;

use experiments::adapters::invoke::LambdaInvoker;
use experiments::config::Config;
use experiments::handlers::proxy::{ProxyApp, handler};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let config = Config::from_env(&shared::config::ProcessEnv)?;
    let (lambda, store) = experiments::clients(&config.table).await;
    let invoker = Arc::new(
        LambdaInvoker::new(lambda, config.function_prefix.clone())
            .with_live(config.live_functions.clone())
            .with_local_builds(config.local_builds.clone()),
    );
    let app: &'static ProxyApp = Box::leak(Box::new(ProxyApp::new(config, store, invoker)));
    shared::run::serve(app, handler).await
}
