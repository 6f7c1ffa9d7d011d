//! `release-judge`: wiring only; the post-traffic judge ([`release_hook::judge`]), run by [`release_hook::run_post_traffic`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::lambda_runtime::Error> {
    release_hook::run_post_traffic().await
}
