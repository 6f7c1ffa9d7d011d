//! One local stack's data (DynamoDB Local, its tables, the experiment definitions uploaded), and
//! the variables that reach it: a tool's, and every function's.

use std::path::{Path, PathBuf};

use anyhow::Result;
use registry::Registry;

use super::dynamodb::{DynamoDb, Tables, create_tables, start_dynamodb};
use super::{LOCAL_AASA, LOCAL_CODE_KEY, local_env};
use crate::cmd::Cmd;
use crate::template::Template;
use crate::tools::Paths;

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
/// and the settings a local stack changes. `cargo lambda watch`
/// ([`start_watch`](super::start_watch)) and the arm64 bootstraps (`arm64_smoke.rs`) run with them.
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
