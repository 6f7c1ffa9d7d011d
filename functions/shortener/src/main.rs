//! Wiring only: tracing, configuration and the DynamoDB client once per cold start, then the runtime.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    // Lives as long as the process: one App per Lambda instance, shared by every request.
    let app: &'static shortener::App = Box::leak(Box::new(shortener::App::from_env().await?));
    shared::run::serve_after(app, shortener::handler, &app.after).await
}
