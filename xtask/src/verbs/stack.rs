//! What a tool needs to reach a running stack: the local one's variables, or a deployed one's,
//! read from its outputs (which also write its endpoints file).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use registry::Registry;

use crate::aws::{self, Target};
use crate::cmd::Cmd;
use crate::local;
use crate::log;
use crate::tools::{self, Paths};

/// The variables a tool needs to reach a running stack: `local` is `./build.sh local`'s.
pub fn stack_env(
    paths: &Paths,
    env: &str,
    region: Option<&str>,
    profile: &str,
) -> Result<Vec<(String, String)>> {
    if env == "local" {
        let file = paths.local.join("endpoints.json");
        let text = std::fs::read_to_string(&file)
            .with_context(|| "no local stack: start ./build.sh local first")?;
        let endpoints: serde_json::Value = serde_json::from_str(&text)?;
        let dynamodb_port = std::env::var("DDB_PORT").unwrap_or_else(|_| "8000".to_owned());
        let mut vars = local::local_env();
        vars.extend([
            ("ENDPOINTS_FILE".to_owned(), file.display().to_string()),
            (
                "AWS_ENDPOINT_URL_DYNAMODB".to_owned(),
                format!("http://127.0.0.1:{dynamodb_port}"),
            ),
            (
                "EXPERIMENTS_TABLE".to_owned(),
                endpoints["tables"]["ExperimentsTable"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
        ]);
        return Ok(vars);
    }
    let region =
        region.with_context(|| format!("environment {env} needs a region (and a profile)"))?;
    let registry = Registry::load(&paths.root)?;
    let target = Target::new(&registry, env, region, profile)?;
    tools::ensure_awscli(paths)?;
    deployed_env(paths, &registry, &target, false)
}

/// Reads a deployed stack's outputs, writes its endpoints file and returns what the suite and
/// the tools need to reach it. `for_suite` adds the in-process shortener's own code key and the
/// stack's API key (POST / needs it).
pub fn deployed_env(
    paths: &Paths,
    registry: &Registry,
    target: &Target,
    for_suite: bool,
) -> Result<Vec<(String, String)>> {
    let outputs = fetch_endpoints(paths, registry, target)?;
    let output = |key: &str| -> Result<String> {
        outputs
            .get(key)
            .cloned()
            .with_context(|| format!("{} has no output {key}", target.stack()))
    };
    let mut vars = vec![
        ("PATH".to_owned(), paths.path_var()),
        ("AWS_PROFILE".to_owned(), target.profile.clone()),
        ("AWS_REGION".to_owned(), target.region.clone()),
        ("LINKS_TABLE".to_owned(), output("LinksTableName")?),
        (
            "EXPERIMENTS_TABLE".to_owned(),
            output("ExperimentsTableName")?,
        ),
        (
            "ENDPOINTS_FILE".to_owned(),
            endpoints_file(paths, target).display().to_string(),
        ),
    ];
    if for_suite {
        let key = Cmd::new("aws")
            .args(["secretsmanager", "get-secret-value", "--secret-id"])
            .arg(output("CreateApiKeySecretArn")?)
            .args(["--query", "SecretString", "--output", "text"])
            .args(["--region", &target.region, "--profile", &target.profile])
            .env("PATH", paths.path_var())
            .read()?;
        let code_key = format!("int-test-{}", uuid_like()?);
        let aasa = std::env::var("APPLE_APP_SITE_ASSOCIATION")
            .unwrap_or_else(|_| r#"{"applinks":{"apps":[],"details":[]}}"#.to_owned());
        vars.extend([
            ("SHORTENER_API_KEY".to_owned(), key.trim().to_owned()),
            // The in-process shortener (TEST_MODE=handler) checks the same key.
            ("CREATE_API_KEY".to_owned(), key.trim().to_owned()),
            ("CODE_KEY".to_owned(), code_key),
            ("APPLE_APP_SITE_ASSOCIATION".to_owned(), aasa),
        ]);
    }
    Ok(vars)
}

/// 32 hex digits from the OS's randomness.
fn uuid_like() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn endpoints_file(paths: &Paths, target: &Target) -> PathBuf {
    target.state_dir(&paths.deploy).join("endpoints.json")
}

/// The stack's outputs, and `.deploy/<env>/<region>/endpoints.json` written from them.
pub(super) fn fetch_endpoints(
    paths: &Paths,
    registry: &Registry,
    target: &Target,
) -> Result<BTreeMap<String, String>> {
    let json = aws::outputs_query(target)
        .env("PATH", paths.path_var())
        .read()
        .with_context(|| {
            format!(
                "could not read the outputs of {} in {} (profile {})",
                target.stack(),
                target.region,
                target.profile
            )
        })?;
    let outputs = aws::parse_outputs(&json)?;
    let endpoints = aws::endpoints_from_outputs(
        &crate::scaffolded::template(&paths.root, registry)?,
        &outputs,
        &target.region,
    )?;
    let file = endpoints_file(paths, target);
    std::fs::create_dir_all(file.parent().expect("a folder"))?;
    std::fs::write(&file, serde_json::to_string_pretty(&endpoints)? + "\n")?;
    log!("endpoints of {}: {}", target.stack(), file.display());
    Ok(outputs)
}
