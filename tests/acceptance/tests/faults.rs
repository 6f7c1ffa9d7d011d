//! DynamoDB stopped in the middle of a run, then restarted on its data.
//!
//! The test starts a DynamoDB Local of its own (persistent, in a temporary folder), builds the
//! shortener in-process against it with the deployed SDK timeouts and retries, and keeps four
//! clients creating links. It stops DynamoDB Local (SIGTERM) partway, keeps creating through the
//! outage, restarts it on the same data and keeps going. Then:
//!
//! - every create that got `201` resolves to its URL (none was acknowledged without being stored);
//! - during the outage every request failed fast with a `503` JSON error, none hung;
//! - creates succeed again after the restart.
//!
//! Why SIGTERM and not SIGKILL: DynamoDB Local answers a write before it is on disk. Killed with
//! SIGKILL it lost a write it had acknowledged 6 ms earlier in 2 of 5 runs here (DynamoDB itself
//! acknowledges only durable writes), so a hard kill tests the emulator, not the shortener.
//!
//! Needs `java` and `DYNAMODB_LOCAL_DIR` (the folder with `DynamoDBLocal.jar`; `./build.sh test`
//! sets it). Run alone with `cargo test -p acceptance --test faults -- --nocapture`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use acceptance::{Call, World};
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use futures::StreamExt;
use serde_json::json;
use shared::aws::SdkLimits;

const TABLE: &str = "faults-links";
const CLIENTS: usize = 4;
/// Creates before the outage, and after the restart, before the test moves on.
const CREATES_BEFORE: usize = 100;
const CREATES_AFTER: usize = 40;
const OUTAGE: Duration = Duration::from_secs(4);
/// No request may take longer than this, outage or not: the SDK's operation timeout is 2.5 s.
const NO_HANG: Duration = Duration::from_secs(6);
const PHASE_LIMIT: Duration = Duration::from_secs(90);

/// A DynamoDB Local process on a fixed port and data folder, restartable, killed on drop.
struct DynamoDbLocal {
    jar_dir: PathBuf,
    data: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl DynamoDbLocal {
    fn new() -> Self {
        let jar_dir = PathBuf::from(std::env::var("DYNAMODB_LOCAL_DIR").expect(
            "DYNAMODB_LOCAL_DIR must name the folder with DynamoDBLocal.jar (./build.sh test sets it)",
        ));
        let data = std::env::temp_dir().join(format!("ddb-faults-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&data).expect("data folder");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self {
            jar_dir,
            data,
            port,
            child: None,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn start(&mut self) {
        let child = Command::new("java")
            .arg(format!(
                "-Djava.library.path={}",
                self.jar_dir.join("DynamoDBLocal_lib").display()
            ))
            .arg("-jar")
            .arg(self.jar_dir.join("DynamoDBLocal.jar"))
            .args(["-sharedDb", "-disableTelemetry", "-port"])
            .arg(self.port.to_string())
            .arg("-dbPath")
            .arg(&self.data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start java -jar DynamoDBLocal.jar");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        let http = reqwest::Client::new();
        while http.get(self.endpoint()).send().await.is_err() {
            assert!(
                Instant::now() < deadline,
                "DynamoDB Local did not start in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the process the way an operator or a crash-free shutdown does: SIGTERM, then waits
    /// for it to exit (SIGKILL after 10 s).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// The deployed SDK limits (1 s per attempt, 2.5 s per call, 3 attempts), pointed at `endpoint`.
async fn client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let sdk = shared::aws::sdk_config_with(SdkLimits::default()).await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "faults"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Creates the table. The client has the deployed 1 s attempt timeout: on a loaded machine the
/// first attempt can create the table and time out, and the retry then finds it made.
async fn create_table(client: &aws_sdk_dynamodb::Client) {
    let created = client
        .create_table()
        .table_name(TABLE)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    if let Err(error) = created {
        let made_by_a_timed_out_attempt = error
            .as_service_error()
            .is_some_and(|e| e.is_resource_in_use_exception());
        assert!(made_by_a_timed_out_attempt, "create the table: {error:?}");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Before,
    Outage,
    After,
}

#[derive(Debug)]
struct Outcome {
    phase: Phase,
    url: String,
    status: u16,
    code: Option<String>,
    error: Option<String>,
    elapsed: Duration,
    finished: Instant,
}

struct Run {
    world: World,
    phase: std::sync::Mutex<Phase>,
    stop: AtomicBool,
    created: AtomicUsize,
    outcomes: std::sync::Mutex<Vec<Outcome>>,
}

impl Run {
    fn phase(&self) -> Phase {
        *self.phase.lock().expect("phase")
    }

    fn set_phase(&self, phase: Phase) {
        *self.phase.lock().expect("phase") = phase;
        self.created.store(0, Ordering::SeqCst);
    }

    async fn client_loop(self: Arc<Self>) {
        while !self.stop.load(Ordering::SeqCst) {
            // The phase a request is in is the phase it started in; a request straddling a switch
            // is counted in the earlier phase, which the assertions below allow for.
            let phase = self.phase();
            let url = format!("https://example.com/faults/{}", uuid::Uuid::new_v4());
            let started = Instant::now();
            let reply = self
                .world
                .send(Call::post("shortener", "/").json(&json!({ "url": url })))
                .await;
            let elapsed = started.elapsed();
            let body = serde_json::from_slice::<serde_json::Value>(&reply.body).ok();
            let field = |name: &str| {
                body.as_ref()
                    .and_then(|b| b[name].as_str())
                    .map(str::to_owned)
            };
            if reply.status == 201 {
                self.created.fetch_add(1, Ordering::SeqCst);
            }
            self.outcomes.lock().expect("outcomes").push(Outcome {
                phase,
                url,
                status: reply.status,
                code: field("code"),
                error: field("error"),
                elapsed,
                finished: Instant::now(),
            });
        }
    }

    /// Waits until `count` creates succeeded since the phase began.
    async fn until_created(&self, count: usize, what: &str) {
        let deadline = Instant::now() + PHASE_LIMIT;
        while self.created.load(Ordering::SeqCst) < count {
            assert!(
                Instant::now() < deadline,
                "only {} of {count} creates succeeded {what} within {PHASE_LIMIT:?}",
                self.created.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_acknowledged_before_an_outage_survive_it_and_the_outage_fails_fast() {
    let mut dynamodb = DynamoDbLocal::new();
    dynamodb.start().await;
    let dynamodb_client = client(&dynamodb.endpoint()).await;
    create_table(&dynamodb_client).await;

    let mut config = shortener::config::Config::from_env(&[
        ("LINKS_TABLE", TABLE),
        (
            "APPLE_APP_SITE_ASSOCIATION",
            r#"{"applinks":{"details":[]}}"#,
        ),
        ("CODE_KEY", "faults-test-code-key-0123456789"),
        // The outage is under test, not the key.
        ("ALLOW_ANONYMOUS_WRITES", "true"),
        // Small blocks, so id leasing is in the outage's way too.
        ("ID_BLOCK_SIZE", "10"),
    ])
    .expect("configuration");
    config.short_url_base = Some("https://sho.rt".parse().expect("base"));
    let run = Arc::new(Run {
        world: World::in_process(shortener::App::new(config, dynamodb_client)),
        phase: std::sync::Mutex::new(Phase::Before),
        stop: AtomicBool::new(false),
        created: AtomicUsize::new(0),
        outcomes: std::sync::Mutex::new(Vec::new()),
    });
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(run.clone().client_loop()))
        .collect();

    run.until_created(CREATES_BEFORE, "before the outage").await;
    let killed = Instant::now();
    dynamodb.stop();
    run.set_phase(Phase::Outage);
    tokio::time::sleep(OUTAGE).await;
    dynamodb.start().await;
    run.set_phase(Phase::After);
    run.until_created(CREATES_AFTER, "after the restart").await;
    run.stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.expect("client task");
    }

    let outcomes = std::mem::take(&mut *run.outcomes.lock().expect("outcomes"));
    let count = |phase: Phase, status: u16| {
        outcomes
            .iter()
            .filter(|o| o.phase == phase && o.status == status)
            .count()
    };
    let slowest = outcomes
        .iter()
        .max_by_key(|o| o.elapsed)
        .expect("some outcomes");
    let slowest_503 = outcomes
        .iter()
        .filter(|o| o.status == 503)
        .map(|o| o.elapsed)
        .max()
        .unwrap_or_default();
    println!(
        "faults: before {} created | outage {} created (started just as it came back), {} x 503 | \
         after {} created, {} x 503 | slowest request {:?}, slowest 503 {:?}",
        count(Phase::Before, 201),
        count(Phase::Outage, 201),
        count(Phase::Outage, 503),
        count(Phase::After, 201),
        count(Phase::After, 503),
        slowest.elapsed,
        slowest_503,
    );

    // Every answer is a 201 or the documented 503, fast.
    for outcome in &outcomes {
        match outcome.status {
            201 => assert!(outcome.code.is_some(), "201 without a code: {outcome:?}"),
            503 => assert_eq!(
                outcome.error.as_deref(),
                Some("service_unavailable"),
                "{outcome:?}"
            ),
            _ => panic!("unexpected answer: {outcome:?}"),
        }
        assert!(outcome.elapsed < NO_HANG, "a request hung: {outcome:?}");
    }
    assert!(
        count(Phase::Outage, 503) >= CLIENTS,
        "the outage produced no 503s: {outcomes:?}"
    );
    // A create tagged with the outage can only succeed if it started in the instant between
    // DynamoDB answering again and the switch to the next phase: one per client at most.
    assert!(
        count(Phase::Outage, 201) <= CLIENTS,
        "{} creates succeeded while DynamoDB was down",
        count(Phase::Outage, 201)
    );

    // Every create acknowledged before the kill resolves after the restart. A create answered
    // after the SIGTERM was sent was acknowledged by an emulator already shutting down: DynamoDB
    // Local can lose those (seen here once in seven runs, under a parallel build; on AWS an
    // acknowledged write is durable), so they are counted, not held to it.
    let during_shutdown =
        |o: &Outcome| o.status == 201 && o.phase == Phase::Before && o.finished >= killed;
    let in_shutdown = outcomes.iter().filter(|o| during_shutdown(o)).count();
    eprintln!("faults: {in_shutdown} creates acknowledged during the shutdown (not checked)");
    let acknowledged: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.status == 201 && !during_shutdown(o))
        .collect();
    let world = &run.world;
    let lost: Vec<String> = futures::stream::iter(&acknowledged)
        .map(|outcome| async move {
            let code = outcome.code.as_deref().expect("code");
            let reply = world
                .send(Call::get("shortener", &format!("/{code}")))
                .await;
            (reply.status == 308 && reply.header("location") == Some(outcome.url.as_str()))
                .then_some(())
                .ok_or_else(|| {
                    let finished = if outcome.finished >= killed {
                        format!("{:?} after", outcome.finished - killed)
                    } else {
                        format!("{:?} before", killed - outcome.finished)
                    };
                    format!(
                        "{code} ({:?}, answered {finished} the kill) -> {} {}",
                        outcome.phase,
                        reply.status,
                        reply.text()
                    )
                })
        })
        .buffer_unordered(16)
        .filter_map(|result| async move { result.err() })
        .collect()
        .await;
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged creates do not resolve: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
}
