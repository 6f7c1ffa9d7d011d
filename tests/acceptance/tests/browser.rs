//! Pages in a real browser: headless Chromium, driven over WebDriver by `chromedriver`, against a
//! running local stack: the shortener's create page, and the round and sort experiments'
//! dashboards.
//!
//! Needs `WEBDRIVER_URL` (a running `chromedriver`) and `ENDPOINTS_FILE` (the stack's endpoints);
//! `./build.sh test` starts both. `CHROMIUM_BIN` overrides the browser (default
//! `/usr/bin/chromium`). Run alone with:
//!
//! ```sh
//! cargo test -p acceptance --test browser
//! ```
//!
//! The link targets a tiny page this test serves on `localhost`, so following the short URL lands
//! somewhere real without leaving the machine.

use std::time::Duration;

use acceptance::{Call, Mode, World};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const LANDING_PAGE: &str = "<!doctype html><html><head><title>Landed</title></head>\
    <body><h1 id=\"landed\">You followed a short link.</h1></body></html>";

const WAIT: Duration = Duration::from_secs(20);

/// The base URL of `function` in the stack's endpoints file.
fn endpoint(function: &str) -> String {
    let path = std::env::var("ENDPOINTS_FILE")
        .expect("ENDPOINTS_FILE must name the local stack's endpoints (./build.sh test sets it)");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let endpoints: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    endpoints[function]
        .as_str()
        .unwrap_or_else(|| panic!("no {function} endpoint in {path}"))
        .trim_end_matches('/')
        .to_owned()
}

fn shortener_base() -> String {
    endpoint("shortener")
}

/// Serves [`LANDING_PAGE`] to every request on `localhost`; returns its base URL. (The shortener
/// refuses targets on its own host, 127.0.0.1, as redirect loops; `localhost` is another name.)
async fn landing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{LANDING_PAGE}",
                    LANDING_PAGE.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://localhost:{port}")
}

/// A headless Chromium with a fresh profile and no background traffic.
async fn browser(profile: &std::path::Path) -> Client {
    let webdriver = std::env::var("WEBDRIVER_URL")
        .expect("WEBDRIVER_URL must point at a running chromedriver (./build.sh test starts one)");
    let binary = std::env::var("CHROMIUM_BIN").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": binary,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object literal")
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&webdriver)
        .await
        .unwrap_or_else(|e| panic!("connecting to chromedriver at {webdriver}: {e}"))
}

/// The element `locator` finds once it appears (at most [`WAIT`]); panics saying `what` otherwise.
async fn wait_for(
    client: &Client,
    locator: Locator<'_>,
    what: &str,
) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(WAIT)
        .for_element(locator)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The Content-Security-Policy violations the open page has reported since it loaded (Chromium's
/// `ReportingObserver`, with the reports buffered before it was made).
async fn csp_violations(client: &Client) -> Vec<Value> {
    let script = r#"
        const done = arguments[arguments.length - 1];
        const seen = [];
        const observer = new ReportingObserver((reports) => {
            for (const r of reports) seen.push(r.body.toJSON ? r.body.toJSON() : String(r.body));
        }, { types: ["csp-violation"], buffered: true });
        observer.observe();
        setTimeout(() => { seen.push(...observer.takeRecords().map((r) => r.body.toJSON())); done(seen); }, 300);
    "#;
    match client
        .execute_async(script, vec![])
        .await
        .expect("read CSP reports")
    {
        Value::Array(reports) => reports,
        other => panic!("unexpected CSP report list {other}"),
    }
}

/// Fails when the open page broke its own Content-Security-Policy (an inline style or script the
/// policy does not allow does not apply, so the page would look or work differently on AWS too).
async fn assert_keeps_its_csp(client: &Client, page: &str) {
    let violations = csp_violations(client).await;
    assert!(
        violations.is_empty(),
        "{page} violates its Content-Security-Policy: {violations:?}"
    );
}

/// Opens the create page, types `url` into the form and submits it. The first time in a tab it
/// types the API key too (the page keeps it for the tab: `sessionStorage`).
async fn submit(client: &Client, base: &str, url: &str) {
    client.goto(&format!("{base}/")).await.expect("open page");
    let field = wait_for(client, Locator::Id("url"), "the page has a URL field").await;
    field.send_keys(url).await.expect("type the URL");
    let key_field = client.find(Locator::Id("apiKey")).await.expect("key field");
    let kept = key_field.prop("value").await.expect("key value");
    if let Some(key) = acceptance::when::shortener_api_key()
        && kept.as_deref().unwrap_or_default().is_empty()
    {
        client
            .find(Locator::Css("details summary"))
            .await
            .expect("the options")
            .click()
            .await
            .expect("open the options");
        key_field.send_keys(&key).await.expect("type the API key");
    }
    client
        .find(Locator::Id("submit"))
        .await
        .expect("the page has a submit button")
        .click()
        .await
        .expect("submit");
}

async fn shortens_follows_and_reports_errors(client: &Client) {
    let base = shortener_base();
    let landing = landing_server().await;
    let target = format!("{landing}/landing/{}", uuid::Uuid::new_v4().simple());

    // Without the key: the page says where it goes, opens the options and puts the cursor there.
    client.goto(&format!("{base}/")).await.expect("open page");
    wait_for(client, Locator::Id("url"), "the page has a URL field")
        .await
        .send_keys(&target)
        .await
        .expect("type the URL");
    client
        .find(Locator::Id("submit"))
        .await
        .expect("submit button")
        .click()
        .await
        .expect("submit");
    let error = wait_for(
        client,
        Locator::Css("#error[style*='block']"),
        "no error shown for a create without the API key",
    )
    .await;
    let message = error.text().await.expect("error text");
    assert!(
        message.contains("API key") && message.contains("Options"),
        "{message:?}"
    );
    let focused = client
        .execute(
            "return [document.activeElement.id, document.querySelector('details').open]",
            vec![],
        )
        .await
        .expect("read the focus");
    assert_eq!(
        focused,
        json!(["apiKey", true]),
        "the key field is not ready to type in"
    );

    // Create: the short URL appears on the page, on the shortener's base.
    submit(client, &base, &target).await;
    let link = wait_for(
        client,
        Locator::Css("#result a#short-url[href^='http']"),
        "a short URL appears after submitting",
    )
    .await;
    let short_url = link.text().await.expect("link text");
    assert_keeps_its_csp(client, "the create page").await;
    let stored = client
        .execute(
            "return [localStorage.getItem('shortener-api-key'), sessionStorage.getItem('shortener-api-key')]",
            vec![],
        )
        .await
        .expect("read the page's storage");
    assert!(
        stored[0].is_null(),
        "the API key outlives the tab (localStorage): {stored}"
    );
    assert!(
        short_url.starts_with(&format!("{base}/")),
        "short URL {short_url:?} is not under {base}"
    );
    assert!(
        link.is_displayed().await.expect("visibility"),
        "the result is hidden"
    );
    let error = client.find(Locator::Id("error")).await.expect("error box");
    assert!(
        !error.is_displayed().await.expect("visibility"),
        "an error shows next to a success: {:?}",
        error.text().await
    );

    // Follow: the browser takes the 308 and lands on the target page.
    client.goto(&short_url).await.expect("follow the short URL");
    wait_for(
        client,
        Locator::Id("landed"),
        "the browser lands on the target page",
    )
    .await;
    assert_eq!(
        client.current_url().await.expect("current URL").as_str(),
        target
    );

    // A bad URL: a readable error on the page, no short URL.
    for (bad, expected) in [
        ("ftp://example.com/file", "http"),
        ("not a url at all", "URL"),
    ] {
        submit(client, &base, bad).await;
        let error = wait_for(
            client,
            Locator::Css("#error[style*='block']"),
            &format!("no error shown for {bad:?}"),
        )
        .await;
        let message = error.text().await.expect("error text");
        assert!(
            message.contains(expected),
            "error for {bad:?} should mention {expected:?}: {message:?}"
        );
        let result = client.find(Locator::Id("result")).await.expect("result");
        assert!(
            !result.is_displayed().await.expect("visibility"),
            "a short URL shows for the bad URL {bad:?}"
        );
    }
}

/// Runs `check` with a fresh browser, and closes it whatever the outcome.
async fn with_browser<F, Fut>(check: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let profile = std::env::temp_dir().join(format!("chromium-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&profile).expect("profile folder");
    let client = browser(&profile).await;
    let outcome = tokio::spawn(check(client.clone())).await;
    let _ = client.close().await;
    let _ = std::fs::remove_dir_all(&profile);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

#[tokio::test]
async fn the_page_creates_a_link_that_a_browser_follows() {
    with_browser(|client| async move { shortens_follows_and_reports_errors(&client).await }).await;
}

/// Creates a link on the page, changes its target, then takes it down, all from the page.
async fn edits_and_takes_down(client: &Client) {
    let base = shortener_base();
    let landing = landing_server().await;
    let first = format!("{landing}/landing/{}", uuid::Uuid::new_v4().simple());
    let second = format!("{landing}/landing/{}", uuid::Uuid::new_v4().simple());
    submit(client, &base, &first).await;
    let link = wait_for(
        client,
        Locator::Css("#result a#short-url[href^='http']"),
        "a short URL appears after submitting",
    )
    .await;
    let short_url = link.text().await.expect("link text");
    let code = client
        .find(Locator::Id("code"))
        .await
        .expect("the manage form has a code field")
        .prop("value")
        .await
        .expect("code value")
        .unwrap_or_default();
    assert!(
        short_url.ends_with(&format!("/{code}")),
        "{code:?} is not the new link's code"
    );

    let field = client
        .find(Locator::Id("newUrl"))
        .await
        .expect("new URL field");
    field.send_keys(&second).await.expect("type the new URL");
    client
        .find(Locator::Id("save"))
        .await
        .expect("save")
        .click()
        .await
        .expect("save");
    let saved = wait_for(
        client,
        Locator::Css("#manage-result[style*='block']"),
        "the page confirms the edit",
    )
    .await;
    let message = saved.text().await.expect("text");
    assert!(
        message.contains(&second) && message.contains("version 2"),
        "{message:?}"
    );
    client.goto(&short_url).await.expect("follow the short URL");
    wait_for(
        client,
        Locator::Id("landed"),
        "the browser lands on the new target",
    )
    .await;
    assert_eq!(client.current_url().await.expect("URL").as_str(), second);

    client.goto(&format!("{base}/")).await.expect("open page");
    let code_field = wait_for(client, Locator::Id("code"), "the manage form").await;
    code_field.send_keys(&code).await.expect("type the code");
    let reason = client
        .find(Locator::Id("reason"))
        .await
        .expect("reason field");
    reason
        .send_keys("browser test take-down")
        .await
        .expect("type the reason");
    client
        .find(Locator::Id("takedown"))
        .await
        .expect("take down")
        .click()
        .await
        .expect("click");
    client.accept_alert().await.expect("confirm the take-down");
    let done = wait_for(
        client,
        Locator::Css("#manage-result[style*='block']"),
        "the page confirms the take-down",
    )
    .await;
    let message = done.text().await.expect("text");
    assert!(
        message.contains("410") && message.contains("browser test take-down"),
        "{message:?}"
    );
    // The browser may not replay the earlier 308 (cache-control: private, max-age=90): the stats
    // answer shows the take-down without a cached redirect in the way.
    client
        .goto(&format!("{short_url}/stats"))
        .await
        .expect("open stats");
    let body = client.source().await.expect("page source");
    assert!(
        body.contains("taken_down") && body.contains("browser test take-down"),
        "{body}"
    );
}

#[tokio::test]
async fn the_page_edits_and_takes_down_a_link() {
    with_browser(|client| async move { edits_and_takes_down(&client).await }).await;
}

/// The stored comparison of the request with `correlation_id`, once the comparator has written it
/// (at most [`WAIT`]).
async fn comparison(http: &reqwest::Client, report_url: &str, correlation_id: &str) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let body: Value = http
            .get(format!("{report_url}?correlationId={correlation_id}"))
            .send()
            .await
            .expect("report")
            .json()
            .await
            .expect("report JSON");
        if !body["comparison"].is_null() {
            return body["comparison"].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the comparison of {correlation_id} never arrived"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The figures the dashboard shows for one variant: calls, mismatches, errors.
async fn shown(client: &Client, variant: &str) -> (String, String, String) {
    let cell = |class: &'static str| {
        let selector = format!("#figures tr[data-variant='{variant}'] td.{class}");
        async move {
            client
                .find(Locator::Css(&selector))
                .await
                .unwrap_or_else(|e| panic!("{selector}: {e}"))
                .text()
                .await
                .expect("cell text")
        }
    };
    (
        cell("calls").await,
        cell("mismatches").await,
        cell("errors").await,
    )
}

async fn dashboard_shows_the_reports_figures(client: Client) {
    let reports = endpoint("experiment-report");
    let http = reqwest::Client::new();
    // Through the suite's client: it signs when the proxy's Function URL is AWS_IAM.
    let world = World::with_shortener(Mode::Http, |_| {}).await;
    let mut last = String::new();
    for i in 0..5 {
        last = format!("browser-{}", uuid::Uuid::new_v4().simple());
        let reply = world
            .send(
                Call::get("experiment-proxy", &format!("/round?number={i}.5"))
                    .header("x-correlation-id", &last),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let report_url = format!("{reports}/experiments/round");
    // Wait for the last request's comparison (the others arrive around the same time).
    comparison(&http, &report_url, &last).await;
    // Page and JSON agree once they cover the same comparisons (a late one may land in between).
    let mut attempts = 0;
    let report = loop {
        client
            .goto(&format!("{report_url}/dashboard"))
            .await
            .expect("open the dashboard");
        let comparisons = wait_for(
            &client,
            Locator::Id("comparisons"),
            "the page says how many comparisons it covers",
        )
        .await
        .text()
        .await
        .expect("text");
        assert_keeps_its_csp(&client, "the dashboard").await;
        let report: Value = http
            .get(&report_url)
            .send()
            .await
            .expect("report")
            .json()
            .await
            .expect("report JSON");
        let reported = report["report"]["comparisons"]
            .as_u64()
            .map(|n| n.to_string());
        if reported.as_deref() == Some(comparisons.as_str()) {
            break report;
        }
        attempts += 1;
        assert!(
            attempts < 10,
            "the page shows {comparisons} comparisons, the report {}",
            report["report"]["comparisons"]
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    // The verdict line at the top: one sentence per candidate, the JSON's own words and state.
    let verdicts = report["report"]["verdicts"].as_array().expect("verdicts");
    assert!(!verdicts.is_empty(), "{report}");
    for verdict in verdicts {
        let id = verdict["candidate"].as_str().expect("candidate");
        let line = client
            .find(Locator::Css(&format!("p[data-verdict=\"{id}\"]")))
            .await
            .unwrap_or_else(|_| panic!("no verdict line for {id}"));
        assert_eq!(
            line.text().await.expect("text"),
            verdict["sentence"].as_str().expect("sentence"),
            "{id}'s verdict line"
        );
        assert_eq!(
            line.attr("data-state").await.expect("attribute").as_deref(),
            verdict["correctness"]["state"].as_str(),
            "{id}'s state"
        );
        assert_eq!(
            line.attr("data-promotable").await.expect("attribute"),
            Some(verdict["promotable"].to_string()),
            "{id}'s promotability"
        );
    }
    for variant in report["report"]["variants"].as_array().expect("variants") {
        let id = variant["id"].as_str().expect("id");
        let (calls, mismatches, errors) = shown(&client, id).await;
        assert_eq!(calls, variant["calls"].to_string(), "{id} calls");
        assert_eq!(errors, variant["errors"].to_string(), "{id} errors");
        if id != "control" {
            assert_eq!(
                mismatches,
                variant["mismatches"].to_string(),
                "{id} mismatches"
            );
        }
    }
    // "compared X of Y requests": the counters, never more compared than served, at least the
    // five sent above.
    let compared = client
        .find(Locator::Id("compared"))
        .await
        .expect("the page says how many requests were compared");
    let text = compared.text().await.expect("text");
    let mut numbers = Vec::new();
    for name in ["data-compared", "data-served"] {
        let number = compared.attr(name).await.expect("attribute");
        numbers.push(
            number
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("no {name} on #compared")),
        );
    }
    let (x, y) = (numbers[0], numbers[1]);
    assert!(
        text.starts_with(&format!("All versions: compared {x} of {y} requests")),
        "{text}"
    );
    assert!(5 <= x && x <= y, "{text}");
    // Since the current versions by default; the older comparisons one click away, and back.
    let older = client
        .find(Locator::Id("older-records"))
        .await
        .expect("a link to the older comparisons");
    let href = older.attr("href").await.expect("href").unwrap_or_default();
    assert!(
        href.ends_with("/experiments/round/dashboard?all=1") || href == "?all=1",
        "{href}"
    );
    older.click().await.expect("follow the link");
    let view = wait_for(
        &client,
        Locator::Css("#view[data-all='true']"),
        "the page covers all comparisons",
    )
    .await;
    view.find(Locator::Id("current-versions"))
        .await
        .expect("a link back to the current versions")
        .click()
        .await
        .expect("follow the link back");
    wait_for(
        &client,
        Locator::Css("#view[data-all='false']"),
        "the page covers the current versions again",
    )
    .await;
    // 0.5, 2.5 and 4.5 round differently to even: the chart has red in it.
    client
        .find(Locator::Css("#outcomes-chart rect.mismatch"))
        .await
        .expect("the outcomes chart shows mismatches");
    client
        .find(Locator::Css("#duration-chart rect.p99"))
        .await
        .expect("the duration chart shows p99 bars");
    let first_diff = client
        .find(Locator::Css("#mismatches tbody tr td code"))
        .await
        .expect("latest mismatches are listed")
        .text()
        .await
        .expect("text");
    assert!(first_diff.contains("/round"), "{first_diff}");
}

#[tokio::test]
async fn the_experiment_dashboard_shows_the_reports_figures() {
    with_browser(dashboard_shows_the_reports_figures).await;
}

/// The sort exercise answers `text/plain` where the control answers `application/json` (one of
/// its two mistakes as shipped): the dashboard's difference names the header, with both values.
async fn dashboard_names_a_differing_header_with_both_values(client: Client) {
    let report_url = format!("{}/experiments/sort", endpoint("experiment-report"));
    let http = reqwest::Client::new();
    // As the suite sends sort traffic: a JSON list, posted through the proxy (signed when its
    // Function URL is AWS_IAM).
    let world = World::with_shortener(Mode::Http, |_| {}).await;
    let correlation_id = format!("browser-{}", uuid::Uuid::new_v4().simple());
    let reply = world
        .send(
            Call::post("experiment-proxy", "/sort")
                .header("x-correlation-id", &correlation_id)
                .header("content-type", "application/json")
                .raw_body("[10, 9, 1, 100]"),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let record = comparison(&http, &report_url, &correlation_id).await;
    let exercise = record["candidates"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "exercise"))
        .unwrap_or_else(|| panic!("no exercise candidate in {record}"));
    let headers = &exercise["verdict"]["headers_differing"];
    if *headers == json!([]) {
        // An attendee fixed the header: there is none to name.
        return;
    }
    assert_eq!(*headers, json!(["content-type"]), "{record}");
    let expected = r#"content-type: control "application/json", candidate "text/plain""#;
    let stored = exercise["verdict"]["diff"].as_str().unwrap_or_default();
    assert!(
        stored.lines().any(|line| line == expected),
        "the stored difference does not name the header: {record}"
    );
    // The page renders after the comparison is stored: it is among the latest mismatches, and
    // every exercise mismatch newer than it names the header too.
    client
        .goto(&format!("{report_url}/dashboard"))
        .await
        .expect("open the dashboard");
    wait_for(
        &client,
        Locator::Css("#mismatches code.diff"),
        "the dashboard lists the latest mismatches",
    )
    .await;
    let mut shown = Vec::new();
    for diff in client
        .find_all(Locator::Css("#mismatches code.diff"))
        .await
        .expect("differences")
    {
        shown.push(diff.text().await.expect("text"));
    }
    assert!(
        shown
            .iter()
            .any(|diff| diff.lines().any(|line| line.trim() == expected)),
        "no difference on the page names the header, {expected:?} not in {shown:#?}"
    );
}

#[tokio::test]
async fn the_experiment_dashboard_names_a_differing_header_with_both_values() {
    with_browser(dashboard_names_a_differing_header_with_both_values).await;
}
