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

/// The environment named `name`, from the live view (memory only), if the caller may see
/// it: its own page, or with `workload` that workload's page (and only that one).
#[server(prefix = "/api", endpoint = "environment", output = crate::codec::JsonAnswer)]
pub async fn get_environment(
    name: String,
    workload: Option<String>,
) -> Result<EnvironmentView, AppError> {
    crate::error::answer(environment_view(name, workload).await)
}

#[cfg(feature = "ssr")]
async fn environment_view(
    name: String,
    workload: Option<String>,
) -> Result<EnvironmentView, AppError> {
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
    let now = chrono::Utc::now().timestamp_millis();
    // As rendered at the last change, with ages counted from now.
    let Some(pages) = super::page(&snapshot.pages, workload.as_deref(), now) else {
        return Err(AppError::NotFound(format!(
            "There is no workload named “{}” in {name}.",
            workload.unwrap_or_default()
        )));
    };
    let actions = match &workload {
        None => {
            // The pinned state and what waits for people sit with the environment's buttons.
            let mut bar = crate::actions::page::environment_notes(&snapshot.status);
            bar.push_str(&offers::bar(&name, &offers::environment_offers(principal, env, pinned)));
            ActionBars { environment: bar, workloads: Vec::new() }
        }
        Some(w) => ActionBars {
            environment: String::new(),
            workloads: env
                .workloads
                .iter()
                .filter(|c| c.name == *w)
                .map(|c| {
                    let bar = offers::bar(&name, &offers::workload_offers(principal, env, c));
                    (c.name.clone(), bar)
                })
                .collect(),
        },
    };
    Ok(EnvironmentView { pages, actions })
}
