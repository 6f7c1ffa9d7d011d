//! The hook's settings, read once at cold start.

use shared::config::{ConfigError, Env, required};

use crate::judge::Released;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `STACK_NAME`: the controls are deployed as `<stack>-<family>-control`.
    pub stack: String,
    /// The post-traffic judge's settings; `None` for the gate.
    pub judge: Option<JudgeConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgeConfig {
    /// `EXPERIMENTS_TABLE`: where the comparisons are.
    pub table: String,
    /// `RELEASED_CANDIDATES`: which candidate each control runs the code of.
    pub released: Released,
}

impl Config {
    /// The gate's settings, or with `judge` the post-traffic judge's.
    pub fn from_env(env: &impl Env, judging: bool) -> Result<Self, ConfigError> {
        let judge = if judging {
            let text = required(env, "RELEASED_CANDIDATES")?;
            let released = Released::parse(&text).map_err(|e| ConfigError::Invalid {
                name: "RELEASED_CANDIDATES",
                reason: e.to_string(),
                value: text,
            })?;
            Some(JudgeConfig {
                table: required(env, "EXPERIMENTS_TABLE")?,
                released,
            })
        } else {
            None
        };
        Ok(Self {
            stack: required(env, "STACK_NAME")?,
            judge,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_name_is_required() {
        assert_eq!(
            Config::from_env(&[("STACK_NAME", "rust-serverless-dev")], false).unwrap(),
            Config {
                stack: "rust-serverless-dev".into(),
                judge: None,
            }
        );
        let error = Config::from_env(&[("OTHER", "x")], false).unwrap_err();
        assert!(error.to_string().contains("STACK_NAME"), "{error}");
    }

    #[test]
    fn the_judge_needs_the_table_and_the_released_candidates() {
        let env = [
            ("STACK_NAME", "rust-serverless-dev"),
            ("EXPERIMENTS_TABLE", "t"),
            ("RELEASED_CANDIDATES", "round=none,sort=fixed"),
        ];
        let judge = Config::from_env(&env, true).unwrap().judge.unwrap();
        assert_eq!(judge.table, "t");
        assert_eq!(judge.released.of("sort"), Some("fixed"));
        for missing in ["EXPERIMENTS_TABLE", "RELEASED_CANDIDATES"] {
            let env: Vec<_> = env.iter().filter(|(k, _)| *k != missing).copied().collect();
            let error = Config::from_env(&env, true).unwrap_err();
            assert!(error.to_string().contains(missing), "{error}");
        }
        let bad = [
            ("STACK_NAME", "s"),
            ("EXPERIMENTS_TABLE", "t"),
            ("RELEASED_CANDIDATES", "sort"),
        ];
        let error = Config::from_env(&bad, true).unwrap_err();
        assert!(error.to_string().contains("family=candidate"), "{error}");
    }
}
