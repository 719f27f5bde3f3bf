use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::model::PageHtml;
use crate::error::AppError;

/// One environment's pages, rendered now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentView {
    pub pages: PageHtml,
}

/// The environment named `name`, from the live view (memory only).
#[server(prefix = "/api", endpoint = "environment", output = crate::codec::JsonAnswer)]
pub async fn get_environment(name: String) -> Result<EnvironmentView, AppError> {
    let context = crate::context::server_context()?;
    let Some(i) = context.environments.iter().position(|e| e.name == name) else {
        // The list of names is no secret: every page's navigation shows the environments.
        let known: Vec<&str> = context.environments.iter().map(|e| e.name.as_str()).collect();
        return Err(AppError::not_found(format!(
            "There is no environment named “{name}”. Known environments: {}.",
            known.join(", ")
        )));
    };
    let Some(snapshot) = context.live.snapshot(i) else {
        return Err(AppError::not_found(format!(
            "No cluster is configured, so there is nothing to show for “{name}” (set cluster.source)."
        )));
    };
    // Rendered for this request, so ages count from now.
    Ok(EnvironmentView {
        pages: super::pages(&snapshot.detail, chrono::Utc::now().timestamp_millis()),
    })
}
