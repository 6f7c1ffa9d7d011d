//! `pbkdf2-candidate-fast`: wiring only; the handler is [`pbkdf2_fn::pbkdf2_candidate_fast`].

use pbkdf2_fn::Config;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    // Read once and kept for the life of the process, which is the life of this execution environment.
    let config: &'static Config = Box::leak(Box::new(Config::from_env()?));
    shared::run::serve(config, pbkdf2_fn::pbkdf2_candidate_fast).await
}
