//! Which server-rendered page an address is. Each feature's `routes` module reads what
//! its page shows and checks who may see it; this is only the table of addresses.

use crate::access::server::caller;
use crate::context::server_context;
use crate::error::AppError;

use super::ServerHtml;

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
        ["me"] => crate::me::me_page(),
        ["audit"] => crate::audit::routes::audit_page(query).await,
        ["environments", env, "actions", action] => {
            crate::actions::routes::action_page(env, action, query).await
        }
        ["environments", env, "pods", pod] => crate::pods::routes::pod_page(env, pod, query).await,
        ["environments", env, "pods", pod, "logs"] => {
            crate::logs::routes::frame(env, crate::logs::ask::Target::Pod((*pod).to_owned()), query)
                .await
        }
        ["environments", env, "workloads", workload, "logs"] => {
            let target = crate::logs::ask::Target::Workload((*workload).to_owned());
            crate::logs::routes::frame(env, target, query).await
        }
        ["requests", id] => crate::actions::routes::request_page(id).await,
        ["approvals"] => crate::actions::routes::approvals_page().await,
        ["history"] => crate::history::routes::history_page(query).await,
        ["history", "diff"] => crate::history::routes::diff_page(query).await,
        ["history", "compare"] => crate::history::routes::compare_page(query).await,
        ["monitoring"] => crate::monitoring::routes::monitoring_page(query).await,
        ["backups"] => crate::backups::routes::backups_page(query).await,
        _ => Err(AppError::NotFound(format!("There is nothing at {path}."))),
    }
}
