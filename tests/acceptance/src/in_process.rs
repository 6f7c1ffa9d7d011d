//! The experiment functions in-process (`TEST_MODE=handler`): an [`Invoker`] that hands the
//! payload to the named function's handler in this process, as the Invoke API would to a deployed
//! one, and the proxy and report apps built on it against the real experiments table.

use std::sync::Arc;

use experiments::adapters::invoke::{BoxFuture, InvokeError, Invoker};
use experiments::adapters::store::ExperimentStore;
use experiments::handlers::comparator::ComparatorApp;
use experiments::handlers::proxy::ProxyApp;
use experiments::handlers::report::ReportApp;
use experiments::job::ComparisonJob;
use lambda_http::{Body, Response};
use serde_json::{Value, json};

/// Every payload the in-process invoker handed a function, as `(function, payload)`: what a
/// suite test reads to see what a candidate received (handler mode only).
pub static INVOKED: std::sync::Mutex<Vec<(String, Vec<u8>)>> = std::sync::Mutex::new(Vec::new());

/// The largest payload [`INVOKED`] keeps.
const RECORDED_BYTES: usize = 16 * 1024;

/// The payloads `function` received whose text contains `marker`.
pub fn invoked_with(function: &str, marker: &str) -> Vec<Value> {
    INVOKED
        .lock()
        .expect("invocations")
        .iter()
        .filter(|(f, payload)| f == function && String::from_utf8_lossy(payload).contains(marker))
        .filter_map(|(_, payload)| serde_json::from_slice(payload).ok())
        .collect()
}

/// Dispatches invocations to handlers by function name; `Event` invocations run in a task.
#[derive(Clone)]
pub struct InProcessInvoker {
    store: ExperimentStore,
}

/// The payload a Lambda HTTP function returns for `response` (API Gateway's v2 format).
fn payload_of(response: Response<Body>) -> Vec<u8> {
    let headers: serde_json::Map<String, Value> = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                Value::from(v.to_str().unwrap_or_default()),
            )
        })
        .collect();
    let body = String::from_utf8_lossy(shared::http::body_bytes(response.body())).into_owned();
    json!({
        "statusCode": response.status().as_u16(),
        "headers": headers,
        "multiValueHeaders": {},
        "body": body,
        "isBase64Encoded": false,
        "cookies": [],
    })
    .to_string()
    .into_bytes()
}

impl InProcessInvoker {
    async fn run(&self, function: String, payload: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        // Small payloads only: the bad-input matrix sends megabyte bodies through the proxy,
        // which no test reads back and which would pile up here for the whole run.
        if payload.len() <= RECORDED_BYTES {
            INVOKED
                .lock()
                .expect("invocations")
                .push((function.clone(), payload.clone()));
        }
        if function == "chaos-candidate-garbage" {
            return Ok(chaos::garbage().to_string().into_bytes());
        }
        let text = String::from_utf8(payload).map_err(|e| InvokeError::Failed(e.to_string()))?;
        let request = lambda_http::request::from_str(&text)
            .map_err(|e| InvokeError::FunctionError(format!("not an HTTP event: {e}")))?;
        // A task of its own, so a panicking handler is a function error, as on Lambda.
        let task = tokio::spawn(async move {
            match function.as_str() {
                "chaos-candidate-panics" => chaos::panics(request).await,
                "chaos-candidate-500" => chaos::fails(request).await,
                "chaos-candidate-slow" => {
                    chaos::slow(request, std::time::Duration::from_millis(2_000)).await
                }
                other => crate::when::workshop(other, request).await,
            }
        });
        match task.await {
            Ok(response) => Ok(payload_of(response)),
            Err(error) => Err(InvokeError::FunctionError(error.to_string())),
        }
    }
}

impl Invoker for InProcessInvoker {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, InvokeError>> {
        Box::pin(self.run(function.to_owned(), payload))
    }

    fn invoke_event<'a>(
        &'a self,
        function: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), InvokeError>> {
        Box::pin(async move {
            if function != "experiment-comparator" {
                return Err(InvokeError::Failed(format!(
                    "no in-process Event handler for {function}"
                )));
            }
            let job: ComparisonJob =
                serde_json::from_slice(&payload).map_err(|e| InvokeError::Failed(e.to_string()))?;
            let app = ComparatorApp {
                store: self.store.clone(),
                invoker: Arc::new(self.clone()),
            };
            tokio::spawn(async move {
                if let Err(error) = experiments::handlers::comparator::handler(&app, job).await {
                    eprintln!("in-process comparator failed: {error}");
                }
            });
            Ok(())
        })
    }
}

/// The proxy and the report function, in-process, on the table `EXPERIMENTS_TABLE` names.
pub async fn experiment_apps() -> (ProxyApp, ReportApp) {
    let config = experiments::config::Config::from_env(&shared::config::ProcessEnv)
        .expect("experiments configuration (EXPERIMENTS_TABLE)");
    let sdk = shared::aws::sdk_config().await;
    let store = ExperimentStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table.clone());
    let invoker = Arc::new(InProcessInvoker {
        store: store.clone(),
    });
    let report = ReportApp {
        store: store.clone(),
        memory_mb: config.memory_mb.clone(),
    };
    (ProxyApp::new(config, store, invoker), report)
}
