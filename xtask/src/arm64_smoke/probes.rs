//! What each function is sent in the smoke run, and what its answer must be for the run to pass.
//!
//! One real request per binary, in the shape its trigger sends: the workshop functions, the chaos
//! candidates and the experiment proxy a Function URL event (payload format 2.0), the shortener
//! and the report an HTTP API event of their route, the comparator the job the proxy hands it,
//! the release hook CodeDeploy's event. Every check is on a typed value (status, JSON fields, the
//! error document), never on a log line. Memory-size variants run the same binary: the binary is
//! probed once.

use std::collections::BTreeMap;

use experiments::adapters::payload::observed;
use experiments::domain::compare::Observed;
use experiments::domain::definition::{Experiment, Experiments};
use experiments::job::ComparisonJob;
use explore::probe::Probe as Request;
use registry::{Function, Role};
use serde_json::{Value, json};

/// The experiment the proxy serves and the comparator compares in the smoke run
/// (`functions/experiments/definitions/resilience.yaml`): round-control against the half-even
/// candidate, sampling nothing, so the proxy's request ends at the control and the comparator's
/// job is the only comparison.
pub const EXPERIMENT: &str = "round-unsampled";
/// The proxy's and the comparator's request: what round-control answers [`ROUND_ANSWER`] to.
const EXPERIMENT_QUERY: &str = "number=62.5";
const ROUND_ANSWER: &str = r#"{"number":62.5,"rounded":63}"#;
/// What the release hook is invoked with; the deployment is unknown to CodeDeploy.
const DEPLOYMENT_ID: &str = "d-ARM64SMOKE";

/// What one invocation came back with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The payload posted to `…/response`.
    Payload(Vec<u8>),
    /// The error document posted to `…/error`.
    Error(String),
}

/// One invocation's answer, and the functions that answered an invocation through the Invoke API
/// while it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub answer: Answer,
    pub invoked: Vec<String>,
}

/// What a function is sent and held to.
#[derive(Debug, Clone)]
pub enum Probe {
    /// A workshop function: its family's example request (`new_candidate::example`); a control's
    /// answer exactly, a candidate's for its shape; a scaffolded candidate may answer `501`.
    Workshop {
        family: String,
        control: bool,
        scaffolded: bool,
    },
    /// Creates a link to `url` in DynamoDB Local and follows it back.
    Shortener {
        url: String,
    },
    /// The report lists the experiments read from DynamoDB Local.
    Report,
    /// [`EXPERIMENT`] through the proxy: the control's answer, invoked through the Invoke API.
    Proxy {
        experiment: Experiment,
    },
    /// A job for [`EXPERIMENT`]: the comparator invokes every variant and stores the record.
    Comparator {
        job: Value,
        experiment: Experiment,
    },
    /// CodeDeploy's event for an unknown deployment: the hook's calls to CodeDeploy fail offline,
    /// so it cannot report, and says so with the typed error it fails the invocation with.
    ReleaseHook,
    ChaosPanics,
    ChaosSlow,
    Chaos500,
    ChaosGarbage,
}

impl Probe {
    /// The probe of `function`; an error for a function no probe knows (add one here).
    pub fn of(function: &Function, experiments: &Experiments, now: &str) -> Result<Self, String> {
        let experiment = || {
            experiments.by_name.get(EXPERIMENT).cloned().ok_or_else(|| {
                format!("no experiment {EXPERIMENT} in functions/experiments/definitions")
            })
        };
        Ok(match (function.family.as_str(), function.name.as_str()) {
            ("round" | "sort" | "fizzbuzz" | "pbkdf2", _) => Probe::Workshop {
                family: function.family.clone(),
                control: function.role == Role::Control,
                scaffolded: function.scaffolded,
            },
            ("shortener", _) => Probe::Shortener {
                url: format!("https://example.com/arm64-smoke/{}", now.replace(':', "-")),
            },
            ("experiments", "experiment-report") => Probe::Report,
            ("experiments", "experiment-proxy") => Probe::Proxy {
                experiment: experiment()?,
            },
            ("experiments", "experiment-comparator") => {
                let experiment = experiment()?;
                Probe::Comparator {
                    job: comparison_job(&experiment, now)?,
                    experiment,
                }
            }
            ("release", _) => Probe::ReleaseHook,
            ("chaos", "chaos-candidate-panics") => Probe::ChaosPanics,
            ("chaos", "chaos-candidate-slow") => Probe::ChaosSlow,
            ("chaos", "chaos-candidate-500") => Probe::Chaos500,
            ("chaos", "chaos-candidate-garbage") => Probe::ChaosGarbage,
            _ => {
                return Err(format!(
                    "no smoke request for {} (family {}): add one in xtask/src/arm64_smoke/probes.rs",
                    function.name, function.family
                ));
            }
        })
    }

    /// How many invocations it takes.
    pub fn steps(&self) -> usize {
        match self {
            Probe::Shortener { .. } => 2,
            _ => 1,
        }
    }

    /// Whether it invokes other functions, so must run once they are idle (its check reads the
    /// functions invoked while it ran).
    pub fn invokes_others(&self) -> bool {
        matches!(self, Probe::Proxy { .. } | Probe::Comparator { .. })
    }

    /// The event of the next step, given the outcomes of the steps before it.
    pub fn event(&self, before: &[Outcome]) -> Result<Value, String> {
        Ok(match self {
            Probe::Workshop { family, .. } => workshop_request(family)?.event(),
            Probe::Shortener { url } => match before {
                [] => {
                    let mut event = http_api(
                        &Request::post_json("/", &json!({ "url": url })),
                        "POST /",
                        &[],
                    );
                    event["headers"]["x-api-key"] = crate::local::LOCAL_API_KEY.into();
                    event
                }
                [created, ..] => {
                    let code = json_of(created)?["code"]
                        .as_str()
                        .ok_or("the create answer has no code")?
                        .to_owned();
                    http_api(
                        &Request::get(&format!("/{code}"), String::new()),
                        "GET /{code}",
                        &[("code", &code)],
                    )
                }
            },
            Probe::Report => http_api(
                &Request::get("/experiments", String::new()),
                "GET /experiments",
                &[],
            ),
            Probe::Proxy { experiment } => {
                Request::get(&experiment.path, EXPERIMENT_QUERY.to_owned()).event()
            }
            Probe::Comparator { job, .. } => job.clone(),
            Probe::ReleaseHook => json!({
                "DeploymentId": DEPLOYMENT_ID,
                "LifecycleEventHookExecutionId": "arm64-smoke-hook-execution",
            }),
            Probe::ChaosPanics | Probe::ChaosSlow | Probe::Chaos500 | Probe::ChaosGarbage => {
                Request::get("/round", EXPERIMENT_QUERY.to_owned()).event()
            }
        })
    }

    /// Whether `outcome` (of the step after `before`) is what this function must answer: a short
    /// account of the answer, or what is wrong with it.
    pub fn check(&self, outcome: &Outcome, before: &[Outcome]) -> Result<String, String> {
        match self {
            Probe::Workshop {
                family,
                control,
                scaffolded,
            } => {
                let http = http_answer(outcome)?;
                if *scaffolded && http.status == 501 && http.body.contains("not_implemented") {
                    return Ok("501 not_implemented (scaffolded, not written yet)".to_owned());
                }
                expect_status(&http, 200)?;
                workshop_answer(family, *control, &http.body)?;
                Ok(summary(&http))
            }
            Probe::Shortener { url } => {
                let http = http_answer(outcome)?;
                if before.is_empty() {
                    expect_status(&http, 201)?;
                    let body: Value = serde_json::from_str(&http.body)
                        .map_err(|_| format!("not JSON: {}", summary(&http)))?;
                    if body["url"] != url.as_str() || !body["code"].is_string() {
                        return Err(format!("not the link created: {}", summary(&http)));
                    }
                    Ok(format!(
                        "created {}",
                        body["code"].as_str().unwrap_or_default()
                    ))
                } else {
                    expect_status(&http, 308)?;
                    match http.headers.get("location") {
                        Some(location) if location == url => Ok(format!("308 to {location}")),
                        other => Err(format!("308 to {other:?}, not to {url}")),
                    }
                }
            }
            Probe::Report => {
                let http = http_answer(outcome)?;
                expect_status(&http, 200)?;
                if !http.body.contains(&format!("\"{EXPERIMENT}\"")) {
                    return Err(format!("no {EXPERIMENT} in the list: {}", summary(&http)));
                }
                Ok(summary(&http))
            }
            Probe::Proxy { experiment } => {
                let http = http_answer(outcome)?;
                expect_status(&http, 200)?;
                let control = &experiment.control.function;
                if http.body != ROUND_ANSWER {
                    return Err(format!("not {control}'s answer: {}", summary(&http)));
                }
                expect_invoked(outcome, [control.as_str()])?;
                Ok(format!("{} (from {control})", summary(&http)))
            }
            Probe::Comparator { experiment, .. } => {
                if let Answer::Error(_) = &outcome.answer {
                    let message = error_message(outcome)?;
                    return Err(format!("failed (no record stored?): {}", excerpt(&message)));
                }
                let variants = std::iter::once(&experiment.control)
                    .chain(experiment.candidates.iter())
                    .map(|variant| variant.function.as_str());
                expect_invoked(outcome, variants)?;
                Ok(format!(
                    "compared and stored; answered: {}",
                    outcome.invoked.join(", ")
                ))
            }
            Probe::ReleaseHook => {
                let message = error_message(outcome)?;
                let expected = format!("could not report Failed for deployment {DEPLOYMENT_ID}");
                if !message.contains(&expected) {
                    return Err(format!("not the hook's report error: {message}"));
                }
                Ok(format!("error (offline, as expected): {message}"))
            }
            Probe::ChaosPanics => {
                let message = error_message(outcome)?;
                if !message.contains("panics on every request") {
                    return Err(format!("not its panic: {message}"));
                }
                Ok(format!(
                    "error (its panic, as expected): {}",
                    excerpt(&message)
                ))
            }
            Probe::ChaosSlow => {
                let http = http_answer(outcome)?;
                expect_status(&http, 200)?;
                let body: Value = serde_json::from_str(&http.body).unwrap_or_default();
                if !body["slept_ms"].is_u64() {
                    return Err(format!("no slept_ms: {}", summary(&http)));
                }
                Ok(summary(&http))
            }
            Probe::Chaos500 => {
                let http = http_answer(outcome)?;
                expect_status(&http, 500)?;
                let body: Value = serde_json::from_str(&http.body).unwrap_or_default();
                if body["error"] != "chaos" {
                    return Err(format!("not its JSON error: {}", summary(&http)));
                }
                Ok(format!("{} (as expected)", summary(&http)))
            }
            Probe::ChaosGarbage => match &outcome.answer {
                Answer::Payload(payload) => {
                    let value: Value = serde_json::from_slice(payload)
                        .map_err(|_| "its payload is not JSON".to_owned())?;
                    if observed(payload).is_some() || value.get("this is").is_none() {
                        return Err(format!("not its garbage: {}", excerpt(&value.to_string())));
                    }
                    Ok(format!(
                        "not an HTTP response, as expected: {}",
                        excerpt(&value.to_string())
                    ))
                }
                Answer::Error(_) => Err(format!(
                    "answered an error: {}",
                    excerpt(&error_message(outcome)?)
                )),
            },
        }
    }
}

/// The family's example request, as a Function URL event carries it.
fn workshop_request(family: &str) -> Result<Request, String> {
    let (method, uri, body) = crate::new_candidate::example(family);
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    match (method, body) {
        ("GET", None) => Ok(Request::get(path, query.to_owned())),
        ("POST", Some(body)) => {
            let body: Value = serde_json::from_str(body)
                .map_err(|e| format!("the {family} example's body: {e}"))?;
            Ok(Request::post_json(path, &body))
        }
        _ => Err(format!("no example request for family {family}")),
    }
}

/// Whether `body` answers the family's example request: exactly what the control answers, or for
/// a candidate (which may differ on purpose) an answer of the same shape.
fn workshop_answer(family: &str, control: bool, body: &str) -> Result<(), String> {
    let json = || serde_json::from_str::<Value>(body).map_err(|_| format!("not JSON: {body}"));
    let ok = match family {
        // GET /round?number=62.5
        "round" => {
            let value = json()?;
            let rounded = value["rounded"].as_f64();
            value["number"] == 62.5
                && rounded.is_some_and(|r| (62.0..=63.0).contains(&r))
                && (!control || rounded == Some(63.0))
        }
        // POST /sort [3, 1, 2]
        "sort" => {
            let value = json()?;
            let mut numbers: Vec<i64> = value
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            numbers.sort_unstable();
            numbers == [1, 2, 3] && (!control || body == "[1,2,3]")
        }
        // GET /fizzbuzz?from=1&to=15
        "fizzbuzz" => {
            let lines: Vec<&str> = body.split('\n').collect();
            lines.len() == 15
                && lines[..5] == ["1", "2", "Fizz", "4", "Buzz"]
                && if control {
                    lines[14] == "FizzBuzz"
                } else {
                    ["FizzBuzz", "Fizz Buzz"].contains(&lines[14])
                }
        }
        // POST /pbkdf2 {"password": "correct horse", "salt": "NaCl", "iterations": 1000}
        "pbkdf2" => {
            let value = json()?;
            let key = value["key"].as_str().unwrap_or_default();
            key.len() == 64
                && key.chars().all(|c| c.is_ascii_hexdigit())
                && value["iterations"] == 1000
        }
        _ => return Err(format!("no check for family {family}")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("not a {family} answer: {}", excerpt(body)))
    }
}

/// The job the proxy would hand the comparator for a request to `experiment` the control answered
/// [`ROUND_ANSWER`] to.
fn comparison_job(experiment: &Experiment, now: &str) -> Result<Value, String> {
    let job = ComparisonJob {
        control_version: None,
        experiment: experiment.clone(),
        correlation_id: "arm64-smoke".to_owned(),
        event: Request::get(&experiment.path, EXPERIMENT_QUERY.to_owned()).event(),
        control: Observed {
            status: 200,
            headers: BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]),
            body: ROUND_ANSWER.to_owned(),
        },
        at: now.to_owned(),
    };
    serde_json::to_value(job).map_err(|e| e.to_string())
}

/// `request` as the HTTP API sends it to the function behind `route`.
fn http_api(request: &Request, route: &str, parameters: &[(&str, &str)]) -> Value {
    let mut event = request.event();
    event["routeKey"] = route.into();
    event["requestContext"]["routeKey"] = route.into();
    if !parameters.is_empty() {
        event["pathParameters"] = parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    event
}

fn http_answer(outcome: &Outcome) -> Result<Observed, String> {
    match &outcome.answer {
        Answer::Payload(payload) => observed(payload).ok_or_else(|| {
            format!(
                "not an HTTP response: {}",
                excerpt(&String::from_utf8_lossy(payload))
            )
        }),
        Answer::Error(_) => Err(format!(
            "answered an error: {}",
            excerpt(&error_message(outcome)?)
        )),
    }
}

fn json_of(outcome: &Outcome) -> Result<Value, String> {
    let http = http_answer(outcome)?;
    serde_json::from_str(&http.body).map_err(|_| format!("not JSON: {}", summary(&http)))
}

/// The `errorMessage` of an error document (`{"errorType", "errorMessage"}`).
fn error_message(outcome: &Outcome) -> Result<String, String> {
    match &outcome.answer {
        Answer::Error(document) => Ok(serde_json::from_str::<Value>(document)
            .ok()
            .and_then(|v| v["errorMessage"].as_str().map(str::to_owned))
            .unwrap_or_else(|| document.clone())),
        Answer::Payload(payload) => Err(format!(
            "answered instead of failing: {}",
            excerpt(&String::from_utf8_lossy(payload))
        )),
    }
}

fn expect_status(http: &Observed, status: u16) -> Result<(), String> {
    if http.status == status {
        Ok(())
    } else {
        Err(format!("expected {status}, got {}", summary(http)))
    }
}

fn expect_invoked<'a>(
    outcome: &Outcome,
    functions: impl IntoIterator<Item = &'a str>,
) -> Result<(), String> {
    let missing: Vec<&str> = functions
        .into_iter()
        .filter(|f| !outcome.invoked.iter().any(|i| i == f))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "no answer from {} through the Invoke API (answered: {:?})",
            missing.join(", "),
            outcome.invoked
        ))
    }
}

/// `200 {"number":62.5,...}`: the status and the start of the body.
fn summary(http: &Observed) -> String {
    format!(
        "{} {}",
        http.status,
        excerpt(&http.body.replace('\n', "\\n"))
    )
}

fn excerpt(text: &str) -> String {
    const MAX: usize = 72;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, headers: Value, body: &str) -> Outcome {
        Outcome {
            answer: Answer::Payload(
                json!({"statusCode": status, "headers": headers, "body": body})
                    .to_string()
                    .into_bytes(),
            ),
            invoked: Vec::new(),
        }
    }

    fn json_answer(status: u16, body: &str) -> Outcome {
        http(status, json!({"content-type": "application/json"}), body)
    }

    fn error(message: &str) -> Outcome {
        Outcome {
            answer: Answer::Error(json!({"errorType": "x", "errorMessage": message}).to_string()),
            invoked: Vec::new(),
        }
    }

    fn workshop(family: &str, control: bool) -> Probe {
        Probe::Workshop {
            family: family.to_owned(),
            control,
            scaffolded: false,
        }
    }

    fn experiments() -> Experiments {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        super::super::experiments(&root).unwrap()
    }

    #[test]
    fn every_registered_function_has_a_probe() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let registry = registry::Registry::load(&root).unwrap();
        let experiments = experiments();
        for function in &registry.functions {
            let probe = Probe::of(function, &experiments, "2026-12-01T10:00:00.000Z");
            let probe = probe.unwrap_or_else(|e| panic!("{}: {e}", function.name));
            let event = probe.event(&[]).unwrap();
            assert!(event.is_object(), "{}", function.name);
        }
    }

    #[test]
    fn workshop_controls_must_answer_exactly_and_candidates_in_shape() {
        let cases = [
            ("round", true, r#"{"number":62.5,"rounded":63}"#, true),
            ("round", true, r#"{"number":62.5,"rounded":62}"#, false),
            ("round", false, r#"{"number":62.5,"rounded":62}"#, true),
            ("round", false, r#"{"number":1,"rounded":1}"#, false),
            ("sort", true, "[1,2,3]", true),
            ("sort", false, "[1,2,3]", true),
            ("sort", false, "[3,2]", false),
            (
                "fizzbuzz",
                true,
                "1\n2\nFizz\n4\nBuzz\nFizz\n7\n8\nFizz\nBuzz\n11\nFizz\n13\n14\nFizzBuzz",
                true,
            ),
            (
                "fizzbuzz",
                false,
                "1\n2\nFizz\n4\nBuzz\nFizz\n7\n8\nFizz\nBuzz\n11\nFizz\n13\n14\nFizz Buzz",
                true,
            ),
            (
                "fizzbuzz",
                true,
                "1\n2\nFizz\n4\nBuzz\nFizz\n7\n8\nFizz\nBuzz\n11\nFizz\n13\n14\nFizz Buzz",
                false,
            ),
            (
                "pbkdf2",
                true,
                &format!(r#"{{"key":"{}","iterations":1000}}"#, "ab".repeat(32)),
                true,
            ),
            ("pbkdf2", true, r#"{"key":"zz","iterations":1000}"#, false),
        ];
        for (family, control, body, passes) in cases {
            let result = workshop(family, control).check(&json_answer(200, body), &[]);
            assert_eq!(
                result.is_ok(),
                passes,
                "case {family} control={control} {body}: {result:?}"
            );
        }
        let failed = workshop("round", true).check(&json_answer(500, "{}"), &[]);
        assert!(failed.unwrap_err().contains("expected 200, got 500"));
        let scaffolded = Probe::Workshop {
            family: "round".into(),
            control: false,
            scaffolded: true,
        };
        let unwritten = json_answer(501, r#"{"error":"not_implemented","message":"x"}"#);
        assert!(scaffolded.check(&unwritten, &[]).is_ok());
        assert!(workshop("round", false).check(&unwritten, &[]).is_err());
    }

    #[test]
    fn a_function_that_answers_an_error_fails_unless_that_is_its_job() {
        let boom = error("boom");
        assert!(
            workshop("round", true)
                .check(&boom, &[])
                .unwrap_err()
                .contains("an error")
        );
        let panicked = error("chaos-candidate-panics panics on every request, on purpose");
        assert!(Probe::ChaosPanics.check(&panicked, &[]).is_ok());
        assert!(Probe::ChaosPanics.check(&boom, &[]).is_err());
        let answered = json_answer(200, "{}");
        assert!(Probe::ChaosPanics.check(&answered, &[]).is_err());
        let hook = error("could not report Failed for deployment d-ARM64SMOKE to CodeDeploy");
        assert!(Probe::ReleaseHook.check(&hook, &[]).is_ok());
        assert!(Probe::ReleaseHook.check(&boom, &[]).is_err());
    }

    #[test]
    fn the_shortener_creates_a_link_then_follows_it() {
        let url = "https://example.com/arm64-smoke/x".to_owned();
        let probe = Probe::Shortener { url: url.clone() };
        assert_eq!(probe.steps(), 2);
        let create = probe.event(&[]).unwrap();
        assert_eq!(create["routeKey"], "POST /");
        assert_eq!(create["requestContext"]["http"]["method"], "POST");
        let created = json_answer(201, &json!({"code": "abc1234", "url": url}).to_string());
        probe.check(&created, &[]).unwrap();
        let follow = probe.event(std::slice::from_ref(&created)).unwrap();
        assert_eq!(follow["rawPath"], "/abc1234");
        assert_eq!(follow["pathParameters"]["code"], "abc1234");
        let redirect = http(308, json!({"location": url}), "");
        probe
            .check(&redirect, std::slice::from_ref(&created))
            .unwrap();
        let elsewhere = http(308, json!({"location": "https://example.org/"}), "");
        assert!(
            probe
                .check(&elsewhere, std::slice::from_ref(&created))
                .is_err()
        );
        let other = json_answer(201, r#"{"code":"x","url":"https://example.org/"}"#);
        assert!(probe.check(&other, &[]).is_err());
    }

    #[test]
    fn the_experiment_functions_must_reach_the_functions_they_invoke() {
        let experiments = experiments();
        let experiment = experiments.by_name[EXPERIMENT].clone();
        let proxy = Probe::Proxy {
            experiment: experiment.clone(),
        };
        let mut answered = json_answer(200, ROUND_ANSWER);
        assert!(
            proxy
                .check(&answered, &[])
                .unwrap_err()
                .contains("no answer from round-control")
        );
        answered.invoked = vec!["round-control".into()];
        proxy.check(&answered, &[]).unwrap();

        let job = comparison_job(&experiment, "2026-12-01T10:00:00.000Z").unwrap();
        let back: ComparisonJob = serde_json::from_value(job.clone()).unwrap();
        assert_eq!(back.experiment.name, EXPERIMENT);
        let comparator = Probe::Comparator { job, experiment };
        let mut done = Outcome {
            answer: Answer::Payload(b"null".to_vec()),
            invoked: vec!["round-control".into()],
        };
        let error = comparator.check(&done, &[]).unwrap_err();
        assert!(error.contains("round-candidate-half-even"), "{error}");
        done.invoked.push("round-candidate-half-even".into());
        comparator.check(&done, &[]).unwrap();
        assert!(comparator.check(&error_outcome(), &[]).is_err());
    }

    fn error_outcome() -> Outcome {
        error("ResourceNotFoundException")
    }

    #[test]
    fn chaos_answers_are_held_to_what_each_does_on_purpose() {
        let garbage = Outcome {
            answer: Answer::Payload(
                br#"{"this is":"not an HTTP response","statusCode":"teapot"}"#.to_vec(),
            ),
            invoked: Vec::new(),
        };
        Probe::ChaosGarbage.check(&garbage, &[]).unwrap();
        assert!(
            Probe::ChaosGarbage
                .check(&json_answer(200, "{}"), &[])
                .is_err()
        );
        let fails = json_answer(500, r#"{"error":"chaos","message":"x"}"#);
        Probe::Chaos500.check(&fails, &[]).unwrap();
        assert!(Probe::Chaos500.check(&json_answer(200, "{}"), &[]).is_err());
        Probe::ChaosSlow
            .check(&json_answer(200, r#"{"slept_ms":1200}"#), &[])
            .unwrap();
    }
}
