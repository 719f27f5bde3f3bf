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

    use std::collections::BTreeMap;

    use crate::context::ServerContext;
    use crate::overview::model::{EnvironmentCard, Health, Overview};
    use crate::status::model::{EnvironmentStatus, Rollout};

    static ANSWERED: AtomicU64 = AtomicU64::new(0);

    pub fn overview(context: &ServerContext) -> Overview {
        let environments = context
            .environments
            .iter()
            .enumerate()
            .map(|(i, env)| match context.watches.get(i) {
                Some(watch) => card(&watch.status()),
                // No cluster configured: say so rather than guess.
                None => EnvironmentCard {
                    name: env.name.clone(),
                    namespace: env.namespace.clone(),
                    health: Health::Unknown,
                    summary:
                        "No cluster is configured: set cluster.source to see this environment."
                            .to_owned(),
                    version: None,
                    sync: None,
                    rollouts: Vec::new(),
                    stale_since: None,
                },
            })
            .collect();
        Overview {
            environments,
            generated_at: chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            refresh_count: ANSWERED.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }

    /// The reason as a sentence: capital first letter.
    fn sentence(reason: &str) -> String {
        let mut chars = reason.chars();
        chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
    }

    /// The overview's card for one environment's status.
    pub fn card(status: &EnvironmentStatus) -> EnvironmentCard {
        // The version people talk about: the tag most Deployments run.
        let mut tags: BTreeMap<&str, usize> = BTreeMap::new();
        for w in &status.workloads {
            if let Some(image) = w.images.first() {
                *tags.entry(image.tag.as_str()).or_default() += 1;
            }
        }
        let version = tags.iter().max_by_key(|(_, n)| **n).map(|(tag, _)| (*tag).to_owned());
        let rollouts = status
            .workloads
            .iter()
            .filter_map(|w| match w.rollout {
                Rollout::Progressing { percent } => Some((w.name.clone(), percent)),
                _ => None,
            })
            .collect();
        EnvironmentCard {
            name: status.name.clone(),
            namespace: status.namespace.clone(),
            health: status.verdict.health,
            summary: sentence(&status.verdict.reason),
            version,
            sync: status.argo.as_ref().map(|a| (a.sync.clone(), a.auto_sync)),
            rollouts,
            stale_since: status.stale_since.clone(),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::card;
        use crate::status::model::{
            EnvironmentStatus, Health, Image, Rollout, Verdict, WorkloadKind, WorkloadStatus,
        };

        fn workload(name: &str, tag: &str, rollout: Rollout) -> WorkloadStatus {
            WorkloadStatus {
                name: name.into(),
                kind: WorkloadKind::Deployment,
                desired: 2,
                ready: 2,
                updated: 2,
                available: 2,
                rollout,
                images: vec![Image {
                    container: name.into(),
                    repository: format!("r/{name}"),
                    tag: tag.into(),
                }],
                restarts: 0,
                problems: vec![],
                autoscaler: None,
            }
        }

        #[test]
        fn the_card_names_the_common_version_and_the_rollouts_in_progress() {
            let status = EnvironmentStatus {
                name: "prod".into(),
                namespace: "co2-calculator-prod".into(),
                verdict: Verdict {
                    health: Health::Healthy,
                    reason: "healthy; rolling out backend".into(),
                },
                workloads: vec![
                    workload("backend", "1.8.3", Rollout::Progressing { percent: 33 }),
                    workload("celery-worker", "1.8.2", Rollout::Complete),
                    workload("frontend", "1.8.2", Rollout::Complete),
                    workload("redis", "7.2.5-alpine", Rollout::Complete),
                ],
                argo: None,
                stale_since: None,
            };
            let c = card(&status);
            assert_eq!(c.version.as_deref(), Some("1.8.2"));
            assert_eq!(c.rollouts, vec![("backend".to_owned(), 33)]);
            assert_eq!(c.summary, "Healthy; rolling out backend");
            assert!(c.sync.is_none());
        }
    }
}
