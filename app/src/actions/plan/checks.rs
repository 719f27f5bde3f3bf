//! Checking a plan against what the cluster shows: before it runs (does it still mean
//! what it meant when asked?) and after a crash (is its change in place?).

use super::{
    auto_sync, backup_job_name, bounds, replicas, replicaset_of_revision, restore_job_name,
    revision_of, running_backup, silence_marker, template_fingerprint, text, workload_template,
    Plan, Seen, INFO_REQUEST, RESTARTED_AT,
};
use serde_json::Value;

fn gone(name: &str) -> String {
    format!("{name} no longer exists")
}

impl Plan {
    /// Whether the plan still means what it meant when it was made: `Err` says what
    /// changed (the request is then superseded, not run).
    pub fn holds(&self, now: &Seen) -> Result<(), String> {
        match self {
            Plan::Scale { workload, from, .. } => {
                let current = replicas(now).ok_or_else(|| gone(workload))?;
                if current != *from {
                    return Err(format!(
                        "{workload} now runs {current} replicas, not {from} as when this was asked"
                    ));
                }
            }
            Plan::ScaleAutoscaler { autoscaler, from, .. } => {
                let current =
                    now.autoscaler.as_ref().map(bounds).ok_or_else(|| gone(autoscaler))?;
                if current != *from {
                    return Err(format!(
                        "the autoscaler's bounds are now {}–{}, not {}–{}",
                        current.min, current.max, from.min, from.max
                    ));
                }
            }
            Plan::Restart { workload, template, .. } => {
                let current = workload_template(now).ok_or_else(|| gone(workload))?;
                if template_fingerprint(&current) != *template {
                    return Err(format!("{workload}'s pod template changed since the request"));
                }
            }
            Plan::Rollback { workload, from_revision, to_revision, .. } => {
                let deployment = now.deployment.as_ref().ok_or_else(|| gone(workload))?;
                let current = revision_of(&deployment.metadata);
                if current != Some(*from_revision) {
                    return Err(format!(
                        "{workload} is now at revision {}, not {from_revision}",
                        current.map_or("unknown".into(), |r| r.to_string())
                    ));
                }
                if replicaset_of_revision(&now.replicasets, *to_revision).is_none() {
                    return Err(format!("revision {to_revision} of {workload} no longer exists"));
                }
            }
            Plan::Sync { application, target, .. } => {
                let app = now.application.as_ref().ok_or_else(|| gone(&application.name))?;
                let current = text(app, "/spec/source/targetRevision");
                if current != *target {
                    return Err(format!(
                        "the application now targets {current}, not {target} as when this was asked"
                    ));
                }
            }
            Plan::ResumeAutoSync { application, .. } => {
                let app = now.application.as_ref().ok_or_else(|| gone(&application.name))?;
                if auto_sync(app) {
                    return Err("auto-sync is already on".into());
                }
            }
            // A new silence means the same whenever it runs.
            Plan::Silence { .. } => {}
            Plan::Restore(r) => {
                if now.cronjob.is_none() {
                    return Err(gone(&format!("the restore template {}", r.template)));
                }
                if let Some(job) = running_backup(now) {
                    return Err(format!("a restore is running already: {job}"));
                }
            }
            Plan::RestoreCopy { template, .. } => {
                if now.cronjob.is_none() {
                    return Err(gone(&format!("the restore template {template}")));
                }
                if let Some(job) = running_backup(now) {
                    return Err(format!("a restore is running already: {job}"));
                }
            }
            Plan::Backup { cronjob } => {
                if now.cronjob.is_none() {
                    return Err(gone(&format!("the CronJob {cronjob}")));
                }
                if let Some(job) = running_backup(now) {
                    return Err(format!("a backup is running already: {job}"));
                }
            }
            Plan::ExpireSilence { id, .. } => {
                let live = now.silences.as_deref().unwrap_or_default().iter().find(|s| s.id == *id);
                match live {
                    Some(s) if s.state != "expired" => {}
                    Some(_) => return Err(format!("the silence {id} has expired already")),
                    None => return Err(format!("Alertmanager no longer holds the silence {id}")),
                }
            }
        }
        Ok(())
    }

    /// After a crash: whether the change this plan makes is in place. `started_at` is the
    /// restartedAt value a restart used; `request_id` marks a sync Gantry started.
    pub fn done(&self, now: &Seen, started_at: &str, request_id: i64) -> bool {
        match self {
            Plan::Scale { to, .. } => replicas(now) == Some(*to),
            Plan::ScaleAutoscaler { to, .. } => now.autoscaler.as_ref().map(bounds) == Some(*to),
            Plan::Restart { .. } => workload_template(now).is_some_and(|t| {
                t.metadata
                    .as_ref()
                    .and_then(|m| m.annotations.as_ref())
                    .and_then(|a| a.get(RESTARTED_AT))
                    .is_some_and(|v| v == started_at)
            }),
            Plan::Rollback { template, .. } => {
                workload_template(now).is_some_and(|t| template_fingerprint(&t) == *template)
            }
            Plan::Sync { .. } => now.application.as_ref().is_some_and(|app| {
                let marker = request_id.to_string();
                ["/operation/info", "/status/operationState/operation/info"].iter().any(|path| {
                    app.pointer(path).and_then(Value::as_array).is_some_and(|info| {
                        info.iter().any(|i| i["name"] == INFO_REQUEST && i["value"] == *marker)
                    })
                })
            }),
            Plan::ResumeAutoSync { .. } => now.application.as_ref().is_some_and(auto_sync),
            Plan::Silence { .. } => {
                let marker = silence_marker(request_id);
                now.silences
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .any(|s| s.comment.ends_with(&marker))
            }
            Plan::Restore(r) => {
                let name = restore_job_name(&r.template, request_id);
                let restored = now.jobs.iter().any(|j| {
                    j.metadata.name.as_deref() == Some(name.as_str())
                        && j.status.as_ref().and_then(|s| s.succeeded).unwrap_or(0) > 0
                });
                restored
                    && r.stop
                        .iter()
                        .all(|(w, n)| now.workloads.iter().any(|(x, m)| x == w && m == n))
            }
            Plan::RestoreCopy { template, .. } => {
                let name = restore_job_name(template, request_id);
                now.jobs.iter().any(|j| j.metadata.name.as_deref() == Some(name.as_str()))
            }
            Plan::Backup { cronjob } => {
                let name = backup_job_name(cronjob, request_id);
                now.jobs.iter().any(|j| j.metadata.name.as_deref() == Some(name.as_str()))
            }
            Plan::ExpireSilence { id, .. } => !now
                .silences
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|s| s.id == *id && s.state != "expired"),
        }
    }
}
