use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::status::model::EnvironmentStatus;

/// One environment's page data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentView {
    pub status: EnvironmentStatus,
    /// The server's clock when answering (ms since the epoch): ages on the first render.
    pub now_ms: i64,
}

/// The environment named `name`, from the live view (memory only).
#[server(prefix = "/api", endpoint = "environment")]
pub async fn get_environment(name: String) -> Result<EnvironmentView, AppError> {
    let context = crate::context::server_context()?;
    let Some(i) = context.environments.iter().position(|e| e.name == name) else {
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
    Ok(EnvironmentView {
        status: (*snapshot.status).clone(),
        now_ms: chrono::Utc::now().timestamp_millis(),
    })
}
