//! Differential exploration with shrinking: which inputs separate a candidate from its control?
//!
//! For each candidate of an experiment, [`engine::explore`] draws requests from the family's
//! generator ([`family`]), sends each to the control and the candidate through a [`transport`]
//! (never the experiment proxy, so exploring is not counted as traffic), compares the answers
//! with the comparator's rules, and shrinks the first disagreement to a minimal request.
//! `./build.sh explore` runs it (xtask/src/explore.rs); the acceptance suite tests it in both
//! modes (tests/acceptance/tests/suite/explore.rs). Tooling: never a dependency of a Lambda binary.
//!
//! | module        | what it holds                                                          |
//! |---------------|------------------------------------------------------------------------|
//! | [`probe`]     | one generated request                                                  |
//! | [`family`]    | the generators: one aimed per family, one uniform per family           |
//! | [`engine`]    | drawing, comparing, shrinking; the result                              |
//! | [`transport`] | Function URLs over HTTP, the Invoke API                                |

pub mod engine;
pub mod family;
pub mod probe;
pub mod transport;

pub use engine::{Budget, Difference, Exploration, Plan, Step, explore};
pub use family::{Distribution, Family};
pub use probe::Probe;
pub use transport::{HttpTransport, InvokeTransport, SendError, Transport};
