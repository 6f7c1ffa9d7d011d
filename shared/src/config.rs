//! Reading configuration once, at cold start, into typed structs.
//!
//! Every function has a `Config::from_env()` built from these helpers. A missing or malformed variable
//! fails the cold start with a message naming the variable, instead of failing some later request.

use std::str::FromStr;

/// A variable was missing or could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is required but not set")]
    Missing { name: &'static str },
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// A source of variables: the process environment on Lambda, a map in tests.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

fn lookup(pairs: &[(&str, &str)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| (*v).to_owned())
        .filter(|v| !v.is_empty())
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        lookup(self, name)
    }
}

impl Env for Vec<(&str, &str)> {
    fn get(&self, name: &str) -> Option<String> {
        lookup(self, name)
    }
}

/// A required string variable.
pub fn required(env: &impl Env, name: &'static str) -> Result<String, ConfigError> {
    env.get(name).ok_or(ConfigError::Missing { name })
}

/// An optional string variable (unset and empty are the same).
pub fn optional(env: &impl Env, name: &'static str) -> Option<String> {
    env.get(name)
}

/// A variable parsed with `FromStr`, or `default` when unset.
pub fn parsed_or<T>(env: &impl Env, name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match env.get(name) {
        None => Ok(default),
        Some(value) => value.parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: e.to_string(),
            value,
        }),
    }
}

/// Builds the [`ConfigError::Invalid`] for a value that parsed but breaks a rule.
pub fn invalid(
    name: &'static str,
    value: impl Into<String>,
    reason: impl Into<String>,
) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.into(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_required_variable_names_it() {
        let err = required(&[("OTHER", "x")], "TABLE_NAME").unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable TABLE_NAME is required but not set"
        );
    }

    #[test]
    fn empty_variable_counts_as_unset() {
        assert_eq!(optional(&[("A", "")], "A"), None);
        assert_eq!(parsed_or(&[("N", "")], "N", 7u32).unwrap(), 7);
    }

    #[test]
    fn unparsable_variable_reports_value_and_reason() {
        let err = parsed_or(&[("N", "ten")], "N", 7u32).unwrap_err();
        assert!(err.to_string().contains("N=\"ten\""), "{err}");
    }
}
