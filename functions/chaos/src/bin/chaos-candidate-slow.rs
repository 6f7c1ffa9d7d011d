//! `chaos-candidate-slow`: wiring only; the handler is [`chaos::slow`].

use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let sleep = chaos::sleep_from_env()?;
    lambda_http::run(lambda_http::service_fn(move |request| async move {
        Ok::<_, Infallible>(chaos::slow(request, sleep).await)
    }))
    .await
}
