//! What the watch caches hold about the objects an action concerns, as a plan is made or
//! checked.

use super::plan::{self, Plan, Seen};
use super::store::Stored;
use crate::config::EnvironmentConfig;
use crate::context::ServerContext;
use crate::error::AppError;

/// Which objects to copy out of the caches: all while a plan is being made; only those
/// its kind reads when a stored plan is checked (a request's page checks on every view,
/// and copying a Deployment's ReplicaSets or a CronJob's Jobs for a sync it never reads
/// was most of that page's time).
#[derive(Clone, Copy)]
pub(super) struct Parts {
    application: bool,
    jobs: bool,
    workload: bool,
    /// A Deployment's ReplicaSets (only a rollback reads them: the revision it goes to).
    replicasets: bool,
}

impl Parts {
    pub(super) const ALL: Parts =
        Parts { application: true, jobs: true, workload: true, replicasets: true };

    /// What [`Plan::holds`] reads for `plan`.
    fn read_by(plan: &Plan) -> Parts {
        let none = Parts { application: false, jobs: false, workload: false, replicasets: false };
        match plan {
            Plan::Scale { .. } | Plan::ScaleAutoscaler { .. } | Plan::Restart { .. } => {
                Parts { workload: true, ..none }
            }
            Plan::Rollback { .. } => Parts { workload: true, replicasets: true, ..none },
            Plan::Sync { .. } | Plan::ResumeAutoSync { .. } => Parts { application: true, ..none },
            Plan::Restore(_) | Plan::RestoreCopy { .. } | Plan::Backup { .. } => {
                Parts { jobs: true, ..none }
            }
            Plan::Silence { .. } | Plan::ExpireSilence { .. } => none,
        }
    }
}

/// What the watch caches hold about the objects `action` on `workload` concerns.
pub(super) fn cached(
    context: &ServerContext,
    index: usize,
    env: &EnvironmentConfig,
    workload: Option<&str>,
    parts: Parts,
) -> Result<Seen, AppError> {
    let Some(watch) = context.live.watches().get(index) else {
        return Err(AppError::Unavailable(
            "This server watches no cluster, so it can change nothing.".into(),
        ));
    };
    if !watch.synced() {
        return Err(AppError::Unavailable(format!("The panel has not seen {} yet (its cluster view is still loading). Try again in a moment.", env.name)));
    }
    let mut seen = Seen {
        application: watch
            .application()
            .filter(|_| parts.application)
            .and_then(|a| serde_json::to_value(a.as_ref()).ok()),
        ..Seen::default()
    };
    if let Some(cronjob) = watch.cronjob(&env.backups.cronjob).filter(|_| parts.jobs) {
        seen.jobs = watch.runs_of(&cronjob).into_iter().map(|(j, _)| j.as_ref().clone()).collect();
        seen.cronjob = Some(cronjob.as_ref().clone());
    }
    if let Some(config) = workload.and_then(|w| env.workload(w)).filter(|_| parts.workload) {
        let kind = plan::kind_name(config.kind);
        if let Some(d) = watch.deployment(&config.name).filter(|_| kind == "Deployment") {
            if parts.replicasets {
                seen.replicasets =
                    watch.replicasets_of(&d).iter().map(|rs| rs.as_ref().clone()).collect();
            }
            seen.deployment = Some(d.as_ref().clone());
        }
        seen.statefulset = watch
            .statefulset(&config.name)
            .filter(|_| kind == "StatefulSet")
            .map(|s| s.as_ref().clone());
        seen.autoscaler = watch.autoscaler_for(kind, &config.name).map(|h| h.as_ref().clone());
    }
    Ok(seen)
}

/// Whether a stored request's plan still holds against the watch caches (its page says
/// so before anyone approves); `None` when the caches cannot tell.
pub fn holds_now(
    context: &ServerContext,
    index: usize,
    stored: &Stored,
) -> Option<Result<(), String>> {
    let env = context.environments.get(index)?;
    let parts = Parts::read_by(&stored.plan);
    let seen = cached(context, index, env, stored.plan.workload(), parts).ok()?;
    Some(stored.plan.holds(&seen))
}
