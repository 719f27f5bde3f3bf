//! Which server-rendered page an address is, and who may see it.

use crate::access::server::{authorize, caller};
use crate::access::{Action, Denial};
use crate::context::server_context;
use crate::error::AppError;

use super::ServerHtml;

fn signed_in() -> Result<std::sync::Arc<crate::access::principal::Principal>, AppError> {
    // The server's sign-in layer answers 401 before an anonymous call gets here; this is
    // the same rule, kept where the data is read.
    caller()
        .principal
        .ok_or_else(|| AppError::refused(401, Denial::SignInRequired.reason(Action::View)))
}

/// The account box of the caller (nothing for someone not signed in).
pub fn account() -> Result<ServerHtml, AppError> {
    let Some(principal) = caller().principal else {
        return Ok(ServerHtml { title: String::new(), html: String::new() });
    };
    let context = server_context()?;
    Ok(ServerHtml {
        title: principal.name.clone(),
        html: crate::me::account_box(&principal, &context.environments),
    })
}

pub async fn page(address: &str) -> Result<ServerHtml, AppError> {
    let (path, query) = address.split_once('?').unwrap_or((address, ""));
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["me"] => {
            let principal = signed_in()?;
            let context = server_context()?;
            Ok(ServerHtml {
                title: "Me".to_owned(),
                html: crate::me::page(&principal, &context.environments),
            })
        }
        ["audit"] => audit_page(query).await,
        ["environments", env, "actions", action] => {
            let workload = query_value(query, "workload");
            action_page(env, action, workload.as_deref()).await
        }
        _ => Err(AppError::not_found(format!("There is nothing at {path}."))),
    }
}

async fn action_page(
    env: &str,
    action: &str,
    workload: Option<&str>,
) -> Result<ServerHtml, AppError> {
    let known = Action::CHANGES.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ");
    let Some(parsed) = Action::parse(action).filter(|a| Action::CHANGES.contains(a)) else {
        return Err(AppError::not_found(format!(
            "There is no action “{action}”. Actions: {known}."
        )));
    };
    let (context, decision) = authorize(env, parsed).await?;
    let environment =
        context.environments.iter().find(|e| e.name == env).ok_or(AppError::Internal)?;
    let html = crate::actions::action_page(
        environment,
        parsed,
        workload,
        &decision,
        &context.role_mapping,
    )?;
    Ok(ServerHtml { title: format!("{} on {env}", action.replace('_', " ")), html })
}

/// The query string as key-value pairs, decoded.
pub fn pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

async fn audit_page(query: &str) -> Result<ServerHtml, AppError> {
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

fn query_value(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_owned())
}
