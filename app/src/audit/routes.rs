//! The Audit page as an address (`/audit`): who may read which environments' events is
//! decided before anything is read.

use crate::access::server::{caller, record_denial, Caller};
use crate::access::{Action, Denial};
use crate::audit::store::{fetch, parse, Filter, Scope, PAGE};
use crate::context::{server_context, ServerContext};
use crate::error::AppError;
use crate::server_page::model::{pairs, ServerHtml};

/// Who may read which events — the one rule of the Audit page and its exports: the approver
/// or admin role on an environment reads that environment's events (see [`Scope::of`]); a
/// filter naming an environment outside that is refused. Every refusal is recorded.
pub async fn readable(
    context: &ServerContext,
    caller: &Caller,
    asked: &[(String, String)],
) -> Result<(Scope, Filter), AppError> {
    let Some(principal) = caller.principal() else {
        return Err(Denial::SignInRequired.refusal(Action::ViewAudit));
    };
    let Some(scope) = Scope::of(principal, &context.environments) else {
        let reason =
            "Reading the audit log takes the approver or admin role on an environment.".to_owned();
        record_denial(context, caller, None, Action::ViewAudit, &reason).await;
        return Err(AppError::Forbidden(reason));
    };
    let filter = parse(asked).map_err(AppError::Invalid)?;
    if let Some(env) =
        filter.environment.as_deref().filter(|e| !scope.environments.iter().any(|s| s == e))
    {
        let reason = format!("You may not read the audit log of {env}.");
        record_denial(context, caller, Some(env), Action::ViewAudit, &reason).await;
        return Err(AppError::Forbidden(reason));
    }
    Ok((scope, filter))
}

pub async fn audit_page(query: &str) -> Result<ServerHtml, AppError> {
    let context = server_context()?;
    let asked = pairs(query);
    let (scope, filter) = readable(&context, &caller(), &asked).await?;
    let records = &context.records;
    let key = format!("{scope:?} {filter:?}");
    let most = usize::try_from(PAGE).unwrap_or(usize::MAX);
    let read = async {
        let rows = fetch(&context.db, &filter, &scope, PAGE + 1).await?;
        Ok::<_, sqlx::Error>(crate::audit::page::Events::render(&rows, most))
    };
    let events = records
        .audit
        .get(&records.versions, key, read)
        .await
        .map_err(|error| AppError::internal("cannot read the audit log", &error))?;
    // Checking the chain reads every event: only on request, and only for admins (it
    // covers events they may not otherwise see, though it shows only the verdict).
    let may_verify = scope.without_environment;
    let chain = if may_verify && asked.iter().any(|(k, v)| k == "verify" && v == "1") {
        Some(
            crate::audit::verify(&context.db)
                .await
                .map_err(|error| AppError::internal("cannot check the audit chain", &error))?,
        )
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
        events: &events,
        chain,
        may_verify,
    });
    Ok(ServerHtml { title: "Audit".to_owned(), html })
}
