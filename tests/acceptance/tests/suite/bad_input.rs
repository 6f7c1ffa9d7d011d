//! Every input answered: a bad-input matrix generated from the registry (`functions.toml`).
//!
//! For every function an HTTP request can reach and every route it serves (a candidate serves its
//! control's routes, the experiment proxy every control's), the matrix sends wrong methods, odd
//! and overlong paths, missing, duplicate and invalid-UTF-8 query parameters, numbers at the edges
//! of their types, empty, invalid-UTF-8, huge and deeply nested bodies and wrong content types.
//! Each answer must be a non-5xx (a chaos candidate excepted: failing is its job), come without a
//! panic, and, when it is an error, be the JSON error shape with a message saying what to fix.
//! A function added to the registry is in the matrix without an edit here; what a route's valid
//! request looks like ([`valid_input`]) only sharpens the cases of the routes it knows.

use std::path::Path;

use acceptance::{Call, Mode, Reply, World};
use futures::StreamExt;
use registry::{Function, Registry, Role, Route};

/// Functions no HTTP request reaches: their events come from elsewhere, with their own tests.
const NOT_HTTP: [(&str, &str); 3] = [
    (
        "experiment-comparator",
        "invoked by the proxy with a comparison job (experiments.rs)",
    ),
    (
        "release-hook",
        "invoked by CodeDeploy with a lifecycle event (release_gate.rs)",
    ),
    (
        "release-judge",
        "invoked by CodeDeploy with a lifecycle event (experiments.rs, the post-traffic judge)",
    ),
];

/// A body over every function's size limit (1 MiB), under Lambda's 6 MB payload limit.
const HUGE_BYTES: usize = 1024 * 1024 + 256 * 1024;

/// Nesting depth of the deep JSON bodies (serde_json stops at 128).
const DEPTH: usize = 50_000;

/// Query values at and past the edges of the numeric types a parameter may be parsed into.
const QUERY_EDGES: [&str; 12] = [
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "NaN",
    "inf",
    "-inf",
    "-0",
    "1e309",
    "1e-400",
    "0x1A",
    "%201",
    "%D9%A3",
];

/// JSON values (as text) at and past the edges of the numeric types a field may be parsed into.
const JSON_EDGES: [&str; 10] = [
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "1e309",
    "-0",
    "1e-400",
    "0.5",
    "\"NaN\"",
    "NaN",
    "null",
];

/// What a valid request to a known route carries: its query parameters (with valid values) or
/// its JSON body with the numeric fields to push to the edges.
enum Input {
    /// Parameters as (name, valid value, numeric).
    Query(&'static [(&'static str, &'static str, bool)]),
    /// A JSON body with `{}` where a numeric field (or list element) goes, per field.
    Json {
        template: &'static str,
        valid: &'static str,
        fields: &'static [&'static str],
    },
    Nothing,
}

/// The valid request of each route the matrix knows; other routes get the generic cases.
fn valid_input(route: &Route) -> Input {
    match (route.method.as_str(), route.path.as_str()) {
        ("GET", "/round") => Input::Query(&[("number", "2.5", true)]),
        ("GET", "/fizzbuzz") => Input::Query(&[("from", "1", true), ("to", "15", true)]),
        ("GET", "/experiments/{name}" | "/experiments/{name}/dashboard") => {
            Input::Query(&[("all", "1", false)])
        }
        ("POST", "/sort") => Input::Json {
            template: "[{}, 1]",
            valid: "3",
            fields: &["element"],
        },
        ("POST", "/pbkdf2") => Input::Json {
            template: r#"{"password": "p", "salt": "s", "iterations": {iterations}, "keyLength": {keyLength}}"#,
            valid: "1000",
            fields: &["iterations", "keyLength"],
        },
        ("POST", "/") => Input::Json {
            template: r#"{"url": "https://example.com/bad-input", "ttlSeconds": {ttlSeconds}, "maxVisits": {maxVisits}}"#,
            valid: "60",
            fields: &["ttlSeconds", "maxVisits"],
        },
        _ => Input::Nothing,
    }
}

/// One request of the matrix.
struct Case {
    name: String,
    family: String,
    call: Call,
}

/// The routes `function` answers on, each with its path's parameters filled in.
fn routes_of(registry: &Registry, function: &Function) -> Vec<(Route, String)> {
    let routes = match (function.role, function.family.as_str()) {
        (_, "experiments") if function.routes().is_empty() => registry
            .workshop_families()
            .into_iter()
            .filter_map(|family| registry.control_of(family))
            .flat_map(Function::routes)
            .collect(),
        (Role::Candidate, family) => registry
            .control_of(family)
            .map(Function::routes)
            .unwrap_or_default(),
        _ => function.routes(),
    };
    let routes = if routes.is_empty() {
        vec![Route::parse("GET /").expect("a valid route")]
    } else {
        routes
    };
    routes
        .into_iter()
        .map(|route| {
            let path = route
                .path
                .replace("{code}", "nosuchcode")
                .replace("{name}", "round");
            (route, path)
        })
        .collect()
}

fn fill(template: &str, fields: &[&str], field: &str, value: &str, valid: &str) -> String {
    let mut text = template.to_owned();
    for name in fields {
        let slot = if fields.len() == 1 {
            "{}".to_owned()
        } else {
            format!("{{{name}}}")
        };
        text = text.replace(&slot, if *name == field { value } else { valid });
    }
    text
}

fn deep(open: &str, inner: &str, close: &str) -> Vec<u8> {
    format!("{}{inner}{}", open.repeat(DEPTH), close.repeat(DEPTH)).into_bytes()
}

/// The matrix's cases for one function.
fn cases_of(registry: &Registry, function: &Function) -> Vec<Case> {
    let mut cases = Vec::new();
    let name = &function.name;
    let mut add = |label: String, call: Call| {
        cases.push(Case {
            name: format!("{name}: {label}"),
            family: function.family.clone(),
            call,
        });
    };
    // The proxy hands requests to the controls, whose inputs are covered directly: it gets the
    // method, path, query and body cases, not every edge number again.
    let proxied = function.family == "experiments" && function.routes().is_empty();
    let mut huge_sent = false;
    for (route, path) in routes_of(registry, function) {
        let (method, path) = (route.method.as_str(), path.as_str());
        let input = valid_input(&route);
        let query: String = match &input {
            Input::Query(params) => params
                .iter()
                .map(|(k, v, _)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
            _ => String::new(),
        };
        let with_query = |p: &str| {
            if query.is_empty() {
                p.to_owned()
            } else {
                format!("{p}?{query}")
            }
        };

        for other in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            if other != method {
                add(
                    format!("{other} instead of {route}"),
                    Call::new(name, other, &with_query(path)),
                );
            }
        }
        let long = "a".repeat(8_000);
        // The path without its trailing slash, but never empty: every path starts with a slash.
        let trimmed = match path.trim_end_matches('/') {
            "" => "/",
            trimmed => trimmed,
        };
        for odd in [
            format!("{trimmed}/"),
            format!("/{path}"),
            format!("{trimmed}/%2e%2e/%2e%2e/etc/passwd"),
            format!("{trimmed}%00"),
            format!("{trimmed}/%FF%FE"),
            format!("{trimmed}/{long}"),
        ] {
            let label = if odd.len() > 80 {
                format!("{method} {}... ({} bytes)", &odd[..40], odd.len())
            } else {
                format!("{method} {odd}")
            };
            add(label, Call::new(name, method, &with_query(&odd)));
        }
        for suffix in ["?&&&=", "?%FF=%FE&x=%C3%28&x=%00"] {
            add(
                format!("{method} {path}{suffix}"),
                Call::new(name, method, &format!("{path}{suffix}")),
            );
        }
        add(
            format!("{method} {path} with a huge query string"),
            Call::new(name, method, &format!("{path}?x={}", "9".repeat(8_000))),
        );

        if let Input::Query(params) = &input {
            let others = |skip: &str| -> Vec<String> {
                params
                    .iter()
                    .filter(|(k, _, _)| *k != skip)
                    .map(|(k, v, _)| format!("{k}={v}"))
                    .collect()
            };
            add(
                format!("{method} {path} without parameters"),
                Call::new(name, method, path),
            );
            for (param, valid, numeric) in *params {
                let mut query_with = |label: String, value: &str| {
                    let mut parts = others(param);
                    parts.push(format!("{param}={value}"));
                    add(
                        format!("{method} {path}: {param} {label}"),
                        Call::new(name, method, &format!("{path}?{}", parts.join("&"))),
                    );
                };
                if proxied {
                    query_with("invalid UTF-8".into(), "%FF%FE");
                    query_with("=NaN".into(), "NaN");
                    continue;
                }
                query_with("missing".into(), "");
                query_with("twice".into(), &format!("{valid}&{param}=abc"));
                query_with("invalid UTF-8".into(), "%FF%FE");
                query_with("half a UTF-8 character".into(), "%C3");
                query_with("a NUL".into(), "%00");
                query_with("overlong".into(), &"9".repeat(5_000));
                if *numeric {
                    for edge in QUERY_EDGES {
                        query_with(format!("={edge}"), edge);
                    }
                }
            }
        }

        // Bodies, with the method the route takes (a GET with a body too: it is ignored or refused).
        let json = |body: Vec<u8>| {
            Call::new(name, method, path)
                .header("content-type", "application/json")
                .raw_body(body)
        };
        // A huge body costs a megabyte of event to build and parse: once per function on the
        // routes that take no body, on every route that takes one.
        if method != "GET" || !huge_sent {
            huge_sent = true;
            add(
                format!("{method} {path} with a huge body"),
                json(vec![b'7'; HUGE_BYTES]),
            );
        }
        // What an anonymous client may try on any route (security review, issue 26): a forged
        // forwarded host, a new 100-character referrer host, a planted secret in the query, a
        // wrong API key; each answered like any other request (the tests of each finding check
        // what is done with them).
        let referrer_host = format!("{}.example", "r".repeat(92));
        let hostile = |call: Call| match method {
            "GET" => call,
            _ => call
                .header("content-type", "application/json")
                .raw_body(b"{}".to_vec()),
        };
        add(
            format!("{method} {path} with forged forwarding headers and a long referrer"),
            hostile(Call::new(name, method, &with_query(path)))
                .header("x-forwarded-host", "evil.example")
                .header("x-forwarded-proto", "gopher")
                .header(
                    "referer",
                    &format!("https://{referrer_host}/p?token=secret-0123"),
                ),
        );
        let planted = if query.is_empty() {
            format!("{path}?password=planted-secret-0123&key=planted-key-0123")
        } else {
            format!("{path}?{query}&password=planted-secret-0123&key=planted-key-0123")
        };
        add(
            format!("{method} {path} with planted secrets in the query"),
            hostile(Call::new(name, method, &planted)),
        );
        add(
            format!("{method} {path} with a wrong API key"),
            hostile(Call::new(name, method, path)).header("x-api-key", "wrong-key-0123456789"),
        );
        if method == "GET" {
            continue;
        }
        let valid_body = match &input {
            Input::Json {
                template,
                valid,
                fields,
            } => fill(template, fields, "", "", valid),
            _ => "{}".to_owned(),
        };
        let mut bodies: Vec<(String, Vec<u8>)> = vec![
            ("an empty body".into(), Vec::new()),
            ("a blank body".into(), b" \n\t ".to_vec()),
            ("invalid UTF-8".into(), vec![0xff, 0xfe, 0xfd]),
            (
                "invalid UTF-8 in a JSON string".into(),
                b"{\"url\": \"\xff\xfe\", \"password\": \"\xc3\"}".to_vec(),
            ),
            ("text".into(), b"hello".to_vec()),
            (
                "truncated JSON".into(),
                valid_body.as_bytes()[..valid_body.len() / 2].to_vec(),
            ),
            ("null".into(), b"null".to_vec()),
            ("a number".into(), b"1e309".to_vec()),
            ("a string".into(), b"\"[1,2]\"".to_vec()),
            ("an empty object".into(), b"{}".to_vec()),
            ("an empty list".into(), b"[]".to_vec()),
            ("a deeply nested list".into(), deep("[", "1", "]")),
            ("a deeply nested object".into(), deep("{\"a\":", "1", "}")),
            (
                "a duplicate key".into(),
                br#"{"url": "https://example.com/", "url": 1, "iterations": 1, "iterations": "x"}"#
                    .to_vec(),
            ),
        ];
        if let Input::Json {
            template,
            valid,
            fields,
        } = &input
            && !proxied
        {
            for field in *fields {
                for edge in JSON_EDGES {
                    bodies.push((
                        format!("{field}={edge}"),
                        fill(template, fields, field, edge, valid).into_bytes(),
                    ));
                }
            }
        }
        if proxied {
            bodies.truncate(8);
        }
        for (label, body) in bodies {
            add(format!("{method} {path} with {label}"), json(body));
        }
        for content_type in [
            "text/plain",
            "application/xml",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
            "application/json; charset=latin1",
            "!!/??",
        ] {
            add(
                format!("{method} {path} as {content_type}"),
                Call::new(name, method, path)
                    .header("content-type", content_type)
                    .raw_body(valid_body.clone().into_bytes()),
            );
        }
        add(
            format!("{method} {path} as a form with invalid UTF-8"),
            Call::new(name, method, path)
                .header("content-type", "application/x-www-form-urlencoded")
                .raw_body(b"url=%FF%FE&alias=\xff".to_vec()),
        );
    }
    if proxied {
        // Each request through the proxy also starts a comparison with every candidate in the
        // background: every third case, spread over every kind, keeps the run short.
        return cases.into_iter().step_by(3).collect();
    }
    if function.role == Role::Candidate {
        // A candidate shares its control's parsing: each takes every other case, the family's
        // candidates alternating, so that together they still meet every case.
        let rank = registry
            .functions
            .iter()
            .filter(|f| f.family == function.family && f.role == Role::Candidate)
            .position(|f| f.name == function.name)
            .unwrap_or(0);
        return cases.into_iter().skip(rank % 2).step_by(2).collect();
    }
    cases
}

/// Every case for the functions `mode` reaches.
fn matrix(mode: Mode) -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let registry = Registry::load(&root).unwrap_or_else(|e| panic!("{e}"));
    for (name, _) in NOT_HTTP {
        assert!(
            registry.get(name).is_some(),
            "{name} is listed as not reached by HTTP but is not in the registry"
        );
    }
    let mut cases = Vec::new();
    for function in &registry.functions {
        if NOT_HTTP.iter().any(|(name, _)| *name == function.name) {
            continue;
        }
        if function.family == "chaos" {
            // The suite reaches chaos candidates only over HTTP (in-process, through the
            // invoker); they fail on purpose, so one request each shows they still answer.
            if mode == Mode::Http {
                cases.extend(cases_of(&registry, function).into_iter().take(1));
            }
            continue;
        }
        cases.extend(cases_of(&registry, function));
    }
    cases
}

/// Whether `reply` comes from what stands before the function rather than from the function,
/// which never saw the request: the HTTP API's own `404 {"message":"Not Found"}` for a method or
/// path no route takes (the local front answers as AWS does), the local emulator's (`cargo lambda
/// watch` 1.9.2) `404 {"detail": ...}` for the same, and its `500` problem document for a body that
/// is not UTF-8, which it cannot put in an event (API Gateway base64-encodes it: in handler mode
/// the same case reaches the handler that way, and must pass there).
fn from_the_emulator(case: &Case, reply: &Reply) -> bool {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&reply.body) else {
        return false;
    };
    let not_utf8 = case
        .call
        .body
        .as_deref()
        .is_some_and(|b| std::str::from_utf8(b).is_err());
    match reply.status {
        404 => {
            body.get("error").is_none()
                && (body["detail"].is_string()
                    || body == serde_json::json!({"message": "Not Found"}))
        }
        500 => {
            not_utf8
                && body["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("https://httpstatuses.com/"))
        }
        _ => false,
    }
}

/// What is wrong with `reply` to `case`, if anything.
fn verdict(mode: Mode, case: &Case, reply: &Reply) -> Option<String> {
    if case.family == "chaos" || (mode == Mode::Http && from_the_emulator(case, reply)) {
        return None;
    }
    // A candidate new-candidate scaffolded answers every request `501 not_implemented` (JSON,
    // naming the function to write) until the attendee writes it: a deliberate answer, not a
    // failure, so the state right after new-candidate keeps the suite green.
    let unwritten = reply.status == 501
        && serde_json::from_slice::<serde_json::Value>(&reply.body)
            .is_ok_and(|body| body["error"] == "not_implemented");
    if reply.status >= 500 && !unwritten {
        return Some(format!("answered {}: {:.200}", reply.status, reply.text()));
    }
    if reply.status < 400 {
        return None;
    }
    let content_type = reply.header("content-type").unwrap_or_default();
    if !content_type.starts_with("application/json") {
        return Some(format!(
            "error {} as {content_type:?}, not JSON: {:.200}",
            reply.status,
            reply.text()
        ));
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&reply.body) else {
        return Some(format!(
            "error {} body is not JSON: {:.200}",
            reply.status,
            reply.text()
        ));
    };
    let code = body["error"].as_str().unwrap_or_default();
    let message = body["message"].as_str().unwrap_or_default();
    if code.is_empty() || message.len() < 10 || message == code {
        return Some(format!(
            "error {} without a code and a message saying what to fix: {body}",
            reply.status
        ));
    }
    None
}

#[tokio::test]
async fn every_bad_input_is_answered_with_a_4xx_json_error_and_never_a_5xx() {
    let world = World::new().await;
    let mode = world.mode;
    let cases = matrix(mode);
    assert!(
        cases.len() >= 150,
        "the matrix has only {} cases",
        cases.len()
    );
    let failures: Vec<String> = futures::stream::iter(cases)
        .map(|case| {
            let world = world.clone();
            async move {
                // A task of its own, so a panicking handler fails its case, not the whole run.
                let call = case.call.clone();
                let reply = tokio::spawn(async move { world.send(call).await }).await;
                match reply {
                    Ok(reply) => {
                        verdict(mode, &case, &reply).map(|why| format!("{}: {why}", case.name))
                    }
                    Err(error) => Some(format!("{}: panicked: {error}", case.name)),
                }
            }
        })
        .buffer_unordered(16)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_matrix_covers_every_http_function_of_the_registry_in_both_modes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let registry = Registry::load(&root).unwrap_or_else(|e| panic!("{e}"));
    for mode in [Mode::Handler, Mode::Http] {
        let cases = matrix(mode);
        println!("{mode:?}: {} cases", cases.len());
        assert!(cases.len() >= 150, "{mode:?}: {} cases", cases.len());
        for function in &registry.functions {
            let reached = NOT_HTTP.iter().all(|(name, _)| *name != function.name)
                && (function.family != "chaos" || mode == Mode::Http);
            let covered = cases.iter().any(|c| c.call.function == function.name);
            assert_eq!(reached, covered, "{mode:?}: {}", function.name);
        }
    }
}

/// Right after `new-candidate` the candidate answers `501 not_implemented` until it is written:
/// the matrix takes that for an answer (an attendee's `test --quick` failed on it), any other 5xx
/// not.
#[test]
fn an_unwritten_candidates_501_is_an_answer_other_5xx_are_not() {
    let case = Case {
        name: "fizzbuzz-candidate-mine: GET /fizzbuzz".to_owned(),
        family: "fizzbuzz".to_owned(),
        call: Call::get("fizzbuzz-candidate-mine", "/fizzbuzz"),
    };
    let reply = |status: u16, body: &str| Reply {
        status,
        headers: [("content-type".to_owned(), "application/json".to_owned())].into(),
        body: body.as_bytes().to_vec(),
    };
    let unwritten = reply(
        501,
        r#"{"error":"not_implemented","message":"fizzbuzz-candidate-mine is not written yet: implement respond()"}"#,
    );
    assert_eq!(verdict(Mode::Handler, &case, &unwritten), None);
    let failed = reply(
        500,
        r#"{"error":"internal_error","message":"unexpected error"}"#,
    );
    assert!(verdict(Mode::Handler, &case, &failed).is_some());
    let other_501 = reply(
        501,
        r#"{"error":"something_else","message":"not supported here"}"#,
    );
    assert!(verdict(Mode::Handler, &case, &other_501).is_some());
}
