//! `chaos-candidate-panics`: wiring only; the handler is [`chaos::panics`].

use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    lambda_http::run(lambda_http::service_fn(|request| async {
        Ok::<_, Infallible>(chaos::panics(request).await)
    }))
    .await
}
