//! The integration tests of the Gantry server, one binary (linking the server once), one
//! module per feature. Each test starts its own server on a free port, against its own
//! database (`#[sqlx::test]`); they run in parallel.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod access_matrix;
mod action_recovery;
mod actions;
mod alert_rules;
mod audit;
mod auth;
mod backup_scripts;
mod backups;
mod browser;
mod claims;
mod cluster;
mod database_roles;
mod history;
mod history_page;
mod hostile;
mod http;
mod live;
mod logs;
mod monitoring;
mod prometheus;
mod protection;
mod records;
mod restores;
mod sessions;
mod silences;
