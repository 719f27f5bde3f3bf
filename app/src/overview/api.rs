use leptos::prelude::*;

use super::model::Overview;
use crate::error::AppError;

/// The environments as the server knows them.
#[server(prefix = "/api", endpoint = "overview")]
pub async fn get_overview() -> Result<Overview, AppError> {
    let context = use_context::<crate::context::ServerContext>().ok_or_else(|| {
        tracing::error!("server context missing from the request");
        AppError::Internal
    })?;
    Ok(ssr::overview(&context))
}

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::atomic::{AtomicU64, Ordering};

    use crate::context::ServerContext;
    use crate::overview::model::{EnvironmentCard, Health, Overview};

    static ANSWERED: AtomicU64 = AtomicU64::new(0);

    pub fn overview(context: &ServerContext) -> Overview {
        let environments = context
            .environments
            .iter()
            .enumerate()
            .map(|(i, env)| match context.watches.get(i) {
                Some(watch) => {
                    let status = watch.status();
                    let summary = match &status.stale_since {
                        Some(since) => format!(
                            "{} (not refreshed since {since}: the cluster is unreachable)",
                            status.verdict.reason
                        ),
                        None => status.verdict.reason.clone(),
                    };
                    EnvironmentCard {
                        name: env.name.clone(),
                        namespace: env.namespace.clone(),
                        health: status.verdict.health,
                        summary,
                    }
                }
                // No cluster configured: say so rather than guess.
                None => EnvironmentCard {
                    name: env.name.clone(),
                    namespace: env.namespace.clone(),
                    health: Health::Unknown,
                    summary:
                        "No cluster is configured: set cluster.source to see this environment."
                            .to_owned(),
                },
            })
            .collect();
        Overview {
            environments,
            generated_at: chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            refresh_count: ANSWERED.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }
}
