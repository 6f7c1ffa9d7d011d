//! The hook's settings, read once at cold start.

use shared::config::{ConfigError, Env, required};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `STACK_NAME`: the controls are deployed as `<stack>-<family>-control`.
    pub stack: String,
}

impl Config {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        Ok(Self {
            stack: required(env, "STACK_NAME")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_name_is_required() {
        assert_eq!(
            Config::from_env(&[("STACK_NAME", "rust-serverless-dev")]).unwrap(),
            Config {
                stack: "rust-serverless-dev".into()
            }
        );
        let error = Config::from_env(&[("OTHER", "x")]).unwrap_err();
        assert!(error.to_string().contains("STACK_NAME"), "{error}");
    }
}
