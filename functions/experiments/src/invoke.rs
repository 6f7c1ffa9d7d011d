//! Invoking functions: the Lambda Invoke API (on AWS, or `cargo lambda watch`'s emulation of it
//! locally), behind a trait so the in-process tests can dispatch to handlers directly.

use std::future::Future;
use std::pin::Pin;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum InvokeError {
    /// The function ran and failed (panic, crash, unhandled error).
    #[error("the function failed: {0}")]
    FunctionError(String),
    /// The invocation did not happen or its answer was lost.
    #[error("could not invoke the function: {0}")]
    Failed(String),
}

pub trait Invoker: Send + Sync {
    /// A synchronous (`RequestResponse`) invocation; the function's payload.
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, InvokeError>>;

    /// An asynchronous (`Event`) invocation: queued by Lambda, run later, failures to its destination.
    fn invoke_event<'a>(
        &'a self,
        function: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), InvokeError>>;
}

/// The Invoke API. Function names without `arn:` get `prefix` (the stack's name and `-`) first.
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
    prefix: String,
}

impl LambdaInvoker {
    pub fn new(client: aws_sdk_lambda::Client, prefix: impl Into<String>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
        }
    }

    fn name(&self, function: &str) -> String {
        if function.starts_with("arn:") {
            function.to_owned()
        } else {
            format!("{}{function}", self.prefix)
        }
    }
}

fn classify<E: std::error::Error + 'static, R>(
    error: aws_sdk_lambda::error::SdkError<E, R>,
) -> InvokeError
where
    R: std::fmt::Debug,
{
    // cargo lambda watch reports a function's error as HTTP 500 (AWS: 200 + X-Amz-Function-Error).
    let status = match &error {
        aws_sdk_lambda::error::SdkError::ServiceError(e) => format!("{:?}", e.raw()),
        _ => String::new(),
    };
    let text = aws_sdk_lambda::error::DisplayErrorContext(&error).to_string();
    if status.contains("StatusCode(500)") {
        InvokeError::FunctionError(text)
    } else {
        InvokeError::Failed(text)
    }
}

impl Invoker for LambdaInvoker {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, InvokeError>> {
        Box::pin(async move {
            let output = self
                .client
                .invoke()
                .function_name(self.name(function))
                .payload(Blob::new(payload))
                .send()
                .await
                .map_err(classify)?;
            let body = output
                .payload()
                .map(|p| p.as_ref().to_vec())
                .unwrap_or_default();
            match output.function_error() {
                Some(kind) => Err(InvokeError::FunctionError(format!(
                    "{kind}: {}",
                    crate::compare::excerpt(&String::from_utf8_lossy(&body))
                ))),
                None => Ok(body),
            }
        })
    }

    fn invoke_event<'a>(
        &'a self,
        function: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), InvokeError>> {
        Box::pin(async move {
            self.client
                .invoke()
                .function_name(self.name(function))
                .invocation_type(InvocationType::Event)
                .payload(Blob::new(payload))
                .send()
                .await
                .map_err(classify)?;
            Ok(())
        })
    }
}
