//! Test doubles shared by the unit tests: an [`Invoker`] answering from a script.

use std::sync::Mutex;

use experiments::adapters::invoke::{BoxFuture, InvokeError, Invoker};
use serde_json::{Value, json};

/// Answers invocations from a script, in order, and remembers what it was sent. With the script
/// used up, an invocation never returns (a function that hangs).
pub struct Scripted {
    answers: Mutex<Vec<Result<Vec<u8>, InvokeError>>>,
    sent: Mutex<Vec<(String, Value)>>,
}

impl Scripted {
    pub fn new(answers: Vec<Result<Vec<u8>, InvokeError>>) -> Self {
        Self {
            answers: Mutex::new(answers.into_iter().rev().collect()),
            sent: Mutex::new(Vec::new()),
        }
    }

    /// The function and the event of each invocation, in order.
    pub fn sent(&self) -> Vec<(String, Value)> {
        self.sent.lock().unwrap().clone()
    }
}

impl Invoker for Scripted {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, InvokeError>> {
        let event = serde_json::from_slice(&payload).expect("events are JSON");
        self.sent.lock().unwrap().push((function.to_owned(), event));
        let answer = self.answers.lock().unwrap().pop();
        Box::pin(async move {
            match answer {
                Some(answer) => answer,
                None => std::future::pending().await,
            }
        })
    }

    fn invoke_event<'a>(
        &'a self,
        _: &'a str,
        _: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), InvokeError>> {
        Box::pin(async { Err(InvokeError::Failed("not used by the hook".into())) })
    }
}

/// A function's HTTP response payload.
pub fn http(status: u16, content_type: &str, body: &str) -> Result<Vec<u8>, InvokeError> {
    Ok(json!({
        "statusCode": status,
        "headers": {"content-type": content_type},
        "body": body,
        "isBase64Encoded": false,
    })
    .to_string()
    .into_bytes())
}
