//! `./build.sh traffic`: requests through the experiment proxy, by the `traffic` binary.

use anyhow::Result;

use super::stack_env;
use crate::cmd::Cmd;
use crate::tools::Paths;

/// `./build.sh traffic <env> [region profile] <experiment> [--count N]`.
pub fn run(
    paths: &Paths,
    env: &str,
    region: Option<&str>,
    profile: &str,
    args: &[String],
) -> Result<()> {
    let vars = stack_env(paths, env, region, profile)?;
    // The `traffic` binary is built with every other by ./build.sh.
    Cmd::new(paths.target.join("debug/traffic").display().to_string())
        .args(args.iter().cloned())
        .envs(vars)
        .run()
}
