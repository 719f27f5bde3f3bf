//! Metrics and alerts from Prometheus, per environment and workload (being built: so far
//! the range rule every chart's query follows).

pub mod window;
