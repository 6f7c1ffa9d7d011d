//! `experiment-comparator`: invoked asynchronously by the proxy with a [`ComparisonJob`]. Invokes
//! the control again and every candidate with the job's event, compares each candidate's answer
//! with the one the client got, stores the record and logs EMF metrics.
//!
//! ## Timing
//! The verdict's duration ratio divides a candidate's duration by the control's, so both are
//! measured here, by one function ([`timed`]), through the same invoker, on the same event, within
//! the same timeout, the clock around the invocation only. The invocations run one at a time, in
//! an order shuffled for every job ([`invocation_order`]): none waits behind another's answer
//! being handled, and none is always first or last, so whatever the moment favours (a function
//! just run, a busy machine, a queue behind it) falls on the control and the candidates alike.
//! The proxy's own timing of the control was not comparable: taken in another process, before
//! the hand-off, while the comparator of an earlier request ran beside it (the sort solution, the
//! control's own algorithm, read 1.42× the control on `cargo lambda watch` and 0.10× in-process).
//!
//! The price is one more invocation of the control per compared request (docs/adr/0006-comparator-times-both-variants.md
//! weighs it); with the noise baseline on, that invocation is the baseline, so the
//! baseline costs nothing more. The comparator's run is the sum of the invocations rather than
//! the longest.
//!
//! A record that cannot be stored fails the invocation, so Lambda retries it and then sends it to
//! the on-failure destination (`template.yaml`): comparisons are not lost silently.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::adapters::invoke::{InvokeError, InvokeFailure, Invoker};
use crate::adapters::payload;
use crate::adapters::store::{ExperimentStore, StoreError};
use crate::domain::compare::{self, FailureKind, Observed, Verdict};
use crate::domain::definition::{Experiment, Variant};
use crate::domain::record::{ComparisonRecord, RequestSummary, VariantResult};
use crate::domain::redaction::Redactor;
use crate::job::ComparisonJob;

pub struct ComparatorApp {
    pub store: ExperimentStore,
    pub invoker: Arc<dyn Invoker>,
}

type Answer = Result<Observed, (FailureKind, String)>;

/// A variant's answer, how long its invocation took in milliseconds, and the version that
/// answered (when the invoker tells).
pub type Timed = (Answer, f64, Option<String>);

/// Invokes `function` with `event` within `timeout`. The clock runs around the invocation and
/// nothing else (not the copy of the event, not the parsing of the answer), and this is the only
/// place a duration is measured: the control's and the candidates' are alike by construction.
async fn timed(invoker: &dyn Invoker, function: &str, event: &[u8], timeout: Duration) -> Timed {
    let payload = event.to_vec();
    let started = Instant::now();
    let invoked = tokio::time::timeout(timeout, invoker.invoke_versioned(function, payload)).await;
    let duration_ms = started.elapsed().as_secs_f64() * 1e3;
    let (answer, version) = match invoked {
        Err(_) => (
            Err((
                FailureKind::Timeout,
                format!("no answer within {} ms", timeout.as_millis()),
            )),
            None,
        ),
        Ok(Err(InvokeFailure::Invoke(InvokeError::FunctionError(detail)))) => {
            (Err((FailureKind::FunctionError, detail)), None)
        }
        Ok(Err(InvokeFailure::Invoke(InvokeError::Failed(detail)))) => {
            (Err((FailureKind::InvokeFailed, detail)), None)
        }
        Ok(Err(missing @ InvokeFailure::NotDeployed(_))) => {
            (Err((FailureKind::InvokeFailed, missing.to_string())), None)
        }
        Ok(Ok(invoked)) => (
            payload::observed(&invoked.payload).ok_or_else(|| {
                (
                    FailureKind::Malformed,
                    compare::excerpt(&String::from_utf8_lossy(&invoked.payload)),
                )
            }),
            invoked.version,
        ),
    };
    (answer, duration_ms, version)
}

/// The order in which `variants` variants (0 the control, then the candidates) are invoked: a
/// random permutation, so each is first, last or between equally often over many jobs.
pub fn invocation_order(variants: usize, rng: &mut fastrand::Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..variants).collect();
    rng.shuffle(&mut order);
    order
}

/// Invokes the control and every candidate of `experiment` with `event`, one at a time in
/// [`invocation_order`], each [`timed`] within the experiment's timeout. Returns the control's
/// answer and duration, and the candidates' in the definition's order.
pub async fn invoke_variants(
    invoker: &dyn Invoker,
    experiment: &Experiment,
    event: &[u8],
    rng: &mut fastrand::Rng,
) -> (Timed, Vec<Timed>) {
    let variants: Vec<&Variant> = std::iter::once(&experiment.control)
        .chain(&experiment.candidates)
        .collect();
    let mut results: Vec<Option<Timed>> = variants.iter().map(|_| None).collect();
    for i in invocation_order(variants.len(), rng) {
        results[i] = Some(timed(invoker, &variants[i].function, event, experiment.timeout).await);
    }
    let mut results = results.into_iter().flatten();
    let control = results.next().expect("the control is always invoked");
    (control, results.collect())
}

/// One variant's part of the record, its texts redacted as the experiment says.
fn result(
    variant: &Variant,
    (answer, duration_ms, version): Timed,
    verdict: Option<Verdict>,
    redactor: &Redactor,
) -> VariantResult {
    let (status, failure, failure_detail) = match &answer {
        Ok(observed) => (Some(observed.status), None, None),
        Err((kind, detail)) => (
            None,
            Some(*kind),
            Some(redactor.failure_detail(*kind, detail)),
        ),
    };
    let verdict = verdict.map(|mut verdict| {
        verdict.diff = verdict.diff.map(|diff| redactor.scrub(&diff));
        verdict
    });
    VariantResult {
        id: variant.id.clone(),
        name: variant.name.clone(),
        status,
        duration_ms,
        failure,
        failure_detail,
        verdict: answer.is_ok().then_some(verdict).flatten(),
        version,
        function: Some(variant.function.clone()),
    }
}

/// Invokes the variants and compares their answers: the record as it is stored, redacted as the
/// experiment says ([`Redactor`]).
pub async fn comparison_record(invoker: &dyn Invoker, job: &ComparisonJob) -> ComparisonRecord {
    let experiment = &job.experiment;
    let event = job.event.to_string().into_bytes();
    let mut rng = fastrand::Rng::new();
    let (control_timed, candidates) = invoke_variants(invoker, experiment, &event, &mut rng).await;
    let control_again = &control_timed.0;
    let bodies = std::iter::once(&job.control)
        .chain(control_again.as_ref().ok())
        .chain(
            candidates
                .iter()
                .filter_map(|(answer, _, _)| answer.as_ref().ok()),
        )
        .map(|observed| observed.body.as_str());
    let redactor = Redactor::new(experiment, &job.event, bodies);
    // The control's second answer against the one the client got: the noise baseline, free.
    let noise = control_again
        .as_ref()
        .ok()
        .filter(|_| experiment.noise_baseline)
        .map(|again| compare::compare(experiment, &job.control, again));
    let candidates = experiment
        .candidates
        .iter()
        .zip(candidates)
        .map(|(variant, timed)| {
            let verdict = timed.0.as_ref().ok().map(|observed| {
                let verdict =
                    compare::compare_candidate(experiment, &variant.id, &job.control, observed);
                match &noise {
                    Some(noise) => verdict.net_of(noise),
                    None => verdict,
                }
            });
            result(variant, timed, verdict, &redactor)
        })
        .collect();
    let event = &job.event;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    ComparisonRecord {
        experiment: experiment.name.clone(),
        correlation_id: job.correlation_id.clone(),
        at: job.at.clone(),
        request: RequestSummary {
            method: text(&event["requestContext"]["http"]["method"]),
            path: text(&event["rawPath"]),
            query: redactor.query(&text(&event["rawQueryString"])),
            body: compare::recorded_body(experiment, &text(&event["body"])),
        },
        // Timed beside the candidates; a failed second invocation shows as the control's error.
        control: result(&experiment.control, control_timed, None, &redactor),
        answered_by: job.control_version.clone(),
        candidates,
        noise: noise.map(|mut noise| {
            noise.diff = noise.diff.map(|diff| redactor.scrub(&diff));
            noise
        }),
    }
}

/// Runs one comparison and returns its record (stored and logged).
pub async fn compare_job(
    app: &ComparatorApp,
    job: &ComparisonJob,
) -> Result<ComparisonRecord, StoreError> {
    let record = comparison_record(app.invoker.as_ref(), job).await;
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
    // The record, the `compared` counter and the candidates' running totals in one transaction:
    // a retried invocation stores and counts nothing twice.
    let class = crate::domain::coverage::class_of(&job.event);
    if !app
        .store
        .put_compared(&record, &class, now.as_secs() as i64)
        .await?
    {
        tracing::info!(correlation_id = %record.correlation_id, "comparison already stored");
    }
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::adapters::invoke::BoxFuture;
    use crate::domain::definition::Experiments;

    /// Answers every invocation with the function's name as the body, after yielding once (where
    /// a caller running invocations concurrently would start the next); records who was invoked
    /// with what, and the most invocations in flight at once.
    #[derive(Default)]
    struct Recording {
        calls: Mutex<Vec<(String, Vec<u8>)>>,
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
        /// This function takes at least 20 ms.
        slow: Option<&'static str>,
    }

    impl Invoker for Recording {
        fn invoke<'a>(
            &'a self,
            function: &'a str,
            payload: Vec<u8>,
        ) -> BoxFuture<'a, Result<Vec<u8>, InvokeError>> {
            Box::pin(async move {
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.most_in_flight.fetch_max(now, Ordering::SeqCst);
                self.calls
                    .lock()
                    .unwrap()
                    .push((function.to_owned(), payload));
                tokio::task::yield_now().await;
                if self.slow == Some(function) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok(serde_json::json!({"statusCode": 200, "body": function})
                    .to_string()
                    .into_bytes())
            })
        }

        fn invoke_event<'a>(
            &'a self,
            function: &'a str,
            _: Vec<u8>,
        ) -> BoxFuture<'a, Result<(), InvokeError>> {
            Box::pin(async move { Err(InvokeError::Failed(format!("no {function} here"))) })
        }
    }

    /// Answers as each planted function of [`no_redacted_value_reaches_the_record`] does.
    struct Planting;

    impl Invoker for Planting {
        fn invoke<'a>(
            &'a self,
            function: &'a str,
            _: Vec<u8>,
        ) -> BoxFuture<'a, Result<Vec<u8>, InvokeError>> {
            let http = |body: &str| {
                serde_json::json!({
                    "statusCode": 200,
                    "headers": {"content-type": "application/json"},
                    "body": body,
                })
                .to_string()
                .into_bytes()
            };
            let answer = match function {
                "control" => Ok(http(r#"{"key":"CONTROLKEY-0001"}"#)),
                "garbage" => Ok(b"not http: CANDKEY-0002 CONTROLKEY-0001".to_vec()),
                "error" => Err(InvokeError::FunctionError(
                    r#"{"errorType":"Panic","errorMessage":"key CANDKEY-0003, hunter22"}"#.into(),
                )),
                "failed" => Err(InvokeError::Failed(
                    r#"service error: payload {"password":"correct horse"} for hunter22"#.into(),
                )),
                _ => Ok(http(r#"{"key":"CANDKEY-0004"}"#)),
            };
            Box::pin(async move { answer })
        }

        fn invoke_event<'a>(
            &'a self,
            _: &'a str,
            _: Vec<u8>,
        ) -> BoxFuture<'a, Result<(), InvokeError>> {
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn no_redacted_value_reaches_the_record() {
        let yaml = "experiments:\n  pbkdf2:\n    comparators: [body]\n    path: /pbkdf2\n    redact: [$.key, $.password]\n    control: {name: C, function: control}\n    candidates:\n      garbage: {name: G, function: garbage}\n      error: {name: E, function: error}\n      failed: {name: F, function: failed}\n      differs: {name: D, function: differs}\n";
        let experiment = Experiments::parse(yaml).unwrap().by_name["pbkdf2"].clone();
        let job = ComparisonJob {
            control_version: Some("7".to_owned()),
            experiment,
            correlation_id: "planted".to_owned(),
            event: serde_json::json!({
                "rawPath": "/pbkdf2",
                "rawQueryString": "password=hunter22&iterations=1000",
                "body": r#"{"password":"correct horse","salt":"NaCl"}"#,
                "requestContext": {"http": {"method": "POST"}},
            }),
            control: Observed {
                status: 200,
                headers: [("content-type".to_owned(), "application/json".to_owned())].into(),
                body: r#"{"key":"CONTROLKEY-0001"}"#.to_owned(),
            },
            at: "2026-12-05T00:00:00Z".to_owned(),
        };
        let record = comparison_record(&Planting, &job).await;
        // The version whose answer the candidates were compared with (a canary's evidence).
        assert_eq!(record.answered_by.as_deref(), Some("7"));
        let stored = serde_json::to_string(&record).unwrap();
        for secret in [
            "CONTROLKEY-0001",
            "CANDKEY-0002",
            "CANDKEY-0003",
            "CANDKEY-0004",
            "hunter22",
            "correct horse",
        ] {
            assert!(!stored.contains(secret), "{secret} stored: {stored}");
        }
        // What is not secret stays: the kinds of failure, the other parameter, the difference.
        assert!(stored.contains("iterations=1000"), "{stored}");
        assert!(stored.contains("Panic"), "{stored}");
        assert!(
            stored.contains("$.key: the values differ (redacted)"),
            "{stored}"
        );
    }

    fn sort() -> Experiment {
        let yaml = "experiments:\n  sort:\n    comparators: [body]\n    path: /sort\n    control: {name: C, function: sort-control}\n    candidates:\n      exercise: {name: E, function: sort-candidate}\n      fixed: {name: F, function: sort-candidate-fixed}\n";
        Experiments::parse(yaml).unwrap().by_name["sort"].clone()
    }

    fn body(timed: &Timed) -> &str {
        &timed.0.as_ref().expect("an answer").body
    }

    #[tokio::test]
    async fn the_control_is_invoked_again_with_the_candidates_event_one_invocation_at_a_time() {
        let invoker = Recording::default();
        let event = br#"{"rawPath":"/sort","body":"[3,1,2]"}"#;
        let mut rng = fastrand::Rng::with_seed(1);
        let (control, candidates) = invoke_variants(&invoker, &sort(), event, &mut rng).await;
        assert_eq!(body(&control), "sort-control");
        let bodies: Vec<&str> = candidates.iter().map(body).collect();
        assert_eq!(bodies, ["sort-candidate", "sort-candidate-fixed"]);
        let calls = invoker.calls.lock().unwrap();
        let mut invoked: Vec<&str> = calls.iter().map(|(f, _)| f.as_str()).collect();
        invoked.sort_unstable();
        assert_eq!(
            invoked,
            ["sort-candidate", "sort-candidate-fixed", "sort-control"]
        );
        assert!(
            calls.iter().all(|(_, payload)| payload == event),
            "{calls:?}"
        );
        assert_eq!(invoker.most_in_flight.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_control_and_each_candidate_go_first_about_equally_often() {
        let invoker = Recording::default();
        let mut rng = fastrand::Rng::with_seed(7);
        let jobs = 3_000;
        for _ in 0..jobs {
            let _ = invoke_variants(&invoker, &sort(), b"{}", &mut rng).await;
        }
        let calls = invoker.calls.lock().unwrap();
        let firsts = |function: &str| calls.chunks(3).filter(|job| job[0].0 == function).count();
        // A third each: 1,000, with a standard deviation of about 26.
        for function in ["sort-control", "sort-candidate", "sort-candidate-fixed"] {
            let first = firsts(function);
            assert!(
                (850..=1_150).contains(&first),
                "{function}: {first} of {jobs}"
            );
        }
    }

    #[test]
    fn the_invocation_order_is_a_permutation_of_every_variant() {
        let mut rng = fastrand::Rng::with_seed(3);
        for variants in 1..8 {
            let mut order = invocation_order(variants, &mut rng);
            order.sort_unstable();
            assert_eq!(order, (0..variants).collect::<Vec<_>>());
        }
    }

    #[tokio::test]
    async fn the_controls_duration_is_its_own_invocation_timed_here() {
        let invoker = Recording {
            slow: Some("sort-control"),
            ..Recording::default()
        };
        let mut rng = fastrand::Rng::with_seed(5);
        let ((_, control_ms, _), _) = invoke_variants(&invoker, &sort(), b"{}", &mut rng).await;
        assert!(control_ms >= 20.0, "{control_ms}");
    }
}
