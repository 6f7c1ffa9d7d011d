//! The shortener's OpenAPI document (`functions/shortener/openapi.json`) as a contract: every
//! shortener response the suite receives, in both modes, is checked against it ([`Checked`]), and
//! the document names exactly the shortener's routes in `functions.toml`.
//!
//! A response must be documented for its route, method and status; its content type must be one
//! the document lists; a JSON body must validate against the schema (JSON Schema 2020-12, with
//! formats checked), a response documented without content must have no body.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

use acceptance::{Call, Reply, World};
use serde_json::{Value, json};

static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(shortener::routes::openapi::OPENAPI_JSON).expect("openapi.json is JSON")
});

static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> =
    LazyLock::new(Mutex::default);

/// `World::send`, with the shortener's replies checked against the OpenAPI document.
pub trait Checked {
    async fn checked(&self, call: Call) -> Reply;
}

impl Checked for World {
    async fn checked(&self, call: Call) -> Reply {
        let reply = self.send(call.clone()).await;
        if call.function == "shortener"
            && let Err(problem) = conforms(&call, &reply)
        {
            panic!(
                "{} {} answered {} against openapi.json: {problem}\nbody: {}",
                call.method,
                call.path,
                reply.status,
                reply.text()
            );
        }
        reply
    }
}

/// The document's path template for a request path: the one with the most literal segments.
fn template_of(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    DOCUMENT["paths"]
        .as_object()?
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            let matches = parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(t, s)| {
                    (t.starts_with('{') && t.ends_with('}') && !s.is_empty()) || t == s
                });
            matches.then(|| {
                (
                    parts.iter().filter(|t| !t.starts_with('{')).count(),
                    template,
                )
            })
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, template)| template.as_str())
}

/// Follows a local `$ref` (`#/components/...`) once, if there is one.
fn resolve(value: &Value) -> &Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(pointer) => DOCUMENT
            .pointer(pointer.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("openapi.json: dangling $ref {pointer}")),
        None => value,
    }
}

fn validator(schema: &Value) -> Arc<jsonschema::Validator> {
    let key = schema.to_string();
    let mut cache = VALIDATORS.lock().expect("validator cache");
    cache
        .entry(key)
        .or_insert_with(|| {
            // The schema inside the document's components, so its `#/components/...` refs resolve.
            let mut root = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": DOCUMENT["components"],
            });
            for (k, v) in schema.as_object().expect("a schema object") {
                root[k] = v.clone();
            }
            Arc::new(
                jsonschema::options()
                    .should_validate_formats(true)
                    .build(&root)
                    .unwrap_or_else(|e| panic!("openapi.json: invalid schema {schema}: {e}")),
            )
        })
        .clone()
}

fn conforms(call: &Call, reply: &Reply) -> Result<(), String> {
    let path = call.path.split('?').next().unwrap_or_default();
    let template = template_of(path).ok_or_else(|| format!("no path matches {path}"))?;
    let method = call.method.to_ascii_lowercase();
    let operation = &DOCUMENT["paths"][template][&method];
    let response = if operation.is_null() {
        if reply.status != 405 {
            return Err(format!("{template} documents no {method}, yet no 405"));
        }
        resolve(&DOCUMENT["components"]["responses"]["MethodNotAllowed"])
    } else {
        let documented = &operation["responses"][reply.status.to_string()];
        if documented.is_null() {
            return Err(format!("status not documented for {method} {template}"));
        }
        resolve(documented)
    };
    let content_type = reply.header("content-type").unwrap_or_default();
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return match reply.body.is_empty() {
            true => Ok(()),
            false => Err("documented without content, but it has a body".into()),
        };
    };
    let media = content
        .get(content_type)
        .ok_or_else(|| format!("content type {content_type:?} not documented"))?;
    if let Some(schema) = media.get("schema") {
        let body: Value = serde_json::from_slice(&reply.body)
            .map_err(|e| format!("the body is not JSON: {e}"))?;
        let validator = validator(schema);
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_served_document_is_the_kept_one_and_names_every_shortener_route() {
    let world = World::new().await;
    let reply = world.checked(Call::get("shortener", "/openapi.json")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json(), *DOCUMENT);
    assert_eq!(DOCUMENT["openapi"], "3.1.0");

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let registry = registry::Registry::load(&root).expect("functions.toml");
    let registered: BTreeSet<String> = registry
        .router()
        .iter()
        .filter(|(_, function)| function.name == "shortener")
        .map(|(route, _)| format!("{} {}", route.method.to_ascii_lowercase(), route.path))
        .collect();
    let documented: BTreeSet<String> = DOCUMENT["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item")
                .keys()
                .filter(|k| *k != "parameters")
                .map(move |method| format!("{method} {path}"))
        })
        .collect();
    assert_eq!(documented, registered, "openapi.json vs functions.toml");
}

#[test]
fn the_contract_catches_an_undocumented_status_a_wrong_shape_and_a_stray_body() {
    let reply = |status: u16, content_type: &str, body: &str| Reply {
        status,
        headers: HashMap::from([("content-type".to_owned(), content_type.to_owned())]),
        body: body.as_bytes().to_vec(),
    };
    let stats = Call::get("shortener", "/abc1234/stats");
    let good = r#"{"code":"abc1234","url":"https://a.example/","createdAt":"2030-01-01T00:00:00Z","status":"live","disabled":false,"version":1,"history":[]}"#;
    assert_eq!(
        conforms(&stats, &reply(200, "application/json", good)),
        Ok(())
    );
    let cases = [
        ("undocumented status", reply(418, "application/json", good)),
        ("wrong content type", reply(200, "text/plain", good)),
        (
            "missing field",
            reply(200, "application/json", r#"{"code":"abc1234"}"#),
        ),
        (
            "unknown status value",
            reply(
                200,
                "application/json",
                &good.replace(r#""live""#, r#""alive""#),
            ),
        ),
        (
            "bad time",
            reply(
                200,
                "application/json",
                &good.replace("2030-01-01T00:00:00Z", "soon"),
            ),
        ),
    ];
    for (name, reply) in cases {
        assert!(conforms(&stats, &reply).is_err(), "case {name}");
    }
    let redirect = Call::get("shortener", "/abc1234");
    assert!(conforms(&redirect, &reply(308, "", "")).is_ok());
    assert!(conforms(&redirect, &reply(308, "text/plain", "hi")).is_err());
    let put = Call::new("shortener", "PUT", "/abc1234");
    assert!(conforms(&put, &reply(200, "application/json", "{}")).is_err());
}
