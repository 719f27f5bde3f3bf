//! Access control: who may do what on which environment. The roles come from the person's
//! groups through the configured mapping; the one check ([`check`]) answers every server
//! function and API route, and its reasons are what refused people read.

pub mod model;

#[cfg(feature = "ssr")]
mod check;
#[cfg(feature = "ssr")]
pub mod principal;
#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "ssr")]
pub use check::{check, check_named};
pub use model::{Action, Decision, Denial, EnvironmentPolicy, GroupRoles, Policy, Role};
