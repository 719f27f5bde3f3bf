use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::model::PageHtml;
use crate::error::AppError;

/// One environment's pages, rendered now for the caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentView {
    pub pages: PageHtml,
    /// The action buttons this caller is offered (empty for someone who may only look).
    pub actions: ActionBars,
}

/// Action buttons as HTML: the environment's, and each workload's by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionBars {
    pub environment: String,
    pub workloads: Vec<(String, String)>,
}

/// The environment named `name`, from the live view (memory only), if the caller may see it.
#[server(prefix = "/api", endpoint = "environment", output = crate::codec::JsonAnswer)]
pub async fn get_environment(name: String) -> Result<EnvironmentView, AppError> {
    crate::error::answer(environment_view(name).await)
}

#[cfg(feature = "ssr")]
async fn environment_view(name: String) -> Result<EnvironmentView, AppError> {
    use crate::actions::offers;
    let (context, _) = crate::access::server::authorize(&name, crate::access::Action::View).await?;
    let Some(i) = context.environments.iter().position(|e| e.name == name) else {
        return Err(AppError::Internal);
    };
    let Some(snapshot) = context.live.snapshot(i) else {
        return Err(AppError::NotFound(format!(
            "No cluster is configured, so there is nothing to show for “{name}” (set cluster.source)."
        )));
    };
    let env = &context.environments[i];
    let caller = crate::access::server::caller();
    let principal = caller.principal();
    let pinned = snapshot.status.argo.as_ref().is_some_and(|a| a.pinned.is_some());
    // The pinned state and what waits for people sit with the environment's buttons.
    let mut environment = crate::actions::page::environment_notes(&snapshot.status);
    environment.push_str(&offers::bar(&name, &offers::environment_offers(principal, env, pinned)));
    let actions = ActionBars {
        environment,
        workloads: env
            .workloads
            .iter()
            .map(|w| {
                (w.name.clone(), offers::bar(&name, &offers::workload_offers(principal, env, w)))
            })
            .collect(),
    };
    // Rendered for this request, so ages count from now.
    Ok(EnvironmentView {
        pages: super::pages(&snapshot.detail, chrono::Utc::now().timestamp_millis()),
        actions,
    })
}
