//! The experiment runner's pure logic: no I/O, no `lambda_http`, no SDK types.

pub mod canary;
pub mod compare;
pub mod coverage;
pub mod definition;
pub mod pace;
pub mod promotion;
pub mod record;
pub mod redaction;
pub mod report;
pub mod stats;
pub mod tally;
pub mod verdict;
pub mod versions;
