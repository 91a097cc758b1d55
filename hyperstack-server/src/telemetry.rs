//! Logging set-up: `RUST_LOG` filters (default `info`), `JSON_LOGS=true` switches to JSON lines.

use tracing_subscriber::EnvFilter;

/// Installs the global tracing subscriber. Safe to call twice (the second call does nothing).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("JSON_LOGS").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
