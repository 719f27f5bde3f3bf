//! Database backups: every run of an environment's backup CronJob (scheduled or made by
//! hand) read from its pod's termination message — the one line of JSON the project's
//! backup script (`deploy/backup/`) ends with — and kept in PostgreSQL, so the list
//! outlives the CronJob's history limits; the age of the last good backup as a state
//! (fresh, stale, never, unknown) on the overview and the Backups page.

#[cfg(feature = "ssr")]
pub mod guard;
#[cfg(feature = "ssr")]
pub mod known;
pub mod model;
#[cfg(feature = "ssr")]
pub mod observe;
#[cfg(feature = "ssr")]
pub mod page;
#[cfg(feature = "ssr")]
pub mod recorder;
#[cfg(feature = "ssr")]
pub mod report;
#[cfg(feature = "ssr")]
pub mod routes;
#[cfg(feature = "ssr")]
pub mod schedule;
#[cfg(feature = "ssr")]
pub mod store;
