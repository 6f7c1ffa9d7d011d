//! `round-candidate-floor`: wiring only; the handler is [`round::round_candidate_floor`].

use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    lambda_http::run(lambda_http::service_fn(|request| async {
        Ok::<_, Infallible>(round::round_candidate_floor(request).await)
    }))
    .await
}
