//! The local stack: DynamoDB Local with the tables of `template.yaml`, every function behind one
//! `cargo lambda watch`, the endpoints file the suite and the tools read, and chromedriver.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use registry::Registry;
use serde_json::json;
use shared::function_url::{AUTH_KEY, IamUrls};

use crate::cmd::Cmd;
use crate::front::sigv4::Verifier;
use crate::front::throttle::{ROUTE_LIMITS_KEY, RouteLimits};
use crate::front::{self, Front, UrlAuth};
use crate::log;
use crate::procs::{self, Background};
use crate::template::{TableResource, Template};
use crate::tools::Paths;

/// Fixed fake credentials and region for everything local: without them the SDK looks for
/// instance metadata. DynamoDB Local runs with -sharedDb, so any key sees the same tables.
/// The local stack's API key (the suite, the tools and the browser test send it; the create page
/// asks for it, and `./build.sh local` prints it) is in it too: the shortener refuses to start
/// without one, locally as on AWS.
pub const LOCAL_ENV: [(&str, &str); 8] = [
    ("AWS_ACCESS_KEY_ID", "local"),
    ("AWS_SECRET_ACCESS_KEY", "local"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("SDK_ATTEMPT_TIMEOUT_MS", "5000"),
    ("SDK_OPERATION_TIMEOUT_MS", "12000"),
    ("CREATE_API_KEY", LOCAL_API_KEY),
];
/// The local shortener's API key: not a secret, never used by a deployed stack.
pub const LOCAL_API_KEY: &str = "local-only-api-key-not-secret";
/// The region of everything local, which signed requests name in their scope.
pub const LOCAL_REGION: &str = "us-east-1";
/// The local code key: not a secret, never used by a deployed stack.
pub const LOCAL_CODE_KEY: &str = "local-only-code-key-not-secret";
pub const LOCAL_AASA: &str =
    r#"{"applinks":{"apps":[],"details":[{"appID":"ABCDE12345.com.example.app","paths":["*"]}]}}"#;

pub fn local_env() -> Vec<(String, String)> {
    LOCAL_ENV
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The HTTP status of `GET path` on 127.0.0.1:`port`, or `None` when nothing answers.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let address = ([127, 0, 0, 1], port).into();
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Polls until 127.0.0.1:`port` answers HTTP on `path`, failing early if `process` exits.
pub fn wait_for_http(
    port: u16,
    path: &str,
    within: Duration,
    what: &str,
    process: &mut Background,
) -> Result<()> {
    let deadline = Instant::now() + within;
    while http_status(port, path).is_none() {
        process.check_alive(what)?;
        if Instant::now() > deadline {
            bail!(
                "{what} did not answer on 127.0.0.1:{port}{path} within {}s; see {}",
                within.as_secs(),
                process.log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// A running DynamoDB Local.
pub struct DynamoDb {
    pub endpoint: String,
    _process: Background,
}

/// Starts DynamoDB Local on `port`, in memory or with its data in `.local/dynamodb`.
pub fn start_dynamodb(paths: &Paths, port: u16, persistent: bool) -> Result<DynamoDb> {
    let dir = paths.dynamodb_local();
    let mut cmd = Cmd::new("java")
        .arg(format!(
            "-Djava.library.path={}",
            dir.join("DynamoDBLocal_lib").display()
        ))
        .arg("-jar")
        .arg(dir.join("DynamoDBLocal.jar").display().to_string())
        .args(["-sharedDb", "-disableTelemetry", "-port"])
        .arg(port.to_string());
    if persistent {
        let data = paths.local.join("dynamodb");
        std::fs::create_dir_all(&data)?;
        cmd = cmd.arg("-dbPath").arg(data.display().to_string());
    } else {
        cmd = cmd.arg("-inMemory");
    }
    log!(
        "starting DynamoDB Local on 127.0.0.1:{port} ({})",
        if persistent {
            "persistent"
        } else {
            "in memory"
        }
    );
    let mut process = procs::spawn(&cmd, &paths.local.join(format!("dynamodb-{port}.log")))?;
    wait_for_http(
        port,
        "/",
        Duration::from_secs(60),
        "DynamoDB Local",
        &mut process,
    )?;
    Ok(DynamoDb {
        endpoint: format!("http://127.0.0.1:{port}"),
        _process: process,
    })
}

/// The table names of one stack: logical id -> name.
pub type Tables = BTreeMap<String, String>;

/// Creates the tables of `template.yaml` (those missing) on the DynamoDB at `endpoint`, named
/// `<prefix><logical id>`.
pub fn create_tables(template: &Template, endpoint: &str, prefix: &str) -> Result<Tables> {
    let tables = template.tables()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local", "local", None, None, "local",
            ));
        config = config.timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(20))
                .build(),
        );
        let client = aws_sdk_dynamodb::Client::new(&config.load().await);
        let existing = client
            .list_tables()
            .send()
            .await
            .context("DynamoDB Local: ListTables")?
            .table_names
            .unwrap_or_default();
        let mut names = Tables::new();
        for table in &tables {
            let name = format!("{prefix}{}", table.logical_id);
            if !existing.contains(&name) {
                create_table(&client, &name, table).await?;
            }
            names.insert(table.logical_id.clone(), name);
        }
        Ok(names)
    })
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    table: &TableResource,
) -> Result<()> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attribute, kind) in &table.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()?,
        );
    }
    for (attribute, kind) in &table.key_schema {
        request = request.key_schema(
            KeySchemaElement::builder()
                .attribute_name(attribute)
                .key_type(KeyType::from(kind.as_str()))
                .build()?,
        );
    }
    request
        .send()
        .await
        .with_context(|| format!("CreateTable {name}"))?;
    if let Some(attribute) = &table.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("UpdateTimeToLive {name}"))?;
    }
    Ok(())
}

/// Validates the experiment definitions and stores them in the stack's experiments table.
/// (The `experiments` binary is built with every other by ./build.sh.)
pub fn upload_experiments(
    paths: &Paths,
    env: &[(String, String)],
    files: &[PathBuf],
) -> Result<()> {
    let registry = Registry::load(&paths.root)?;
    let files = crate::scaffolded::definition_files(&registry, &paths.target, files)?;
    Cmd::new(paths.target.join("debug/experiments").display().to_string())
        .arg("upload")
        .args(files.iter().map(|f| f.display().to_string()))
        .envs(env.iter().cloned())
        .run()
}

/// The experiment definitions of the workspace.
pub fn definition_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(root.join("functions/experiments/definitions"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
    files.sort();
    Ok(files)
}

/// One local stack's data: DynamoDB Local with the tables, the definitions uploaded.
pub struct DataStack {
    pub dynamodb: DynamoDb,
    pub tables: Tables,
    /// `name=MB,...` of every deployment, for the report's cost (as deployed: the template's
    /// sizes, which `check` holds to the registry's).
    memory_mb: String,
}

/// `FUNCTION_MEMORY_MB` for the report function: every deployment's memory size.
pub fn memory_sizes(registry: &Registry) -> String {
    registry
        .deployments()
        .iter()
        .map(|d| format!("{}={}", d.name, d.memory_mb))
        .collect::<Vec<_>>()
        .join(",")
}

impl DataStack {
    pub fn start(paths: &Paths, port: u16, persistent: bool, prefix: &str) -> Result<Self> {
        let dynamodb = start_dynamodb(paths, port, persistent)?;
        let template = Template::load(&paths.root)?;
        let tables = create_tables(&template, &dynamodb.endpoint, prefix)?;
        let memory_mb = memory_sizes(&Registry::load(&paths.root)?);
        let stack = Self {
            dynamodb,
            tables,
            memory_mb,
        };
        upload_experiments(paths, &stack.env(), &definition_files(&paths.root)?)?;
        Ok(stack)
    }

    fn table(&self, logical_id: &str) -> &str {
        self.tables
            .get(logical_id)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// What a process needs to reach this stack's data (the suite, the tools, the functions).
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = local_env();
        env.extend([
            (
                "AWS_ENDPOINT_URL_DYNAMODB".to_owned(),
                self.dynamodb.endpoint.clone(),
            ),
            (
                "LINKS_TABLE".to_owned(),
                self.table("LinksTable").to_owned(),
            ),
            (
                "EXPERIMENTS_TABLE".to_owned(),
                self.table("ExperimentsTable").to_owned(),
            ),
            ("CODE_KEY".to_owned(), LOCAL_CODE_KEY.to_owned()),
            (
                "APPLE_APP_SITE_ASSOCIATION".to_owned(),
                LOCAL_AASA.to_owned(),
            ),
            ("FUNCTION_MEMORY_MB".to_owned(), self.memory_mb.clone()),
        ]);
        env
    }
}

/// The variables every function of a local stack gets besides Lambda's own: `data`'s tables and
/// endpoint, Lambda's Invoke API at `lambda_endpoint` (the proxy and the comparator invoke
/// functions through it, as on AWS they call Lambda's, not the Function URLs), `short_url_base`,
/// and the settings a local stack changes. `cargo lambda watch` ([`start_watch`]) and the arm64
/// bootstraps (`arm64_smoke.rs`) run with them.
pub fn function_env(
    data: &DataStack,
    lambda_endpoint: &str,
    short_url_base: &str,
) -> Vec<(String, String)> {
    let mut env = data.env();
    env.extend([
        // A promotion shows within 2 s locally (15 s deployed).
        ("DEFINITIONS_CACHE_SECONDS".to_owned(), "2".to_owned()),
        // The slow chaos candidate still misses its 1 s timeout, but holds an instance 1.2 s per
        // call rather than 2 s.
        ("CHAOS_SLEEP_MS".to_owned(), "1200".to_owned()),
        // The release hook's: template.yaml sets it to the stack's name.
        (
            "STACK_NAME".to_owned(),
            format!("{}-local", crate::aws::APP),
        ),
        (
            "AWS_ENDPOINT_URL_LAMBDA".to_owned(),
            lambda_endpoint.to_owned(),
        ),
        ("SHORT_URL_BASE".to_owned(), short_url_base.to_owned()),
        (
            "RUST_LOG".to_owned(),
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned()),
        ),
    ]);
    env
}

/// What the local front enforces before `cargo lambda watch` (front/): AWS's checks, so that a
/// client that would fail on AWS fails here.
#[derive(Debug, Clone)]
pub struct Gate {
    /// How the demo Function URLs authenticate.
    pub url_auth: UrlAuth,
    /// The HTTP API's route limits, from these template parameters (the rest at their defaults);
    /// `None`: no throttling (the benches and the load test measure the functions themselves).
    pub route_parameters: Option<BTreeMap<String, String>>,
}

impl Gate {
    /// A stack as `./build.sh test` and a deployed test stack run: signed URLs, the test limits.
    pub fn test_stack() -> Self {
        Self {
            url_auth: UrlAuth::AwsIam,
            route_parameters: Some(crate::aws::test_route_limits()),
        }
    }

    /// A measured stack: public URLs, nothing throttled.
    pub fn unthrottled() -> Self {
        Self {
            url_auth: UrlAuth::None,
            route_parameters: None,
        }
    }

    fn rules(&self, paths: &Paths, registry: &Registry) -> Result<front::Rules> {
        let template = crate::scaffolded::template(&paths.root, registry)?;
        let limits = match &self.route_parameters {
            Some(parameters) => RouteLimits::from_template(&template, parameters)?,
            None => RouteLimits {
                default: None,
                routes: BTreeMap::new(),
            },
        };
        Ok(front::Rules {
            verifier: (self.url_auth == UrlAuth::AwsIam).then(|| Verifier {
                keys: front::local_keys(),
                region: LOCAL_REGION.to_owned(),
            }),
            url_functions: url_functions(&template)?,
            routes: registry
                .router()
                .iter()
                .map(|(route, _)| route.to_string())
                .collect(),
            limits,
        })
    }
}

/// The functions that have a Function URL in the template.
fn url_functions(template: &Template) -> Result<BTreeSet<String>> {
    Ok(template
        .functions()?
        .into_iter()
        .filter(|f| f.url_auth.is_some())
        .map(|f| f.name)
        .collect())
}

/// A running `cargo lambda watch` serving every function of the registry, behind the front.
pub struct Watch {
    /// The front's port: what clients use.
    pub port: u16,
    pub endpoints_file: PathBuf,
    // Dropped first: the front, then watch.
    _front: Front,
    _process: Background,
}

/// Starts `cargo lambda watch` and its front on `port` for `data`'s tables; writes the endpoints
/// file. `release` serves optimised builds (the benches); otherwise debug builds, quicker to make.
pub fn start_watch(
    paths: &Paths,
    data: &DataStack,
    port: u16,
    endpoints_file: &Path,
    release: bool,
    gate: &Gate,
) -> Result<Watch> {
    start_watch_with(paths, data, port, endpoints_file, release, 1, gate)
}

/// Like [`start_watch`], with up to `instances` processes per function (watch's `--concurrency`),
/// started as concurrent requests need them.
pub fn start_watch_with(
    paths: &Paths,
    data: &DataStack,
    port: u16,
    endpoints_file: &Path,
    release: bool,
    instances: u32,
    gate: &Gate,
) -> Result<Watch> {
    let registry = Registry::load(&paths.root)?;
    let rules = gate.rules(paths, &registry)?;
    let base = format!("http://127.0.0.1:{port}");
    let upstream = free_port()?;
    let watch_base = format!("http://127.0.0.1:{upstream}");
    // The proxy and the comparator invoke functions through watch's own Invoke API.
    let mut function_env = function_env(data, &watch_base, &base);
    function_env.extend([
        // watch runs an `Event` invocation to its end before answering (config.rs's Handoff).
        ("HANDOFF".to_owned(), "detached".to_owned()),
        // The binaries watch runs: their build ids are the versions an experiment records.
        (
            "LOCAL_BUILDS_DIR".to_owned(),
            paths
                .target
                .join(if release { "release" } else { "debug" })
                .display()
                .to_string(),
        ),
    ]);
    let env_file = paths.local.join(format!("functions-{port}.env"));
    let lines: String = function_env
        .iter()
        .map(|(k, v)| {
            if v.contains(['{', '"', ' ', '=', ',']) {
                format!("{k}='{v}'\n")
            } else {
                format!("{k}={v}\n")
            }
        })
        .collect();
    std::fs::write(&env_file, lines)?;

    let profile = if release { "--release" } else { "--debug" };
    log!("building the function binaries ({})", &profile[2..]);
    // Every binary, as ./build.sh builds them and as watch's own `cargo run --bin` resolves
    // features: the same build, no second one.
    let mut build = Cmd::new("cargo").args(["build", "--quiet", "--bins"]);
    if release {
        build = build.arg("--release");
    }
    build.run()?;

    log!("starting cargo lambda watch on {watch_base}");
    let mut watch = Cmd::new("cargo")
        .args(["lambda", "watch"])
        .envs(local_env())
        .env("PATH", paths.path_var());
    if release {
        watch = watch.arg("--release");
    }
    let watch = watch
        .args(["--ignore-changes", "-A", "127.0.0.1", "-P"])
        .arg(upstream.to_string())
        .args(["--concurrency", &instances.to_string()])
        .arg("--env-file")
        .arg(env_file.display().to_string());
    let mut process = procs::spawn(&watch, &paths.local.join(format!("watch-{port}.log")))?;
    wait_for_http(
        upstream,
        "/lambda-url/shortener/",
        Duration::from_secs(120),
        "cargo lambda watch",
        &mut process,
    )?;
    // watch starts a function's process on its first request; start them all now, so no first
    // request (an experiment's candidate with a timeout, say) pays for it.
    log!("starting every function once");
    for function in &registry.functions {
        http_status(upstream, &format!("/lambda-url/{}/", function.name));
    }
    log!(
        "starting the front on {base}: Function URLs {}, HTTP API routes {}",
        match gate.url_auth {
            UrlAuth::AwsIam => "AWS_IAM (SigV4 required)",
            UrlAuth::None => "NONE (public)",
        },
        if gate.route_parameters.is_some() {
            "throttled as template.yaml says"
        } else {
            "not throttled"
        }
    );
    write_endpoints(&registry, &base, &data.tables, &rules, endpoints_file)?;
    let front = front::start(port, upstream, rules)?;
    Ok(Watch {
        port,
        endpoints_file: endpoints_file.to_owned(),
        _front: front,
        _process: process,
    })
}

/// The local endpoints file: the functions with HTTP API routes at the base (the router's, as on
/// AWS), every other function at watch's `/lambda-url/<function>` (memory variants run the same
/// binary, and locally there is one), the tables, and how the Function URLs authenticate.
pub fn endpoints(
    registry: &Registry,
    base: &str,
    tables: &Tables,
    gate: &front::Rules,
) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for function in &registry.functions {
        // As in a deployed stack's endpoints: a function's Function URL when it has one.
        let url = if gate.url_functions.contains(&function.name) || function.routes().is_empty() {
            format!("{base}/lambda-url/{}", function.name)
        } else {
            base.to_owned()
        };
        map.insert(function.name.clone(), url.into());
    }
    map.insert("tables".to_owned(), json!(tables));
    if gate.verifier.is_some() {
        let iam = IamUrls {
            region: LOCAL_REGION.to_owned(),
            functions: gate.url_functions.clone(),
        };
        map.insert(AUTH_KEY.to_owned(), iam.to_endpoints_entry());
    }
    map.insert(ROUTE_LIMITS_KEY.to_owned(), gate.limits.to_json());
    serde_json::Value::Object(map)
}

fn write_endpoints(
    registry: &Registry,
    base: &str,
    tables: &Tables,
    gate: &front::Rules,
    file: &Path,
) -> Result<()> {
    let text = serde_json::to_string_pretty(&endpoints(registry, base, tables, gate))?;
    std::fs::write(file, text + "\n").with_context(|| format!("cannot write {}", file.display()))
}

/// A running chromedriver; `url` is its WebDriver endpoint.
pub struct ChromeDriver {
    pub url: String,
    _process: Background,
}

pub fn start_chromedriver(paths: &Paths) -> Result<ChromeDriver> {
    let port = free_port()?;
    log!("starting chromedriver on 127.0.0.1:{port}");
    let mut process = procs::spawn(
        &Cmd::new("chromedriver").arg(format!("--port={port}")),
        &paths.local.join(format!("chromedriver-{port}.log")),
    )?;
    wait_for_http(
        port,
        "/status",
        Duration::from_secs(30),
        "chromedriver",
        &mut process,
    )?;
    Ok(ChromeDriver {
        url: format!("http://127.0.0.1:{port}"),
        _process: process,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_list_every_deployment_and_the_tables() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let registry = Registry::load(&root).unwrap();
        let tables = Tables::from([("LinksTable".to_owned(), "test-LinksTable".to_owned())]);
        let rules = front::Rules {
            verifier: None,
            url_functions: BTreeSet::from(["round-control".to_owned()]),
            routes: Vec::new(),
            limits: RouteLimits {
                default: None,
                routes: BTreeMap::new(),
            },
        };
        let endpoints = endpoints(&registry, "http://127.0.0.1:9000", &tables, &rules);
        assert_eq!(endpoints["experiment-report"], "http://127.0.0.1:9000");
        assert!(
            endpoints[AUTH_KEY].is_null(),
            "public URLs: nothing to sign"
        );
        assert_eq!(endpoints["shortener"], "http://127.0.0.1:9000");
        assert_eq!(
            endpoints["round-control"],
            "http://127.0.0.1:9000/lambda-url/round-control"
        );
        assert!(
            endpoints["pbkdf2-control-3008"].is_null(),
            "one binary locally"
        );
        assert_eq!(endpoints["tables"]["LinksTable"], "test-LinksTable");
        for function in &registry.functions {
            assert!(endpoints[&function.name].is_string(), "{}", function.name);
        }
    }

    #[test]
    fn http_status_reads_the_status_line_and_none_without_a_server() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 256];
            let _ = stream.read(&mut buf);
            stream.write_all(b"HTTP/1.1 404 Not Found\r\n\r\n").unwrap();
        });
        assert_eq!(http_status(port, "/x"), Some(404));
        server.join().unwrap();
        assert_eq!(http_status(free_port().unwrap(), "/"), None);
    }
}
