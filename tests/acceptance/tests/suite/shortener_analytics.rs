//! The shortener's per-day analytics, end to end: referrers, device classes, unique visitors and
//! link previews counted apart, and nothing stored that identifies a visitor.

use acceptance::{Call, Mode, World, eventually, unique};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use crate::shortener_contract::Checked;

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148";
const DESKTOP: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36";
const SLACK: &str = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";

async fn created(world: &World) -> String {
    let url = format!("https://example.com/{}", unique("analytics"));
    let reply = world
        .checked(Call::post("shortener", "/").json(&json!({ "url": url, "reuse": false })))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()["code"].as_str().unwrap().to_owned()
}

async fn visit(world: &World, code: &str, user_agent: &str, referer: Option<&str>) {
    let mut call = Call::get("shortener", &format!("/{code}")).header("user-agent", user_agent);
    if let Some(referer) = referer {
        call = call.header("referer", referer);
    }
    let reply = world.checked(call).await;
    assert_eq!(reply.status, 308, "{}", reply.text());
}

/// Today's analytics once `visits` and `previews` have arrived (the reads are eventually consistent).
async fn today(world: &World, code: &str, visits: u64, previews: u64) -> Value {
    let path = format!("/{code}/stats");
    eventually(20, || {
        let (world, path) = (world.clone(), path.clone());
        async move {
            let stats = world.checked(Call::get("shortener", &path)).await.json();
            let day = stats["daily"].as_array().and_then(|d| d.last()).cloned();
            match day {
                Some(day) if day["visits"] == visits && day["previews"] == previews => {
                    Ok(json!({ "stats": stats, "day": day }))
                }
                _ => Err(format!("stats so far: {stats}")),
            }
        }
    })
    .await
}

#[tokio::test]
async fn a_day_counts_referrers_devices_and_unique_visitors_and_previews_apart() {
    let world = World::new().await;
    let code = created(&world).await;
    for _ in 0..3 {
        visit(
            &world,
            &code,
            IPHONE,
            Some("https://News.example.com/story?id=1"),
        )
        .await;
    }
    visit(&world, &code, DESKTOP, None).await;
    visit(&world, &code, SLACK, None).await;
    let found = today(&world, &code, 4, 1).await;
    let day = &found["day"];
    assert_eq!(
        day["referrers"],
        json!({ "news.example.com": 3, "direct": 1 }),
        "{day}"
    );
    assert_eq!(
        day["devices"],
        json!({ "mobile": 3, "desktop": 1 }),
        "{day}"
    );
    // One address, two user agents: two visitors.
    assert_eq!(day["uniqueVisitors"], 2, "{day}");
    // The preview is not a visit in the link's count either.
    assert_eq!(found["stats"]["visits"], 4, "{}", found["stats"]);
    assert_eq!(found["stats"]["daily"].as_array().unwrap().len(), 7);
}

/// Every string in an item: attribute names and values, sets, lists and maps included.
fn strings(value: &AttributeValue, out: &mut Vec<String>) {
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => out.push(s.clone()),
        AttributeValue::Ss(set) | AttributeValue::Ns(set) => out.extend(set.iter().cloned()),
        AttributeValue::L(list) => list.iter().for_each(|v| strings(v, out)),
        AttributeValue::M(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings(v, out);
        }),
        _ => {}
    }
}

#[tokio::test]
async fn no_ip_address_or_user_agent_is_stored() {
    let world = World::new().await;
    let code = created(&world).await;
    let agent = format!("PrivacyProbe/{} (Macintosh)", unique("ua"));
    visit(&world, &code, &agent, Some("https://referrer.example/")).await;
    visit(&world, &code, IPHONE, None).await;
    today(&world, &code, 2, 0).await;
    // The address the function sees: the fixture event's source IP in-process, loopback over HTTP.
    let ip = match world.mode {
        Mode::Handler => "203.0.113.10",
        Mode::Http => "127.0.0.1",
    };

    let sdk = shared::aws::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = std::env::var("LINKS_TABLE").expect("LINKS_TABLE");
    let mut start = None;
    let (mut scanned, mut of_link) = (0, Vec::new());
    loop {
        let page = client
            .scan()
            .table_name(&table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .expect("scan the links table");
        for item in page.items() {
            scanned += 1;
            let mut texts = Vec::new();
            for (name, value) in item {
                texts.push(name.clone());
                strings(value, &mut texts);
            }
            let probe = agent.split(' ').next().unwrap();
            assert!(
                !texts.iter().any(|t| t.contains(probe)),
                "a user agent is stored: {item:?}"
            );
            let pk = item
                .get("pk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            if pk.contains(&format!("#{code}")) {
                assert!(
                    !texts.iter().any(|t| t.contains(ip)),
                    "an IP address is stored: {item:?}"
                );
                of_link.push(pk);
            }
        }
        match page.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => break,
        }
    }
    // The scan saw this link's analytics (so the check above had something to look at).
    assert!(
        of_link
            .iter()
            .any(|pk| pk.starts_with(&format!("day#{code}#"))),
        "no analytics items for {code} among {scanned} scanned: {of_link:?}"
    );
}

#[tokio::test]
async fn a_preview_bot_neither_uses_up_nor_sees_a_link_with_a_visit_limit() {
    let world = World::new().await;
    let url = format!("https://example.com/{}", unique("one-time"));
    let reply = world
        .checked(Call::post("shortener", "/").json(&json!({ "url": url, "maxVisits": 1 })))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let code = reply.json()["code"].as_str().unwrap().to_owned();
    let path = format!("/{code}");

    // An unfurler gets a page without the target, twice, and uses up nothing.
    for _ in 0..2 {
        let preview = world
            .checked(Call::get("shortener", &path).header("user-agent", SLACK))
            .await;
        assert_eq!(preview.status, 200, "{}", preview.text());
        assert!(
            preview.header("location").is_none(),
            "{:?}",
            preview.headers
        );
        assert!(!preview.text().contains(&url), "{}", preview.text());
        assert_eq!(preview.header("cache-control"), Some("no-store"));
    }
    let stats = world
        .checked(Call::get("shortener", &format!("{path}/stats")))
        .await
        .json();
    assert_eq!(stats["visits"], 0, "{stats}");

    // The person it was sent to still gets their one visit, and only one.
    let visit = world
        .checked(Call::get("shortener", &path).header("user-agent", IPHONE))
        .await;
    assert_eq!(visit.status, 308, "{}", visit.text());
    assert_eq!(visit.header("location"), Some(url.as_str()));
    let again = world
        .checked(Call::get("shortener", &path).header("user-agent", DESKTOP))
        .await;
    assert_eq!(again.status, 410, "{}", again.text());
    // The previews are counted apart in the day's analytics.
    today(&world, &code, 1, 2).await;
}

/// A client sending a new `Referer` host with every visit cannot grow a day's item without bound:
/// past `MAX_REFERRERS` distinct hosts per shard, visits count under `(other)`, and the stats list
/// at most that many hosts. In-process only: the local stack's limit (50 per shard, 10 shards)
/// would take hundreds of visits to reach; here one shard keeps 3.
#[tokio::test]
async fn new_referrer_hosts_past_the_limit_are_counted_as_other() {
    if Mode::from_env() != Mode::Handler {
        return;
    }
    let world = World::with_shortener(Mode::Handler, |c| {
        c.max_referrers = 3;
        c.visit_shards = 1;
        // A host past the limit takes two writes; an unoptimised test build can need more than
        // the default 50 ms for both, and a visit dropped at its budget would fail the count.
        c.visit_count_budget = std::time::Duration::from_secs(5);
    })
    .await;
    let code = created(&world).await;
    let hosts: Vec<String> = (0..8)
        .map(|i| format!("{}.example", unique(&format!("r{i}"))))
        .collect();
    for host in &hosts {
        visit(
            &world,
            &code,
            DESKTOP,
            Some(&format!("https://{host}/page")),
        )
        .await;
    }
    // A host already counted is counted again under its name.
    visit(
        &world,
        &code,
        DESKTOP,
        Some(&format!("https://{}/", hosts[0])),
    )
    .await;
    let found = today(&world, &code, 9, 0).await;
    let referrers = found["day"]["referrers"].as_object().expect("referrers");
    assert_eq!(referrers.len(), 4, "3 hosts and (other): {referrers:?}");
    assert_eq!(referrers["(other)"], 5, "{referrers:?}");
    assert_eq!(referrers[&hosts[0]], 2, "{referrers:?}");
}
