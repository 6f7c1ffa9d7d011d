//! What stands before the functions on AWS, checked on whatever the suite runs against (the
//! local front in `./build.sh test`, or a deployed test stack): Function URLs with `AuthType:
//! AWS_IAM` take only requests signed with SigV4, and the HTTP API throttles a route beyond its
//! limits with `429`, which the suite's client retries.
//!
//! In-process (`TEST_MODE=handler`) there is no URL and no API before the handlers: these tests
//! have nothing to check there and say so.

use std::time::{Duration, SystemTime};

use acceptance::{Call, Mode, World, unique};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;

/// The function every case calls: a control with a Function URL and no side effects.
const FUNCTION: &str = "round-control";
const PATH: &str = "/round?number=62.5";

/// The credentials the suite signs with (the environment's, or the profile's).
async fn credentials() -> Credentials {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    config
        .credentials_provider()
        .expect("a credentials provider")
        .provide_credentials()
        .await
        .expect("credentials")
}

/// `GET url` with the given extra headers, outside the suite's client (no signing, no retries).
async fn get(url: &str, headers: &[(String, String)]) -> (u16, Option<String>, String) {
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    let error_type = response
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    (
        status,
        error_type,
        response.text().await.unwrap_or_default(),
    )
}

/// The signing headers of `GET url` with `credentials` at `time`.
fn signature(
    url: &str,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Vec<(String, String)> {
    let mut request = http::Request::builder()
        .uri(url)
        .body(Vec::new())
        .expect("a request");
    shared::signed::sign(
        &mut request,
        shared::function_url::SERVICE,
        credentials,
        region,
        time,
    )
    .expect("signed");
    request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn an_iam_function_url_takes_only_requests_signed_in_time_with_a_known_secret() {
    let world = World::new().await;
    let Some(urls) = world.iam_urls().cloned() else {
        eprintln!(
            "no AWS_IAM Function URLs here ({:?} mode): nothing to check",
            world.mode
        );
        return;
    };
    assert!(urls.wants_signature(FUNCTION), "{urls:?}");
    let url = format!("{}{PATH}", world.endpoint(FUNCTION));
    let credentials = credentials().await;
    let now = SystemTime::now();

    let (status, error_type, body) = get(&url, &[]).await;
    assert_eq!(
        (status, error_type.as_deref()),
        (403, Some("AccessDeniedException")),
        "unsigned: {body}"
    );
    assert!(body.contains("Forbidden"), "unsigned: {body}");

    let wrong = Credentials::new(
        credentials.access_key_id(),
        "not-the-secret",
        credentials.session_token().map(str::to_owned),
        None,
        "wrong",
    );
    let (status, error_type, body) = get(&url, &signature(&url, &wrong, &urls.region, now)).await;
    assert_eq!(
        (status, error_type.as_deref()),
        (403, Some("InvalidSignatureException")),
        "wrong secret: {body}"
    );
    assert!(
        body.contains("signature we calculated does not match"),
        "{body}"
    );

    let stale = now - Duration::from_secs(10 * 60);
    let (status, _, body) = get(&url, &signature(&url, &credentials, &urls.region, stale)).await;
    assert_eq!(status, 403, "signed ten minutes ago: {body}");
    assert!(body.contains("Signature expired"), "{body}");

    let (status, _, body) = get(&url, &signature(&url, &credentials, &urls.region, now)).await;
    assert_eq!(status, 200, "signed now: {body}");
    let reply = world.send(Call::get(FUNCTION, PATH)).await;
    assert_eq!(
        reply.status,
        200,
        "the suite's own client: {}",
        reply.text()
    );
}

/// curl's own SigV4 implementation (`--aws-sigv4`), not the SDK's: what the URL accepts is
/// SigV4 as AWS defines it, not whatever the suite's signer happens to produce.
#[tokio::test]
async fn a_request_signed_by_curl_is_accepted_and_an_unsigned_one_is_not() {
    let world = World::new().await;
    let Some(urls) = world.iam_urls().cloned() else {
        eprintln!(
            "no AWS_IAM Function URLs here ({:?} mode): nothing to check",
            world.mode
        );
        return;
    };
    let url = format!("{}/sort", world.endpoint("sort-control"));
    let credentials = credentials().await;
    let curl = |signed: bool| {
        let mut command = std::process::Command::new("curl");
        command.args(["--silent", "--show-error", "--max-time", "30"]);
        command.args(["--write-out", "\n%{http_code}"]);
        command.args(["--header", "content-type: application/json"]);
        command.args(["--data", "[10, 9, 2]"]);
        if signed {
            command
                .arg("--aws-sigv4")
                .arg(format!("aws:amz:{}:lambda", urls.region))
                .arg("--user")
                .arg(format!(
                    "{}:{}",
                    credentials.access_key_id(),
                    credentials.secret_access_key()
                ));
            if let Some(token) = credentials.session_token() {
                command
                    .arg("--header")
                    .arg(format!("x-amz-security-token: {token}"));
            }
        }
        let output = command.arg(&url).output().expect("curl runs");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or_default();
        (status.to_owned(), body.to_owned())
    };
    let (status, body) = curl(true);
    assert_eq!(status, "200", "signed by curl: {body}");
    assert!(
        body.contains("[2,9,10]") || body.contains("[10,2,9]"),
        "{body}"
    );
    let (status, body) = curl(false);
    assert_eq!(status, "403", "unsigned curl: {body}");
}

/// More creates at once than the route's burst: the HTTP API throttles some (`429`, its own
/// body, documented in openapi.json), and the suite's client, which retries `429` with backoff,
/// gets each one created.
#[tokio::test]
async fn creates_beyond_the_route_limit_are_throttled_and_the_suite_retries_them() {
    let world = World::new().await;
    if world.mode == Mode::Handler {
        eprintln!("in-process: no HTTP API before the handlers, nothing throttles");
        return;
    }
    let base = world.endpoint("shortener");
    let client = reqwest::Client::new();
    let api_key = acceptance::when::shortener_api_key();
    // More than any test stack's burst (aws/parameters.rs TEST_ROUTE_LIMITS: 50), all at once.
    let attempts = futures::future::join_all((0..80).map(|i| {
        let mut request = client.post(format!("{base}/")).json(
            &serde_json::json!({"url": format!("https://example.com/{}/{i}", unique("burst"))}),
        );
        if let Some(key) = &api_key {
            request = request.header("x-api-key", key);
        }
        async move {
            let response = request.send().await.expect("an answer");
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
    }))
    .await;
    let throttled: Vec<&(u16, String)> = attempts.iter().filter(|(s, _)| *s == 429).collect();
    assert!(
        !throttled.is_empty(),
        "80 creates at once were all admitted: is POST / throttled? statuses {:?}",
        attempts.iter().map(|(s, _)| *s).collect::<Vec<_>>()
    );
    let body: serde_json::Value = serde_json::from_str(&throttled[0].1).expect("a JSON body");
    assert_eq!(body, serde_json::json!({"message": "Too Many Requests"}));
    assert!(
        attempts.iter().all(|(s, _)| matches!(s, 200 | 201 | 429)),
        "{attempts:?}"
    );

    // Right after the burst the bucket is empty: the suite's client waits its way through.
    let created = futures::future::join_all((0..10).map(|i| {
        let world = world.clone();
        async move {
            let target = format!("https://example.com/{}/{i}", unique("after-burst"));
            world
                .send(Call::post("shortener", "/").json(&serde_json::json!({ "url": target })))
                .await
                .status
        }
    }))
    .await;
    assert!(created.iter().all(|s| *s == 201), "{created:?}");
}
