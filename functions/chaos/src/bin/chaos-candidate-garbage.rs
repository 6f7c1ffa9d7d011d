//! `chaos-candidate-garbage`: wiring only; answers [`chaos::garbage`] as its raw payload (a plain
//! Lambda function, not an HTTP one).

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| async {
        Ok::<_, lambda_runtime::Error>(chaos::garbage())
    }))
    .await
}
