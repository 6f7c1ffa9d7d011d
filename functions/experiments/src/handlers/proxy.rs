//! `experiment-proxy`: serves each experiment on its path. The control answers the client,
//! unchanged; a sample of requests is handed to the comparator, which never delays or changes the
//! answer.
//!
//! ## Every comparison counted
//! Each request adds to its experiment's counters (served, and sampled when it is) in one atomic
//! update that runs beside the control's invocation, so the client does not wait for it. A
//! sampled request that cannot be handed off is counted as skipped; the comparator counts each
//! comparison it stores. The report reads them as "compared X of Y requests".
//!
//! With `HANDOFF=detached` (locally) the hand-offs go to a bounded queue drained by a few
//! background workers ([`HandoffQueue`]): `cargo lambda watch` runs one comparison at a time, and
//! a burst of traffic waits in the queue rather than being dropped. The client never waits for
//! the queue: a hand-off beyond its capacity is skipped and counted.
//!
//! The proxy does not time the control: the duration the verdict compares is measured by the
//! comparator, which invokes the control again beside the candidates (see
//! [`crate::handlers::comparator`]); a figure taken here, in another process, before the hand-off
//! and while the client waits, is not comparable with the candidates'.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::ApiError;
use tokio::sync::{Mutex, RwLock, mpsc};

use crate::adapters::invoke::{InvokeError, InvokeFailure, Invoker};
use crate::adapters::payload;
use crate::adapters::store::{Counter, ExperimentStore};
use crate::config::{Config, Handoff};
use crate::domain::compare::Observed;
use crate::domain::definition::{Experiment, Experiments};
use crate::job::{ComparisonJob, MAX_JOB_BYTES};

pub struct ProxyApp {
    pub config: Config,
    pub store: ExperimentStore,
    pub invoker: Arc<dyn Invoker>,
    cache: RwLock<Option<(Instant, Arc<Experiments>)>>,
    /// `HANDOFF=detached`: started at the first hand-off, inside the runtime.
    detached: OnceLock<HandoffQueue>,
}

impl ProxyApp {
    pub fn new(config: Config, store: ExperimentStore, invoker: Arc<dyn Invoker>) -> Self {
        Self {
            config,
            store,
            invoker,
            cache: RwLock::new(None),
            detached: OnceLock::new(),
        }
    }

    /// Adds to an experiment's counters. Locally (`detached`) in a task of its own; on Lambda
    /// awaited, since the instance is frozen once the client has its answer.
    async fn count(&self, experiment: &str, counters: Vec<(Counter, u64)>, class: Option<String>) {
        let store = self.store.clone();
        let experiment = experiment.to_owned();
        let update = async move {
            if let Err(error) = store
                .add_counts(&experiment, &counters, class.as_deref())
                .await
            {
                tracing::warn!(%error, %experiment, "counters not updated");
            }
        };
        match self.config.handoff {
            Handoff::Event => update.await,
            Handoff::Detached => {
                tokio::spawn(update);
            }
        }
    }

    fn queue(&self) -> &HandoffQueue {
        self.detached.get_or_init(|| {
            let store = self.store.clone();
            let skipped: OnSkipped = Arc::new(move |experiment: String| {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = store
                        .add_counts(&experiment, &[(Counter::Skipped, 1)], None)
                        .await
                        .inspect_err(|error| tracing::warn!(%error, "counters not updated"));
                });
            });
            HandoffQueue::start(
                self.config.max_detached,
                handoff_workers(std::thread::available_parallelism().map_or(1, usize::from)),
                self.invoker.clone(),
                self.config.comparator_function.clone(),
                skipped,
            )
        })
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
    let class = crate::domain::coverage::class_of(&event);
    let sampled = sampled(experiment.sample_percent);
    // Counted beside the control's invocation: the client does not wait for the update.
    let (invoked, ()) = tokio::join!(
        tokio::time::timeout(
            app.config.control_timeout,
            app.invoker
                .invoke_versioned(&experiment.control.function, event.to_string().into_bytes()),
        ),
        app.count(&experiment.name, served(sampled), Some(class)),
    );
    let control: Result<(Observed, Option<String>), Response<Body>> = match invoked {
        Ok(Ok(invoked)) => match payload::observed(&invoked.payload) {
            Some(observed) => Ok((observed, invoked.version)),
            None => Err(control_failed(
                experiment,
                "answered with something that is not an HTTP response",
            )),
        },
        Ok(Err(InvokeFailure::NotDeployed(function))) => {
            tracing::warn!(experiment = %experiment.name, %function, "control not deployed here");
            Err(not_deployed(experiment, &function))
        }
        Ok(Err(InvokeFailure::Invoke(InvokeError::FunctionError(detail)))) => {
            tracing::warn!(experiment = %experiment.name, %detail, "control failed");
            Err(control_failed(experiment, "failed"))
        }
        Ok(Err(InvokeFailure::Invoke(InvokeError::Failed(detail)))) => {
            tracing::error!(experiment = %experiment.name, %detail, "control not invoked");
            Err(ApiError::unavailable().into_response())
        }
        Err(_) => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "control_timeout",
            format!("{} did not answer in time", experiment.control.name),
        )
        .into_response()),
    };
    let (control, control_version) = match control {
        Ok(answered) => answered,
        Err(response) => {
            // Sampled and counted so, but with no answer to compare with: skipped.
            if sampled {
                app.count(&experiment.name, vec![(Counter::Skipped, 1)], None)
                    .await;
            }
            return response;
        }
    };
    let response = payload::response_from(&control);
    if sampled {
        let job = ComparisonJob {
            experiment: experiment.clone(),
            correlation_id: correlation_id.to_owned(),
            event: payload::for_comparison(event),
            control,
            control_version,
            at,
        };
        if let Err(skip) = hand_off(app, &job).await {
            tracing::warn!(experiment = %experiment.name, "comparison skipped: {skip}");
            app.count(&experiment.name, vec![(Counter::Skipped, 1)], None)
                .await;
        }
    }
    response
}

/// The counters one served request adds to.
pub fn served(sampled: bool) -> Vec<(Counter, u64)> {
    vec![(Counter::Served, 1), (Counter::Sampled, u64::from(sampled))]
}

/// The experiment names a function the Invoke API does not know here (locally, a memory-size
/// variant deployed only on AWS): no retry helps, so not a 503 but a 424 that says what is missing.
fn not_deployed(experiment: &Experiment, function: &str) -> Response<Body> {
    ApiError::new(
        StatusCode::FAILED_DEPENDENCY,
        "function_not_deployed",
        format!(
            "experiment {} needs function {function}, which is not deployed here; \
             run it against a deployed stack",
            experiment.name
        ),
    )
    .into_response()
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

/// Why a sampled request was not handed to the comparator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    #[error("request and answer too large ({0} bytes)")]
    TooLarge(usize),
    #[error("job not serialisable: {0}")]
    NotSerialisable(String),
    #[error("the hand-off queue is full")]
    QueueFull,
    #[error("the hand-off failed: {0}")]
    Failed(InvokeError),
}

/// Hands the comparison to the comparator; a failure is returned to be counted, never reaches
/// the client.
async fn hand_off(app: &ProxyApp, job: &ComparisonJob) -> Result<(), Skip> {
    let payload = match serde_json::to_vec(job) {
        Ok(payload) if payload.len() <= MAX_JOB_BYTES => payload,
        Ok(payload) => return Err(Skip::TooLarge(payload.len())),
        Err(error) => return Err(Skip::NotSerialisable(error.to_string())),
    };
    match app.config.handoff {
        Handoff::Event => app
            .invoker
            .invoke_event(&app.config.comparator_function, payload)
            .await
            .map_err(Skip::Failed),
        Handoff::Detached => app.queue().try_queue(&job.experiment.name, payload),
    }
}

/// How many background workers hand off at once: one per core, at most 4 (`cargo lambda watch`
/// runs the comparator's invocations one at a time; more workers would only wait there).
pub fn handoff_workers(cores: usize) -> usize {
    cores.clamp(1, 4)
}

/// Called with the experiment's name when a queued hand-off fails.
pub type OnSkipped = Arc<dyn Fn(String) + Send + Sync>;

/// A bounded queue of hand-offs and the workers that send them to the comparator, one at a time
/// each. Queuing never waits: the back-pressure is on the workers' side, and a hand-off beyond
/// the queue's capacity is refused ([`Skip::QueueFull`]) for the caller to count.
pub struct HandoffQueue {
    sender: mpsc::Sender<(String, Vec<u8>)>,
}

impl HandoffQueue {
    /// Starts `workers` tasks on the current runtime.
    pub fn start(
        capacity: usize,
        workers: usize,
        invoker: Arc<dyn Invoker>,
        comparator: String,
        on_skipped: OnSkipped,
    ) -> Self {
        let (sender, receiver) = mpsc::channel::<(String, Vec<u8>)>(capacity.max(1));
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..workers.max(1) {
            let receiver = receiver.clone();
            let invoker = invoker.clone();
            let comparator = comparator.clone();
            let on_skipped = on_skipped.clone();
            tokio::spawn(async move {
                loop {
                    let next = receiver.lock().await.recv().await;
                    let Some((experiment, payload)) = next else {
                        break;
                    };
                    if let Err(error) = invoker.invoke_event(&comparator, payload).await {
                        tracing::warn!(%error, %experiment, "comparison skipped: not handed off");
                        on_skipped(experiment);
                    }
                }
            });
        }
        Self { sender }
    }

    /// Queues a hand-off without waiting.
    pub fn try_queue(&self, experiment: &str, payload: Vec<u8>) -> Result<(), Skip> {
        self.sender
            .try_send((experiment.to_owned(), payload))
            .map_err(|_| Skip::QueueFull)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::adapters::invoke::BoxFuture;

    /// Hands off nothing until `open` has permits, then counts the hand-offs; fails for `bad`.
    struct Gate {
        open: tokio::sync::Semaphore,
        delivered: AtomicUsize,
    }

    impl Invoker for Gate {
        fn invoke<'a>(
            &'a self,
            _: &'a str,
            _: Vec<u8>,
        ) -> BoxFuture<'a, Result<Vec<u8>, InvokeError>> {
            Box::pin(async { Err(InvokeError::Failed("not used".into())) })
        }

        fn invoke_event<'a>(
            &'a self,
            _: &'a str,
            payload: Vec<u8>,
        ) -> BoxFuture<'a, Result<(), InvokeError>> {
            Box::pin(async move {
                let _permit = self
                    .open
                    .acquire()
                    .await
                    .map_err(|e| InvokeError::Failed(e.to_string()))?;
                if payload == b"bad" {
                    return Err(InvokeError::Failed("refused".into()));
                }
                self.delivered.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn a_burst_waits_in_the_queue_and_only_what_exceeds_it_is_skipped() {
        let gate = Arc::new(Gate {
            open: tokio::sync::Semaphore::new(0),
            delivered: AtomicUsize::new(0),
        });
        let skipped = Arc::new(std::sync::Mutex::new(Vec::new()));
        let on_skipped: OnSkipped = {
            let skipped = skipped.clone();
            Arc::new(move |experiment| skipped.lock().unwrap().push(experiment))
        };
        let queue = HandoffQueue::start(3, 2, gate.clone(), "comparator".into(), on_skipped);
        // Nothing has run yet (one thread, no await): three fit, the fourth is refused at once.
        let queued: Vec<_> = [b"a".to_vec(), b"b".to_vec(), b"bad".to_vec(), b"c".to_vec()]
            .into_iter()
            .map(|payload| queue.try_queue("round", payload))
            .collect();
        assert_eq!(queued, [Ok(()), Ok(()), Ok(()), Err(Skip::QueueFull)]);
        gate.open.add_permits(10);
        for _ in 0..1_000 {
            if gate.delivered.load(Ordering::SeqCst) == 2 && skipped.lock().unwrap().len() == 1 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.delivered.load(Ordering::SeqCst), 2);
        assert_eq!(*skipped.lock().unwrap(), ["round"]);
        // Drained, the queue takes more.
        assert_eq!(queue.try_queue("round", b"d".to_vec()), Ok(()));
    }

    #[test]
    fn the_workers_are_one_per_core_between_one_and_four() {
        for (cores, workers) in [(0, 1), (1, 1), (2, 2), (4, 4), (64, 4)] {
            assert_eq!(handoff_workers(cores), workers, "{cores} cores");
        }
    }

    #[test]
    fn a_served_request_counts_as_served_and_as_sampled_only_when_it_is() {
        assert_eq!(served(true), [(Counter::Served, 1), (Counter::Sampled, 1)]);
        assert_eq!(served(false), [(Counter::Served, 1), (Counter::Sampled, 0)]);
    }

    #[test]
    fn sampling_at_the_edges() {
        assert!((0..1000).all(|_| !sampled(0.0)));
        assert!((0..1000).all(|_| sampled(100.0)));
        let hits = (0..10_000).filter(|_| sampled(50.0)).count();
        assert!((4_000..6_000).contains(&hits), "{hits}");
    }
}
