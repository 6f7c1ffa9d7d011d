//! `experiment-report`: wiring only; the handler is [`experiments::handlers::report::handler`].

use experiments::config::Config;
use experiments::handlers::report::{ReportApp, handler};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let config = Config::from_env(&shared::config::ProcessEnv)?;
    let store = experiments::store(&config.table).await;
    let app: &'static ReportApp = Box::leak(Box::new(ReportApp {
        store,
        memory_mb: config.memory_mb,
    }));
    shared::run::serve(app, handler).await
}
