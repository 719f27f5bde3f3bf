//! Who am I: the signed-in person in the sidebar (the account box) and the "me" page with
//! their identity, groups and effective roles per environment. Both are rendered on the
//! server (see `server_page`).

#[cfg(feature = "ssr")]
mod page;

#[cfg(feature = "ssr")]
mod routes;

#[cfg(feature = "ssr")]
pub use page::{account_box, page, summary};
#[cfg(feature = "ssr")]
pub use routes::me_page;
