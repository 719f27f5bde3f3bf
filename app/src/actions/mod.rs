//! Actions on environments and workloads: what the signed-in person is offered (buttons
//! shown only for what the server's access check allows) and each action's page, which
//! states the decision for them — allowed directly, after approvals, or not at all. All
//! rendered on the server (see `server_page`).

#[cfg(feature = "ssr")]
pub mod lifecycle;
#[cfg(feature = "ssr")]
pub mod offers;

#[cfg(feature = "ssr")]
pub use offers::action_page;
