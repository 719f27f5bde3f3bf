//! Actions on environments and workloads: what the signed-in person is offered (buttons
//! shown only for what the server's access check allows), the plan and preview of each,
//! requests with their approvals, execution exactly once, and the pages that show them.

#[cfg(feature = "ssr")]
pub mod apply;
#[cfg(feature = "ssr")]
pub mod backup;
#[cfg(feature = "ssr")]
pub mod engine;
#[cfg(feature = "ssr")]
pub mod lifecycle;
#[cfg(feature = "ssr")]
pub mod offers;
#[cfg(feature = "ssr")]
pub mod page;
#[cfg(feature = "ssr")]
pub mod plan;
#[cfg(feature = "ssr")]
pub mod restore;
#[cfg(feature = "ssr")]
pub mod routes;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod silences;
#[cfg(feature = "ssr")]
pub mod store;

/// The changes a request can ask for.
#[cfg(feature = "ssr")]
pub const REQUESTABLE: [crate::access::Action; 9] = [
    crate::access::Action::Sync,
    crate::access::Action::Scale,
    crate::access::Action::Restart,
    crate::access::Action::Rollback,
    crate::access::Action::ResumeAutoSync,
    crate::access::Action::Silence,
    crate::access::Action::ExpireSilence,
    crate::access::Action::Backup,
    crate::access::Action::Restore,
];
