#!/usr/bin/env bash
# The project's one entry point: set-up, local stack, tests, benches and deployment to AWS.
#
#   ./build.sh local    run the whole app on this machine until Ctrl-C
#   ./build.sh test     everything that runs offline (what CI runs)
#
# Every verb: `./build.sh --help`, `./build.sh <verb> --help`, or docs/reference/cli.md (generated
# from the same clap definitions). This script only checks for Rust and hands over to the
# workspace's tooling, xtask/ (Rust). Tools it fetches go into .tools/ (git-ignored), runtime state
# into .local/; every process it starts is stopped on exit, error or Ctrl-C.
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
