//! Logging: JSON lines for machines (timestamp, level, logger, message, fields,
//! trace_id), plain text for a person at a terminal.

mod json;
mod trace_id;

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub use json::JsonLayer;
pub use trace_id::TraceId;

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber. Called once, from `main`; tests use their own.
pub fn init(settings: &LogSettings) {
    // The level was validated with the configuration; fall back rather than panic.
    let filter = EnvFilter::try_new(&settings.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match settings.format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let layer = if json {
        JsonLayer::new(std::io::stdout).boxed()
    } else {
        tracing_subscriber::fmt::layer().with_target(true).boxed()
    };
    let _ = tracing_subscriber::registry().with(layer.with_filter(filter)).try_init();
}
