#!/usr/bin/env bash
# The project's one entry point: set-up, local stack, tests, benches and deployment to AWS.
#
#   ./build.sh local                                  run the whole app on this machine until Ctrl-C
#   ./build.sh test [--quick]                         everything that runs offline (what CI runs);
#                                                     --quick skips the arm64 sam build
#   ./build.sh int-test <env[,env...]> [region] [profile]         suite in-process (TEST_MODE=handler)
#   ./build.sh acceptance-test <env[,env...]> [region] [profile]  suite over HTTP (TEST_MODE=http)
#   ./build.sh bench [cargo bench args]               benches (DynamoDB Local, Node.js peer); writes PERFORMANCE.md
#   ./build.sh new-candidate <family> <name>          scaffold a workshop candidate (answers 501)
#   ./build.sh experiments upload <env> [region profile] [files]   store experiment definitions
#   ./build.sh traffic <env> [region profile] <experiment> [--count N]   requests through the proxy
#   ./build.sh tune local|<env> <region> <profile> [options]  memory-size tuning (benches/tune/README.md)
#   ./build.sh deploy <env> <region> <profile> [--dry-run]   build arm64, deploy stack <app>-<env>
#   ./build.sh remove <env> <region> <profile> [--delete-data] [--dry-run]  delete the stack
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
AWSCLI_VERSION="1.46.3"         # own venv: its botocore pin differs from the SAM CLI's

APP_NAME="rust-serverless"      # stacks are $APP_NAME-<env>
AWSCLI_VENV="$TOOLS/awscli"
DEPLOY_DIR="$ROOT/.deploy"      # per-environment stack outputs and endpoints (git-ignored)
export SAM_CLI_TELEMETRY=0

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
TEMPLATE_DEFAULT_AASA='{"applinks":{"apps":[],"details":[]}}'  # template.yaml's default
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

ensure_awscli() {
  local stamp="$AWSCLI_VENV/.version"
  if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$AWSCLI_VERSION" ]; }; then
    log "installing the AWS CLI $AWSCLI_VERSION into $AWSCLI_VENV"
    python3 -m venv "$AWSCLI_VENV" || die "python3 -m venv failed: install python3-venv"
    "$AWSCLI_VENV/bin/pip" install --quiet --disable-pip-version-check "awscli==$AWSCLI_VERSION"
    echo "$AWSCLI_VERSION" >"$stamp"
  fi
  export PATH="$PATH:$AWSCLI_VENV/bin"
}

# The arm64 Linux target that sam build (cargo lambda build --arm64) compiles for.
ensure_arm64_target() {
  rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu && return
  log "adding the Rust target aarch64-unknown-linux-gnu"
  rustup target add aarch64-unknown-linux-gnu
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

# create_tables <prefix>: the tables of template.yaml, with the experiment definitions uploaded;
# sets LINKS_TABLE and EXPERIMENTS_TABLE.
create_tables() {
  local prefix="$1" names
  names="$(env "${LOCAL_ENV[@]}" "$VENV/bin/python" scripts/local_tables.py template.yaml "$AWS_ENDPOINT_URL_DYNAMODB" "$prefix")"
  LINKS_TABLE="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["LinksTable"])' "$names")"
  EXPERIMENTS_TABLE="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ExperimentsTable"])' "$names")"
  export LINKS_TABLE EXPERIMENTS_TABLE
  upload_experiments functions/experiments/definitions/*.yaml
}

# upload_experiments <files...>: validates the definitions and stores them in the local stack's
# EXPERIMENTS_TABLE.
upload_experiments() {
  env "${LOCAL_ENV[@]}" cargo run --quiet -p acceptance --bin experiments -- upload "$@"
}

function_env() {
  cat <<EOV
LINKS_TABLE=$LINKS_TABLE
EXPERIMENTS_TABLE=$EXPERIMENTS_TABLE
HANDOFF=detached
AWS_ENDPOINT_URL_LAMBDA=$AWS_ENDPOINT_URL_LAMBDA
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

# start_watch <port> [endpoints file]: one cargo lambda watch for every function (env file per port).
start_watch() {
  local port="$1" endpoints="${2:-$LOCAL_DIR/endpoints.json}"
  export SHORT_URL_BASE="http://127.0.0.1:$port"
  # The experiment proxy and comparator invoke functions through watch's own Invoke API.
  export AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:$port"
  function_env >"$LOCAL_DIR/functions-$port.env"
  # WATCH_RELEASE=1 (the benches) serves optimised builds; otherwise debug builds, quicker to make.
  local release=()
  [ "${WATCH_RELEASE:-0}" = 1 ] && release=(--release)
  log "building function binaries ${release[*]:-(debug)}"
  cargo build --quiet "${release[@]}" --bins --workspace
  log "starting cargo lambda watch on 127.0.0.1:$port"
  start_bg "$LOCAL_DIR/watch-$port.log" env "${LOCAL_ENV[@]}" cargo lambda watch "${release[@]}" \
    --ignore-changes -A 127.0.0.1 -P "$port" --env-file "$LOCAL_DIR/functions-$port.env"
  WATCH_PID="$BG_PID"
  wait_for_http "http://127.0.0.1:$port/lambda-url/shortener/" 120 "cargo lambda watch" "$WATCH_PID"
  # watch starts a function's process on its first request; start them all now, so no first
  # request (an experiment's candidate with a timeout, say) pays for it.
  log "starting every function once"
  local fn
  for fn in $(function_binaries); do
    curl -s -o /dev/null --max-time 30 "http://127.0.0.1:$port/lambda-url/$fn/" || true
  done
  write_endpoints "$port" "$endpoints"
}

write_endpoints() {
  local port="$1" base="http://127.0.0.1:$1" file="$2"
  {
    printf '{\n  "shortener": "%s"' "$base"
    local fn
    for fn in $(function_binaries); do
      [ "$fn" = shortener ] && continue
      printf ',\n  "%s": "%s/lambda-url/%s"' "$fn" "$base" "$fn"
    done
    printf ',\n  "tables": {"LinksTable": "%s", "ExperimentsTable": "%s"}\n}\n' "$LINKS_TABLE" "$EXPERIMENTS_TABLE"
  } >"$file"
  export ENDPOINTS_FILE="$file"
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
# AWS: deploy, remove, and the stack's outputs. In a dry run every AWS command is printed, not run.
DRY_RUN=0

# shell_word <arg>: the argument as a shell word to copy and paste (quoted only when it must be).
shell_word() {
  case "$1" in
    '') printf "''" ;;
    *[!A-Za-z0-9_./=:,@+%-]*)
      if [[ "$1" != *[\"\$\`\\!]* ]]; then printf '"%s"' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi ;;
    *) printf '%s' "$1" ;;
  esac
}

# run_aws <command...>: runs a command that talks to AWS, or prints it in a dry run.
run_aws() {
  if [ "$DRY_RUN" = 1 ]; then
    local word line="[dry-run]"
    for word in "$@"; do line+=" $(shell_word "$word")"; done
    printf '%s\n' "$line"
    return 0
  fi
  "$@"
}

valid_env_name() {
  [[ "$1" =~ ^[a-z0-9-]{1,20}$ ]] || die "environment names are 1-20 characters of a-z, 0-9 and '-' (got '$1')"
  [[ "$1" != local* ]] || die "environment names starting with 'local' mean the local stack"
}

# The commit to tag the stack with: HEAD, marked -dirty when the tree has uncommitted changes.
source_commit() {
  local head
  head="$(git rev-parse HEAD)"
  if [ -n "$(git status --porcelain)" ]; then echo "$head-dirty"; else echo "$head"; fi
}

# deployed_commit <stack> <region> <profile>: the stack's git-commit tag; "none" without a stack.
# In a dry run it prints the query and answers $STACK_COMMIT (--stack-commit), or "unknown".
deployed_commit() {
  local stack="$1" region="$2" profile="$3"
  local query=(aws cloudformation describe-stacks --stack-name "$stack" --region "$region" --profile "$profile"
    --query "Stacks[0].Tags[?Key=='git-commit'].Value | [0]" --output text)
  if [ "$DRY_RUN" = 1 ]; then
    run_aws "${query[@]}" >&2
    echo "${STACK_COMMIT:-unknown}"
    return
  fi
  "${query[@]}" 2>/dev/null || echo none
}

# fetch_endpoints <env> <region> <profile>: the stack outputs, as .deploy/<env>/endpoints.json (the
# same shape as the local stack's: function name -> base URL, plus "tables").
fetch_endpoints() {
  local env="$1" region="$2" profile="$3" stack="$APP_NAME-$1" dir="$DEPLOY_DIR/$1"
  local query=(aws cloudformation describe-stacks --stack-name "$stack" --region "$region" --profile "$profile"
    --query "Stacks[0].Outputs" --output json)
  if [ "$DRY_RUN" = 1 ]; then
    run_aws "${query[@]}"
    echo "would write $dir/endpoints.json from the outputs"
    return
  fi
  mkdir -p "$dir"
  "${query[@]}" >"$dir/outputs.json" || die "could not read the outputs of $stack in $region (profile $profile)"
  "$VENV/bin/python" scripts/stack_endpoints.py template.yaml "$dir/outputs.json" >"$dir/endpoints.json"
  log "endpoints of $stack: $dir/endpoints.json"
}

# output_value <env> <key>: one output of the stack, from the last fetch_endpoints.
output_value() {
  python3 -c 'import json,sys; print(next(o["OutputValue"] for o in json.load(open(sys.argv[1])) if o["OutputKey"] == sys.argv[2]))' \
    "$DEPLOY_DIR/$1/outputs.json" "$2"
}

# Extra template parameters from the environment, as sam deploy --parameter-overrides items.
parameter_overrides() {
  local env="$1"
  printf '%s\n' "Stage=$env"
  [ -n "${SHORT_URL_BASE:-}" ] && printf '%s\n' "ShortUrlBase=$SHORT_URL_BASE"
  [ -n "${BLOCKED_DOMAINS:-}" ] && printf '%s\n' "BlockedDomains=$BLOCKED_DOMAINS"
  [ -n "${ALARM_EMAIL:-}" ] && printf '%s\n' "AlarmEmail=$ALARM_EMAIL"
  [ -n "${APPLE_APP_SITE_ASSOCIATION:-}" ] && printf '%s\n' "AppleAppSiteAssociation=$APPLE_APP_SITE_ASSOCIATION"
  return 0
}

# The Lambda artifacts are release builds without LTO and with 16 codegen units: SAM builds each
# function with its own cargo invocation, and thin LTO with one codegen unit made every binary's
# final step a minute or more here, for 18 binaries. The benches keep [profile.release] as it is.
LAMBDA_BUILD_ENV=(CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16)

sam_build() {
  if [ "$DRY_RUN" = 1 ]; then
    run_aws env "${LAMBDA_BUILD_ENV[@]}" sam build --template template.yaml --build-dir .aws-sam/build
    return
  fi
  env "${LAMBDA_BUILD_ENV[@]}" sam build --template template.yaml --build-dir .aws-sam/build
}

cmd_deploy() {
  local args=() STACK_COMMIT=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --dry-run) DRY_RUN=1 ;;
      --stack-commit) shift; STACK_COMMIT="${1:-}" ;;
      -*) die "deploy: unknown option $1" ;;
      *) args+=("$1") ;;
    esac
    shift
  done
  [ ${#args[@]} -eq 3 ] || die "usage: ./build.sh deploy <env> <region> <profile> [--dry-run [--stack-commit <sha>]]"
  local env="${args[0]}" region="${args[1]}" profile="${args[2]}"
  valid_env_name "$env"
  [ -z "$STACK_COMMIT" ] || [ "$DRY_RUN" = 1 ] || die "--stack-commit only stands in for AWS in a dry run"
  local stack="$APP_NAME-$env" commit deployed
  commit="$(source_commit)"
  if [ "$DRY_RUN" = 0 ]; then
    ensure_tools
    ensure_awscli
    ensure_arm64_target
  fi
  log "deploy $stack to $region (profile $profile) at commit $commit"
  deployed="$(deployed_commit "$stack" "$region" "$profile")"
  if [ "$deployed" = "$commit" ]; then
    log "skipping deploy: stack $stack is already tagged git-commit=$commit and the tree is clean"
  else
    case "$commit" in
      *-dirty) log "deploying: the tree has uncommitted changes (stack at ${deployed})" ;;
      *) log "deploying: stack is at ${deployed}, this tree is at $commit" ;;
    esac
    local overrides=()
    mapfile -t overrides < <(parameter_overrides "$env")
    sam_build
    run_aws sam deploy --template-file .aws-sam/build/template.yaml --stack-name "$stack" \
      --region "$region" --profile "$profile" --resolve-s3 --s3-prefix "$stack" \
      --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
      --no-confirm-changeset --no-fail-on-empty-changeset \
      --parameter-overrides "${overrides[@]}" \
      --tags "app=$APP_NAME" "env=$env" "git-commit=$commit"
  fi
  fetch_endpoints "$env" "$region" "$profile"
}

cmd_remove() {
  local args=() delete_data=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --dry-run) DRY_RUN=1 ;;
      --delete-data) delete_data=1 ;;
      -*) die "remove: unknown option $1" ;;
      *) args+=("$1") ;;
    esac
    shift
  done
  [ ${#args[@]} -eq 3 ] || die "usage: ./build.sh remove <env> <region> <profile> [--delete-data] [--dry-run]"
  local env="${args[0]}" region="${args[1]}" profile="${args[2]}"
  valid_env_name "$env"
  local stack="$APP_NAME-$env" aws_at=(--region "${args[1]}" --profile "${args[2]}")
  [ "$DRY_RUN" = 1 ] || ensure_awscli
  # What the stack keeps when it goes: the tables and the code key (DeletionPolicy: Retain).
  local output table experiments secret bucket
  output=(aws cloudformation describe-stacks --stack-name "$stack" "${aws_at[@]}" --output text --query)
  if [ "$DRY_RUN" = 1 ]; then
    run_aws "${output[@]}" "Stacks[0].Outputs[?OutputKey=='LinksTableName'].OutputValue | [0]"
    run_aws "${output[@]}" "Stacks[0].Outputs[?OutputKey=='ExperimentsTableName'].OutputValue | [0]"
    run_aws "${output[@]}" "Stacks[0].Outputs[?OutputKey=='CodeKeySecretArn'].OutputValue | [0]"
    table="<LinksTableName>" experiments="<ExperimentsTableName>" secret="<CodeKeySecretArn>"
  else
    table="$("${output[@]}" "Stacks[0].Outputs[?OutputKey=='LinksTableName'].OutputValue | [0]")" \
      || die "no stack $stack in $region (profile $profile)"
    experiments="$("${output[@]}" "Stacks[0].Outputs[?OutputKey=='ExperimentsTableName'].OutputValue | [0]")"
    secret="$("${output[@]}" "Stacks[0].Outputs[?OutputKey=='CodeKeySecretArn'].OutputValue | [0]")"
  fi
  log "removing $stack from $region"
  run_aws aws cloudformation delete-stack --stack-name "$stack" "${aws_at[@]}"
  run_aws aws cloudformation wait stack-delete-complete --stack-name "$stack" "${aws_at[@]}"
  # sam deploy --resolve-s3 uploaded the artifacts under the stack's prefix in SAM's managed bucket.
  local bucket_query=(aws cloudformation describe-stacks --stack-name aws-sam-cli-managed-default "${aws_at[@]}"
    --query "Stacks[0].Outputs[?OutputKey=='SourceBucket'].OutputValue | [0]" --output text)
  if [ "$DRY_RUN" = 1 ]; then
    run_aws "${bucket_query[@]}"
    bucket="<SourceBucket>"
  else
    bucket="$("${bucket_query[@]}" 2>/dev/null || true)"
  fi
  if [ -n "$bucket" ] && [ "$bucket" != None ]; then
    run_aws aws s3 rm "s3://$bucket/$stack" --recursive "${aws_at[@]}"
  fi
  if [ "$delete_data" = 1 ]; then
    run_aws aws dynamodb delete-table --table-name "$table" "${aws_at[@]}"
    run_aws aws dynamodb delete-table --table-name "$experiments" "${aws_at[@]}"
    run_aws aws secretsmanager delete-secret --secret-id "$secret" --force-delete-without-recovery "${aws_at[@]}"
  else
    log "kept the links table $table, the experiments table $experiments and the code key $secret (--delete-data deletes them)"
  fi
  [ "$DRY_RUN" = 1 ] || rm -rf "${DEPLOY_DIR:?}/$env"
}

# ---------------------------------------------------------------------------------------------
# Test steps.
run_suite() {
  local mode="$1"
  log "acceptance suite, TEST_MODE=$mode"
  env "${LOCAL_ENV[@]}" TEST_MODE="$mode" CODE_KEY="$LOCAL_CODE_KEY" APPLE_APP_SITE_ASSOCIATION="$LOCAL_AASA" \
    cargo test --quiet -p acceptance --test suite -- --test-threads 8
}

# The suite's test names, one per line.
suite_tests() {
  cargo test --quiet -p acceptance --test suite -- --list --format terse 2>/dev/null | sed -n 's/: test$//p'
}

# local_stack <index> <mode>: a DynamoDB Local (and for http a cargo lambda watch) of its own;
# writes what the suite needs to reach it into .local/stack-<index>.env.
local_stack() {
  local i="$1" mode="$2"
  start_dynamodb "$(free_port)" in-memory
  create_tables "test-"
  {
    printf '%s\n' "${LOCAL_ENV[@]}"
    echo "AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB"
    echo "LINKS_TABLE=$LINKS_TABLE"
    echo "EXPERIMENTS_TABLE=$EXPERIMENTS_TABLE"
    echo "CODE_KEY=$LOCAL_CODE_KEY"
    echo "APPLE_APP_SITE_ASSOCIATION=$LOCAL_AASA"
  } >"$LOCAL_DIR/stack-$i.env"
  if [ "$mode" = http ]; then
    start_watch "$(free_port)" "$LOCAL_DIR/endpoints-$i.json"
    echo "ENDPOINTS_FILE=$ENDPOINTS_FILE" >>"$LOCAL_DIR/stack-$i.env"
  fi
}

# aws_stack <index> <env> <region> <profile>: the deployed stack's outputs, for the suite. The
# in-process shortener gets a key of its own (its codes skip any taken by the deployed one), and
# HTTP requests to the shortener carry the stack's API key (POST / needs it).
aws_stack() {
  local i="$1" env="$2" region="$3" profile="$4"
  valid_env_name "$env"
  fetch_endpoints "$env" "$region" "$profile"
  local endpoints="$DEPLOY_DIR/$env/endpoints.json"
  {
    echo "AWS_PROFILE=$profile"
    echo "AWS_REGION=$region"
    echo "LINKS_TABLE=$(output_value "$env" LinksTableName)"
    echo "EXPERIMENTS_TABLE=$(output_value "$env" ExperimentsTableName)"
    echo "CODE_KEY=int-test-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    echo "APPLE_APP_SITE_ASSOCIATION=${APPLE_APP_SITE_ASSOCIATION:-$TEMPLATE_DEFAULT_AASA}"
    echo "ENDPOINTS_FILE=$endpoints"
    echo "SHORTENER_API_KEY=$(aws secretsmanager get-secret-value --region "$region" --profile "$profile" \
      --secret-id "$(output_value "$env" CreateApiKeySecretArn)" --query SecretString --output text)"
  } >"$LOCAL_DIR/stack-$i.env"
}

# run_split <mode> <count>: the suite split round-robin over <count> stacks (.local/stack-<i>.env),
# every part in parallel; one stack runs the whole suite with its output on the terminal.
run_split() {
  local mode="$1" count="$2"
  local -a env_lines
  if [ "$count" = 1 ]; then
    log "acceptance suite, TEST_MODE=$mode"
    mapfile -t env_lines <"$LOCAL_DIR/stack-0.env"
    env "${env_lines[@]}" TEST_MODE="$mode" cargo test --quiet -p acceptance --test suite -- --test-threads 8
    return
  fi
  cargo test --quiet -p acceptance --test suite --no-run
  local -a tests pids
  mapfile -t tests < <(suite_tests)
  [ ${#tests[@]} -gt 0 ] || die "found no tests in the suite"
  local i j
  for ((i = 0; i < count; i++)); do
    local -a part=()
    for ((j = i; j < ${#tests[@]}; j += count)); do part+=("${tests[$j]}"); done
    mapfile -t env_lines <"$LOCAL_DIR/stack-$i.env"
    log "stack $i: ${#part[@]} of ${#tests[@]} tests, TEST_MODE=$mode (log: $LOCAL_DIR/suite-$i.log)"
    env "${env_lines[@]}" TEST_MODE="$mode" cargo test --quiet -p acceptance --test suite -- \
      --test-threads 8 --exact "${part[@]}" >"$LOCAL_DIR/suite-$i.log" 2>&1 &
    pids+=($!)
  done
  local failed=0
  for ((i = 0; i < count; i++)); do
    if wait "${pids[$i]}"; then
      grep -h "^test result" "$LOCAL_DIR/suite-$i.log" | sed "s/^/stack $i: /" >&2
    else
      failed=1
      printf 'stack %s failed:\n' "$i" >&2
      tail -n 40 "$LOCAL_DIR/suite-$i.log" >&2
    fi
  done
  [ "$failed" = 0 ] || die "the suite failed on at least one stack"
}

# suite_on <mode> <env[,env...]> [region] [profile]: the suite on local stacks ("local", "local2",
# ...) or deployed environments, split across them when there are several.
suite_on() {
  local mode="$1" list="$2" region="${3:-}" profile="${4:-default}"
  local -a envs
  IFS=, read -r -a envs <<<"$list"
  local i
  for ((i = 0; i < ${#envs[@]}; i++)); do
    case "${envs[$i]}" in
      local*) local_stack "$i" "$mode" ;;
      *)
        [ -n "$region" ] || die "$mode tests against '${envs[$i]}' need a region (and a profile)"
        ensure_awscli
        aws_stack "$i" "${envs[$i]}" "$region" "$profile"
        ;;
    esac
  done
  run_split "$mode" "${#envs[@]}"
  if [ "$mode" = handler ] && [[ "$list" == local* ]]; then run_fault_test; fi
  if [ "$mode" = http ] && [[ "$list" == local* ]]; then
    ensure_chromium
    ENDPOINTS_FILE="$LOCAL_DIR/endpoints-0.json" run_browser_test
  fi
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

# ./build.sh test [--quick]: --quick skips the arm64 sam build (a local loop; CI never passes it).
cmd_test() {
  local started=$SECONDS quick=0
  case "${1:-}" in
    --quick) quick=1 ;;
    '') ;;
    *) die "test: unknown option $1 (only --quick)" ;;
  esac
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
  log "sam validate --lint"
  AWS_DEFAULT_REGION=us-east-1 sam validate --lint --template template.yaml
  log "template against the workspace, deploy and remove dry runs, new-candidate on a copy"
  cargo test --quiet -p acceptance --test template --test deploy --test new_candidate
  start_dynamodb "$(free_port)" in-memory
  create_tables "test-"
  SHORT_URL_BASE="" run_suite handler
  run_fault_test
  start_watch "$(free_port)"
  run_suite http
  run_browser_test
  stop_all
  if [ "$quick" = 1 ]; then
    log "skipped the arm64 sam build (--quick)"
  else
    ensure_arm64_target
    log "sam build: arm64 artifacts of every function"
    sam_build
    "$VENV/bin/python" scripts/check_artifacts.py template.yaml .aws-sam/build
  fi
  log "all tests passed in $((SECONDS - started))s"
}

# Benches: PBKDF2; the shortener against its raw DynamoDB calls and against its Node.js peer
# (benches/node-peer); the workshop functions and the code mapping. With no arguments every bench
# runs and PERFORMANCE.md is written from their summary lines; with arguments (e.g.
# `./build.sh bench --bench shortener`) only those run and PERFORMANCE.md is left alone.
cmd_bench() {
  ensure_tools
  if [ ! -d benches/node-peer/node_modules ]; then
    log "installing the Node.js peer's dependencies (npm ci in benches/node-peer)"
    (cd benches/node-peer && npm ci --no-audit --no-fund --loglevel=error)
  fi
  log "building the release shortener binary (the peer bench starts it)"
  cargo build --quiet --release --bin shortener
  start_dynamodb "$(free_port)" in-memory
  create_tables "bench-"
  # The proxy bench goes through cargo lambda watch (release builds), as a local stack's client does;
  # the other benches need no watch, so a single one of them does not build every binary.
  if [ $# -eq 0 ] || [[ " $* " == *" proxy "* ]]; then
    WATCH_RELEASE=1 start_watch "$(free_port)"
  fi
  local out="$LOCAL_DIR/bench.log"
  log "cargo bench $* (output also in $out)"
  env "${LOCAL_ENV[@]}" SDK_ATTEMPT_TIMEOUT_MS=5000 SDK_OPERATION_TIMEOUT_MS=12000 \
    cargo bench -p benches "$@" 2>&1 | tee "$out"
  stop_all
  if [ $# -eq 0 ]; then
    python3 scripts/performance_md.py "$out" "$ROOT" PERFORMANCE.md
    log "wrote PERFORMANCE.md"
  fi
}

# local_or_stack_env <env> [region] [profile]: sets ENDPOINTS_FILE and EXPERIMENTS_TABLE (and the
# AWS settings) for tools that talk to a running stack: "local" is ./build.sh local's.
STACK_ENV=()
local_or_stack_env() {
  local env="$1" region="${2:-}" profile="${3:-default}"
  if [ "$env" = local ]; then
    [ -f "$LOCAL_DIR/endpoints.json" ] || die "no local stack: start ./build.sh local first"
    STACK_ENV=("${LOCAL_ENV[@]}" ENDPOINTS_FILE="$LOCAL_DIR/endpoints.json"
      AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:${DDB_PORT:-8000}"
      EXPERIMENTS_TABLE="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tables"]["ExperimentsTable"])' "$LOCAL_DIR/endpoints.json")")
  else
    [ -n "$region" ] || die "environment $env needs a region (and a profile)"
    valid_env_name "$env"
    ensure_awscli
    fetch_endpoints "$env" "$region" "$profile"
    STACK_ENV=(AWS_PROFILE="$profile" AWS_REGION="$region" ENDPOINTS_FILE="$DEPLOY_DIR/$env/endpoints.json"
      EXPERIMENTS_TABLE="$(output_value "$env" ExperimentsTableName)")
  fi
}

# ./build.sh experiments upload <env> [region profile] [files...]
cmd_experiments() {
  [ "${1:-}" = upload ] && [ $# -ge 2 ] || die "usage: ./build.sh experiments upload <env> [region profile] [definitions.yaml...]"
  shift
  local env="$1"; shift
  local region="" profile=""
  if [ "$env" != local ]; then
    [ $# -ge 2 ] || die "usage: ./build.sh experiments upload <env> <region> <profile> [definitions.yaml...]"
    region="$1" profile="$2"; shift 2
  fi
  local files=("$@")
  [ ${#files[@]} -gt 0 ] || files=(functions/experiments/definitions/*.yaml)
  local_or_stack_env "$env" "$region" "$profile"
  env "${STACK_ENV[@]}" cargo run --quiet -p acceptance --bin experiments -- upload "${files[@]}"
}

# ./build.sh traffic <env> [region profile] <experiment> [--count N]
cmd_traffic() {
  local env="${1:-}"
  [ -n "$env" ] || die "usage: ./build.sh traffic <env> [region profile] <experiment> [--count N]"
  shift
  local region="" profile=""
  if [ "$env" != local ]; then
    [ $# -ge 3 ] || die "usage: ./build.sh traffic <env> <region> <profile> <experiment> [--count N]"
    region="$1" profile="$2"; shift 2
  fi
  [ $# -ge 1 ] || die "usage: ./build.sh traffic <env> [region profile] <experiment> [--count N]"
  local_or_stack_env "$env" "$region" "$profile"
  env "${STACK_ENV[@]}" cargo run --quiet -p acceptance --bin traffic -- "$@"
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
  elif [[ " $* " != *" --dry-run "* ]]; then
    ensure_awscli
  fi
  "${CARGO_TARGET_DIR:-$ROOT/target}/release/tune" "$@"
}

usage() {
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

main() {
  local verb="${1:-}"
  [ $# -gt 0 ] && shift
  case "$verb" in
    local) cmd_local ;;
    test) cmd_test "$@" ;;
    bench) cmd_bench "$@" ;;
    experiments) cmd_experiments "$@" ;;
    traffic) cmd_traffic "$@" ;;
    tune) cmd_tune "$@" ;;
    int-test|acceptance-test)
      [ $# -ge 1 ] || usage 2
      ensure_tools
      if [ "$verb" = int-test ]; then suite_on handler "$@"; else suite_on http "$@"; fi
      ;;
    new-candidate)
      [ $# -eq 2 ] || die "usage: ./build.sh new-candidate <round|sort|fizzbuzz|pbkdf2> <name>"
      python3 scripts/new_candidate.py "$1" "$2"
      cargo fmt --all
      ;;
    deploy) cmd_deploy "$@" ;;
    remove) cmd_remove "$@" ;;
    -h|--help|help) usage 0 ;;
    *) usage 2 ;;
  esac
}

main "$@"
