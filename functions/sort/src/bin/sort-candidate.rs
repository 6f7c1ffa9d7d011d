//! `sort-candidate`: wiring only; the handler is [`sort::sort_candidate`].

use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    lambda_http::run(lambda_http::service_fn(|request| async {
        Ok::<_, Infallible>(sort::sort_candidate(request).await)
    }))
    .await
}
