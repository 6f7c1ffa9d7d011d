//! `fizzbuzz-control`: wiring only; the handler is [`fizzbuzz::fizzbuzz_control`].

use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    lambda_http::run(lambda_http::service_fn(|request| async {
        Ok::<_, Infallible>(fizzbuzz::fizzbuzz_control(request).await)
    }))
    .await
}
