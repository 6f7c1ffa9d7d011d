//! The outside world: CodeDeploy ([`codedeploy`]). Invoking functions goes through the
//! experiment runner's Invoke API adapter ([`experiments::adapters::invoke`]).

pub mod codedeploy;
