//! `experiment-comparator`: invoked asynchronously by the proxy with a [`ComparisonJob`]. Invokes
//! every candidate (and the control again with the noise baseline on) concurrently, each within the
//! experiment's timeout, compares, stores the record and logs EMF metrics.
//!
//! A record that cannot be stored fails the invocation, so Lambda retries it and then sends it to
//! the on-failure destination (`template.yaml`): comparisons are not lost silently.

use std::sync::Arc;
use std::time::Instant;

use futures::future::join_all;

use crate::adapters::invoke::{InvokeError, Invoker};
use crate::adapters::payload;
use crate::adapters::store::{ExperimentStore, StoreError};
use crate::domain::compare::{self, FailureKind, Observed, Verdict};
use crate::domain::definition::Variant;
use crate::domain::record::{ComparisonRecord, RequestSummary, VariantResult};
use crate::job::ComparisonJob;

pub struct ComparatorApp {
    pub store: ExperimentStore,
    pub invoker: Arc<dyn Invoker>,
}

type Answer = Result<Observed, (FailureKind, String)>;

/// Invokes `variant` with `event` (the job's event, serialised once for every variant).
async fn run(
    app: &ComparatorApp,
    variant: &Variant,
    job: &ComparisonJob,
    event: &[u8],
) -> (Answer, f64) {
    let started = Instant::now();
    let invoked = tokio::time::timeout(
        job.experiment.timeout,
        app.invoker.invoke(&variant.function, event.to_vec()),
    )
    .await;
    let answer = match invoked {
        Err(_) => Err((
            FailureKind::Timeout,
            format!("no answer within {} ms", job.experiment.timeout.as_millis()),
        )),
        Ok(Err(InvokeError::FunctionError(detail))) => Err((FailureKind::FunctionError, detail)),
        Ok(Err(InvokeError::Failed(detail))) => Err((FailureKind::InvokeFailed, detail)),
        Ok(Ok(bytes)) => payload::observed(&bytes).ok_or_else(|| {
            (
                FailureKind::Malformed,
                compare::excerpt(&String::from_utf8_lossy(&bytes)),
            )
        }),
    };
    (answer, started.elapsed().as_secs_f64() * 1e3)
}

fn result(
    variant: &Variant,
    answer: Answer,
    duration_ms: f64,
    verdict: Option<Verdict>,
) -> VariantResult {
    let (status, failure, failure_detail) = match &answer {
        Ok(observed) => (Some(observed.status), None, None),
        Err((kind, detail)) => (None, Some(*kind), Some(detail.clone())),
    };
    VariantResult {
        id: variant.id.clone(),
        name: variant.name.clone(),
        status,
        duration_ms,
        failure,
        failure_detail,
        verdict: answer.is_ok().then_some(verdict).flatten(),
    }
}

/// Runs one comparison and returns its record (stored and logged).
pub async fn compare_job(
    app: &ComparatorApp,
    job: &ComparisonJob,
) -> Result<ComparisonRecord, StoreError> {
    let experiment = &job.experiment;
    let event = job.event.to_string().into_bytes();
    let candidates = join_all(
        experiment
            .candidates
            .iter()
            .map(|c| run(app, c, job, &event)),
    );
    let noise = async {
        if experiment.noise_baseline {
            Some(run(app, &experiment.control, job, &event).await)
        } else {
            None
        }
    };
    let (candidates, noise) = tokio::join!(candidates, noise);
    let noise = noise
        .and_then(|(answer, _)| answer.ok())
        .map(|again| compare::compare(experiment, &job.control, &again));
    let candidates = experiment
        .candidates
        .iter()
        .zip(candidates)
        .map(|(variant, (answer, duration))| {
            let verdict = answer.as_ref().ok().map(|observed| {
                let verdict =
                    compare::compare_candidate(experiment, &variant.id, &job.control, observed);
                match &noise {
                    Some(noise) => verdict.net_of(noise),
                    None => verdict,
                }
            });
            result(variant, answer, duration, verdict)
        })
        .collect();
    let event = &job.event;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let record = ComparisonRecord {
        experiment: experiment.name.clone(),
        correlation_id: job.correlation_id.clone(),
        at: job.at.clone(),
        request: RequestSummary {
            method: text(&event["requestContext"]["http"]["method"]),
            path: text(&event["rawPath"]),
            query: text(&event["rawQueryString"]),
            body: compare::recorded_body(experiment, &text(&event["body"])),
        },
        control: result(
            &experiment.control,
            Ok(job.control.clone()),
            job.control_duration_ms,
            None,
        ),
        candidates,
        noise,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    for variant in std::iter::once(&record.control).chain(&record.candidates) {
        // EMF must be a line of its own on stdout, not wrapped in a tracing event.
        println!(
            "{}",
            crate::emf::line(
                &record.experiment,
                &record.correlation_id,
                variant,
                now.as_millis() as u64
            )
        );
    }
    app.store.put_record(&record, now.as_secs() as i64).await?;
    let mismatches = record.candidates.iter().filter(|c| c.mismatched()).count();
    let intended = record.candidates.iter().filter(|c| c.intended()).count();
    let failures = record
        .candidates
        .iter()
        .filter(|c| c.failure.is_some())
        .count();
    tracing::info!(experiment = %record.experiment, mismatches, intended, failures, "compared");
    Ok(record)
}

/// The function's entry point: the job arrives as the `Event` invocation's payload.
pub async fn handler(app: &ComparatorApp, job: ComparisonJob) -> Result<(), StoreError> {
    use tracing::Instrument;
    let span = tracing::info_span!(
        "compare",
        correlation_id = %job.correlation_id,
        experiment = %job.experiment.name
    );
    compare_job(app, &job).instrument(span).await.map(|_| ())
}
