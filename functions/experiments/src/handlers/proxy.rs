//! `experiment-proxy`: serves each experiment on its path. The control answers the client,
//! unchanged; a sample of requests is handed to the comparator, which never delays or changes the
//! answer.
//!
//! The proxy does not time the control: the duration the verdict compares is measured by the
//! comparator, which invokes the control again beside the candidates (see
//! [`crate::handlers::comparator`]); a figure taken here, in another process, before the hand-off
//! and while the client waits, is not comparable with the candidates'.

use std::sync::Arc;
use std::time::Instant;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::ApiError;
use tokio::sync::{RwLock, Semaphore};

use crate::adapters::invoke::{InvokeError, Invoker};
use crate::adapters::payload;
use crate::adapters::store::ExperimentStore;
use crate::config::{Config, Handoff};
use crate::domain::definition::{Experiment, Experiments};
use crate::job::{ComparisonJob, MAX_JOB_BYTES};

pub struct ProxyApp {
    pub config: Config,
    pub store: ExperimentStore,
    pub invoker: Arc<dyn Invoker>,
    cache: RwLock<Option<(Instant, Arc<Experiments>)>>,
    detached: Arc<Semaphore>,
}

impl ProxyApp {
    pub fn new(config: Config, store: ExperimentStore, invoker: Arc<dyn Invoker>) -> Self {
        let detached = Arc::new(Semaphore::new(config.max_detached));
        Self {
            config,
            store,
            invoker,
            cache: RwLock::new(None),
            detached,
        }
    }

    /// The definitions, re-read from the table at most every `DEFINITIONS_CACHE_SECONDS`; when the
    /// table cannot be read, the last good ones keep serving.
    pub async fn experiments(&self) -> Result<Arc<Experiments>, ApiError> {
        if let Some((loaded, experiments)) = &*self.cache.read().await
            && loaded.elapsed() < self.config.definitions_ttl
        {
            return Ok(experiments.clone());
        }
        let mut cache = self.cache.write().await;
        let fresh = self.store.experiments().await.map_err(|e| e.to_string());
        match (fresh, cache.as_ref()) {
            (Ok(experiments), _) => {
                let experiments = Arc::new(experiments);
                *cache = Some((Instant::now(), experiments.clone()));
                Ok(experiments)
            }
            (Err(error), Some((_, stale))) => {
                tracing::warn!(%error, "definitions not reloaded; serving the previous ones");
                Ok(stale.clone())
            }
            (Err(error), None) => {
                tracing::error!(%error, "no experiment definitions");
                Err(ApiError::unavailable())
            }
        }
    }
}

pub async fn handler(app: &ProxyApp, request: Request) -> Response<Body> {
    shared::run::traced(request, |request, correlation_id| async move {
        proxy(app, &request, &correlation_id).await
    })
    .await
}

async fn proxy(app: &ProxyApp, request: &Request, correlation_id: &str) -> Response<Body> {
    let experiments = match app.experiments().await {
        Ok(experiments) => experiments,
        Err(error) => return error.into_response(),
    };
    let path = match request.raw_http_path() {
        raw if !raw.is_empty() => raw.to_owned(),
        _ => request.uri().path().to_owned(),
    };
    let Some(experiment) = experiments.for_path(&path) else {
        let known: Vec<&str> = experiments
            .by_name
            .values()
            .map(|e| e.path.as_str())
            .collect();
        return ApiError::not_found(format!(
            "no experiment is served on {path}; experiments are on: {}",
            known.join(", ")
        ))
        .into_response();
    };
    let at = crate::now_rfc3339();
    let event = payload::event_for(request, correlation_id);
    let invoked = tokio::time::timeout(
        app.config.control_timeout,
        app.invoker
            .invoke(&experiment.control.function, event.to_string().into_bytes()),
    )
    .await;
    let control = match invoked {
        Ok(Ok(bytes)) => match payload::observed(&bytes) {
            Some(observed) => observed,
            None => {
                return control_failed(
                    experiment,
                    "answered with something that is not an HTTP response",
                );
            }
        },
        Ok(Err(InvokeError::FunctionError(detail))) => {
            tracing::warn!(experiment = %experiment.name, %detail, "control failed");
            return control_failed(experiment, "failed");
        }
        Ok(Err(InvokeError::Failed(detail))) => {
            tracing::error!(experiment = %experiment.name, %detail, "control not invoked");
            return ApiError::unavailable().into_response();
        }
        Err(_) => {
            return ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "control_timeout",
                format!("{} did not answer in time", experiment.control.name),
            )
            .into_response();
        }
    };
    let response = payload::response_from(&control);
    if sampled(experiment.sample_percent) {
        let job = ComparisonJob {
            experiment: experiment.clone(),
            correlation_id: correlation_id.to_owned(),
            event,
            control,
            at,
        };
        hand_off(app, &job).await;
    }
    response
}

fn control_failed(experiment: &Experiment, what: &str) -> Response<Body> {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "control_failed",
        format!("the control of experiment {} {what}", experiment.name),
    )
    .into_response()
}

/// Whether this request is compared: `sample_percent` of them, at random.
pub fn sampled(sample_percent: f64) -> bool {
    sample_percent >= 100.0 || fastrand::f64() * 100.0 < sample_percent
}

/// Queues the comparison; a failure is logged and never reaches the client.
async fn hand_off(app: &ProxyApp, job: &ComparisonJob) {
    let payload = match serde_json::to_vec(job) {
        Ok(payload) if payload.len() <= MAX_JOB_BYTES => payload,
        Ok(payload) => {
            tracing::warn!(
                bytes = payload.len(),
                "comparison skipped: request and answer too large"
            );
            return;
        }
        Err(error) => {
            tracing::error!(%error, "comparison skipped: job not serialisable");
            return;
        }
    };
    let comparator = app.config.comparator_function.clone();
    match app.config.handoff {
        Handoff::Event => {
            if let Err(error) = app.invoker.invoke_event(&comparator, payload).await {
                tracing::warn!(%error, "comparison not queued");
            }
        }
        Handoff::Detached => match app.detached.clone().try_acquire_owned() {
            Ok(permit) => {
                let invoker = app.invoker.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    if let Err(error) = invoker.invoke_event(&comparator, payload).await {
                        tracing::warn!(%error, "comparison not queued");
                    }
                });
            }
            Err(_) => tracing::warn!("comparison skipped: too many hand-offs in flight"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_at_the_edges() {
        assert!((0..1000).all(|_| !sampled(0.0)));
        assert!((0..1000).all(|_| sampled(100.0)));
        let hits = (0..10_000).filter(|_| sampled(50.0)).count();
        assert!((4_000..6_000).contains(&hits), "{hits}");
    }
}
