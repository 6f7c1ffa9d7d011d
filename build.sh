#!/usr/bin/env bash
# The project's one entry point: set-up, local stack, tests, benches and deployment to AWS.
#
#   ./build.sh local [--url-auth AWS_IAM]             run the whole app on this machine until Ctrl-C
#   ./build.sh test [--quick]                         everything that runs offline (what CI runs);
#                                                     --quick skips the arm64 build
#   ./build.sh int-test <env[,env...]> [region] [profile]         suite in-process (TEST_MODE=handler)
#   ./build.sh acceptance-test <env[,env...]> [region] [profile]  suite over HTTP (TEST_MODE=http)
#   ./build.sh bench [cargo bench args]               benches (DynamoDB Local, Node.js peer); writes PERFORMANCE.md
#   ./build.sh bench --report-only                    PERFORMANCE.md again from the last run's log and the deploy zips
#   ./build.sh new-candidate <family> <name>          scaffold a workshop candidate (answers 501)
#   ./build.sh experiments upload <env> [region profile] [files]   store experiment definitions
#   ./build.sh experiments reset <env> [region profile] <experiment>   forget its comparisons (local use)
#   ./build.sh traffic <env> [region profile] <experiment> [--count N]   requests through the proxy
#   ./build.sh tune local|<env> <region> <profile> [options]  memory-size tuning (benches/tune/README.md)
#   ./build.sh explore <env> [region profile] <experiment> [--cases N] [--seed X] [--uniform]
#                                                     find and shrink an input that separates a candidate
#   ./build.sh audit                                  template scan and cargo deny (licences, bans, sources)
#   ./build.sh load [--redirects N] [--creates M] [--seconds S]  bounded load and soak test of the local shortener
#   ./build.sh verdict <env> [region profile] <experiment> [candidate]   is a candidate better, with what confidence
#   ./build.sh promote <env> [region profile] <experiment> <candidate> [--release] | --undo   make it the control
#   ./build.sh deploy <env> <region> <profile> [--dry-run]   build arm64, deploy stack rust-serverless-<env>
#   ./build.sh remove <env> <region> <profile> [--delete-data] [--dry-run]  delete the stack
#   ./build.sh check                                  the registry (functions.toml) against everything else
#
# This script only checks for Rust and hands over to the workspace's tooling, xtask/ (Rust, clap):
# `./build.sh <verb> --help` describes each verb. Tools it fetches go into .tools/ (git-ignored),
# runtime state into .local/; every process it starts is stopped on exit, error or Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v cargo >/dev/null; then
  echo "missing prerequisite: Rust (cargo): install with rustup, https://rustup.rs" >&2
  exit 1
fi
# Every binary of the workspace at once (xtask among them): one feature resolution, shared by
# cargo lambda watch's builds, so nothing is compiled twice for want of a feature.
if [ ! -x "${CARGO_TARGET_DIR:-target}/debug/xtask" ]; then
  # The first build prints nothing for minutes otherwise.
  echo "==> building the workspace's tools and functions (debug): the first time about 3 minutes on a 2-core laptop, seconds after" >&2
fi
cargo build --quiet --bins
exec "${CARGO_TARGET_DIR:-target}/debug/xtask" "$@"
