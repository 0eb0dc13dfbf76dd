//! Logging set-up, once per process.

use tracing_subscriber::EnvFilter;

/// Logs to stderr with the given filter (`RUST_LOG` syntax), default `info`
/// for this crate and `warn` for dependencies.
pub fn init(filter: Option<&str>) {
    let filter = filter
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("warn,flipfix_bot=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
