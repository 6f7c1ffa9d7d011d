//! The acceptance suite: every test runs in-process (`TEST_MODE=handler`) or over HTTP
//! (`TEST_MODE=http`) against real DynamoDB. `./build.sh int-test` / `acceptance-test` run it.

mod bad_input;
mod experiments;
mod explore;
mod function_urls;
mod release;
mod release_gate;
mod shortener;
mod shortener_admin;
mod shortener_analytics;
mod shortener_api;
mod shortener_contract;
mod workshop;
