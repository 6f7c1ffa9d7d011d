//! The shortener's domain: plain types and functions, no HTTP and no SDK.
//!
//! - [`analytics`]: what one visit adds to the per-day analytics, without identifying the visitor.
//! - [`target`]: the URL a link points at, parsed, normalised and checked for safety.
//! - [`code`]: short codes, the keyed permutation that makes them unguessable, and aliases.
//! - [`link`]: a stored link and the rules for expiry and visit limits.
//! - [`edit`]: editing a link (target with history, limits, disabled) and taking it down.
//! - [`qr`]: QR codes of short URLs, as SVG.
//! - [`ids`]: leasing blocks of ids from the counter so it is not a hot key.

pub mod analytics;
pub mod code;
pub mod edit;
pub mod ids;
pub mod link;
pub mod qr;
pub mod target;
