//! `fizzbuzz-candidate-reference`: wiring only; the handler is [`fizzbuzz::fizzbuzz_candidate_reference`].

use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    lambda_http::run(lambda_http::service_fn(|request| async {
        Ok::<_, Infallible>(fizzbuzz::fizzbuzz_candidate_reference(request).await)
    }))
    .await
}
