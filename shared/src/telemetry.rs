//! Structured logging with `tracing`: JSON lines (what CloudWatch Logs Insights queries), one span per
//! request carrying the Lambda request id and the correlation id, so every line has both.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once per process. `RUST_LOG` filters (default `info`);
/// `LOG_FORMAT=text` gives human-readable lines for a terminal.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let text = std::env::var("LOG_FORMAT").is_ok_and(|v| v == "text");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false);
    // `try_init` so a second call (tests, benches) is harmless.
    let _ = if text {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    };
}
