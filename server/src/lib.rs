//! The Gantry server as a library, so tests can start it in-process on port 0.

pub mod anchor;
pub mod auth;
pub mod commands;
pub mod config;
pub mod db;
pub mod http;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
