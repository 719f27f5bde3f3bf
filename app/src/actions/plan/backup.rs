//! The plan of "Back up now": the environment's backup CronJob must exist and no backup may
//! be running; the Job is named after the request, so a retry of the same request finds
//! its Job (409) instead of starting a second backup.

use k8s_openapi::api::batch::v1::Job;

use super::{AppRef, InPlace, Line, Plan, Seen};
use crate::config::EnvironmentConfig;
use crate::error::AppError;

/// The Job a backup request runs in: `<cronjob>-gantry-<request>`, within the 63
/// characters a Job's name may have (it becomes its pods' `job-name` label).
pub fn backup_job_name(cronjob: &str, request_id: i64) -> String {
    let tail = format!("-gantry-{request_id}");
    let room = 63usize.saturating_sub(tail.len());
    let head: String = cronjob.chars().take(room).collect();
    format!("{}{tail}", head.trim_end_matches('-'))
}

/// The Job a restore request runs in: `<template>-gantry-<request>`, as for backups.
pub fn restore_job_name(template: &str, request_id: i64) -> String {
    backup_job_name(template, request_id)
}

fn finished(job: &Job) -> bool {
    job.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| {
        cs.iter().any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
    })
}

/// The backup Job still running, if one is.
pub fn running_backup(seen: &Seen) -> Option<String> {
    seen.jobs.iter().find(|j| !finished(j)).map(|j| j.metadata.name.clone().unwrap_or_default())
}

pub fn backup(env: &EnvironmentConfig, seen: &Seen) -> Result<Plan, AppError> {
    let cronjob = &env.backups.cronjob;
    if seen.cronjob.is_none() {
        return Err(AppError::Conflict(format!(
            "There is no CronJob {cronjob} in {} (namespace {}): nothing makes backups there to run now. The README's Backups section says what the chart should carry.",
            env.name, env.namespace
        )));
    }
    if let Some(job) = running_backup(seen) {
        return Err(AppError::Conflict(format!(
            "A backup of {} is running already (Job {job}): wait for it to end, it is followed on the Backups page.",
            env.name
        )));
    }
    Ok(Plan::Backup { cronjob: cronjob.clone() })
}

/// Restoring a recorded, retained dump into a new database (`seen.cronjob`: the restore
/// template). In place is not offered yet: it must stop the writers, take a safety backup
/// and bring them back, step by step, and that is not built.
pub fn restore(
    env: &EnvironmentConfig,
    asked: &super::Asked,
    seen: &Seen,
) -> Result<Plan, AppError> {
    let template = &env.backups.restore_cronjob;
    if seen.cronjob.is_none() {
        return Err(AppError::Conflict(format!(
            "There is no CronJob {template} in {} (namespace {}) holding the restore Job's template: the README's Backups section says what the chart should carry.",
            env.name, env.namespace
        )));
    }
    let Some(file) = asked.file.as_deref() else {
        return Err(AppError::Invalid(
            "Say which backup to restore (file=<name>, as the Backups page lists it).".into(),
        ));
    };
    let Some(found) = seen.restorable.iter().find(|r| r.file == file) else {
        let kept: Vec<&str> = seen.restorable.iter().take(5).map(|r| r.file.as_str()).collect();
        return Err(AppError::NotFound(format!(
            "{file} is not a good backup of {} that retention still keeps. Newest kept: {}.",
            env.name,
            if kept.is_empty() { "none".to_owned() } else { kept.join(", ") }
        )));
    };
    if let Some(job) = running_backup(seen) {
        return Err(AppError::Conflict(format!(
            "A restore of {} is running already (Job {job}): wait for it to end.",
            env.name
        )));
    }
    let Some(copy) = asked.copy.clone() else {
        return in_place(env, seen, found);
    };
    Ok(Plan::RestoreCopy {
        template: template.clone(),
        file: found.file.clone(),
        sha256: found.sha256.clone(),
        taken_ms: found.finished_ms,
        copy,
    })
}

/// Over the live database: the writers stopped (with the replicas they run now, to bring
/// them back), a safety backup first, auto-sync paused so Argo CD does not start them again.
fn in_place(
    env: &EnvironmentConfig,
    seen: &Seen,
    found: &super::Restorable,
) -> Result<Plan, AppError> {
    let missing: Vec<&str> = env
        .backups
        .stop_during_restore
        .iter()
        .filter(|w| !seen.workloads.iter().any(|(name, _)| name == *w))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(AppError::Conflict(format!(
            "The panel does not see {} in {}: a restore stops them first, and cannot.",
            missing.join(", "),
            env.name
        )));
    }
    let pause_auto_sync = match (&env.argocd_application, &seen.application) {
        (Some(name), Some(app)) if super::auto_sync(app) => {
            Some(AppRef { namespace: env.argocd_namespace.clone(), name: name.clone() })
        }
        _ => None,
    };
    Ok(Plan::Restore(InPlace {
        template: env.backups.restore_cronjob.clone(),
        backup_cronjob: env.backups.cronjob.clone(),
        file: found.file.clone(),
        sha256: found.sha256.clone(),
        taken_ms: found.finished_ms,
        stop: seen.workloads.clone(),
        pause_auto_sync,
    }))
}

/// The in-place restore's preview: what is lost, then each step.
pub fn restore_lines(r: &InPlace) -> Vec<Line> {
    let at = chrono::DateTime::from_timestamp_millis(r.taken_ms)
        .map(|t| t.format("%a %d %b %H:%M UTC").to_string())
        .unwrap_or_default();
    let hours = (chrono::Utc::now().timestamp_millis() - r.taken_ms).max(0) / 3_600_000;
    let mut lines = vec![Line {
        what: "database",
        from: "as it is now".into(),
        to: format!(
            "as it was at {at} ({}): changes made after it, {hours} hours ago, are lost",
            r.file
        ),
    }];
    if r.pause_auto_sync.is_some() {
        lines.push(Line {
            what: "1. Argo CD auto-sync",
            from: "on".into(),
            to: "paused (pinned), resumed at the end".into(),
        });
    }
    for (workload, replicas) in &r.stop {
        lines.push(Line {
            what: "2. writers stopped",
            from: format!("{workload}: {replicas} replicas"),
            to: format!("0 during the restore, then {replicas} again"),
        });
    }
    lines.push(Line {
        what: "3. safety backup",
        from: "—".into(),
        to: format!("a new dump by the CronJob {}'s template", r.backup_cronjob),
    });
    lines.push(Line {
        what: "4. restore",
        from: "—".into(),
        to: format!("{} (checksum checked, one transaction)", r.file),
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_is_named_after_the_request_within_63_characters() {
        assert_eq!(backup_job_name("db-backup", 42), "db-backup-gantry-42");
        let long = "a".repeat(60);
        let name = backup_job_name(&long, 1_234_567);
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("-gantry-1234567"));
    }
}
