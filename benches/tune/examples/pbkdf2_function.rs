//! The PBKDF2 control handler as a Lambda binary, built with the tests (`cargo test -p tune` builds
//! examples) so `tests/local_duty_cycle.rs` can tune a real function without a release build.

fn main() -> Result<(), lambda_http::Error> {
    let config: &'static pbkdf2_fn::Config = Box::leak(Box::new(pbkdf2_fn::Config {
        max_iterations: 1_000_000,
    }));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(lambda_http::run(lambda_http::service_fn(
        move |request| async move {
            Ok::<_, lambda_http::Error>(pbkdf2_fn::pbkdf2_control(config, request).await)
        },
    )))
}
