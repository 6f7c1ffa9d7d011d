//! Invoking functions: the Lambda Invoke API (on AWS, or `cargo lambda watch`'s emulation of it
//! locally), behind a trait so the in-process tests can dispatch to handlers directly.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{DisplayErrorContext, SdkError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum InvokeError {
    /// The function ran and failed (panic, crash, unhandled error).
    #[error("the function failed: {0}")]
    FunctionError(String),
    /// The invocation did not happen or its answer was lost.
    #[error("could not invoke the function: {0}")]
    Failed(String),
}

/// What a synchronous invocation returned: the function's payload and the version that ran it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoked {
    pub payload: Vec<u8>,
    /// On AWS the version the Invoke API reports (`ExecutedVersion`: a number through the alias
    /// `live`), or for an unpublished function `$LATEST@` and the start of its code's SHA-256
    /// ([`latest_version`]), so that a redeployed candidate is a new version; locally the build id
    /// of the function's binary ([`build_id`]); `None` when the invoker cannot tell.
    pub version: Option<String>,
}

/// Why a synchronous invocation gave no payload, told apart where the caller answers differently.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum InvokeFailure {
    /// The Invoke API says the function does not exist here (`ResourceNotFoundException`): the
    /// experiment names a function this environment does not deploy. No retry fixes it.
    #[error("function {0} is not deployed here")]
    NotDeployed(String),
    #[error(transparent)]
    Invoke(#[from] InvokeError),
}

pub trait Invoker: Send + Sync {
    /// A synchronous (`RequestResponse`) invocation; the function's payload.
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, InvokeError>>;

    /// An asynchronous (`Event`) invocation: queued by Lambda, run later, failures to its destination.
    fn invoke_event<'a>(
        &'a self,
        function: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), InvokeError>>;

    /// [`Invoker::invoke`], also telling which version answered and whether the function exists.
    /// By default: the payload alone, with no version, and any failure as it is.
    fn invoke_versioned<'a>(
        &'a self,
        function: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Invoked, InvokeFailure>> {
        Box::pin(async move {
            let payload = self.invoke(function, payload).await?;
            Ok(Invoked {
                payload,
                version: None,
            })
        })
    }
}

/// The alias a family's control serves on AWS; a release moves it through CodeDeploy.
pub const LIVE_ALIAS: &str = "live";

/// The Invoke API. Function names without `arn:` get `prefix` (the stack's name and `-`) first,
/// and the functions in `live` are invoked through their alias [`LIVE_ALIAS`], as their routes
/// are, so an experiment sees what clients get while a release shifts traffic.
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
    prefix: String,
    live: std::collections::BTreeSet<String>,
    /// Locally, the folder of the binaries `cargo lambda watch` runs (`LOCAL_BUILDS_DIR`): a
    /// version is then the build id of `<folder>/<function>`.
    builds: Option<std::path::PathBuf>,
    /// Locally, the process last seen running each binary (see [`LambdaInvoker::local_build_id`]).
    running: std::sync::Mutex<std::collections::HashMap<std::path::PathBuf, u32>>,
    /// The code hash of each function invoked at `$LATEST` (`None`: unreadable), and when it was read.
    code_hashes: std::sync::Mutex<std::collections::HashMap<String, (Instant, Option<String>)>>,
}

/// How long a `$LATEST` function's code hash is trusted before it is read again: a redeployed
/// candidate's records carry its new version at most this long after the deployment.
pub const CODE_HASH_TTL: Duration = Duration::from_secs(60);

impl LambdaInvoker {
    pub fn new(client: aws_sdk_lambda::Client, prefix: impl Into<String>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
            live: Default::default(),
            builds: None,
            running: Default::default(),
            code_hashes: Default::default(),
        }
    }

    /// Versions are the build ids of the binaries in `folder` (locally, where the Invoke API of
    /// `cargo lambda watch` reports none).
    pub fn with_local_builds(mut self, folder: Option<std::path::PathBuf>) -> Self {
        self.builds = folder;
        self
    }

    /// Invokes `functions` through their alias [`LIVE_ALIAS`].
    pub fn with_live(mut self, functions: std::collections::BTreeSet<String>) -> Self {
        self.live = functions;
        self
    }

    fn name(&self, function: &str) -> String {
        if function.starts_with("arn:") {
            function.to_owned()
        } else if self.live.contains(function) {
            format!("{}{function}:{LIVE_ALIAS}", self.prefix)
        } else {
            format!("{}{function}", self.prefix)
        }
    }
}

impl LambdaInvoker {
    /// The build id of the binary that answered locally: that of the process running `binary`
    /// (on Linux, `/proc/<pid>/exe`, which keeps the file a process started from even after a
    /// rebuild replaced it), so that a fix built but not yet restarted is not credited with the old
    /// code's answers; the file's own build id where no such process is found (other systems, or
    /// before `cargo lambda watch` starts it).
    fn local_build_id(&self, binary: &std::path::Path) -> Option<String> {
        // `/proc/<pid>/exe` names the canonical path.
        let canonical = std::fs::canonicalize(binary);
        let binary = canonical.as_deref().unwrap_or(binary);
        let mut running = self.running.lock().expect("the running processes");
        let pid = running
            .get(binary)
            .copied()
            .filter(|pid| runs(*pid, binary))
            .or_else(|| process_running(binary));
        match pid {
            Some(pid) => {
                running.insert(binary.to_owned(), pid);
                build_id(&std::path::PathBuf::from(format!("/proc/{pid}/exe")))
            }
            None => {
                running.remove(binary);
                build_id(binary)
            }
        }
    }
}

/// Whether process `pid` runs `binary` (the file it started from, possibly replaced since).
fn runs(pid: u32, binary: &std::path::Path) -> bool {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .is_ok_and(|exe| started_from(&exe.to_string_lossy(), binary))
}

/// Whether `/proc/<pid>/exe`'s target `exe` names `binary`, replaced (` (deleted)`) or not.
fn started_from(exe: &str, binary: &std::path::Path) -> bool {
    exe.strip_suffix(" (deleted)").unwrap_or(exe) == binary.to_string_lossy()
}

/// The newest process running `binary`, from `/proc` (none on systems without it).
fn process_running(binary: &std::path::Path) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| runs(*pid, binary))
        .max()
}

/// The version the Invoke API reports for a function invoked without a qualifier.
const LATEST: &str = "$LATEST";

impl LambdaInvoker {
    /// `$LATEST@<hash>` for a function invoked at `$LATEST` (every candidate: only controls have
    /// published versions), from `GetFunctionConfiguration`'s `CodeSha256`, read at most once per
    /// [`CODE_HASH_TTL`] per function. Plain `$LATEST` when the hash cannot be read (logged).
    async fn latest_version(&self, function: &str) -> String {
        let cached = self
            .code_hashes
            .lock()
            .expect("the code hash cache")
            .get(function)
            .filter(|(read, _)| read.elapsed() < CODE_HASH_TTL)
            .map(|(_, hash)| hash.clone());
        if let Some(hash) = cached {
            return latest_version(hash.as_deref());
        }
        let hash = match self
            .client
            .get_function_configuration()
            .function_name(self.name(function))
            .send()
            .await
        {
            Ok(configuration) => configuration.code_sha256().map(str::to_owned),
            Err(error) => {
                tracing::warn!(
                    function,
                    error = %DisplayErrorContext(&error),
                    "could not read the code hash of a $LATEST function; its records say $LATEST"
                );
                None
            }
        };
        // A failure is remembered too: one call per function and period, not one per request.
        self.code_hashes
            .lock()
            .expect("the code hash cache")
            .insert(function.to_owned(), (Instant::now(), hash.clone()));
        latest_version(hash.as_deref())
    }
}

/// The version of a function at `$LATEST` whose code's SHA-256 (base64, as Lambda reports it) is
/// `code_sha256`: its first 12 characters (72 bits) tell deployments apart.
pub fn latest_version(code_sha256: Option<&str>) -> String {
    match code_sha256 {
        Some(hash) => format!("{LATEST}@{}", hash.chars().take(12).collect::<String>()),
        None => LATEST.to_owned(),
    }
}

/// Whether the function ran and failed, from the Invoke API's typed answer: the HTTP status of its
/// response and the `X-Amz-Function-Error` header ([`InvokeOutput::function_error`]). On AWS a
/// function's error comes back as 200 with that header set; `cargo lambda watch` answers it as HTTP
/// 500 instead. `None` for a status: no response was received.
///
/// [`InvokeOutput::function_error`]: aws_sdk_lambda::operation::invoke::InvokeOutput::function_error
pub fn function_failed(status: Option<u16>, function_error: Option<&str>) -> bool {
    function_error.is_some() || status == Some(500)
}

/// The build id of a local binary: its size and modification time, hashed (FNV-1a) into 8 hex
/// digits. A rebuild that changes the binary changes it; reading it costs one `stat`, not a read
/// of the file. `None` when the file cannot be read.
pub fn build_id(binary: &std::path::Path) -> Option<String> {
    let metadata = std::fs::metadata(binary).ok()?;
    let modified = metadata
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(build_id_of(metadata.len(), modified.as_nanos()))
}

/// [`build_id`] from a size and a modification time in nanoseconds.
pub fn build_id_of(len: u64, modified_nanos: u128) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in len
        .to_le_bytes()
        .iter()
        .chain(&modified_nanos.to_le_bytes())
    {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("build-{hash:08x}")
}

/// Whether the Invoke API's error says the function does not exist: its typed
/// `ResourceNotFoundException`, or HTTP 404, the status the API gives only that error.
pub fn not_deployed(status: Option<u16>, resource_not_found: bool) -> bool {
    resource_not_found || status == Some(404)
}

/// An Invoke API call that did not return an output: the function failed (as `cargo lambda watch`
/// reports it) or the invocation itself did.
fn classify<E>(error: SdkError<E, HttpResponse>) -> InvokeError
where
    E: std::error::Error + 'static,
{
    let status = match &error {
        SdkError::ServiceError(e) => Some(e.raw().status().as_u16()),
        _ => None,
    };
    let text = DisplayErrorContext(&error).to_string();
    if function_failed(status, None) {
        InvokeError::FunctionError(text)
    } else {
        InvokeError::Failed(text)
    }
}

impl Invoker for LambdaInvoker {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, InvokeError>> {
        Box::pin(async move {
            match self.invoke_versioned(function, payload).await {
                Ok(invoked) => Ok(invoked.payload),
                Err(InvokeFailure::Invoke(error)) => Err(error),
                Err(missing @ InvokeFailure::NotDeployed(_)) => {
                    Err(InvokeError::Failed(missing.to_string()))
                }
            }
        })
    }

    fn invoke_versioned<'a>(
        &'a self,
        function: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Invoked, InvokeFailure>> {
        Box::pin(async move {
            let output = match self
                .client
                .invoke()
                .function_name(self.name(function))
                .payload(Blob::new(payload))
                .send()
                .await
            {
                Ok(output) => output,
                Err(error) => {
                    let (status, missing) = match &error {
                        SdkError::ServiceError(e) => (
                            Some(e.raw().status().as_u16()),
                            e.err().is_resource_not_found_exception(),
                        ),
                        _ => (None, false),
                    };
                    if not_deployed(status, missing) {
                        return Err(InvokeFailure::NotDeployed(function.to_owned()));
                    }
                    return Err(classify(error).into());
                }
            };
            let version = match (&self.builds, output.executed_version()) {
                (Some(folder), _) => self.local_build_id(&folder.join(function)),
                (None, Some(LATEST)) => Some(self.latest_version(function).await),
                (None, executed) => executed.map(str::to_owned),
            };
            let body = output
                .payload()
                .map(|p| p.as_ref().to_vec())
                .unwrap_or_default();
            let status = u16::try_from(output.status_code()).ok();
            if function_failed(status, output.function_error()) {
                Err(InvokeError::FunctionError(format!(
                    "{}: {}",
                    output.function_error().unwrap_or("Unhandled"),
                    crate::domain::compare::excerpt(&String::from_utf8_lossy(&body))
                ))
                .into())
            } else {
                Ok(Invoked {
                    payload: body,
                    version,
                })
            }
        })
    }

    fn invoke_event<'a>(
        &'a self,
        function: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), InvokeError>> {
        Box::pin(async move {
            self.client
                .invoke()
                .function_name(self.name(function))
                .invocation_type(InvocationType::Event)
                .payload(Blob::new(payload))
                .send()
                .await
                .map_err(classify)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_lambda::operation::invoke::InvokeError as SdkInvokeError;
    use aws_sdk_lambda::primitives::SdkBody;

    use super::*;

    #[test]
    fn function_failed_reads_the_status_and_the_function_error_header() {
        let cases = [
            ("AWS, the function answered", Some(200), None, false),
            (
                "AWS, an unhandled error",
                Some(200),
                Some("Unhandled"),
                true,
            ),
            ("AWS, a handled error", Some(200), Some("Handled"), true),
            ("AWS, an Event invocation queued", Some(202), None, false),
            ("cargo lambda watch, a handler error", Some(500), None, true),
            ("no such function", Some(404), None, false),
            ("throttled", Some(429), None, false),
            ("no response at all", None, None, false),
        ];
        for (case, status, function_error, expected) in cases {
            assert_eq!(
                function_failed(status, function_error),
                expected,
                "{case}: status {status:?}, function error {function_error:?}"
            );
        }
    }

    #[test]
    fn only_a_missing_function_is_not_deployed() {
        let cases = [
            ("ResourceNotFoundException", Some(404), true, true),
            (
                "cargo lambda watch: no such binary, 404 Missing function",
                Some(404),
                false,
                true,
            ),
            ("the function failed", Some(500), false, false),
            ("throttled", Some(429), false, false),
            ("access denied", Some(403), false, false),
            ("no response at all", None, false, false),
        ];
        for (case, status, resource_not_found, expected) in cases {
            assert_eq!(not_deployed(status, resource_not_found), expected, "{case}");
        }
    }

    #[test]
    fn a_build_id_changes_with_the_binarys_size_or_time_and_only_then() {
        let id = build_id_of(1_000, 1_700_000_000_000_000_000);
        assert!(id.starts_with("build-") && id.len() == 14, "{id}");
        assert_eq!(id, build_id_of(1_000, 1_700_000_000_000_000_000));
        assert_ne!(id, build_id_of(1_001, 1_700_000_000_000_000_000));
        assert_ne!(id, build_id_of(1_000, 1_700_000_000_000_000_001));
        assert_eq!(build_id(std::path::Path::new("/no/such/binary")), None);
    }

    #[test]
    fn a_process_started_from_a_binary_is_known_by_its_exe_link_even_after_a_rebuild() {
        let binary = std::path::Path::new("/repo/target/debug/sort-candidate");
        assert!(started_from("/repo/target/debug/sort-candidate", binary));
        assert!(started_from(
            "/repo/target/debug/sort-candidate (deleted)",
            binary
        ));
        assert!(!started_from("/repo/target/debug/sort-control", binary));
        assert!(!started_from("/usr/bin/sort-candidate", binary));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_running_process_gives_the_build_id_and_a_file_without_one_its_own() {
        let me = std::fs::canonicalize(std::env::current_exe().expect("the test binary"))
            .expect("a canonical path");
        assert!(process_running(&me).is_some(), "this test's own process");
        let config = aws_sdk_lambda::Config::builder()
            .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
            .build();
        let invoker = LambdaInvoker::new(aws_sdk_lambda::Client::from_conf(config), "");
        assert_eq!(invoker.local_build_id(&me), build_id(&me));
        assert_eq!(
            invoker.local_build_id(std::path::Path::new("/no/such/binary")),
            None
        );
    }

    /// A rebuild while the old process still runs (a fix built but not restarted): the answers
    /// are the old binary's, and so is the build id.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_binary_rebuilt_under_a_running_process_keeps_the_processs_build_id() {
        let folder = std::env::temp_dir().join(format!("build-id-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("a folder");
        let binary = folder.join("sleeper");
        std::fs::copy("/bin/sleep", &binary).expect("a copy of sleep");
        let mut process = std::process::Command::new(&binary)
            .arg("30")
            .spawn()
            .expect("the old binary runs");
        let old = build_id(&binary);
        // As a linker does: a new file under the same name, the old one still open by its process.
        std::fs::remove_file(&binary).expect("unlinked");
        std::fs::write(&binary, b"the rebuilt binary").expect("rebuilt");
        let rebuilt = build_id(&binary);
        let config = aws_sdk_lambda::Config::builder()
            .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
            .build();
        let invoker = LambdaInvoker::new(aws_sdk_lambda::Client::from_conf(config), "");
        let running = invoker.local_build_id(&binary);
        process.kill().expect("stopped");
        process.wait().expect("reaped");
        let after = invoker.local_build_id(&binary);
        std::fs::remove_dir_all(&folder).ok();
        assert_ne!(old, rebuilt);
        assert_eq!(running, old, "the running process's binary");
        assert_eq!(after, rebuilt, "no process: the file's");
    }

    #[test]
    fn a_latest_version_names_its_code_hash_when_known() {
        assert_eq!(
            latest_version(Some("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")),
            "$LATEST@47DEQpj8HBSa"
        );
        assert_eq!(latest_version(Some("short")), "$LATEST@short");
        assert_eq!(latest_version(None), "$LATEST");
    }

    #[test]
    fn controls_are_invoked_through_their_live_alias_and_others_at_latest() {
        let config = aws_sdk_lambda::Config::builder()
            .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
            .build();
        let invoker = LambdaInvoker::new(aws_sdk_lambda::Client::from_conf(config), "stack-")
            .with_live(["sort-control".to_owned()].into());
        assert_eq!(invoker.name("sort-control"), "stack-sort-control:live");
        assert_eq!(
            invoker.name("sort-candidate-fixed"),
            "stack-sort-candidate-fixed"
        );
        assert_eq!(
            invoker.name("arn:aws:lambda:eu-west-1:1:function:x"),
            "arn:aws:lambda:eu-west-1:1:function:x"
        );
    }

    fn service_error(status: u16) -> SdkError<SdkInvokeError, HttpResponse> {
        let raw = HttpResponse::new(status.try_into().expect("a valid status"), SdkBody::empty());
        SdkError::service_error(SdkInvokeError::unhandled("boom"), raw)
    }

    #[test]
    fn a_500_from_the_invoke_api_is_the_function_failing() {
        assert!(matches!(
            classify(service_error(500)),
            InvokeError::FunctionError(_)
        ));
    }

    #[test]
    fn other_service_errors_and_lost_answers_are_failed_invocations() {
        assert!(matches!(
            classify(service_error(404)),
            InvokeError::Failed(_)
        ));
        assert!(matches!(
            classify(service_error(429)),
            InvokeError::Failed(_)
        ));
        let timeout: SdkError<SdkInvokeError, HttpResponse> =
            SdkError::timeout_error("no answer in time");
        assert!(matches!(classify(timeout), InvokeError::Failed(_)));
    }
}
