//! Logs of a pod, or of every pod of a workload merged by time: the last lines, followed
//! live, since a time, the previous run of a container that restarted, filtered by level,
//! text or one request's trace id, downloadable as text. Read from the Kubernetes log API
//! on the server and streamed to the page as server-sent events, never buffered whole:
//! a page that does not keep up is cut off, a stream ends on sign-out, streams are capped
//! per person and in all. Reading logs is a permission per environment (`policy.logs`)
//! and each read is an audit event.

#[cfg(feature = "ssr")]
pub mod ask;
#[cfg(feature = "ssr")]
pub mod follow;
#[cfg(feature = "ssr")]
pub mod line;
#[cfg(feature = "ssr")]
mod plan;
#[cfg(feature = "ssr")]
pub mod read;
#[cfg(feature = "ssr")]
pub mod render;
#[cfg(feature = "ssr")]
pub mod routes;
#[cfg(feature = "hydrate")]
mod view;

#[cfg(feature = "hydrate")]
pub use view::browser::Stream;
