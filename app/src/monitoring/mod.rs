//! Metrics and alerts from Prometheus, per environment and workload (being built: so far
//! the range rule every chart's query follows, and the bounded Prometheus client).

#[cfg(feature = "ssr")]
pub mod prometheus;
pub mod window;
