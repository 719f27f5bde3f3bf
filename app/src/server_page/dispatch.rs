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

fn query_value(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_owned())
}
