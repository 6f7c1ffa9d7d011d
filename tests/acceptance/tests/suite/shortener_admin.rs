//! The shortener's operator routes, end to end: `PATCH /{code}` (edits with history and versions)
//! and `DELETE /{code}` (take-downs).

use crate::shortener_contract::Checked;
use acceptance::{Call, Mode, World, unique};
use serde_json::{Value, json};

fn target(name: &str) -> String {
    format!("https://example.com/{}?q=1", unique(name))
}

fn patch(code: &str, body: &Value) -> Call {
    Call::new("shortener", "PATCH", &format!("/{code}")).json(body)
}

fn delete(code: &str) -> Call {
    Call::new("shortener", "DELETE", &format!("/{code}"))
}

async fn created(world: &World, body: Value) -> String {
    let reply = world
        .checked(Call::post("shortener", "/").json(&body))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()["code"].as_str().expect("code").to_owned()
}

async fn stats(world: &World, code: &str) -> Value {
    let reply = world
        .checked(Call::get("shortener", &format!("/{code}/stats")))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

async fn location(world: &World, code: &str) -> (u16, Option<String>) {
    let reply = world
        .checked(Call::get("shortener", &format!("/{code}")))
        .await;
    (reply.status, reply.header("location").map(str::to_owned))
}

#[tokio::test]
async fn an_edited_target_redirects_at_once_and_stats_keep_the_history() {
    let world = World::new().await;
    let (first, second, third) = (target("v1"), target("v2"), target("v3"));
    let code = created(&world, json!({ "url": first })).await;
    assert_eq!(stats(&world, &code).await["version"], 1);

    let reply = world
        .checked(patch(&code, &json!({ "url": second, "version": 1 })))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["url"], second.as_str());
    assert_eq!(body["version"], 2);
    assert_eq!(location(&world, &code).await, (308, Some(second.clone())));

    // Without a version the edit applies to the version it reads.
    let reply = world.checked(patch(&code, &json!({ "url": third }))).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let now = stats(&world, &code).await;
    assert_eq!(now["url"], third.as_str());
    assert_eq!(now["version"], 3);
    let history: Vec<&str> = now["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|entry| entry["url"].as_str().expect("url"))
        .collect();
    assert_eq!(history, [first.as_str(), second.as_str()]);
    assert!(
        now["history"][0]["replacedAt"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}

#[tokio::test]
async fn limits_are_set_and_removed_by_an_edit() {
    let world = World::new().await;
    let code = created(&world, json!({ "url": target("limits"), "reuse": false })).await;
    let reply = world
        .checked(patch(
            &code,
            &json!({ "maxVisits": 1, "expiresAt": "2031-01-01T00:00:00Z" }),
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["maxVisits"], 1);
    assert_eq!(reply.json()["expiresAt"], "2031-01-01T00:00:00Z");
    assert_eq!(location(&world, &code).await.0, 308);
    let used_up = world
        .checked(Call::get("shortener", &format!("/{code}")))
        .await;
    assert_eq!(used_up.status, 410);
    assert_eq!(used_up.error_code(), "visit_limit_reached");

    let reply = world
        .checked(patch(
            &code,
            &json!({ "maxVisits": null, "expiresAt": null }),
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert!(body.get("maxVisits").is_none(), "{body}");
    assert!(body.get("expiresAt").is_none(), "{body}");
    assert_eq!(body["status"], "live");
    assert_eq!(location(&world, &code).await.0, 308);
}

#[tokio::test]
async fn a_disabled_link_answers_410_until_it_is_enabled_again() {
    let world = World::new().await;
    let url = target("disable");
    let code = created(&world, json!({ "url": url, "reuse": false })).await;
    let off = world
        .checked(patch(&code, &json!({ "disabled": true })))
        .await;
    assert_eq!(off.status, 200, "{}", off.text());
    assert_eq!(off.json()["status"], "disabled");
    let reply = world
        .checked(Call::get("shortener", &format!("/{code}")))
        .await;
    assert_eq!(reply.status, 410);
    assert_eq!(reply.error_code(), "disabled");
    let on = world
        .checked(patch(&code, &json!({ "disabled": false })))
        .await;
    assert_eq!(on.status, 200, "{}", on.text());
    assert_eq!(location(&world, &code).await, (308, Some(url)));
}

#[tokio::test]
async fn of_two_concurrent_edits_of_one_version_one_wins_and_the_other_gets_409() {
    let world = World::new().await;
    let code = created(&world, json!({ "url": target("race"), "reuse": false })).await;
    let (a, b) = (target("race-a"), target("race-b"));
    let (first, second) = futures::join!(
        world.checked(patch(&code, &json!({ "url": a, "version": 1 }))),
        world.checked(patch(&code, &json!({ "url": b, "version": 1 }))),
    );
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", first.text(), second.text());
    let (winner, loser) = if first.status == 200 {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(loser.error_code(), "version_conflict");
    assert_eq!(loser.json()["currentVersion"], 2);
    // The winner's target is the one stored, and the loser's is not in the history either.
    let now = stats(&world, &code).await;
    assert_eq!(now["url"], winner.json()["url"]);
    assert_eq!(now["history"].as_array().unwrap().len(), 1);
    // A stale version is refused even when nothing races.
    let stale = world
        .checked(patch(&code, &json!({ "disabled": true, "version": 1 })))
        .await;
    assert_eq!(stale.status, 409, "{}", stale.text());
    assert_eq!(stale.json()["currentVersion"], 2);
}

#[tokio::test]
async fn a_taken_down_link_answers_410_with_the_reason_and_its_code_is_never_handed_out_again() {
    let world = World::new().await;
    let alias = unique("down");
    let url = target("takedown");
    let code = created(&world, json!({ "url": url, "alias": alias })).await;
    let reply = world
        .checked(delete(&code).json(&json!({ "reason": "phishing report #42" })))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["status"], "taken_down");
    assert_eq!(reply.json()["reason"], "phishing report #42");

    for call in [
        Call::get("shortener", &format!("/{code}")),
        Call::get("shortener", &format!("/{code}/stats")),
        patch(&code, &json!({ "disabled": false })),
        delete(&code),
    ] {
        let what = format!("{} {}", call.method, call.path);
        let reply = world.checked(call).await;
        assert_eq!(reply.status, 410, "{what}: {}", reply.text());
        assert_eq!(reply.error_code(), "taken_down", "{what}");
        assert_eq!(reply.json()["reason"], "phishing report #42", "{what}");
    }
    let again = world
        .checked(
            Call::post("shortener", "/").json(&json!({ "url": target("other"), "alias": alias })),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text());
    assert_eq!(again.error_code(), "alias_taken");
}

#[tokio::test]
async fn a_deleted_links_url_gets_a_new_code_instead_of_the_deleted_one() {
    let world = World::new().await;
    let url = target("dedupe-after-delete");
    let code = created(&world, json!({ "url": url })).await;
    let reply = world.checked(delete(&code)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.json().get("reason").is_none());
    let fresh = created(&world, json!({ "url": url })).await;
    assert_ne!(fresh, code);
    assert_eq!(location(&world, &fresh).await, (308, Some(url)));
}

#[tokio::test]
async fn redirects_racing_a_take_down_answer_308_or_410_and_410_once_it_is_done() {
    let world = World::new().await;
    let url = target("delete-race");
    let code = created(&world, json!({ "url": url, "reuse": false })).await;
    let redirects = futures::future::join_all((0..30).map(|_| location(&world, &code)));
    let (during, takedown) = futures::join!(redirects, world.checked(delete(&code)));
    assert_eq!(takedown.status, 200, "{}", takedown.text());
    for (status, to) in during {
        match status {
            308 => assert_eq!(to.as_deref(), Some(url.as_str())),
            410 => {}
            other => panic!("a redirect racing the take-down answered {other}"),
        }
    }
    for _ in 0..3 {
        assert_eq!(location(&world, &code).await.0, 410);
    }
}

#[tokio::test]
async fn bad_edits_get_a_4xx_json_naming_the_problem() {
    let world = World::new().await;
    let code = created(&world, json!({ "url": target("bad-edit"), "reuse": false })).await;
    let long_reason = "x".repeat(501);
    let cases: Vec<(&str, Call, u16, &str)> = vec![
        (
            "empty body",
            Call::new("shortener", "PATCH", &format!("/{code}")),
            400,
            "missing_body",
        ),
        (
            "nothing to change",
            patch(&code, &json!({})),
            400,
            "empty_edit",
        ),
        (
            "not JSON",
            Call::new("shortener", "PATCH", &format!("/{code}")).raw_body("url="),
            400,
            "invalid_json",
        ),
        (
            "unknown field",
            patch(&code, &json!({ "target": "https://a.example/" })),
            400,
            "invalid_json",
        ),
        (
            "ftp target",
            patch(&code, &json!({ "url": "ftp://a.example/" })),
            400,
            "unsupported_scheme",
        ),
        (
            "zero visits",
            patch(&code, &json!({ "maxVisits": 0 })),
            400,
            "invalid_limits",
        ),
        (
            "past expiry",
            patch(&code, &json!({ "expiresAt": "2001-01-01T00:00:00Z" })),
            400,
            "invalid_limits",
        ),
        (
            "both expiries",
            patch(
                &code,
                &json!({ "expiresAt": "2031-01-01T00:00:00Z", "ttlSeconds": 60 }),
            ),
            400,
            "invalid_limits",
        ),
        (
            "version not a number",
            patch(&code, &json!({ "disabled": true, "version": "one" })),
            400,
            "invalid_json",
        ),
        (
            "reason too long",
            delete(&code).json(&json!({ "reason": long_reason })),
            400,
            "reason_too_long",
        ),
        (
            "unknown code",
            patch("zzzzzzz", &json!({ "disabled": true })),
            404,
            "not_found",
        ),
        ("delete unknown code", delete("zzzzzzz"), 404, "not_found"),
        (
            "PUT",
            Call::new("shortener", "PUT", &format!("/{code}")),
            405,
            "method_not_allowed",
        ),
    ];
    for (name, call, status, error) in cases {
        // cargo lambda watch's router answers a method it has no route for itself.
        if name == "PUT" && world.mode == Mode::Http {
            continue;
        }
        let reply = world.checked(call).await;
        assert_eq!(reply.status, status, "case {name:?}: {}", reply.text());
        assert_eq!(
            reply.header("content-type"),
            Some("application/json"),
            "case {name:?}"
        );
        assert_eq!(reply.error_code(), error, "case {name:?}");
    }
    // None of them changed the link.
    assert_eq!(stats(&world, &code).await["version"], 1);
}

#[tokio::test]
async fn editing_and_deleting_need_the_api_key() {
    let world = World::new().await;
    let code = created(&world, json!({ "url": target("keyed-edit") })).await;
    for call in [patch(&code, &json!({ "disabled": true })), delete(&code)] {
        let what = call.method.clone();
        let missing = world.checked(call.clone().anonymous()).await;
        assert_eq!(missing.status, 401, "{what}: {}", missing.text());
        assert_eq!(missing.error_code(), "unauthorized");
        let wrong = world
            .checked(call.header("x-api-key", "test-api-key-0123456780"))
            .await;
        assert_eq!(wrong.status, 401, "{what}: {}", wrong.text());
    }
    assert_eq!(stats(&world, &code).await["version"], 1, "nothing changed");
    let edited = world
        .checked(patch(&code, &json!({ "disabled": true })))
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text());
    let deleted = world.checked(delete(&code)).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
}

/// What an anonymous client reads in a link's stats: counts, never the target or its history,
/// whatever the link's state; a wrong key is refused rather than shown less.
#[tokio::test]
async fn without_the_key_stats_show_counts_never_the_target() {
    let world = World::new().await;
    let (first, second) = (target("secret-v1"), target("secret-v2"));
    let limited = created(&world, json!({ "url": first, "maxVisits": 1 })).await;
    let reply = world
        .checked(patch(&limited, &json!({ "url": second })))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let disabled = created(&world, json!({ "url": target("secret-disabled") })).await;
    let reply = world
        .checked(patch(&disabled, &json!({ "disabled": true })))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    for code in [&limited, &disabled] {
        let path = format!("/{code}/stats");
        let anonymous = world
            .checked(Call::get("shortener", &path).anonymous())
            .await;
        assert_eq!(anonymous.status, 200, "{}", anonymous.text());
        let body = anonymous.json();
        for hidden in ["url", "history", "maxVisits", "expiresAt", "version"] {
            assert!(
                body.get(hidden).is_none(),
                "{hidden} shown anonymously: {body}"
            );
        }
        assert!(!anonymous.text().contains("example.com"), "{body}");
        assert_eq!(body["code"], code.as_str());
        assert!(body["status"].is_string(), "{body}");
        // The operator still sees everything.
        let full = stats(&world, code).await;
        assert!(
            full["url"].as_str().unwrap().contains("example.com"),
            "{full}"
        );
        let wrong = world
            .checked(Call::get("shortener", &path).header("x-api-key", "not-the-key-0123456789"))
            .await;
        assert_eq!(wrong.status, 401, "{}", wrong.text());
    }
    // Reading the stats used no visit: the one-time link still redirects once.
    let redirect = world
        .checked(Call::get("shortener", &format!("/{limited}")).anonymous())
        .await;
    assert_eq!(redirect.status, 308, "{}", redirect.text());
}
