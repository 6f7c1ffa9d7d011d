//! The outside world: the experiments table ([`store`]) and the Lambda Invoke API ([`invoke`]),
//! with the HTTP API payloads that go through it ([`payload`]).

pub mod invoke;
pub mod payload;
pub mod store;
