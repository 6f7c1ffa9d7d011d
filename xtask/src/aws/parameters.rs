//! The template parameters a deploy sets (`sam deploy --parameter-overrides`): every one on every
//! deploy, from the environment or the template's default, and a test stack's route limits.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};

/// The HTTP API's route limits of a test stack (`ROUTE_LIMITS=test`, and the stack
/// `./build.sh test` runs): high enough that the acceptance suite, which paces itself and retries
/// `429`, is not held up by its own creates, low enough that it is throttled now and then (so its
/// retries are exercised). A production stack keeps the template's defaults.
pub const TEST_ROUTE_LIMITS: [(&str, &str); 4] = [
    ("CreateRateLimit", "50"),
    ("CreateBurstLimit", "50"),
    ("BulkCreateRateLimit", "5"),
    ("BulkCreateBurstLimit", "5"),
];

pub fn test_route_limits() -> BTreeMap<String, String> {
    TEST_ROUTE_LIMITS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The template parameters a deploy sets, as `sam deploy --parameter-overrides` items: every one
/// of them on every deploy (`sam deploy` would otherwise keep a parameter's previous value, so a
/// stack once public would stay public and an alarm e-mail could never be cleared): the
/// environment's value when set, else the template's default (`defaults`). Each value is quoted
/// as SAM CLI's parser wants it (checked with SAM CLI 1.170.0's `CfnParameterOverridesType`: an
/// unquoted JSON value is cut at its first `"`, an empty one is refused).
pub fn parameter_overrides(
    env: &str,
    vars: &BTreeMap<String, String>,
    defaults: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let test_limits = vars.get("ROUTE_LIMITS").map(String::as_str) == Some("test");
    let mut values = vec![("Stage".to_owned(), env.to_owned())];
    for (parameter, test_value) in TEST_ROUTE_LIMITS {
        let value = if test_limits {
            test_value.to_owned()
        } else {
            default_of(defaults, parameter)?
        };
        values.push((parameter.to_owned(), value));
    }
    for (var, parameter) in DEPLOY_VARIABLES {
        let value = match vars.get(var) {
            Some(value) => value.clone(),
            None => default_of(defaults, parameter)?,
        };
        values.push((parameter.to_owned(), value));
    }
    // The rest at their defaults, but the releases' (`<Family>Release`, from releases.rs).
    for (parameter, default) in defaults {
        if !parameter.ends_with("Release") && !values.iter().any(|(p, _)| p == parameter) {
            values.push((parameter.clone(), default.clone()));
        }
    }
    values
        .into_iter()
        .map(|(parameter, value)| {
            if value.contains(['\'', '\\']) {
                bail!(
                    "{parameter}: a value with ' or \\ cannot be passed to sam deploy (got {value})"
                );
            }
            Ok(format!("{parameter}='{value}'"))
        })
        .collect()
}

/// The environment variables a deploy reads, and the template parameter each sets.
pub const DEPLOY_VARIABLES: [(&str, &str); 5] = [
    ("SHORT_URL_BASE", "ShortUrlBase"),
    ("BLOCKED_DOMAINS", "BlockedDomains"),
    ("ALARM_EMAIL", "AlarmEmail"),
    ("DEMO_FUNCTION_URL_AUTH", "DemoFunctionUrlAuth"),
    ("APPLE_APP_SITE_ASSOCIATION", "AppleAppSiteAssociation"),
];

fn default_of(defaults: &BTreeMap<String, String>, parameter: &str) -> Result<String> {
    defaults
        .get(parameter)
        .cloned()
        .with_context(|| format!("template.yaml has no parameter {parameter}"))
}
