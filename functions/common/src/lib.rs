//! What the three Lambda functions share: typed configuration read once at cold start, JSON logs, and
//! CloudWatch Embedded Metric Format lines. Function-specific logic lives in each function's crate;
//! the pipeline lives in the `tier` library.

pub mod aws;
pub mod config;
pub mod metrics;

pub use config::{Config, ConfigError};
pub use metrics::Metrics;

/// Sets up JSON logs on stdout at `level` (e.g. `info`, or a full `EnvFilter` directive).
pub fn init_tracing(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .init();
}
