//! The Audit page as an address (`/audit`): who may read which environments' events is
//! decided before anything is read.

use crate::access::server::{caller, signed_in};
use crate::access::Action;
use crate::context::server_context;
use crate::error::AppError;
use crate::server_page::model::{pairs, ServerHtml};

pub async fn audit_page(query: &str) -> Result<ServerHtml, AppError> {
    use crate::audit::query::{fetch, parse, Scope, PAGE};
    let context = server_context()?;
    let caller = caller();
    let principal = signed_in()?;
    let Some(scope) = Scope::of(&principal, &context.environments) else {
        let reason =
            "Reading the audit log takes the approver or admin role on an environment.".to_owned();
        crate::access::server::record_denial(
            &context.db,
            &caller,
            None,
            Action::ViewAudit,
            &reason,
        )
        .await;
        return Err(AppError::refused(403, reason));
    };
    let asked = pairs(query);
    let filter = parse(&asked).map_err(AppError::invalid)?;
    if let Some(env) =
        filter.environment.as_deref().filter(|e| !scope.environments.iter().any(|s| s == e))
    {
        let reason = format!("You may not read the audit log of {env}.");
        crate::access::server::record_denial(
            &context.db,
            &caller,
            Some(env),
            Action::ViewAudit,
            &reason,
        )
        .await;
        return Err(AppError::refused(403, reason));
    }
    let rows = fetch(&context.db, &filter, &scope, PAGE + 1).await.map_err(|error| {
        tracing::error!(%error, "cannot read the audit log");
        AppError::Internal
    })?;
    let more = rows.len() > usize::try_from(PAGE).unwrap_or(usize::MAX);
    let rows: Vec<_> = rows.into_iter().take(usize::try_from(PAGE).unwrap_or(usize::MAX)).collect();
    // Checking the chain reads every event: only on request, and only for admins (it
    // covers events they may not otherwise see, though it shows only the verdict).
    let may_verify = scope.without_environment;
    let chain = if may_verify && asked.iter().any(|(k, v)| k == "verify" && v == "1") {
        Some(crate::audit::verify(&context.db).await.map_err(|error| {
            tracing::error!(%error, "cannot check the audit chain");
            AppError::Internal
        })?)
    } else {
        None
    };
    let kept: Vec<(String, String)> =
        asked.into_iter().filter(|(k, _)| k != "before" && k != "verify").collect();
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish();
    let html = crate::audit::page::render(crate::audit::page::Page {
        filter: &filter,
        scope: &scope,
        query,
        rows,
        more,
        chain,
        may_verify,
    });
    Ok(ServerHtml { title: "Audit".to_owned(), html })
}
