//! The client's latency through the experiment proxy against the control called directly, with
//! candidates that include one taking 2 s (the `chaos` experiment: it also panics, fails and answers
//! garbage). Target: the proxy adds under 10 ms at p50 locally, whatever the candidates do.
//!
//! Needs a running local stack (`ENDPOINTS_FILE`); `./build.sh bench --bench proxy` starts one.
//! Requests go one at a time to 127.0.0.1, alternating direct and proxied, a bounded number of
//! times. Locally the functions are debug builds under `cargo lambda watch`: the figures are this
//! machine's, and the difference between the two paths is what the proxy costs.

use std::time::{Duration, Instant};

const ROUNDS: usize = 200;
const WARM_UP: usize = 10;

fn endpoints() -> serde_json::Value {
    let path = std::env::var("ENDPOINTS_FILE")
        .expect("ENDPOINTS_FILE must name a running local stack (./build.sh bench --bench proxy)");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn timed(http: &reqwest::Client, url: &str) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let response = http
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status();
    let body = response.bytes().await.expect("body").to_vec();
    assert!(status.is_success(), "{url}: {status}");
    (started.elapsed(), body)
}

#[tokio::main]
async fn main() {
    let endpoints = endpoints();
    let base = |f: &str| {
        endpoints[f]
            .as_str()
            .unwrap_or_else(|| panic!("no {f} endpoint"))
            .trim_end_matches('/')
            .to_owned()
    };
    let (control, proxy) = (base("round-control"), base("experiment-proxy"));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client");
    let mut direct = Vec::with_capacity(ROUNDS);
    let mut proxied = Vec::with_capacity(ROUNDS);
    for i in 0..WARM_UP + ROUNDS {
        let query = format!("/round?number={}.5", i % 100);
        let (d, direct_body) = timed(&http, &format!("{control}{query}")).await;
        let (p, proxied_body) = timed(&http, &format!("{proxy}/chaos?number={}.5", i % 100)).await;
        assert_eq!(direct_body, proxied_body, "the proxy changed the answer");
        if i >= WARM_UP {
            direct.push(d);
            proxied.push(p);
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (d50, d99) = (
        measure::percentile(&mut direct, 0.5).expect("samples"),
        measure::percentile(&mut direct, 0.99).expect("samples"),
    );
    let (p50, p99) = (
        measure::percentile(&mut proxied, 0.5).expect("samples"),
        measure::percentile(&mut proxied, 0.99).expect("samples"),
    );
    println!(
        "proxy {ROUNDS} requests (experiment chaos: candidates panic, sleep 2 s, answer 500, answer garbage; \
         same answers asserted): direct control p50 {:.2} ms p99 {:.2} ms | through the proxy p50 {:.2} ms p99 {:.2} ms \
         | added p50 {:.2} ms p99 {:.2} ms | proxied/direct p50 {:.2}",
        ms(d50),
        ms(d99),
        ms(p50),
        ms(p99),
        ms(p50) - ms(d50),
        ms(p99) - ms(d99),
        p50.as_secs_f64() / d50.as_secs_f64(),
    );
}
