//! The three functions' handlers, one module each: each parses its input, calls the domain and the
//! adapters, and answers. The binaries in `src/bin/` only wire them up.

pub mod comparator;
pub mod proxy;
pub mod report;
