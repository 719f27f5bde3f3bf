//! One pod (`/environments/<env>/pods/<pod>`): its state and why it does not run, in
//! words, from the watch cache, and its logs panel (`logs`). A server-rendered page.

#[cfg(feature = "ssr")]
pub mod diagnose;
#[cfg(feature = "ssr")]
mod page;
#[cfg(feature = "ssr")]
pub mod routes;
