use leptos::prelude::*;

use super::model::Overview;
use crate::error::AppError;

/// The environments the caller may see, as the server knows them.
#[server(prefix = "/api", endpoint = "overview", output = crate::codec::JsonAnswer)]
pub async fn get_overview() -> Result<Overview, AppError> {
    crate::error::answer(
        async {
            let context = crate::context::server_context()?;
            let visible = crate::access::server::visible_environments(&context).await?;
            Ok(ssr::overview(&context, &visible))
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::atomic::{AtomicU64, Ordering};

    use crate::context::ServerContext;
    use crate::overview::model::{EnvironmentCard, Overview};

    static ANSWERED: AtomicU64 = AtomicU64::new(0);

    /// Reads the live view's latest snapshots: memory only, no Kubernetes API call.
    pub fn overview(context: &ServerContext, visible: &[usize]) -> Overview {
        let environments = visible
            .iter()
            .filter_map(|i| context.environments.get(*i).map(|env| (*i, env)))
            .map(|(i, env)| match context.live.snapshot(i) {
                // Built once per change by the live view.
                Some(snapshot) => (*snapshot.card).clone(),
                // No cluster configured: say so rather than guess.
                None => crate::overview::tile::rendered(EnvironmentCard::unconfigured(
                    &env.name,
                    &env.namespace,
                )),
            })
            .collect();
        Overview {
            environments,
            generated_at: crate::records::clock::to_second(&chrono::Utc::now()),
            refresh_count: ANSWERED.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }
}
