//! The release gate's pure logic: no I/O, no `lambda_http`, no SDK types.
//!
//! [`cases`] reads the families' cases; [`check`] holds an answer to its case and finds a deployed
//! function's family.

pub mod cases;
pub mod check;
pub mod learned;
