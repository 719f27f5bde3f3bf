//! The simulated cluster's tests, one binary: its API through kube-rs and kubectl, the
//! contract it shares with a real kube-apiserver, and its controllers.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod api;
mod contract;
mod controllers;
mod kubectl;
mod kubectl_logs;
