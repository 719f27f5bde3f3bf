//! One pod (`/environments/<env>/pods/<pod>`): its state and why it does not run, in
//! words, from the watch cache; its logs come from `logs`. Kept current by the live
//! stream: the page is asked again at each change to its environment.

#[cfg(feature = "ssr")]
pub mod diagnose;
#[cfg(feature = "ssr")]
mod page;
#[cfg(feature = "ssr")]
pub mod routes;
mod view;

pub use view::PodPage;
