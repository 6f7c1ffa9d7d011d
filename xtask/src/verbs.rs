//! The verbs that run the app or talk to a stack, one file each with its `run`: `local`, `bench`
//! (and `bench --report-only`), `experiments upload|reset`, `traffic`, `tune`, `deploy`, `remove`,
//! and `promote --release` (`release`). [`stack`] finds what a tool needs to reach a running
//! stack; [`plan`] runs or prints an AWS plan.

pub mod bench;
pub mod deploy;
pub mod experiments;
pub mod local;
mod plan;
pub mod release;
pub mod remove;
mod stack;
pub mod traffic;
pub mod tune;

pub use stack::{deployed_env, stack_env};
