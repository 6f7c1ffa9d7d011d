//! `release-hook`: wiring only; the pre-traffic gate ([`release_hook::gate`]), run by [`release_hook::run_pre_traffic`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::lambda_runtime::Error> {
    release_hook::run_pre_traffic().await
}
