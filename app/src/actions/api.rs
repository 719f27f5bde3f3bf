use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionView {
    pub html: String,
}

/// One action on one environment (and workload) as it stands for the caller: refused with
/// the reason when the access check says no.
#[server(prefix = "/api", endpoint = "action", output = crate::codec::JsonAnswer)]
pub async fn get_action(
    env: String,
    action: String,
    workload: Option<String>,
) -> Result<ActionView, AppError> {
    use crate::access::Action;
    let known = Action::CHANGES.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ");
    let Some(parsed) = Action::parse(&action).filter(|a| Action::CHANGES.contains(a)) else {
        return Err(AppError::not_found(format!("There is no action “{action}”. Actions: {known}.")));
    };
    let (context, decision) = crate::access::server::authorize(&env, parsed).await?;
    let Some(environment) = context.environments.iter().find(|e| e.name == env) else {
        return Err(AppError::Internal);
    };
    super::offers::action_page(environment, parsed, workload.as_deref(), &decision, &context.role_mapping)
        .map(|html| ActionView { html })
}
