#!/usr/bin/env bash
# The project's one entry point: set-up, local stack, tests and (later) deployment.
#
#   ./build.sh local                                  run the whole app on this machine until Ctrl-C
#   ./build.sh test                                   everything that runs offline (what CI runs)
#   ./build.sh int-test <env> [region] [profile]      suite in-process (TEST_MODE=handler)
#   ./build.sh acceptance-test <env> [region] [profile]  suite over HTTP (TEST_MODE=http)
#   ./build.sh bench [cargo bench args]               criterion benches, DynamoDB Local included
#   ./build.sh new-candidate <family> <name>          scaffold a workshop candidate (answers 501)
#   ./build.sh tune local|<env> <region> <profile> [options]  memory-size tuning (benches/tune/README.md)
#   ./build.sh deploy <env> <region> <profile>        deploy to AWS (not implemented yet)
#
# Tools it needs and can fetch itself go into .tools/ (git-ignored); runtime state into .local/.
# Every process it starts runs in its own process group and is stopped on exit, error or Ctrl-C.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

TOOLS="$ROOT/.tools"
LOCAL_DIR="$ROOT/.local"
VENV="$TOOLS/venv"

# Pinned tool versions.
DDB_SIMULATOR_VERSION="2.9.30"   # npm amplify-dynamodb-simulator, carries DynamoDB Local 1.25.1
CARGO_LAMBDA_VERSION="1.9.2"
CFN_LINT_VERSION="1.58.0"
SAM_CLI_VERSION="1.170.0"
ZIGLANG_VERSION="0.13.0"

DDB_DIR="$TOOLS/dynamodb-local-$DDB_SIMULATOR_VERSION"

# Fixed fake credentials and region for everything local: without them the SDK goes looking for
# instance metadata. DynamoDB Local runs with -sharedDb, so any key sees the same tables.
LOCAL_ENV=(
  AWS_ACCESS_KEY_ID=local
  AWS_SECRET_ACCESS_KEY=local
  AWS_REGION=us-east-1
  AWS_DEFAULT_REGION=us-east-1
  AWS_EC2_METADATA_DISABLED=true
  SDK_ATTEMPT_TIMEOUT_MS=5000
  SDK_OPERATION_TIMEOUT_MS=12000
)
LOCAL_CODE_KEY="local-only-code-key-not-secret"
LOCAL_AASA='{"applinks":{"apps":[],"details":[{"appID":"ABCDE12345.com.example.app","paths":["*"]}]}}'

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Processes we start: each in its own process group, all stopped on exit.
STARTED=()
stop_all() {
  local pgid
  for pgid in "${STARTED[@]}"; do
    kill -TERM -- "-$pgid" 2>/dev/null || true
  done
  for _ in $(seq 1 50); do
    local alive=0
    for pgid in "${STARTED[@]}"; do
      if kill -0 -- "-$pgid" 2>/dev/null; then alive=1; fi
    done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pgid in "${STARTED[@]}"; do
    kill -KILL -- "-$pgid" 2>/dev/null || true
  done
  STARTED=()
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_bg <logfile> <command...>: runs the command in a new session (its own process group) and
# sets BG_PID. (Not called in $(...): the subshell would lose the STARTED entry.)
BG_PID=""
start_bg() {
  local logfile="$1"; shift
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  BG_PID=$!
  STARTED+=("$BG_PID")
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_http <url> <seconds> <what> [pid]: polls until the URL answers (any HTTP status).
wait_for_http() {
  local url="$1" seconds="$2" what="$3" pid="${4:-}"
  local deadline=$((SECONDS + seconds))
  while ! curl -s -o /dev/null --max-time 2 "$url"; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      die "$what exited while starting; see its log in $LOCAL_DIR"
    fi
    [ $SECONDS -ge $deadline ] && die "$what did not answer on $url within ${seconds}s"
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# Prerequisites and tools.
require() {
  local missing=()
  command -v cargo >/dev/null || missing+=("Rust (cargo): install with rustup, https://rustup.rs")
  command -v java >/dev/null || missing+=("Java 17+: e.g. 'apt-get install openjdk-17-jre-headless'")
  command -v npm >/dev/null || missing+=("Node.js and npm: e.g. 'apt-get install nodejs npm'")
  command -v python3 >/dev/null || missing+=("Python 3 with venv and pip: e.g. 'apt-get install python3-venv python3-pip'")
  command -v curl >/dev/null || missing+=("curl: e.g. 'apt-get install curl'")
  if [ ${#missing[@]} -gt 0 ]; then
    printf 'missing prerequisite: %s\n' "${missing[@]}" >&2
    exit 1
  fi
  local java_major
  java_major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  if [ -z "$java_major" ] || [ "$java_major" -lt 17 ]; then
    die "Java 17 or newer is needed for DynamoDB Local (found: ${java_major:-none})"
  fi
}

ensure_python_tools() {
  local stamp="$VENV/.versions"
  local want="cargo-lambda==$CARGO_LAMBDA_VERSION cfn-lint==$CFN_LINT_VERSION aws-sam-cli==$SAM_CLI_VERSION ziglang==$ZIGLANG_VERSION"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  log "installing Python tools into $VENV ($want)"
  python3 -m venv "$VENV" || die "python3 -m venv failed: install python3-venv"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $want
  echo "$want" >"$stamp"
}

ensure_dynamodb_local() {
  [ -f "$DDB_DIR/DynamoDBLocal.jar" ] && return
  log "fetching DynamoDB Local (npm amplify-dynamodb-simulator@$DDB_SIMULATOR_VERSION)"
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "amplify-dynamodb-simulator@$DDB_SIMULATOR_VERSION" >/dev/null)
  tar -xzf "$tmp"/amplify-dynamodb-simulator-*.tgz -C "$tmp"
  mkdir -p "$DDB_DIR"
  cp -r "$tmp/package/emulator/." "$DDB_DIR/"
  rm -rf "$tmp"
}

# Headless Chromium and its WebDriver for the page test: Debian's packages, installed when missing.
# (Debian replaces chromium with each security release, so the version follows the archive.)
ensure_chromium() {
  command -v chromium >/dev/null && command -v chromedriver >/dev/null && return
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "chromium and chromium-driver are missing; install them as root: apt-get install chromium chromium-driver"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null || die "chromium and chromedriver are missing and this is not a Debian-like system; install them and put them on PATH"
  log "installing chromium and chromium-driver (Debian packages)"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
}

ensure_tools() {
  require
  mkdir -p "$TOOLS" "$LOCAL_DIR"
  ensure_python_tools
  ensure_dynamodb_local
  export PATH="$VENV/bin:$PATH"
}

# ---------------------------------------------------------------------------------------------
# The local stack.
DDB_PID=""
WATCH_PID=""

# start_dynamodb <port> <in-memory|persistent>
start_dynamodb() {
  local port="$1" mode="$2" storage=(-inMemory)
  if [ "$mode" = persistent ]; then
    mkdir -p "$LOCAL_DIR/dynamodb"
    storage=(-dbPath "$LOCAL_DIR/dynamodb")
  fi
  log "starting DynamoDB Local on 127.0.0.1:$port ($mode)"
  start_bg "$LOCAL_DIR/dynamodb-$port.log" java -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" \
    -jar "$DDB_DIR/DynamoDBLocal.jar" -sharedDb -disableTelemetry -port "$port" "${storage[@]}"
  DDB_PID="$BG_PID"
  wait_for_http "http://127.0.0.1:$port" 60 "DynamoDB Local" "$DDB_PID"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
}

# create_tables <prefix>: the tables of template.yaml; sets LINKS_TABLE.
create_tables() {
  local prefix="$1" names
  names="$(env "${LOCAL_ENV[@]}" "$VENV/bin/python" scripts/local_tables.py template.yaml "$AWS_ENDPOINT_URL_DYNAMODB" "$prefix")"
  LINKS_TABLE="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["LinksTable"])' "$names")"
  export LINKS_TABLE
}

function_env() {
  cat <<EOV
LINKS_TABLE=$LINKS_TABLE
AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB
CODE_KEY=$LOCAL_CODE_KEY
APPLE_APP_SITE_ASSOCIATION='$LOCAL_AASA'
SHORT_URL_BASE=$SHORT_URL_BASE
RUST_LOG=${RUST_LOG:-info}
EOV
  printf '%s\n' "${LOCAL_ENV[@]}"
}

# Binaries of the workspace's function crates (their names are the function names).
function_binaries() {
  cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
meta = json.load(sys.stdin)
for p in meta["packages"]:
    if "/functions/" not in p["manifest_path"]:
        continue
    for t in p["targets"]:
        if "bin" in t["kind"]:
            print(t["name"])'
}

# start_watch <port>: cargo lambda watch serving every function; writes .local/endpoints.json.
start_watch() {
  local port="$1"
  export SHORT_URL_BASE="http://127.0.0.1:$port"
  function_env >"$LOCAL_DIR/functions.env"
  log "building function binaries"
  cargo build --quiet --bins --workspace
  log "starting cargo lambda watch on 127.0.0.1:$port"
  start_bg "$LOCAL_DIR/watch-$port.log" env "${LOCAL_ENV[@]}" cargo lambda watch \
    --ignore-changes -A 127.0.0.1 -P "$port" --env-file "$LOCAL_DIR/functions.env"
  WATCH_PID="$BG_PID"
  wait_for_http "http://127.0.0.1:$port/lambda-url/shortener/" 120 "cargo lambda watch" "$WATCH_PID"
  write_endpoints "$port"
}

write_endpoints() {
  local port="$1" base="http://127.0.0.1:$1"
  {
    printf '{\n  "shortener": "%s"' "$base"
    local fn
    for fn in $(function_binaries); do
      [ "$fn" = shortener ] && continue
      printf ',\n  "%s": "%s/lambda-url/%s"' "$fn" "$base" "$fn"
    done
    printf ',\n  "tables": {"LinksTable": "%s"}\n}\n' "$LINKS_TABLE"
  } >"$LOCAL_DIR/endpoints.json"
  export ENDPOINTS_FILE="$LOCAL_DIR/endpoints.json"
}

start_chromedriver() {
  local port
  port="$(free_port)"
  log "starting chromedriver on 127.0.0.1:$port"
  start_bg "$LOCAL_DIR/chromedriver-$port.log" chromedriver --port="$port"
  wait_for_http "http://127.0.0.1:$port/status" 30 "chromedriver" "$BG_PID"
  export WEBDRIVER_URL="http://127.0.0.1:$port"
}

# ---------------------------------------------------------------------------------------------
# Test steps.
run_suite() {
  local mode="$1"
  log "acceptance suite, TEST_MODE=$mode"
  env "${LOCAL_ENV[@]}" TEST_MODE="$mode" CODE_KEY="$LOCAL_CODE_KEY" APPLE_APP_SITE_ASSOCIATION="$LOCAL_AASA" \
    cargo test --quiet -p acceptance --test suite -- --test-threads 8
}

local_int_test() {
  start_dynamodb "$(free_port)" in-memory
  create_tables "test-"
  SHORT_URL_BASE="" run_suite handler
  run_fault_test
}

local_acceptance_test() {
  start_dynamodb "$(free_port)" in-memory
  create_tables "test-"
  start_watch "$(free_port)"
  run_suite http
  ensure_chromium
  run_browser_test
}

# DynamoDB Local killed and restarted under load; the test runs its own instance.
run_fault_test() {
  log "fault test: DynamoDB Local stopped and restarted mid-run"
  env "${LOCAL_ENV[@]}" DYNAMODB_LOCAL_DIR="$DDB_DIR" \
    cargo test --quiet -p acceptance --test faults -- --nocapture
}

# The create page in headless Chromium against the running stack (start_watch first).
run_browser_test() {
  start_chromedriver
  log "browser test: the create page in headless Chromium"
  env "${LOCAL_ENV[@]}" cargo test --quiet -p acceptance --test browser
}

cmd_test() {
  local started=$SECONDS
  ensure_tools
  ensure_chromium
  log "cargo fmt --check"
  cargo fmt --all --check
  log "cargo clippy"
  cargo clippy --quiet --workspace --all-targets -- -D warnings
  log "unit and property tests"
  cargo test --quiet --workspace --exclude acceptance
  log "cfn-lint template.yaml"
  cfn-lint template.yaml
  start_dynamodb "$(free_port)" in-memory
  create_tables "test-"
  SHORT_URL_BASE="" run_suite handler
  run_fault_test
  start_watch "$(free_port)"
  run_suite http
  run_browser_test
  stop_all
  log "all tests passed in $((SECONDS - started))s"
}

# Criterion benches (PBKDF2; the shortener against its own DynamoDB Local). `./build.sh bench
# [cargo bench args]`, e.g. `./build.sh bench --bench shortener`.
cmd_bench() {
  ensure_tools
  start_dynamodb "$(free_port)" in-memory
  create_tables "bench-"
  log "cargo bench $*"
  env "${LOCAL_ENV[@]}" SDK_ATTEMPT_TIMEOUT_MS=5000 SDK_OPERATION_TIMEOUT_MS=12000 \
    cargo bench -p benches "$@"
  stop_all
}

cmd_local() {
  ensure_tools
  start_dynamodb "${DDB_PORT:-8000}" persistent
  create_tables "local-"
  start_watch "${WATCH_PORT:-9000}"
  cat <<EOM

The app is running (Ctrl-C stops everything):
  shortener page   $SHORT_URL_BASE/
  endpoints        $LOCAL_DIR/endpoints.json
  DynamoDB Local   $AWS_ENDPOINT_URL_DYNAMODB (data in $LOCAL_DIR/dynamodb)
  logs             $LOCAL_DIR/*.log
Creating links is open locally (no API key); the deployed stack requires IAM auth on POST /.
EOM
  cat "$LOCAL_DIR/endpoints.json"
  wait "$WATCH_PID"
}

# Memory-size tuning (benches/tune/README.md). `tune local [options]` runs the function's release
# binary here under a Lambda-like CPU quota (needs root and cgroup v1); `tune <env> <region>
# <profile> [options]` invokes the deployed functions with the AWS CLI (`--dry-run` only prints).
cmd_tune() {
  [ $# -ge 1 ] || die "usage: ./build.sh tune local|<env> <region> <profile> [options]; see benches/tune/README.md"
  command -v cargo >/dev/null || die "Rust (cargo) is needed: install with rustup, https://rustup.rs"
  local fn_name=pbkdf2-control prev="" arg
  for arg in "$@"; do
    [ "$prev" = --function ] && fn_name="$arg"
    case "$arg" in --function=*) fn_name="${arg#--function=}" ;; esac
    prev="$arg"
  done
  log "building the tuning tool (release)"
  cargo build --quiet --release -p tune
  if [ "$1" = local ]; then
    log "building $fn_name (release)"
    cargo build --quiet --release --bin "$fn_name"
  fi
  "${CARGO_TARGET_DIR:-$ROOT/target}/release/tune" "$@"
}

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

main() {
  local verb="${1:-}"
  [ $# -gt 0 ] && shift
  case "$verb" in
    local) cmd_local ;;
    test) cmd_test ;;
    bench) cmd_bench "$@" ;;
    tune) cmd_tune "$@" ;;
    int-test|acceptance-test)
      local env="${1:-}"
      [ -n "$env" ] || usage 2
      if [ "$env" = local ]; then
        ensure_tools
        if [ "$verb" = int-test ]; then local_int_test; else local_acceptance_test; fi
      else
        die "$verb against AWS environment '$env' needs ./build.sh deploy, which is not implemented yet"
      fi
      ;;
    new-candidate)
      [ $# -eq 2 ] || die "usage: ./build.sh new-candidate <round|sort|fizzbuzz|pbkdf2> <name>"
      python3 scripts/new_candidate.py "$1" "$2"
      cargo fmt --all
      ;;
    deploy)
      die "deploy is not implemented yet (see the open issue on deploying to AWS)" ;;
    -h|--help|help) usage 0 ;;
    *) usage 2 ;;
  esac
}

main "$@"
