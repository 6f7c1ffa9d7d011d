//! `release-hook`: wiring only; the handler is [`release_hook::handler`].

use std::time::SystemTime;

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use release_hook::handler::budget;
use release_hook::{HookApp, HookEvent, handler};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let app: &'static HookApp = Box::leak(Box::new(HookApp::from_env().await?));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<HookEvent>| async move {
            let budget = budget(event.context.deadline(), SystemTime::now());
            handler(app, event.payload, budget)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
