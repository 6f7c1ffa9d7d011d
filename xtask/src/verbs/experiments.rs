//! `./build.sh experiments upload|reset`: the experiment definitions stored in a stack, or one
//! experiment's records deleted.

use std::path::PathBuf;

use anyhow::Result;

use super::stack_env;
use crate::cmd::Cmd;
use crate::local;
use crate::tools::Paths;

/// `./build.sh experiments upload <env> [region profile] [files...]`.
pub fn upload(
    paths: &Paths,
    env: &str,
    region: Option<&str>,
    profile: &str,
    files: Vec<PathBuf>,
) -> Result<()> {
    let vars = stack_env(paths, env, region, profile)?;
    let files = if files.is_empty() {
        local::definition_files(&paths.root)?
    } else {
        files
    };
    local::upload_experiments(paths, &vars, &files)
}

/// `./build.sh experiments reset <env> [region profile] <experiment>`: deletes its records and
/// counters (the `experiments` binary is built with every other by ./build.sh).
pub fn reset(
    paths: &Paths,
    env: &str,
    region: Option<&str>,
    profile: &str,
    experiment: &str,
) -> Result<()> {
    let vars = stack_env(paths, env, region, profile)?;
    Cmd::new(paths.target.join("debug/experiments").display().to_string())
        .args(["reset", experiment])
        .envs(vars)
        .run()
}
