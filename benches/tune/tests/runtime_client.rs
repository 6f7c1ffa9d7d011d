//! The local Runtime API against the real Lambda runtime client: the PBKDF2 control handler, run by
//! `lambda_http::run` as the deployed function runs it, asks the API for events and posts its answers.

use std::time::Duration;

use tune::event::{http_api_event, response_status};
use tune::options::DEFAULT_PAYLOAD;
use tune::runtime_api::{FunctionIdentity, RuntimeApi};

#[test]
fn the_lambda_runtime_client_takes_events_from_the_local_api_and_answers_them() {
    let mut api = RuntimeApi::start().expect("the API listens");
    let address = api.address().to_string();
    let variables = [
        ("AWS_LAMBDA_RUNTIME_API", address.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", "pbkdf2-control-128"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ];
    for (name, value) in variables {
        // SAFETY: this test binary has this one test and sets the variables before any other
        // thread starts, so nothing reads the environment while it changes.
        unsafe { std::env::set_var(name, value) };
    }
    std::thread::spawn(|| {
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        let config: &'static pbkdf2_fn::Config = Box::leak(Box::new(pbkdf2_fn::Config {
            max_iterations: 1_000_000,
        }));
        let handler = lambda_http::service_fn(move |request| async move {
            Ok::<_, lambda_http::Error>(pbkdf2_fn::pbkdf2_control(config, request).await)
        });
        // Runs until the process ends, as on Lambda.
        let _ = runtime.block_on(lambda_http::run(handler));
    });

    let identity = FunctionIdentity {
        arn: "arn:aws:lambda:us-east-1:123456789012:function:pbkdf2-control-128".into(),
        timeout: Duration::from_secs(30),
    };
    let body = DEFAULT_PAYLOAD.replace("100000", "1000");
    for i in 1..=3 {
        let request_id = format!("req-{i}");
        let event = http_api_event("/pbkdf2", &body, &request_id).to_string();
        let invocation = api
            .invoke(event.as_bytes(), &request_id, &identity, || Ok(()))
            .unwrap_or_else(|e| panic!("invocation {i}: {e}"));
        assert_eq!(
            response_status(&invocation.answer),
            Some(200),
            "invocation {i}: {}",
            String::from_utf8_lossy(&invocation.answer)
        );
        assert!(invocation.handed_out_at <= invocation.answered_at);
    }
    let bad = http_api_event("/pbkdf2", r#"{"iterations":0}"#, "req-bad").to_string();
    let answer = api
        .invoke(bad.as_bytes(), "req-bad", &identity, || Ok(()))
        .expect("a 4xx is an answer, not a runtime error");
    assert_eq!(response_status(&answer.answer), Some(400));
}
