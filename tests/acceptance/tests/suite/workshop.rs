//! The workshop functions, end to end: each control, each candidate's peculiarity, each refusal.

use acceptance::{Call, Reply, World};
use serde_json::{Value, json};

const ROUND: [&str; 3] = [
    "round-control",
    "round-candidate-half-even",
    "round-candidate-floor",
];
const SORT: [&str; 3] = ["sort-control", "sort-candidate", "sort-candidate-fixed"];
const FIZZBUZZ: [&str; 2] = ["fizzbuzz-control", "fizzbuzz-candidate-reference"];
const PBKDF2: [&str; 2] = ["pbkdf2-control", "pbkdf2-candidate-fast"];

const TEXT: &str = "text/plain; charset=utf-8";

/// Asserts a `400` with the JSON error shape and the given code.
fn assert_bad_request(reply: &Reply, code: &str, case: &str) {
    assert_eq!(reply.status, 400, "case {case}: {}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "case {case}"
    );
    assert_eq!(reply.error_code(), code, "case {case}");
}

// ---------------------------------------------------------------------------------------------
// round

async fn rounded(world: &World, function: &str, number: &str) -> Value {
    let reply = world
        .send(Call::get(function, &format!("/round?number={number}")))
        .await;
    assert_eq!(reply.status, 200, "{function} {number}: {}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{function} {number}"
    );
    let body = reply.json();
    assert_eq!(
        body["number"].as_f64(),
        number.parse::<f64>().ok(),
        "{function} {number}: {body}"
    );
    body["rounded"].clone()
}

#[tokio::test]
async fn round_control_rounds_halves_away_from_zero() {
    let world = World::new().await;
    for (number, expected) in [
        ("62.5", 63),
        ("-62.5", -63),
        ("0.5", 1),
        ("1.4", 1),
        ("-0.5", -1),
    ] {
        assert_eq!(
            rounded(&world, "round-control", number).await,
            json!(expected),
            "case number={number}"
        );
    }
}

#[tokio::test]
async fn round_half_even_candidate_rounds_62_5_down_to_62_and_0_5_down_to_0() {
    let world = World::new().await;
    for (number, candidate, control) in [("62.5", 62, 63), ("0.5", 0, 1)] {
        assert_eq!(
            rounded(&world, "round-candidate-half-even", number).await,
            json!(candidate),
            "case number={number}"
        );
        assert_eq!(
            rounded(&world, "round-control", number).await,
            json!(control),
            "case number={number}"
        );
    }
}

#[tokio::test]
async fn round_floor_candidate_rounds_minus_2_5_up_to_minus_2() {
    let world = World::new().await;
    assert_eq!(
        rounded(&world, "round-candidate-floor", "-2.5").await,
        json!(-2)
    );
    assert_eq!(rounded(&world, "round-control", "-2.5").await, json!(-3));
}

#[tokio::test]
async fn round_floor_candidate_rounds_the_largest_double_below_one_half_up_to_1() {
    let world = World::new().await;
    let just_below_half = "0.49999999999999994";
    assert_eq!(
        rounded(&world, "round-candidate-floor", just_below_half).await,
        json!(1)
    );
    assert_eq!(
        rounded(&world, "round-control", just_below_half).await,
        json!(0)
    );
}

#[tokio::test]
async fn round_bad_input_returns_400_json_naming_the_problem() {
    let world = World::new().await;
    for function in ROUND {
        for (path, code) in [
            ("/round", "missing_number"),
            ("/round?number=abc", "invalid_number"),
            ("/round?number=NaN", "invalid_number"),
            ("/round?number=inf", "invalid_number"),
            ("/round?number=", "missing_number"),
            ("/round?number=1e400", "invalid_number"),
        ] {
            let reply = world.send(Call::get(function, path)).await;
            assert_bad_request(&reply, code, &format!("{function} {path}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// sort

async fn sort(world: &World, function: &str, list: &Value) -> Reply {
    let reply = world.send(Call::post(function, "/sort").json(list)).await;
    assert_eq!(reply.status, 200, "{function} {list}: {}", reply.text());
    reply
}

#[tokio::test]
async fn sort_control_sorts_numbers_numerically_and_strings_by_code_point() {
    let world = World::new().await;
    for (list, expected) in [
        (json!([10, 9, 2]), "[2,9,10]"),
        (json!([3, -1.5, 100, 0, 2.25]), "[-1.5,0,2.25,3,100]"),
        (
            json!(["pear", "Apple", "banana"]),
            r#"["Apple","banana","pear"]"#,
        ),
        (json!([]), "[]"),
    ] {
        let reply = sort(&world, "sort-control", &list).await;
        assert_eq!(
            reply.header("content-type"),
            Some("application/json"),
            "case {list}"
        );
        assert_eq!(reply.text(), expected, "case {list}");
    }
}

/// `sort-candidate`'s answer must be what the exercise answers as shipped (a deliberate mistake)
/// or exactly the control's: an attendee's fix keeps the suite passing, any third answer fails it.
fn assert_shipped_or_control<T: PartialEq + std::fmt::Debug>(
    case: &str,
    candidate: T,
    shipped: T,
    control: T,
) {
    assert!(
        candidate == shipped || candidate == control,
        "case {case}: sort-candidate answered {candidate:?}, neither the exercise's shipped \
         mistake {shipped:?} nor the control's {control:?}"
    );
}

#[tokio::test]
async fn sort_candidate_compares_numbers_as_text_as_shipped_or_exactly_like_the_control() {
    let world = World::new().await;
    for (list, shipped) in [
        (json!([10, 9, 2]), "[10,2,9]"),
        // 2^53 + 1 and 2^53 are one f64: a sort through f64 leaves them in this order.
        (
            json!([9007199254740993_u64, 9007199254740992_u64, 10, 9]),
            "[10,9,9007199254740992,9007199254740993]",
        ),
    ] {
        let control = sort(&world, "sort-control", &list).await.text();
        let candidate = sort(&world, "sort-candidate", &list).await.text();
        assert_shipped_or_control(
            &list.to_string(),
            candidate.as_str(),
            shipped,
            control.as_str(),
        );
    }
}

#[tokio::test]
async fn sort_candidate_answers_text_plain_as_shipped_or_the_controls_content_type() {
    let world = World::new().await;
    let list = json!(["b", "a"]);
    let control = sort(&world, "sort-control", &list).await;
    let candidate = sort(&world, "sort-candidate", &list).await;
    assert_shipped_or_control(
        "content-type",
        candidate.header("content-type"),
        Some("text/plain"),
        control.header("content-type"),
    );
    assert_eq!(candidate.text(), control.text());
}

#[tokio::test]
async fn sort_fixed_candidate_answers_exactly_like_the_control() {
    let world = World::new().await;
    for list in [
        json!([10, 9, 2]),
        json!([100, 20, 3, -4, 0.5, -0.25]),
        json!([9007199254740993_u64, 9007199254740992_u64, 1e300]),
        json!(["b", "a", "B", "é", "10", "9"]),
        json!([]),
    ] {
        let control = sort(&world, "sort-control", &list).await;
        let fixed = sort(&world, "sort-candidate-fixed", &list).await;
        assert_eq!(
            fixed.header("content-type"),
            control.header("content-type"),
            "case {list}"
        );
        assert_eq!(fixed.text(), control.text(), "case {list}");
    }
}

#[tokio::test]
async fn sort_bad_input_returns_400_json_naming_the_problem() {
    let world = World::new().await;
    for function in SORT {
        for (name, body, code) in [
            ("not JSON", "not json", "invalid_json"),
            ("not a list", r#"{"list": [1, 2]}"#, "not_a_list"),
            ("mixed types", r#"[1, "a"]"#, "mixed_types"),
        ] {
            let reply = world
                .send(
                    Call::post(function, "/sort")
                        .header("content-type", "application/json")
                        .raw_body(body),
                )
                .await;
            assert_bad_request(&reply, code, &format!("{function} {name}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// fizzbuzz

async fn fizzbuzz(world: &World, function: &str, query: &str) -> String {
    let reply = world
        .send(Call::get(function, &format!("/fizzbuzz{query}")))
        .await;
    assert_eq!(reply.status, 200, "{function} {query:?}: {}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some(TEXT),
        "{function} {query:?}"
    );
    reply.text()
}

#[tokio::test]
async fn fizzbuzz_without_parameters_answers_1_to_100_as_plain_text() {
    let world = World::new().await;
    for function in FIZZBUZZ {
        let body = fizzbuzz(&world, function, "").await;
        assert_eq!(body.split('\n').count(), 100, "{function}");
        assert!(body.starts_with("1\n2\nFizz\n4\nBuzz\n"), "{function}");
        assert!(body.ends_with("\n98\nFizz\nBuzz"), "{function}");
    }
}

#[tokio::test]
async fn fizzbuzz_10_to_15_is_exact_with_fizz_buzz_spelled_with_a_space_in_the_reference() {
    let world = World::new().await;
    let body = fizzbuzz(&world, "fizzbuzz-candidate-reference", "?from=10&to=15").await;
    assert_eq!(body, "Buzz\n11\nFizz\n13\n14\nFizz Buzz");
}

#[tokio::test]
async fn fizzbuzz_control_prints_fizzbuzz_without_the_space() {
    let world = World::new().await;
    let body = fizzbuzz(&world, "fizzbuzz-control", "?from=10&to=15").await;
    assert_eq!(body, "Buzz\n11\nFizz\n13\n14\nFizzBuzz");
    let body = fizzbuzz(&world, "fizzbuzz-control", "?from=29&to=31").await;
    assert_eq!(body, "29\nFizzBuzz\n31");
}

#[tokio::test]
async fn fizzbuzz_output_has_no_trailing_newline() {
    let world = World::new().await;
    for function in FIZZBUZZ {
        for query in ["", "?from=1&to=1", "?from=14&to=16", "?from=7"] {
            let body = fizzbuzz(&world, function, query).await;
            assert!(!body.is_empty(), "case {function} {query:?}");
            assert!(!body.ends_with('\n'), "case {function} {query:?}: {body:?}");
        }
    }
}

#[tokio::test]
async fn fizzbuzz_from_defaults_to_1_and_to_to_from_plus_99() {
    let world = World::new().await;
    for function in FIZZBUZZ {
        for (query, first, last) in [("", "1", "Buzz"), ("?from=7", "7", "106")] {
            let body = fizzbuzz(&world, function, query).await;
            let lines: Vec<&str> = body.split('\n').collect();
            assert_eq!(lines.len(), 100, "case {function} {query:?}");
            assert_eq!(lines.first(), Some(&first), "case {function} {query:?}");
            assert_eq!(lines.last(), Some(&last), "case {function} {query:?}");
        }
    }
}

#[tokio::test]
async fn fizzbuzz_from_above_to_is_an_empty_200() {
    let world = World::new().await;
    for function in FIZZBUZZ {
        for query in ["?from=5&to=4", "?from=10&to=-3"] {
            let body = fizzbuzz(&world, function, query).await;
            assert_eq!(body, "", "case {function} {query}");
        }
    }
}

#[tokio::test]
async fn fizzbuzz_invalid_parameters_return_400_json_naming_the_problem() {
    let world = World::new().await;
    for function in FIZZBUZZ {
        for (query, code) in [
            ("?from=0", "invalid_from"),
            ("?from=-1", "invalid_from"),
            ("?from=abc", "invalid_from"),
            ("?to=abc", "invalid_to"),
            ("?from=1&to=1000000000000", "range_too_large"),
        ] {
            let reply = world
                .send(Call::get(function, &format!("/fizzbuzz{query}")))
                .await;
            assert_bad_request(&reply, code, &format!("{function} {query}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// pbkdf2

async fn derive(world: &World, function: &str, body: &Value) -> Value {
    let reply = world.send(Call::post(function, "/pbkdf2").json(body)).await;
    assert_eq!(reply.status, 200, "{function} {body}: {}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{function} {body}"
    );
    reply.json()
}

#[tokio::test]
async fn pbkdf2_control_and_fast_candidate_both_give_the_rfc_7914_vector() {
    let world = World::new().await;
    let request = json!({"password": "passwd", "salt": "salt", "iterations": 1, "keyLength": 64});
    for function in PBKDF2 {
        assert_eq!(
            derive(&world, function, &request).await,
            json!({
                "key": "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
                        49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
                "iterations": 1,
                "keyLength": 64,
                "algorithm": "PBKDF2-HMAC-SHA256",
            }),
            "case {function}"
        );
    }
}

#[tokio::test]
async fn pbkdf2_control_and_fast_candidate_agree_on_other_inputs() {
    let world = World::new().await;
    for request in [
        json!({"password": "password", "salt": "salt", "iterations": 4096}),
        json!({"password": "", "saltHex": "00ff10", "iterations": 3, "keyLength": 33}),
        json!({"password": "pässwörd 🔑", "salt": "NaCl", "iterations": 1000, "keyLength": 100}),
    ] {
        let control = derive(&world, "pbkdf2-control", &request).await;
        let fast = derive(&world, "pbkdf2-candidate-fast", &request).await;
        let key_length = request["keyLength"].as_u64().unwrap_or(32) as usize;
        assert_eq!(
            control["key"].as_str().map(str::len),
            Some(2 * key_length),
            "case {request}"
        );
        assert_eq!(fast, control, "case {request}");
    }
}

/// The function's configured cap on iterations, read from its refusal of a count beyond any cap.
async fn pbkdf2_cap(world: &World, function: &str) -> u64 {
    let request = json!({"password": "p", "salt": "s", "iterations": 4_294_967_296_u64});
    let reply = world
        .send(Call::post(function, "/pbkdf2").json(&request))
        .await;
    assert_bad_request(&reply, "iterations_too_high", function);
    let message = reply.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    message
        .rsplit_once("at most ")
        .and_then(|(_, cap)| cap.trim().parse().ok())
        .unwrap_or_else(|| panic!("{function}: no cap in {message:?}"))
}

#[tokio::test]
async fn pbkdf2_cap_is_at_least_600000_and_one_more_than_it_is_refused() {
    let world = World::new().await;
    for function in PBKDF2 {
        let cap = pbkdf2_cap(&world, function).await;
        assert!(cap >= 600_000, "{function}: cap {cap} is under 600,000");
        let request = json!({"password": "p", "salt": "s", "iterations": cap + 1});
        let reply = world
            .send(Call::post(function, "/pbkdf2").json(&request))
            .await;
        assert_bad_request(&reply, "iterations_too_high", function);
    }
}

#[tokio::test]
async fn pbkdf2_cap_counts_the_iterations_of_every_32_byte_block_of_the_key() {
    let world = World::new().await;
    for function in PBKDF2 {
        let cap = pbkdf2_cap(&world, function).await;
        // Under the cap in iterations, over it once two blocks each run them all.
        let request =
            json!({"password": "p", "salt": "s", "iterations": cap / 2 + 1, "keyLength": 33});
        let reply = world
            .send(Call::post(function, "/pbkdf2").json(&request))
            .await;
        assert_bad_request(&reply, "work_too_high", function);
    }
}

#[tokio::test]
async fn pbkdf2_missing_fields_return_400_json_naming_the_field() {
    let world = World::new().await;
    for function in PBKDF2 {
        for (name, request, code) in [
            ("empty object", json!({}), "missing_password"),
            (
                "no password",
                json!({"salt": "s", "iterations": 1}),
                "missing_password",
            ),
            (
                "no salt",
                json!({"password": "p", "iterations": 1}),
                "missing_salt",
            ),
            (
                "no iterations",
                json!({"password": "p", "salt": "s"}),
                "missing_iterations",
            ),
        ] {
            let reply = world
                .send(Call::post(function, "/pbkdf2").json(&request))
                .await;
            assert_bad_request(&reply, code, &format!("{function} {name}"));
        }
    }
}
