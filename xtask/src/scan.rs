//! The template's security scan in `./build.sh test`: checkov over `template.yaml` and over the
//! template the SAM transform makes of it, and cfn-lint over the transformed one too.
//!
//! The transform runs offline with the `aws-sam-translator` the SAM CLI brings (in `.tools/venv`),
//! region us-east-1: what CloudFormation would deploy, with SAM's policy templates, roles, Function
//! URL permissions and CodeDeploy resources spelt out, which is what a scan of `template.yaml`
//! alone cannot see. Every suppression is below (or, for one resource, in the template's
//! `Metadata.checkov`) with its reason.
//!
//! Offline the scan cannot see: the deployed stack's drift, parameter values other than the
//! defaults (checkov reads `DemoFunctionUrlAuth`'s default, AWS_IAM), account settings (billing
//! alerts, the concurrency quota, Lambda's public-URL block), managed policies' contents (the
//! transform is given none), and checkov's online guideline mappings (`BC_SKIP_MAPPING`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cmd::Cmd;
use crate::front::UrlAuth;
use crate::template::DEMO_URL_AUTH_PARAMETER;
use crate::tools::Paths;

/// checkov checks skipped for the whole template, each with why it does not apply here.
pub const CHECKOV_SKIPS: [(&str, &str); 8] = [
    (
        "CKV_AWS_173",
        "Lambda environment variables hold no secret (secrets are read by ARN at cold start) and are encrypted at rest with an AWS managed key",
    ),
    (
        "CKV_AWS_158",
        "log groups hold no secrets (never logged) and CloudWatch Logs encrypts them at rest; a customer key costs a key per stack and a key policy for the logs service",
    ),
    (
        "CKV_AWS_117",
        "the functions call only AWS APIs on their public endpoints; a VPC would need NAT or interface endpoints (paid, per AZ) and add cold-start time for nothing",
    ),
    (
        "CKV_AWS_116",
        "HTTP invocations are synchronous (no dead-letter queue applies); the one asynchronous function, the comparator, sends failures to an SQS OnFailure destination, which checkov does not recognise",
    ),
    (
        "CKV_AWS_149",
        "the secrets use Secrets Manager's AWS managed key; who reads them is decided by the IAM policy scoped to their ARNs",
    ),
    (
        "CKV_AWS_119",
        "the tables are encrypted at rest (SSESpecification) with the AWS managed key; a customer key adds cost and no reader we must keep out",
    ),
    (
        "CKV_AWS_27",
        "the failures queue is encrypted at rest with SqsManagedSseEnabled; checkov counts only KmsMasterKeyId",
    ),
    (
        "CKV_AWS_26",
        "CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key aws/sns; the topic carries alarm names only",
    ),
];

/// cfn-lint rules ignored on the transformed template, with why.
pub const CFN_LINT_TRANSFORMED_IGNORES: [(&str, &str); 1] = [(
    "W2001",
    "unused parameters: the transform consumes ReleaseTrafficShifting into the CodeDeploy deployment group, and Stage is a deploy-time label that template.yaml's own lint accepts",
)];

/// The transformed template's path for `DemoFunctionUrlAuth` = `auth`.
pub fn transformed(paths: &Paths, auth: UrlAuth) -> PathBuf {
    paths.scanned().join(format!(
        "xtask/scan/transformed-{}.json",
        auth.parameter_value()
    ))
}

/// Both values of `DemoFunctionUrlAuth`: the transform is checked for each.
const URL_AUTHS: [UrlAuth; 2] = [UrlAuth::AwsIam, UrlAuth::None];

/// Every Function URL in the transforms [`commands`] wrote has the permissions its auth type
/// needs (url_permissions.rs); the problems, each naming the value.
pub fn url_permission_problems(paths: &Paths) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for auth in URL_AUTHS {
        found.extend(crate::url_permissions::check_file(
            &transformed(paths, auth),
            DEMO_URL_AUTH_PARAMETER,
            auth.parameter_value(),
        )?);
    }
    Ok(found)
}

/// The transform, offline, with the parameter values given as JSON: no IAM lookups of managed
/// policies, and every function's code at an S3 URI as `sam package` would leave it (the scan
/// never reads the code).
const TRANSFORM: &str = r#"
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicies:
    def load(self):
        return {}

with open(sys.argv[1]) as source:
    template = yaml_parse(source.read())
for resource in template["Resources"].values():
    if resource.get("Type") == "AWS::Serverless::Function":
        resource["Properties"]["CodeUri"] = "s3://offline-scan/bootstrap.zip"
with open(sys.argv[2], "w") as out:
    json.dump(transform(template, json.loads(sys.argv[3]), NoManagedPolicies()), out, indent=1)
"#;

/// The commands of the scan over `template_file` (the deployed `template.yaml`), in order: the
/// transform for each value of `DemoFunctionUrlAuth`, cfn-lint and checkov over the default's
/// output, checkov over the file itself. [`url_permission_problems`] reads the transforms after.
pub fn commands(paths: &Paths, template_file: &Path) -> Result<Vec<(String, Cmd)>> {
    let out = transformed(paths, UrlAuth::AwsIam);
    std::fs::create_dir_all(out.parent().expect("a folder"))?;
    let venv = paths.venv_bin();
    let transform = |auth: UrlAuth| {
        let parameters = serde_json::json!({ DEMO_URL_AUTH_PARAMETER: auth.parameter_value() });
        (
            format!(
                "SAM transform (offline, {DEMO_URL_AUTH_PARAMETER}={})",
                auth.parameter_value()
            ),
            Cmd::new(venv.join("python").display().to_string())
                .args(["-c", TRANSFORM])
                .arg(template_file.display().to_string())
                .arg(transformed(paths, auth).display().to_string())
                .arg(parameters.to_string())
                .env("AWS_DEFAULT_REGION", "us-east-1"),
        )
    };
    let ignores: Vec<&str> = CFN_LINT_TRANSFORMED_IGNORES
        .iter()
        .map(|(id, _)| *id)
        .collect();
    let lint = Cmd::new(venv.join("cfn-lint").display().to_string())
        .arg("--ignore-checks")
        .args(ignores)
        .arg("--")
        .arg(out.display().to_string());
    Ok(vec![
        transform(UrlAuth::AwsIam),
        transform(UrlAuth::None),
        ("cfn-lint (transformed)".to_owned(), lint),
        ("checkov (transformed)".to_owned(), checkov(paths, &out)),
        (
            "checkov template.yaml".to_owned(),
            checkov(paths, template_file),
        ),
    ])
}

/// checkov over one CloudFormation file, offline, with [`CHECKOV_SKIPS`]. Run from the workspace
/// with the file's relative path: given an absolute path, checkov 3.3.30 fails CKV_AWS_45 (secrets
/// in Lambda environments) on every function, whatever their environment holds.
pub fn checkov(paths: &Paths, file: &Path) -> Cmd {
    let skips: Vec<&str> = CHECKOV_SKIPS.iter().map(|(id, _)| *id).collect();
    let file = file.strip_prefix(&paths.root).unwrap_or(file);
    // Through its interpreter: checkov's script is copied with a plain `#!<venv>/bin/python3`
    // line, which the kernel cannot run when the checkout's path has a space in it.
    let bin = paths.checkov_bin();
    Cmd::new(bin.join("python3").display().to_string())
        .arg(bin.join("checkov").display().to_string())
        .args(["--quiet", "--compact", "--skip-download"])
        .args(["--framework", "cloudformation", "--output", "cli"])
        .arg("--skip-check")
        .arg(skips.join(","))
        .arg("--file")
        .arg(file.display().to_string())
        .dir(&paths.root)
        // No fetch of Prisma Cloud's guideline mappings: the scan runs offline.
        .env("BC_SKIP_MAPPING", "TRUE")
}

/// `./build.sh audit`: the template security scan, then `cargo deny check licenses bans sources`
/// (deny.toml). Advisories are left out: their database is fetched from GitHub, which needs the
/// internet (`cargo deny check advisories` where it is reachable).
pub fn audit(paths: &Paths) -> Result<()> {
    crate::tools::require_prerequisites()?;
    crate::tools::ensure_python_tools(paths)?;
    crate::tools::ensure_checkov(paths)?;
    let registry = registry::Registry::load(&paths.root)?;
    let template = crate::scaffolded::template_file(&paths.root, &paths.scanned(), &registry)?;
    for (step, cmd) in commands(paths, &template)? {
        crate::log!("{step}");
        cmd.run().with_context(|| format!("{step} failed"))?;
    }
    let problems = url_permission_problems(paths)?;
    if !problems.is_empty() {
        anyhow::bail!("Function URL permissions:\n  {}", problems.join("\n  "));
    }
    let deny = crate::tools::ensure_cargo_deny(paths)?;
    crate::log!("cargo deny check licenses bans sources");
    Cmd::new(deny.display().to_string())
        .args([
            "--log-level",
            "error",
            "check",
            "licenses",
            "bans",
            "sources",
        ])
        .dir(&paths.root)
        .run()
        .context("cargo deny found a problem (deny.toml says what is allowed)")
}
