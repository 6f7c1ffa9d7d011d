//! `round-candidate-half-even`: wiring only; the handler is [`round::round_candidate_half_even`].

use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    lambda_http::run(lambda_http::service_fn(|request| async {
        Ok::<_, Infallible>(round::round_candidate_half_even(request).await)
    }))
    .await
}
