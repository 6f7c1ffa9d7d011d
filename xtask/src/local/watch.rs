//! Every function of the registry served by one `cargo lambda watch`, behind the front that checks
//! what AWS checks (front/), and the endpoints file that says where each one is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use registry::Registry;
use serde_json::json;
use shared::function_url::{AUTH_KEY, IamUrls};

use super::data::{DataStack, function_env};
use super::dynamodb::Tables;
use super::probe::{free_port, http_status, wait_for_http};
use super::{LOCAL_REGION, local_env};
use crate::cmd::Cmd;
use crate::front::sigv4::Verifier;
use crate::front::throttle::{ROUTE_LIMITS_KEY, RouteLimits};
use crate::front::{self, Front, UrlAuth};
use crate::log;
use crate::procs::{self, Background};
use crate::template::Template;
use crate::tools::Paths;

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
