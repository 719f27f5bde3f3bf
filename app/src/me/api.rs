use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The signed-in person, as the sidebar shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub user_id: String,
    pub name: String,
    /// Their roles in a few words ("admin on dev, staging, prod").
    pub summary: String,
}

/// The "me" page, rendered on the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeView {
    pub html: String,
}

/// Who is calling. Anyone signed in may ask (this is how they learn what they may do).
#[server(prefix = "/api", endpoint = "me/identity", output = crate::codec::JsonAnswer)]
pub async fn who_am_i() -> Result<Identity, AppError> {
    let principal = signed_in()?;
    let context = crate::context::server_context()?;
    Ok(Identity {
        user_id: principal.user_id.clone(),
        name: principal.name.clone(),
        summary: super::html::summary(&principal, &context.environments),
    })
}

/// The caller's identity, groups and effective roles, rendered for the "me" page.
#[server(prefix = "/api", endpoint = "me", output = crate::codec::JsonAnswer)]
pub async fn get_me() -> Result<MeView, AppError> {
    let principal = signed_in()?;
    let context = crate::context::server_context()?;
    Ok(MeView { html: super::html::page(&principal, &context.environments) })
}

#[cfg(feature = "ssr")]
fn signed_in() -> Result<std::sync::Arc<crate::access::principal::Principal>, AppError> {
    // The server's sign-in layer answers 401 before an anonymous call gets here; this is
    // the same rule, kept where the data is read.
    crate::access::server::caller()
        .principal
        .ok_or_else(|| AppError::refused(401, crate::access::Denial::SignInRequired.reason(crate::access::Action::View)))
}
