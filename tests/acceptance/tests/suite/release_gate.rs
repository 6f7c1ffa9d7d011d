//! The release gate (`functions/release-hook`): the cases CodeDeploy's pre-traffic hook runs on a
//! new version of a control. Every family's control and its correct candidates pass them, so a
//! release of any of them can go out; the workshop's sort exercise fails them, so the gate can
//! stop one.
//!
//! The cases run as the hook runs them ([`release_hook::gate::run`]: each case an HTTP API event
//! handed to an [`Invoker`], each answer checked); only the invoker differs. Here it hands the
//! event to the suite's [`World`], so the functions answer in-process (`TEST_MODE=handler`) or
//! over HTTP (`TEST_MODE=http`) instead of through the Invoke API.

use acceptance::{Call, Reply, World};
use experiments::adapters::invoke::{BoxFuture, InvokeError, Invoker};
use futures::future::join_all;
use release_hook::{CaseFailure, Catalog};
use serde_json::{Value, json};

/// Candidates that do what their control does wherever the spec fixes the answer.
const CORRECT_CANDIDATES: [&str; 5] = [
    "round-candidate-half-even",
    "round-candidate-floor",
    "sort-candidate-fixed",
    "fizzbuzz-candidate-reference",
    "pbkdf2-candidate-fast",
];

/// Invokes a function with an HTTP API event by sending the request it describes through the
/// world, and answers with the HTTP response payload the function would return to Lambda.
struct ThroughWorld(World);

impl Invoker for ThroughWorld {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, InvokeError>> {
        Box::pin(async move {
            let event: Value = serde_json::from_slice(&payload)
                .map_err(|e| InvokeError::Failed(format!("the gate sent no JSON: {e}")))?;
            let reply = self.0.send(call_of(function, &event)).await;
            Ok(payload_of(&reply))
        })
    }

    fn invoke_event<'a>(
        &'a self,
        function: &'a str,
        _: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), InvokeError>> {
        Box::pin(async move {
            Err(InvokeError::Failed(format!(
                "the gate invokes {function} synchronously only"
            )))
        })
    }
}

/// The request an HTTP API (v2) event describes.
fn call_of(function: &str, event: &Value) -> Call {
    let method = event["requestContext"]["http"]["method"]
        .as_str()
        .unwrap_or("GET");
    let path = event["rawPath"].as_str().unwrap_or("/");
    let path = match event["rawQueryString"].as_str().unwrap_or("") {
        "" => path.to_owned(),
        query => format!("{path}?{query}"),
    };
    let mut call = Call::new(function, method, &path);
    for (name, value) in event["headers"].as_object().into_iter().flatten() {
        if let Some(value) = value.as_str() {
            call = call.header(name, value);
        }
    }
    if let Some(body) = event["body"].as_str() {
        call = call.raw_body(body.as_bytes().to_vec());
    }
    call
}

/// The payload a Lambda HTTP function returns for `reply`.
fn payload_of(reply: &Reply) -> Vec<u8> {
    json!({
        "statusCode": reply.status,
        "headers": reply.headers,
        "body": reply.text(),
        "isBase64Encoded": false,
    })
    .to_string()
    .into_bytes()
}

fn registry() -> registry::Registry {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    registry::Registry::load(&root).unwrap_or_else(|e| panic!("{e}"))
}

fn catalog() -> Catalog {
    Catalog::builtin().unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `function`'s family's cases on it: each case's name and what failed, if anything.
async fn gate(
    invoker: &ThroughWorld,
    catalog: &Catalog,
    family: &str,
    function: &str,
) -> Vec<(String, Result<(), CaseFailure>)> {
    let cases = catalog
        .cases(family)
        .unwrap_or_else(|| panic!("no release gate cases for family {family}"));
    let correlation_id = acceptance::unique("release-gate");
    release_hook::gate::run(invoker, function, cases, &correlation_id)
        .await
        .unwrap_or_else(|e| panic!("{function}: the gate did not finish: {e}"))
        .into_iter()
        .map(|outcome| (outcome.case.name.clone(), outcome.result))
        .collect()
}

/// Runs each `(family, function)`'s gate and fails listing every case that failed.
async fn assert_all_pass(functions: Vec<(String, String)>) {
    let invoker = ThroughWorld(World::new().await);
    let catalog = catalog();
    let (invoker, catalog) = (&invoker, &catalog);
    let runs = functions.iter().map(|(family, function)| async move {
        let outcomes = gate(invoker, catalog, family, function).await;
        assert!(!outcomes.is_empty(), "{function}: no case ran");
        outcomes
            .into_iter()
            .filter_map(|(case, result)| Some(format!("{function}: {case}: {}", result.err()?)))
            .collect::<Vec<_>>()
    });
    let failures: Vec<String> = join_all(runs).await.into_iter().flatten().collect();
    assert!(
        failures.is_empty(),
        "release gate cases failed:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_familys_control_passes_its_release_gate() {
    let registry = registry();
    let controls: Vec<(String, String)> = registry
        .workshop_families()
        .into_iter()
        .map(|family| {
            let control = registry
                .control_of(family)
                .expect("a workshop family's control");
            (family.to_owned(), control.name.clone())
        })
        .collect();
    assert_eq!(controls.len(), 4, "{controls:?}");
    assert_all_pass(controls).await;
}

#[tokio::test]
async fn the_correct_candidates_pass_their_familys_release_gate() {
    let registry = registry();
    let candidates = CORRECT_CANDIDATES
        .iter()
        .map(|name| {
            let entry = registry
                .get(name)
                .unwrap_or_else(|| panic!("{name} is not in functions.toml"));
            (entry.family.clone(), entry.name.clone())
        })
        .collect();
    assert_all_pass(candidates).await;
}

/// The workshop's sort exercise ships with two bugs (it answers text/plain; it sorts numbers as
/// text) that attendees fix. Whatever state it is in, the gate fails it exactly on the cases where
/// it answers otherwise than the control; as shipped, that is every case with a list to sort.
#[tokio::test]
async fn the_sort_exercise_fails_the_release_gate_where_it_answers_otherwise_than_the_control() {
    let world = World::new().await;
    let catalog = catalog();
    let cases = catalog.cases("sort").expect("sort cases");
    let invoker = ThroughWorld(world.clone());
    let outcomes = gate(&invoker, &catalog, "sort", "sort-candidate").await;
    let as_shipped = world
        .send(Call::post("sort-candidate", "/sort").json(&json!([3, 1, 2])))
        .await
        .header("content-type")
        == Some("text/plain");
    let mut differing = 0;
    for (case, (name, result)) in cases.iter().zip(&outcomes) {
        let event: Value = serde_json::from_slice(
            &release_hook::gate::event(case, "release-gate-exercise").expect("an event"),
        )
        .expect("JSON");
        let control = world.send(call_of("sort-control", &event)).await;
        let exercise = world.send(call_of("sort-candidate", &event)).await;
        let differs = (
            exercise.status,
            exercise.header("content-type"),
            exercise.text(),
        ) != (
            control.status,
            control.header("content-type"),
            control.text(),
        );
        differing += usize::from(differs);
        assert_eq!(
            result.is_err(),
            differs,
            "case {name}: gate says {result:?}; the control answered {} {:?} {:?}, the exercise {} {:?} {:?}",
            control.status,
            control.header("content-type"),
            control.text(),
            exercise.status,
            exercise.header("content-type"),
            exercise.text(),
        );
    }
    if as_shipped {
        assert!(differing >= 3, "as shipped: {outcomes:#?}");
        assert_eq!(
            outcomes[0].1,
            Err(CaseFailure::ContentType {
                expected: "application/json".into(),
                got: Some("text/plain".into()),
            })
        );
    }
}

/// A release built from the wrong binary (the FizzBuzz control's code deployed as round-control)
/// answers, but not what round must: the gate stops it. It passes only the case both share (a
/// 405 for POST), so the gate checks more than that the function answers.
#[tokio::test]
async fn a_release_of_the_wrong_code_fails_the_release_gate() {
    let invoker = ThroughWorld(World::new().await);
    let outcomes = gate(&invoker, &catalog(), "round", "fizzbuzz-control").await;
    let passed: Vec<&str> = outcomes
        .iter()
        .filter(|(_, result)| result.is_ok())
        .map(|(case, _)| case.as_str())
        .collect();
    assert_eq!(passed, ["POST is a 405"], "{outcomes:#?}");
    let (_, first) = &outcomes[0];
    assert_eq!(
        first,
        &Err(CaseFailure::ContentType {
            expected: "application/json".into(),
            got: Some("text/plain; charset=utf-8".into()),
        }),
        "{outcomes:#?}"
    );
}

/// What an experiment learned holds the next release to it (`./build.sh experiments gate-cases`):
/// an input on which half-even differed from the control (a tie), written as a case with the
/// control's answer, passes the control and stops a release of half-even's code.
#[tokio::test]
async fn a_learned_differing_input_stops_a_release_that_answers_it_otherwise() {
    use release_hook::domain::learned::{self, Learned};
    let world = World::new().await;
    let control = world
        .send(Call::get("round-control", "/round?number=62.5"))
        .await;
    assert_eq!(control.status, 200, "{}", control.text());
    let planted = Learned {
        name: "learned: half-even differed on a tie".to_owned(),
        method: "GET".to_owned(),
        path: "/round".to_owned(),
        query: [("number".to_owned(), "62.5".to_owned())].into(),
        body: None,
        status: control.status,
        content_type: control
            .header("content-type")
            .unwrap_or_default()
            .to_owned(),
        answer: control.text(),
    };
    let file = learned::section("", "round", &[planted]).expect("a section");
    let cases = release_hook::domain::cases::parse("round", &file).expect("valid cases");
    let invoker = ThroughWorld(world);
    let run = |function: &'static str| {
        let (invoker, cases) = (&invoker, &cases);
        async move {
            release_hook::gate::run(invoker, function, cases, &acceptance::unique("learned"))
                .await
                .unwrap_or_else(|e| panic!("{function}: {e}"))
                .into_iter()
                .map(|outcome| outcome.result)
                .collect::<Vec<_>>()
        }
    };
    assert!(run("round-control").await.iter().all(Result::is_ok));
    let half_even = run("round-candidate-half-even").await;
    assert!(
        half_even.iter().any(Result::is_err),
        "half-even rounds 62.5 to 62 and must fail the learned case: {half_even:?}"
    );
}
