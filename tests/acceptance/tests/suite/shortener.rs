//! The URL shortener, end to end.

use std::collections::HashSet;

use crate::shortener_contract::Checked;
use acceptance::{Call, Mode, World, eventually, unique};
use futures::StreamExt;
use serde_json::{Value, json};

fn create(url: &str) -> Call {
    Call::post("shortener", "/").json(&json!({ "url": url }))
}

fn target(name: &str) -> String {
    format!("https://example.com/{}?q=1", unique(name))
}

async fn created_code(world: &World, body: Value) -> String {
    let reply = world
        .checked(Call::post("shortener", "/").json(&body))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()["code"].as_str().expect("code").to_owned()
}

#[tokio::test]
async fn create_then_redirect_round_trip() {
    let world = World::new().await;
    let url = target("round-trip");
    let reply = world.checked(create(&url)).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    let code = body["code"].as_str().unwrap();
    assert_eq!(body["url"], url.as_str());
    assert!(
        body["shortUrl"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{code}")),
        "{body}"
    );
    let redirect = world
        .checked(Call::get("shortener", &format!("/{code}")))
        .await;
    assert_eq!(redirect.status, 308);
    assert_eq!(redirect.header("location"), Some(url.as_str()));
}

#[tokio::test]
async fn redirect_returns_308_with_the_exact_location() {
    let world = World::new().await;
    let url = format!(
        "https://example.org/{}/path?a=1&b=%20x#frag",
        unique("exact")
    );
    let code = created_code(&world, json!({ "url": url })).await;
    let reply = world
        .checked(Call::get("shortener", &format!("/{code}")))
        .await;
    assert_eq!(reply.status, 308);
    assert_eq!(reply.header("location"), Some(url.as_str()));
}

#[tokio::test]
async fn short_url_follows_to_the_code() {
    let world = World::new().await;
    let reply = world.checked(create(&target("short-url"))).await;
    let body = reply.json();
    let short = body["shortUrl"].as_str().unwrap();
    let code = body["code"].as_str().unwrap();
    assert_eq!(short.rsplit('/').next(), Some(code));
    assert!(
        short.starts_with("http://") || short.starts_with("https://"),
        "{short}"
    );
}

#[tokio::test]
async fn unknown_code_returns_404_json() {
    let world = World::new().await;
    for path in ["/zzzzzzz", "/no-such-alias-here", "/bad!code"] {
        let reply = world.checked(Call::get("shortener", path)).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.error_code(), "not_found", "{path}");
    }
}

#[tokio::test]
async fn apple_app_site_association_is_the_configured_json() {
    let world = World::new().await;
    let reply = world
        .checked(Call::get("shortener", "/apple-app-site-association"))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let configured: Value =
        serde_json::from_str(&std::env::var("APPLE_APP_SITE_ASSOCIATION").unwrap()).unwrap();
    assert_eq!(reply.json(), configured);
}

#[tokio::test]
async fn index_page_is_html_with_a_form() {
    let world = World::new().await;
    let reply = world.checked(Call::get("shortener", "/")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = reply.text();
    assert!(html.contains("<form"), "no form");
    assert!(html.contains(r#"name="url""#), "no url field");
    assert!(!html.contains("src=\"http"), "external asset");
    assert!(!html.contains("href=\"http"), "external asset");
    reply.assert_safe_page();
    assert!(
        !html.contains("localStorage"),
        "the API key must not outlive the tab"
    );
}

#[tokio::test]
async fn bad_input_returns_400_json_naming_the_problem() {
    let world = World::new().await;
    let long = format!("https://example.com/{}", "a".repeat(2_100));
    let cases: Vec<(&str, Call, u16, &str)> = vec![
        (
            "not JSON",
            Call::post("shortener", "/").raw_body("url=x{"),
            400,
            "invalid_json",
        ),
        (
            "empty body",
            Call::post("shortener", "/"),
            400,
            "missing_body",
        ),
        (
            "missing url",
            Call::post("shortener", "/").json(&json!({})),
            400,
            "missing_url",
        ),
        (
            "url not a string",
            Call::post("shortener", "/").json(&json!({"url": 5})),
            400,
            "invalid_json",
        ),
        (
            "unknown field",
            Call::post("shortener", "/").json(&json!({"url": "https://a.example/", "ttl": 1})),
            400,
            "invalid_json",
        ),
        (
            "ftp",
            create("ftp://example.com/file"),
            400,
            "unsupported_scheme",
        ),
        (
            "javascript",
            create("javascript:alert(1)"),
            400,
            "unsupported_scheme",
        ),
        ("relative", create("/just/a/path"), 400, "invalid_url"),
        ("too long", create(&long), 400, "url_too_long"),
        (
            "control characters",
            create("https://example.com/a\nb"),
            400,
            "control_characters",
        ),
        (
            "credentials",
            create("https://user:secret@example.com/"),
            400,
            "credentials_in_url",
        ),
        (
            "points at itself",
            create("https://sho.rt.test/abc"),
            400,
            "redirect_loop",
        ),
        (
            "bad alias",
            Call::post("shortener", "/")
                .json(&json!({"url": "https://a.example/", "alias": "a b"})),
            400,
            "invalid_alias",
        ),
        (
            "reserved alias",
            Call::post("shortener", "/")
                .json(&json!({"url": "https://a.example/", "alias": "fizzbuzz"})),
            400,
            "reserved_alias",
        ),
        (
            "past expiry",
            Call::post("shortener", "/")
                .json(&json!({"url": "https://a.example/", "expiresAt": "2001-01-01T00:00:00Z"})),
            400,
            "invalid_limits",
        ),
        (
            "zero visits",
            Call::post("shortener", "/")
                .json(&json!({"url": "https://a.example/", "maxVisits": 0})),
            400,
            "invalid_limits",
        ),
        (
            "huge body",
            Call::post("shortener", "/").raw_body(vec![b' '; 9_000]),
            413,
            "body_too_large",
        ),
    ];
    for (name, call, status, code) in cases {
        // Over HTTP the shortener's own host is 127.0.0.1; use it for the loop case.
        let call = if name == "points at itself" && world.mode == Mode::Http {
            create(&format!("{}/abc", world.endpoint("shortener")))
        } else {
            call
        };
        let reply = world.checked(call).await;
        assert_eq!(reply.status, status, "case {name:?}: {}", reply.text());
        assert_eq!(
            reply.header("content-type"),
            Some("application/json"),
            "case {name:?}"
        );
        assert_eq!(reply.error_code(), code, "case {name:?}");
    }
}

#[tokio::test]
async fn different_urls_get_different_codes() {
    let world = World::new().await;
    let mut codes = HashSet::new();
    for i in 0..20 {
        let code = created_code(&world, json!({ "url": target(&format!("distinct-{i}")) })).await;
        assert_eq!(code.len(), 7, "{code}");
        assert!(codes.insert(code), "duplicate code");
    }
}

#[tokio::test]
async fn the_same_url_returns_the_same_code_unless_reuse_is_false() {
    let world = World::new().await;
    let url = target("dedupe");
    let first = created_code(&world, json!({ "url": url })).await;
    let again = world.checked(create(&url)).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["code"], first.as_str());
    assert_eq!(again.json()["reused"], true);
    // Written differently, normalised the same.
    let shouted = url.replacen("https://example.com", "HTTPS://EXAMPLE.com:443", 1);
    assert_eq!(
        world.checked(create(&shouted)).await.json()["code"],
        first.as_str()
    );
    let fresh = created_code(&world, json!({ "url": url, "reuse": false })).await;
    assert_ne!(fresh, first);
}

#[tokio::test]
async fn fifty_concurrent_creates_of_one_url_give_exactly_one_code() {
    let world = World::new().await;
    let url = target("race");
    let replies = futures::future::join_all((0..50).map(|_| world.checked(create(&url)))).await;
    let mut codes = HashSet::new();
    for reply in &replies {
        assert!(
            matches!(reply.status, 200 | 201),
            "{} {}",
            reply.status,
            reply.text()
        );
        codes.insert(reply.json()["code"].as_str().unwrap().to_owned());
    }
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 1);
}

#[tokio::test]
async fn five_hundred_concurrent_creates_from_four_instances_are_distinct_and_resolve() {
    // Four independent worlds: in handler mode four App instances, each leasing its own id blocks
    // (like four Lambda instances); over HTTP four clients against the local runtime.
    let mut worlds = Vec::new();
    for _ in 0..4 {
        worlds.push(World::new().await);
    }
    let calls = (0..500).map(|i| {
        let world = worlds[i % 4].clone();
        let url = target(&format!("bulk-{i}"));
        async move {
            let reply = world.checked(create(&url)).await;
            assert_eq!(reply.status, 201, "{}", reply.text());
            (reply.json()["code"].as_str().unwrap().to_owned(), url)
        }
    });
    // 50 in flight at a time: DynamoDB Local on two cores answers slower than real DynamoDB, and
    // the functions' bounded SDK timeouts would turn a deeper queue into 503s.
    let created: Vec<(String, String)> = futures::stream::iter(calls)
        .buffer_unordered(50)
        .collect()
        .await;
    let codes: HashSet<&String> = created.iter().map(|(code, _)| code).collect();
    assert_eq!(codes.len(), 500, "duplicate codes");
    let checks = created.iter().enumerate().map(|(i, (code, url))| {
        let world = worlds[i % 4].clone();
        async move {
            let reply = world
                .checked(Call::get("shortener", &format!("/{code}")))
                .await;
            assert_eq!(reply.status, 308);
            assert_eq!(reply.header("location"), Some(url.as_str()));
        }
    });
    futures::stream::iter(checks)
        .buffer_unordered(100)
        .collect::<Vec<()>>()
        .await;
}

#[tokio::test]
async fn custom_alias_resolves_and_a_taken_alias_is_409() {
    let world = World::new().await;
    let alias = unique("my");
    let url = target("alias");
    let code = created_code(&world, json!({ "url": url, "alias": alias })).await;
    assert_eq!(code, alias);
    let reply = world
        .checked(Call::get("shortener", &format!("/{alias}")))
        .await;
    assert_eq!(reply.status, 308);
    assert_eq!(reply.header("location"), Some(url.as_str()));
    let taken = world
        .checked(
            Call::post("shortener", "/").json(&json!({ "url": target("other"), "alias": alias })),
        )
        .await;
    assert_eq!(taken.status, 409);
    assert_eq!(taken.error_code(), "alias_taken");
}

#[tokio::test]
async fn a_link_with_max_visits_is_gone_after_them() {
    let world = World::new().await;
    let code = created_code(&world, json!({ "url": target("limited"), "maxVisits": 2 })).await;
    for _ in 0..2 {
        let reply = world
            .checked(Call::get("shortener", &format!("/{code}")))
            .await;
        assert_eq!(reply.status, 308);
    }
    let reply = world
        .checked(Call::get("shortener", &format!("/{code}")))
        .await;
    assert_eq!(reply.status, 410);
    assert_eq!(reply.error_code(), "visit_limit_reached");
}

#[tokio::test]
async fn an_expired_link_is_gone() {
    let world = World::new().await;
    let code = created_code(
        &world,
        json!({ "url": target("expiring"), "ttlSeconds": 1 }),
    )
    .await;
    let path = format!("/{code}");
    // Expiry has one-second resolution: poll until it has passed instead of sleeping.
    let status = eventually(40, || {
        let (world, path) = (world.clone(), path.clone());
        async move {
            let reply = world.checked(Call::get("shortener", &path)).await;
            match reply.status {
                410 => Ok(reply.error_code()),
                other => Err(format!("still {other}")),
            }
        }
    })
    .await;
    assert_eq!(status, "expired");
}

#[tokio::test]
async fn stats_report_target_creation_time_and_visits() {
    let world = World::new().await;
    let url = target("stats");
    let code = created_code(&world, json!({ "url": url, "reuse": false })).await;
    for _ in 0..3 {
        assert_eq!(
            world
                .checked(Call::get("shortener", &format!("/{code}")))
                .await
                .status,
            308
        );
    }
    let path = format!("/{code}/stats");
    let stats = eventually(20, || {
        let (world, path) = (world.clone(), path.clone());
        async move {
            let reply = world.checked(Call::get("shortener", &path)).await;
            let body = reply.json();
            if body["visits"] == 3 {
                Ok(body)
            } else {
                Err(format!("stats so far: {body}"))
            }
        }
    })
    .await;
    assert_eq!(stats["url"], url.as_str());
    assert_eq!(stats["code"], code.as_str());
    assert_eq!(stats["status"], "live");
    assert!(stats["createdAt"].as_str().unwrap().ends_with('Z'));
    let missing = world
        .checked(Call::get("shortener", "/zzzzzzz/stats"))
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn responses_carry_the_correlation_id() {
    let world = World::new().await;
    let reply = world
        .checked(Call::get("shortener", "/").header("x-correlation-id", "test-corr-123"))
        .await;
    assert_eq!(reply.header("x-correlation-id"), Some("test-corr-123"));
}

#[tokio::test]
async fn a_redirect_whose_visit_could_not_be_counted_still_redirects() {
    // In-process only: the count gets a zero budget, so it can never be written in time.
    if Mode::from_env() != Mode::Handler {
        return;
    }
    let world = World::with_shortener(Mode::Handler, |c| {
        c.visit_count_budget = std::time::Duration::ZERO;
    })
    .await;
    let url = target("uncounted");
    let code = created_code(&world, json!({ "url": url })).await;
    let reply = world
        .checked(Call::get("shortener", &format!("/{code}")))
        .await;
    assert_eq!(reply.status, 308);
    assert_eq!(reply.header("location"), Some(url.as_str()));
}

#[tokio::test]
async fn one_counter_write_serves_a_whole_block_of_creates() {
    if Mode::from_env() != Mode::Handler {
        return;
    }
    let world = World::with_shortener(Mode::Handler, |c| c.id_block_size = 100).await;
    for i in 0..250 {
        created_code(&world, json!({ "url": target(&format!("block-{i}")) })).await;
    }
    let writes = &world.shortener().unwrap().store.writes;
    let counter = writes.counter.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(counter, 3, "250 creates with blocks of 100 need 3 leases");
}

#[tokio::test]
async fn with_visit_counting_off_a_redirect_writes_nothing_and_stats_omit_visits() {
    // In-process only: COUNT_VISITS is the deployment's setting, on in the local stack.
    if Mode::from_env() != Mode::Handler {
        return;
    }
    let world = World::with_shortener(Mode::Handler, |c| c.count_visits = false).await;
    let url = target("uncounted-by-choice");
    let code = created_code(&world, json!({ "url": url })).await;
    let writes = &world.shortener().unwrap().store.writes;
    let before = writes.visits.load(std::sync::atomic::Ordering::Relaxed);
    let reply = world
        .checked(Call::get("shortener", &format!("/{code}")))
        .await;
    assert_eq!(reply.status, 308);
    assert_eq!(
        writes.visits.load(std::sync::atomic::Ordering::Relaxed),
        before
    );
    let stats = world
        .checked(Call::get("shortener", &format!("/{code}/stats")))
        .await;
    assert_eq!(stats.status, 200, "{}", stats.text());
    let body = stats.json();
    assert!(body.get("visits").is_none(), "{body}");
    assert_eq!(body["url"], url.as_str());
}

#[tokio::test]
async fn creating_needs_the_api_key() {
    let world = World::new().await;
    let url = target("keyed");
    let missing = world.checked(create(&url).anonymous()).await;
    assert_eq!(missing.status, 401, "{}", missing.text());
    assert_eq!(missing.error_code(), "unauthorized");
    assert!(
        missing.json()["message"]
            .as_str()
            .unwrap()
            .contains("x-api-key")
    );
    let wrong = world
        .checked(create(&url).header("x-api-key", "test-api-key-0123456780"))
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text());
    let right = world.checked(create(&url)).await;
    assert_eq!(right.status, 201, "{}", right.text());
    // Following a link needs no key.
    let code = right.json()["code"].as_str().unwrap().to_owned();
    let redirect = world
        .checked(Call::get("shortener", &format!("/{code}")).anonymous())
        .await;
    assert_eq!(redirect.status, 308);
}
