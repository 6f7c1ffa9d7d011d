//! Memory-size tuning for the workspace's Lambda functions, like AWS Lambda Power Tuning: invoke a
//! function at each memory size (on AWS, or here under Lambda's CPU share), drop outliers, price
//! each size with the arm64 price table, recommend one per strategy, and write a Markdown report
//! with an SVG chart. `main.rs` only wires [`options::parse`] to [`app::run`].

pub mod app;
pub mod aws;
pub mod cost;
pub mod event;
pub mod gate;
pub mod local;
pub mod model;
pub mod options;
pub mod progress;
pub mod recommend;
pub mod report;
pub mod report_line;
pub mod runtime_api;
pub mod stats;
pub mod svg;
pub mod throttle;
pub mod tuning;
