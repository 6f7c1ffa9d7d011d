//! The hook's handler. CodeDeploy invokes it before it shifts any traffic of a control's `live`
//! alias to the new version (SAM's `DeploymentPreference.Hooks.PreTraffic`), with
//! `{"DeploymentId", "LifecycleEventHookExecutionId"}`. It
//!
//! 1. finds the deployment's Lambda target (`ListDeploymentTargets`, `GetDeploymentTarget`):
//!    the function and the version traffic is about to shift to;
//! 2. maps the function, `<stack>-<family>-control`, to its family ([`family_of`]);
//! 3. runs the family's cases against that version, `<function>:<targetVersion>` ([`gate::run`]),
//!    logging each failing case on a line of its own;
//! 4. reports `Succeeded` if every case passed, otherwise `Failed`
//!    (`PutLifecycleEventHookExecutionStatus`), and CodeDeploy rolls the deployment back.
//!
//! Whatever stops steps 1-3 (a missing setting, no Lambda target, a function that is no control,
//! no cases, an invocation that does not happen, the time running out) is logged once, with its
//! causes, and reported as `Failed`: the deployment is never left waiting for the hook's hour to
//! pass. Only a report CodeDeploy does not take (after [`MAX_CALL`]'s retries) fails the
//! invocation, which the Lambda runtime logs.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use experiments::adapters::invoke::Invoker;
use serde::{Deserialize, Serialize};

use crate::adapters::codedeploy::{
    CodeDeploy, CodeDeployError, GetDeploymentTarget, HookStatus, LambdaFunctionInfo,
    ListDeploymentTargets, MAX_CALL, PutLifecycleEventHookExecutionStatus,
};
use crate::config::Config;
use crate::domain::cases::Catalog;
use crate::domain::check::{Family, NotAControl, family_of};
use crate::gate::{self, GateError};
use crate::judge::{self, Evidence, JudgeError};
use experiments::domain::canary::Decision;

/// Left of the invocation's time for the report once the gate is given up on: the longest a
/// CodeDeploy call can take with its retries, and a second.
pub const REPORT_MARGIN: Duration = Duration::from_millis(MAX_CALL.as_millis() as u64 + 1_000);

/// `ListDeploymentTargets` pages read at most (a Lambda deployment has one target).
const MAX_PAGES: usize = 10;

/// What CodeDeploy invokes a validation hook with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HookEvent {
    pub deployment_id: String,
    pub lifecycle_event_hook_execution_id: String,
}

/// What the hook needs, built once per cold start.
pub struct HookApp {
    /// The settings, or why they could not be read. A hook that fails its cold start reports
    /// nothing, and CodeDeploy waits for a status until the hook's hour is up; so a missing
    /// setting is logged at cold start and reported as `Failed` for every deployment instead.
    pub config: Result<Config, String>,
    pub catalog: Catalog,
    pub codedeploy: Arc<dyn CodeDeploy>,
    pub invoker: Arc<dyn Invoker>,
    pub stage: Stage,
}

/// Which lifecycle hook this function is: CodeDeploy invokes both with the same event, so each
/// is a function of its own (`release-hook`, `release-judge`), one binary each.
pub enum Stage {
    /// `PreTraffic`: the family's release gate cases against the new version.
    Gate,
    /// `PostTraffic`: the canary's comparisons ([`crate::judge`]).
    Judge(Arc<dyn Evidence>),
}

/// What the hook reported: the invocation's result (CodeDeploy reads the status it was sent, not
/// this; it is for whoever invokes the hook by hand).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub status: HookStatus,
    /// The version the cases ran against, `<function>:<version>`, once known.
    pub function: Option<String>,
    pub cases: usize,
    pub failed: usize,
    /// After traffic: the judgement's sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judgement: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("the hook is misconfigured: {0}")]
    Config(String),
    #[error("could not read the deployment's targets")]
    Targets(#[source] CodeDeployError),
    #[error("the deployment has no Lambda target")]
    NoLambdaTarget,
    #[error("the deployment's Lambda target names no {0}")]
    MissingField(&'static str),
    #[error(transparent)]
    NotAControl(#[from] NotAControl),
    #[error("there are no release gate cases for family {0}")]
    NoCases(Family),
    #[error("the release gate did not finish")]
    Gate(#[from] GateError),
    #[error("the canary could not be judged")]
    Judge(#[from] JudgeError),
    #[error("the hook is misconfigured: no RELEASED_CANDIDATES to judge a release by")]
    NoReleased,
    #[error("this function is the pre-traffic gate; the canary is judged by release-judge")]
    NotAJudge,
    #[error("the release gate did not finish within {} ms", .0.as_millis())]
    TimedOut(Duration),
    #[error("could not report {status} for deployment {deployment_id} to CodeDeploy")]
    Report {
        deployment_id: String,
        status: HookStatus,
        #[source]
        source: CodeDeployError,
    },
}

/// An error and its causes, on one line (the adapter's own helper).
fn chain(error: &HookError) -> String {
    crate::adapters::codedeploy::causes(error)
}

/// The time the gate may take: what is left of the invocation (its deadline), less
/// [`REPORT_MARGIN`] for the report.
pub fn budget(deadline: SystemTime, now: SystemTime) -> Duration {
    deadline
        .duration_since(now)
        .unwrap_or_default()
        .saturating_sub(REPORT_MARGIN)
}

/// `release-hook`, before traffic: runs the gate within `budget` and reports its outcome to
/// CodeDeploy.
pub async fn pre_traffic(
    app: &HookApp,
    event: HookEvent,
    budget: Duration,
) -> Result<Report, HookError> {
    let outcome = tokio::time::timeout(budget, run_gate(app, &event.deployment_id)).await;
    report(app, event, budget, outcome).await
}

/// `release-judge`, after traffic: judges the canary within `budget` and reports the decision to
/// CodeDeploy.
pub async fn post_traffic(
    app: &HookApp,
    event: HookEvent,
    budget: Duration,
) -> Result<Report, HookError> {
    let outcome = tokio::time::timeout(budget, run_judge(app, &event.deployment_id)).await;
    report(app, event, budget, outcome).await
}

/// Reports a stage's outcome (`Err(Elapsed)`: it ran out of `budget`) to CodeDeploy: whatever
/// stopped the stage is `Failed`.
async fn report(
    app: &HookApp,
    event: HookEvent,
    budget: Duration,
    outcome: Result<Result<Report, HookError>, tokio::time::error::Elapsed>,
) -> Result<Report, HookError> {
    let deployment_id = event.deployment_id.as_str();
    let report = match outcome {
        Ok(Ok(report)) => report,
        Ok(Err(error)) => gave_up(deployment_id, &error),
        Err(_) => gave_up(deployment_id, &HookError::TimedOut(budget)),
    };
    let put = PutLifecycleEventHookExecutionStatus {
        deployment_id: event.deployment_id.clone(),
        lifecycle_event_hook_execution_id: event.lifecycle_event_hook_execution_id,
        status: report.status,
    };
    if let Err(source) = app
        .codedeploy
        .put_lifecycle_event_hook_execution_status(&put)
        .await
    {
        // Logged once, causes and all, by the Lambda runtime (`{:?}`) as it fails the invocation.
        return Err(HookError::Report {
            deployment_id: put.deployment_id,
            status: report.status,
            source,
        });
    }
    tracing::info!(
        deployment_id,
        status = %report.status,
        function = report.function.as_deref().unwrap_or("unknown"),
        cases = report.cases,
        failed = report.failed,
        judgement = report.judgement.as_deref().unwrap_or("none"),
        "release hook reported"
    );
    Ok(report)
}

fn gave_up(deployment_id: &str, error: &HookError) -> Report {
    tracing::error!(deployment_id, error = %chain(error), "release gate could not run: reporting Failed");
    Report {
        status: HookStatus::Failed,
        function: None,
        cases: 0,
        failed: 0,
        judgement: None,
    }
}

/// The deployment's control, the version traffic shifts to, and its family.
struct Target<'a> {
    config: &'a Config,
    name: String,
    version: String,
    family: Family,
}

async fn target<'a>(app: &'a HookApp, deployment_id: &str) -> Result<Target<'a>, HookError> {
    let config = app
        .config
        .as_ref()
        .map_err(|e| HookError::Config(e.clone()))?;
    let info = lambda_function(app.codedeploy.as_ref(), deployment_id).await?;
    let name = info
        .function_name
        .ok_or(HookError::MissingField("functionName"))?;
    let version = info
        .target_version
        .filter(|v| !v.is_empty())
        .ok_or(HookError::MissingField("targetVersion"))?;
    let family = family_of(&name, &config.stack)?;
    Ok(Target {
        config,
        name,
        version,
        family,
    })
}

/// After traffic: the canary's comparisons against the candidate whose code the control runs.
async fn run_judge(app: &HookApp, deployment_id: &str) -> Result<Report, HookError> {
    let Stage::Judge(evidence) = &app.stage else {
        return Err(HookError::NotAJudge);
    };
    let Target {
        config,
        name,
        version,
        family,
    } = target(app, deployment_id).await?;
    let released = &config.judge.as_ref().ok_or(HookError::NoReleased)?.released;
    let function = format!("{name}:{version}");
    let Some(candidate) = released.of(family.as_str()) else {
        let sentence = format!(
            "passed: {name} runs its own code (no candidate released to it), so there is no \
             candidate's evidence to judge version {version} by; its gate cases ran before traffic"
        );
        tracing::info!(%function, judgement = %sentence, "canary not judged");
        return Ok(Report {
            status: HookStatus::Succeeded,
            function: Some(function),
            cases: 0,
            failed: 0,
            judgement: Some(sentence),
        });
    };
    let judgement = judge::judge(evidence.as_ref(), family.as_str(), candidate, &version).await?;
    let status = match judgement.decision {
        Decision::Keep => HookStatus::Succeeded,
        Decision::RollBack | Decision::Inconclusive => HookStatus::Failed,
    };
    tracing::info!(%function, candidate, decision = ?judgement.decision, judgement = %judgement.sentence, "canary judged");
    Ok(Report {
        status,
        function: Some(function),
        cases: 0,
        failed: 0,
        judgement: Some(judgement.sentence),
    })
}

/// Before traffic: the family's release gate cases against the new version.
async fn run_gate(app: &HookApp, deployment_id: &str) -> Result<Report, HookError> {
    let Target {
        name,
        version,
        family,
        ..
    } = target(app, deployment_id).await?;
    let cases = app
        .catalog
        .cases(family.as_str())
        .ok_or_else(|| HookError::NoCases(family.clone()))?;
    let function = format!("{name}:{version}");
    let correlation_id = format!("release-gate-{deployment_id}");
    let outcomes = gate::run(app.invoker.as_ref(), &function, cases, &correlation_id).await?;
    let mut failed = 0;
    for outcome in &outcomes {
        if let Err(failure) = &outcome.result {
            failed += 1;
            tracing::warn!(
                deployment_id,
                function = %function,
                family = %family,
                case = %outcome.case.name,
                %failure,
                "release gate case failed"
            );
        }
    }
    Ok(Report {
        status: if failed == 0 {
            HookStatus::Succeeded
        } else {
            HookStatus::Failed
        },
        function: Some(function),
        cases: outcomes.len(),
        failed,
        judgement: None,
    })
}

/// The function and versions of the deployment's first Lambda target.
async fn lambda_function(
    codedeploy: &dyn CodeDeploy,
    deployment_id: &str,
) -> Result<LambdaFunctionInfo, HookError> {
    let mut next_token = None;
    for _ in 0..MAX_PAGES {
        let page = codedeploy
            .list_deployment_targets(&ListDeploymentTargets {
                deployment_id: deployment_id.to_owned(),
                next_token: next_token.take(),
            })
            .await
            .map_err(HookError::Targets)?;
        for target_id in page.target_ids {
            let target = codedeploy
                .get_deployment_target(&GetDeploymentTarget {
                    deployment_id: deployment_id.to_owned(),
                    target_id,
                })
                .await
                .map_err(HookError::Targets)?;
            if let Some(info) = target
                .deployment_target
                .and_then(|t| t.lambda_target)
                .and_then(|t| t.lambda_function_info)
            {
                return Ok(info);
            }
        }
        match page.next_token {
            Some(token) => next_token = Some(token),
            None => break,
        }
    }
    Err(HookError::NoLambdaTarget)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use experiments::adapters::invoke::{BoxFuture, InvokeError};

    use super::*;
    use crate::adapters::codedeploy::{
        DeploymentTarget, DeploymentTargetOutput, DeploymentTargets, HookExecution, LambdaTarget,
    };
    use crate::fakes::{Scripted, http};

    const STACK: &str = "rust-serverless-dev";

    /// What an invocation returns.
    type Answer = Result<Vec<u8>, InvokeError>;

    /// CodeDeploy with one deployment whose target pages and targets are given, recording the
    /// statuses reported.
    #[derive(Default)]
    struct FakeCodeDeploy {
        /// Pages by the token that asks for them (`None`: the first).
        pages: BTreeMap<Option<String>, Result<DeploymentTargets, CodeDeployError>>,
        targets: BTreeMap<String, DeploymentTargetOutput>,
        put_error: Option<CodeDeployError>,
        reported: Mutex<Vec<PutLifecycleEventHookExecutionStatus>>,
    }

    impl FakeCodeDeploy {
        fn deploying(function: &str, version: &str) -> Self {
            let mut fake = Self::default();
            fake.pages.insert(
                None,
                Ok(DeploymentTargets {
                    target_ids: vec![function.to_owned()],
                    next_token: None,
                }),
            );
            fake.targets
                .insert(function.to_owned(), lambda_target(function, version));
            fake
        }

        fn reported(&self) -> Vec<HookStatus> {
            self.reported
                .lock()
                .unwrap()
                .iter()
                .map(|p| p.status)
                .collect()
        }
    }

    fn lambda_target(function: &str, version: &str) -> DeploymentTargetOutput {
        DeploymentTargetOutput {
            deployment_target: Some(DeploymentTarget {
                deployment_target_type: Some("LambdaTarget".into()),
                lambda_target: Some(LambdaTarget {
                    target_id: Some(function.to_owned()),
                    status: Some("InProgress".into()),
                    lambda_function_info: Some(LambdaFunctionInfo {
                        function_name: Some(function.to_owned()),
                        function_alias: Some("live".into()),
                        current_version: Some("6".into()),
                        target_version: Some(version.to_owned()),
                        target_version_weight: Some(0.0),
                    }),
                }),
            }),
        }
    }

    impl CodeDeploy for FakeCodeDeploy {
        fn list_deployment_targets<'a>(
            &'a self,
            input: &'a ListDeploymentTargets,
        ) -> BoxFuture<'a, Result<DeploymentTargets, CodeDeployError>> {
            let page = self
                .pages
                .get(&input.next_token)
                .cloned()
                .unwrap_or_else(|| Ok(DeploymentTargets::default()));
            Box::pin(async move { page })
        }

        fn get_deployment_target<'a>(
            &'a self,
            input: &'a GetDeploymentTarget,
        ) -> BoxFuture<'a, Result<DeploymentTargetOutput, CodeDeployError>> {
            let target = self
                .targets
                .get(&input.target_id)
                .cloned()
                .unwrap_or_default();
            Box::pin(async move { Ok(target) })
        }

        fn put_lifecycle_event_hook_execution_status<'a>(
            &'a self,
            input: &'a PutLifecycleEventHookExecutionStatus,
        ) -> BoxFuture<'a, Result<HookExecution, CodeDeployError>> {
            self.reported.lock().unwrap().push(input.clone());
            let outcome = match &self.put_error {
                Some(error) => Err(error.clone()),
                None => Ok(HookExecution::default()),
            };
            Box::pin(async move { outcome })
        }
    }

    fn catalog() -> Catalog {
        Catalog::from_files(&[(
            "round",
            r#"
- name: rounds down
  request: {method: GET, path: /round, query: {number: "62.4"}}
  expect: {status: 200, content_type: application/json, json: {number: 62.4, rounded: 62}}
- name: refuses
  request: {method: GET, path: /round, query: {number: abc}}
  expect: {status: 400, content_type: application/json, error: invalid_number}
"#,
        )])
        .unwrap()
    }

    fn rounds_down() -> Answer {
        http(200, "application/json", r#"{"number":62.4,"rounded":62}"#)
    }

    fn refuses() -> Answer {
        http(
            400,
            "application/json",
            r#"{"error":"invalid_number","message":"send e.g. ?number=62.5"}"#,
        )
    }

    fn app(codedeploy: Arc<FakeCodeDeploy>, invoker: Arc<Scripted>) -> HookApp {
        HookApp {
            config: Ok(Config {
                stack: STACK.into(),
                judge: None,
            }),
            catalog: catalog(),
            codedeploy,
            invoker,
            stage: Stage::Gate,
        }
    }

    fn event() -> HookEvent {
        serde_json::from_slice(include_bytes!("../data/codedeploy-hook-event.json"))
            .expect("the fixture is a hook event")
    }

    const BUDGET: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn every_case_passing_reports_succeeded_for_the_target_version() {
        let codedeploy = Arc::new(FakeCodeDeploy::deploying(
            "rust-serverless-dev-round-control",
            "7",
        ));
        let invoker = Arc::new(Scripted::new(vec![rounds_down(), refuses()]));
        let report = pre_traffic(&app(codedeploy.clone(), invoker.clone()), event(), BUDGET)
            .await
            .unwrap();
        assert_eq!(
            report,
            Report {
                status: HookStatus::Succeeded,
                function: Some("rust-serverless-dev-round-control:7".into()),
                cases: 2,
                failed: 0,
                judgement: None,
            }
        );
        assert_eq!(codedeploy.reported(), [HookStatus::Succeeded]);
        let put = codedeploy.reported.lock().unwrap()[0].clone();
        assert_eq!(put.deployment_id, "d-A1B2C3D4E");
        assert_eq!(
            put.lifecycle_event_hook_execution_id,
            event().lifecycle_event_hook_execution_id
        );
        let invoked: Vec<String> = invoker.sent().into_iter().map(|(f, _)| f).collect();
        assert_eq!(invoked, ["rust-serverless-dev-round-control:7"; 2]);
    }

    #[tokio::test]
    async fn one_failing_case_reports_failed() {
        let codedeploy = Arc::new(FakeCodeDeploy::deploying(
            "rust-serverless-dev-round-control",
            "7",
        ));
        let wrong = http(200, "application/json", r#"{"number":62.4,"rounded":63}"#);
        let invoker = Arc::new(Scripted::new(vec![wrong, refuses()]));
        let report = pre_traffic(&app(codedeploy.clone(), invoker), event(), BUDGET)
            .await
            .unwrap();
        assert_eq!((report.status, report.failed), (HookStatus::Failed, 1));
        assert_eq!(codedeploy.reported(), [HookStatus::Failed]);
    }

    #[tokio::test]
    async fn whatever_stops_the_gate_is_reported_as_failed() {
        let throttled = CodeDeployError::Service {
            operation: "ListDeploymentTargets",
            status: 400,
            code: "ThrottlingException".into(),
            message: "Rate exceeded".into(),
        };
        let mut unlisted = FakeCodeDeploy::default();
        unlisted.pages.insert(None, Err(throttled));
        let mut no_version = FakeCodeDeploy::deploying("rust-serverless-dev-round-control", "");
        no_version.targets.values_mut().for_each(|t| {
            let info = t
                .deployment_target
                .as_mut()
                .unwrap()
                .lambda_target
                .as_mut()
                .unwrap();
            info.lambda_function_info.as_mut().unwrap().target_version = None;
        });
        let table: Vec<(&str, FakeCodeDeploy, Vec<Answer>)> = vec![
            ("targets not readable", unlisted, vec![]),
            ("no target", FakeCodeDeploy::default(), vec![]),
            ("no target version", no_version, vec![]),
            (
                "a candidate, not a control",
                FakeCodeDeploy::deploying("rust-serverless-dev-round-candidate-floor", "3"),
                vec![],
            ),
            (
                "another stack's control",
                FakeCodeDeploy::deploying("rust-serverless-prod-round-control", "3"),
                vec![],
            ),
            (
                "a family without cases",
                FakeCodeDeploy::deploying("rust-serverless-dev-sort-control", "3"),
                vec![],
            ),
            (
                "an invocation that does not happen",
                FakeCodeDeploy::deploying("rust-serverless-dev-round-control", "7"),
                vec![Err(InvokeError::Failed("AccessDeniedException".into()))],
            ),
        ];
        for (what, codedeploy, answers) in table {
            let codedeploy = Arc::new(codedeploy);
            let invoker = Arc::new(Scripted::new(answers));
            let report = pre_traffic(&app(codedeploy.clone(), invoker), event(), BUDGET)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(report.status, HookStatus::Failed, "{what}");
            assert_eq!(codedeploy.reported(), [HookStatus::Failed], "{what}");
        }
    }

    #[tokio::test]
    async fn a_misconfigured_hook_reports_failed_without_invoking_anything() {
        let codedeploy = Arc::new(FakeCodeDeploy::deploying(
            "rust-serverless-dev-round-control",
            "7",
        ));
        let invoker = Arc::new(Scripted::new(vec![rounds_down(), refuses()]));
        let mut app = app(codedeploy.clone(), invoker.clone());
        app.config = Err("environment variable STACK_NAME is required but not set".into());
        let report = pre_traffic(&app, event(), BUDGET).await.unwrap();
        assert_eq!(report.status, HookStatus::Failed);
        assert_eq!(codedeploy.reported(), [HookStatus::Failed]);
        assert!(invoker.sent().is_empty());
    }

    #[tokio::test]
    async fn a_gate_out_of_time_is_reported_as_failed() {
        let codedeploy = Arc::new(FakeCodeDeploy::deploying(
            "rust-serverless-dev-round-control",
            "7",
        ));
        // No answer scripted: the invocation never returns.
        let invoker = Arc::new(Scripted::new(vec![]));
        let report = pre_traffic(
            &app(codedeploy.clone(), invoker),
            event(),
            Duration::from_millis(50),
        )
        .await
        .unwrap();
        assert_eq!(report.status, HookStatus::Failed);
        assert_eq!(codedeploy.reported(), [HookStatus::Failed]);
    }

    #[tokio::test]
    async fn the_lambda_target_is_found_on_a_later_page() {
        let mut codedeploy = FakeCodeDeploy::deploying("rust-serverless-dev-round-control", "9");
        let first = codedeploy.pages.remove(&None).unwrap().unwrap();
        codedeploy.pages.insert(
            None,
            Ok(DeploymentTargets {
                target_ids: vec!["not-a-lambda-target".into()],
                next_token: Some("page-2".into()),
            }),
        );
        codedeploy.pages.insert(Some("page-2".into()), Ok(first));
        let invoker = Arc::new(Scripted::new(vec![rounds_down(), refuses()]));
        let report = pre_traffic(&app(Arc::new(codedeploy), invoker), event(), BUDGET)
            .await
            .unwrap();
        assert_eq!(report.status, HookStatus::Succeeded);
        assert_eq!(
            report.function.as_deref(),
            Some("rust-serverless-dev-round-control:9")
        );
    }

    #[tokio::test]
    async fn a_report_codedeploy_does_not_take_fails_the_invocation() {
        let mut codedeploy = FakeCodeDeploy::deploying("rust-serverless-dev-round-control", "7");
        codedeploy.put_error = Some(CodeDeployError::Transport {
            operation: "PutLifecycleEventHookExecutionStatus",
            detail: "connection reset".into(),
        });
        let invoker = Arc::new(Scripted::new(vec![rounds_down(), refuses()]));
        let error = pre_traffic(&app(Arc::new(codedeploy), invoker), event(), BUDGET)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                HookError::Report {
                    status: HookStatus::Succeeded,
                    ..
                }
            ),
            "{error}"
        );
        assert!(
            chain(&error).ends_with("no answer: connection reset"),
            "{}",
            chain(&error)
        );
    }

    /// The round experiment's evidence: `clean` comparisons of the control's version `version`
    /// (its answer the one compared) against the candidate `floor`, all alike and as fast.
    struct Comparisons {
        version: &'static str,
        clean: usize,
    }

    impl Evidence for Comparisons {
        fn recorded<'a>(
            &'a self,
            experiment: &'a str,
        ) -> BoxFuture<'a, Result<crate::judge::Recorded, crate::judge::EvidenceError>> {
            let yaml = "experiments:\n  round:\n    comparators: [body]\n    path: /round\n    control: {name: c, function: rust-serverless-dev-round-control}\n    candidates:\n      floor: {name: Floor, function: f}\n    promotion: {maxMismatchRate: 0.25, minComparisons: 20, maxDurationRatio: 1.2}\n";
            let experiment = experiments::domain::definition::Experiments::parse(yaml)
                .unwrap()
                .by_name
                .remove(experiment);
            let variant = |id: &str, function: &str, version: &str, verdict: serde_json::Value| {
                serde_json::json!({"id": id, "name": id, "status": 200, "durationMs": 1.0,
                    "version": version, "function": function, "verdict": verdict})
            };
            let records: Vec<experiments::domain::record::ComparisonRecord> = (0..self.clean)
                .map(|i| {
                    serde_json::from_value(serde_json::json!({
                        "experiment": "round", "correlationId": format!("c{i}"),
                        "at": "2026-12-05T10:00:00.000Z",
                        "request": {"method": "GET", "path": "/round", "query": "number=1.5", "body": ""},
                        "control": variant("control", "rust-serverless-dev-round-control", self.version, serde_json::Value::Null),
                        "answeredBy": self.version,
                        "candidates": [variant("floor", "f", "3", serde_json::json!({"status": null, "headers_differing": [], "body": true}))],
                    }))
                    .unwrap()
                })
                .collect();
            let tallies = records
                .iter()
                .flat_map(experiments::domain::tally::of_record)
                .collect();
            Box::pin(async move {
                Ok(crate::judge::Recorded {
                    experiment,
                    tallies,
                    records,
                })
            })
        }
    }

    fn judging(released: &str, evidence: Comparisons) -> HookApp {
        let codedeploy = Arc::new(FakeCodeDeploy::deploying(
            "rust-serverless-dev-round-control",
            "7",
        ));
        HookApp {
            config: Ok(Config {
                stack: STACK.into(),
                judge: Some(crate::config::JudgeConfig {
                    table: "t".into(),
                    released: crate::judge::Released::parse(released).unwrap(),
                }),
            }),
            stage: Stage::Judge(Arc::new(evidence)),
            ..app(codedeploy, Arc::new(Scripted::new(vec![])))
        }
    }

    #[tokio::test]
    async fn after_traffic_clean_comparisons_of_the_new_version_keep_it() {
        let app = judging(
            "round=floor",
            Comparisons {
                version: "7",
                clean: 30,
            },
        );
        let report = post_traffic(&app, event(), BUDGET).await.unwrap();
        assert_eq!(report.status, HookStatus::Succeeded, "{report:?}");
        assert_eq!(report.cases, 0, "the judge runs no gate case");
        let judgement = report.judgement.unwrap();
        assert!(
            judgement.starts_with("equivalent and not slower"),
            "{judgement}"
        );
        assert!(
            judgement.contains("30 comparisons of version 7 against floor"),
            "{judgement}"
        );
    }

    #[tokio::test]
    async fn after_traffic_no_comparison_of_the_new_version_fails_as_no_traffic() {
        // Plenty of comparisons, all of the version before.
        let app = judging(
            "round=floor",
            Comparisons {
                version: "6",
                clean: 30,
            },
        );
        let report = post_traffic(&app, event(), BUDGET).await.unwrap();
        assert_eq!(report.status, HookStatus::Failed);
        assert_eq!(
            report.judgement.as_deref(),
            Some("inconclusive: no traffic, 0 comparisons of version 7 against floor, 20 needed")
        );
    }

    #[tokio::test]
    async fn after_traffic_a_control_running_its_own_code_passes_saying_why() {
        let app = judging(
            "round=none",
            Comparisons {
                version: "7",
                clean: 0,
            },
        );
        let report = post_traffic(&app, event(), BUDGET).await.unwrap();
        assert_eq!(report.status, HookStatus::Succeeded);
        assert!(
            report.judgement.unwrap().contains("runs its own code"),
            "the pass says why"
        );
    }

    #[tokio::test]
    async fn after_traffic_an_unknown_released_candidate_fails() {
        let app = judging(
            "round=ceiling",
            Comparisons {
                version: "7",
                clean: 30,
            },
        );
        let report = post_traffic(&app, event(), BUDGET).await.unwrap();
        assert_eq!(report.status, HookStatus::Failed);
    }

    #[test]
    fn the_budget_leaves_the_margin_for_the_report() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        // template.yaml gives the hook 60 s.
        assert_eq!(
            budget(now + Duration::from_secs(60), now),
            Duration::from_millis(43_400)
        );
        assert_eq!(budget(now + Duration::from_secs(16), now), Duration::ZERO);
        assert_eq!(budget(now - Duration::from_secs(1), now), Duration::ZERO);
    }

    #[test]
    fn the_hook_event_reads_codedeploys_field_names() {
        let event = event();
        assert_eq!(event.deployment_id, "d-A1B2C3D4E");
        assert!(event.lifecycle_event_hook_execution_id.starts_with("eyJ"));
    }
}
