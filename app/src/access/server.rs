//! The access check as server functions use it: who is calling (put on the request by the
//! server's sign-in layer), the decision, and a record of every refusal.

use std::sync::Arc;

use super::model::{Action, Decision, Denial};
use super::principal::Principal;
use crate::context::{server_context, ServerContext};
use crate::error::AppError;

/// Who sent the request and from where; inserted into every request's extensions by the
/// server before pages and server functions run.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub principal: Option<Arc<Principal>>,
    /// The peer's address as the server saw it.
    pub client_addr: Option<String>,
    /// The `X-Forwarded-For` header as received (meaningful only behind a trusted proxy).
    pub forwarded_for: Option<String>,
    /// Method and path, for the record ("POST /api/environment").
    pub request: String,
}

impl Caller {
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_deref()
    }
}

/// The caller of the current render or server function.
pub fn caller() -> Caller {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>();
    parts.and_then(|p| p.extensions.get::<Caller>().cloned()).unwrap_or_default()
}

/// A sign-in, sign-out or refusal, for the audit log.
pub struct AccessEvent<'a> {
    /// `sign_in`, `sign_in_refused`, `sign_out` or `denied`.
    pub kind: &'static str,
    pub user_id: Option<&'a str>,
    pub display_name: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub action: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// Appends a sign-in, sign-out or refusal to the audit log. The caller decides what a
/// failure means: a sign-in that cannot be recorded is refused; a refusal that cannot be
/// recorded is still refused, and the failure is logged here.
pub async fn record(
    context: &ServerContext,
    caller: &Caller,
    event: AccessEvent<'_>,
) -> Result<(), sqlx::Error> {
    let outcome = match event.kind {
        "sign_in" | "sign_out" => "ok",
        _ => "refused",
    };
    let entry = crate::audit::NewEvent {
        kind: event.kind,
        user_id: event.user_id,
        display_name: event.display_name,
        environment: event.environment,
        action: event.action,
        outcome,
        reason: event.reason,
        request: Some(caller.request.as_str()).filter(|r| !r.is_empty()),
        client_addr: caller.client_addr.as_deref(),
        forwarded_for: caller.forwarded_for.as_deref(),
        ..crate::audit::NewEvent::default()
    };
    let result = crate::audit::append(&context.db, &entry).await;
    context.records.wrote(&[crate::records::Topic::Audit]);
    if let Err(error) = &result {
        tracing::error!(%error, kind = event.kind, "cannot append to the audit log");
    }
    result.map(|_| ())
}

/// Records that `caller` was refused `action` on `environment`.
pub async fn record_denial(
    context: &ServerContext,
    caller: &Caller,
    environment: Option<&str>,
    action: Action,
    reason: &str,
) {
    let principal = caller.principal();
    let event = AccessEvent {
        kind: "denied",
        user_id: principal.map(|p| p.user_id.as_str()),
        display_name: principal.map(|p| p.name.as_str()),
        environment,
        action: Some(action.as_str()),
        reason: Some(reason),
    };
    // Already logged inside; the refusal stands either way.
    let _ = record(context, caller, event).await;
}

/// Asks the one check whether the caller may do `action` on `environment`. A refusal is
/// recorded and becomes the server function's error (401, 403, or 404 for an unknown
/// environment, naming the known ones).
pub async fn authorize(
    environment: &str,
    action: Action,
) -> Result<(ServerContext, Decision), AppError> {
    let context = server_context()?;
    let decision = authorize_for(&context, &caller(), environment, action).await?;
    Ok((context, decision))
}

/// [`authorize`] for a given caller (routes outside a render, such as exports).
pub async fn authorize_for(
    context: &ServerContext,
    caller: &Caller,
    environment: &str,
    action: Action,
) -> Result<Decision, AppError> {
    let decision =
        super::check_named(caller.principal(), &context.environments, environment, action);
    let Decision::Denied(denial) = &decision else {
        return Ok(decision);
    };
    if let Denial::UnknownEnvironment { .. } = denial {
        let known: Vec<&str> = context.environments.iter().map(|e| e.name.as_str()).collect();
        return Err(AppError::NotFound(format!(
            "There is no environment named “{environment}”. Known environments: {}.",
            known.join(", ")
        )));
    }
    let reason = denial.reason(action);
    record_denial(context, caller, Some(environment), action, &reason).await;
    Err(denial.refusal_with(reason))
}

/// The environments the caller may see, in configured order (indices into
/// `context.environments`). Someone signed in who may see none is refused with their
/// groups named, so they know what to ask for.
pub async fn visible_environments(context: &ServerContext) -> Result<Vec<usize>, AppError> {
    visible_environments_for(context, &caller()).await
}

/// [`visible_environments`] for a given caller (routes outside a render, such as exports).
pub async fn visible_environments_for(
    context: &ServerContext,
    caller: &Caller,
) -> Result<Vec<usize>, AppError> {
    let Some(principal) = caller.principal() else {
        let reason = Denial::SignInRequired.reason(Action::View);
        record_denial(context, caller, None, Action::View, &reason).await;
        return Err(AppError::SignInRequired(reason));
    };
    let visible: Vec<usize> = context
        .environments
        .iter()
        .enumerate()
        .filter(|(_, env)| super::check(Some(principal), env, Action::View).is_allowed())
        .map(|(i, _)| i)
        .collect();
    if visible.is_empty() {
        let reason = no_access_reason(principal);
        record_denial(context, caller, None, Action::View, &reason).await;
        return Err(AppError::Forbidden(reason));
    }
    Ok(visible)
}

/// What a signed-in person without any role reads.
pub fn no_access_reason(principal: &Principal) -> String {
    let groups = if principal.groups.is_empty() {
        "you belong to no group the sign-in reported".to_owned()
    } else {
        format!("your groups ({}) give you no role", principal.groups.join(", "))
    };
    format!(
        "No access. You are signed in as {} ({}), but {groups} on any environment. Ask a Gantry administrator to map one of your groups to a role.",
        principal.name, principal.user_id
    )
}

/// The signed-in person, or the refusal to send someone who is not.
pub fn signed_in() -> Result<std::sync::Arc<crate::access::principal::Principal>, AppError> {
    // The server's sign-in layer answers 401 before an anonymous call gets here; this is
    // the same rule, kept where the data is read.
    caller()
        .principal
        .ok_or_else(|| AppError::SignInRequired(Denial::SignInRequired.reason(Action::View)))
}
