//! Restoring over the live database, step by step, each step audited: pause Argo CD's
//! auto-sync (pinned, as a rollback does, so Git does not start the writers again), stop
//! the writers, take a safety backup, restore (restore.sh: checksum first, one
//! transaction), start the writers again with the replicas they had, resume auto-sync.
//! Every Job is named after the request, so a step found done is never run again; when the
//! safety backup or the restore fails, the writers come back and auto-sync resumes, and
//! the request says what happened.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch};
use kube::Client;
use serde_json::json;

use super::apply::{self, Context, Outcome};
use super::plan::{backup_job_name, restore_job_name, InPlace, Plan};
use crate::backups::report::{read, read_restore, Ended};
use crate::context::ServerContext;
use crate::status::model::WorkloadKind;

/// The longest a step's Job is waited for (the Jobs' own activeDeadlineSeconds is 2 h).
const LONGEST: Duration = Duration::from_secs(3 * 3600);
/// How often a running Job is looked at.
const POLL: Duration = Duration::from_secs(1);

/// Records one step of the request in the audit log.
async fn audited(context: &ServerContext, cx: &Context<'_>, env: &str, step: &str) {
    let event = crate::audit::NewEvent {
        kind: "action_step",
        user_id: Some(cx.user_id),
        display_name: Some(cx.name),
        environment: Some(env),
        object: Some("Database/live"),
        action: Some("restore"),
        outcome: step,
        request_id: Some(cx.request_id),
        reason: None,
        request: None,
        client_addr: None,
        forwarded_for: None,
    };
    if let Err(error) = crate::audit::append(&context.db, &event).await {
        tracing::error!(%error, request = cx.request_id, step, "cannot audit a restore step");
    }
    context.records.wrote(&[crate::records::Topic::Audit]);
}

/// Waits for the Job `name` to end: `Ok(report)` when it succeeded, `Err(reason)` else.
async fn ended(client: &Client, ns: &str, name: &str, restore: bool) -> Result<String, String> {
    let jobs = Api::<Job>::namespaced(client.clone(), ns);
    let pods = Api::<Pod>::namespaced(client.clone(), ns);
    let started = tokio::time::Instant::now();
    loop {
        let job = jobs.get(name).await.map_err(|e| apply::words(&e))?;
        let status = job.status.clone().unwrap_or_default();
        let condition = |kind: &str| {
            status
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == kind && c.status == "True")
                .cloned()
        };
        let state = if condition("Complete").is_some() {
            Ended::Complete
        } else if condition("Failed").is_some() {
            Ended::Failed
        } else {
            Ended::Not
        };
        if state != Ended::Not {
            let list = pods.list(&ListParams::default().labels(&format!("job-name={name}"))).await;
            let terminated = list.ok().and_then(|l| {
                l.items
                    .into_iter()
                    .filter_map(|p| {
                        p.status?.container_statuses?.into_iter().next()?.state?.terminated
                    })
                    .next_back()
            });
            let message = terminated.as_ref().and_then(|t| t.message.clone());
            let code = terminated.map(|t| t.exit_code);
            let failure = condition("Failed").and_then(|c| c.message);
            return if restore {
                match read_restore(state, message.as_deref(), code, failure.as_deref()) {
                    Some(Ok((file, database))) => Ok(format!("{file} restored into {database}")),
                    Some(Err(reason)) => Err(reason),
                    None => Err("ended without saying how".into()),
                }
            } else {
                match read(state, message.as_deref(), code, failure.as_deref()) {
                    crate::backups::model::Outcome::Succeeded(m) => Ok(m.file),
                    crate::backups::model::Outcome::Failed { reason } => Err(reason),
                    crate::backups::model::Outcome::Running => {
                        Err("ended without saying how".into())
                    }
                }
            };
        }
        if started.elapsed() > LONGEST {
            return Err(format!("{name} did not end within {} hours", LONGEST.as_secs() / 3600));
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn scale(client: &Client, ns: &str, workload: &str, replicas: i32) -> Result<(), String> {
    let patch = Patch::Merge(json!({"spec": {"replicas": replicas}}));
    apply::patch_workload(client, ns, WorkloadKind::Deployment, workload, true, &patch)
        .await
        .map_err(|e| apply::words(&e))
}

/// Waits until `workload` runs no pod: nothing writes while the restore runs.
async fn stopped(client: &Client, ns: &str, workload: &str) -> Result<(), String> {
    let deployments = Api::<Deployment>::namespaced(client.clone(), ns);
    let started = tokio::time::Instant::now();
    loop {
        let d = deployments.get(workload).await.map_err(|e| apply::words(&e))?;
        if d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0) == 0 {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(format!("{workload} still runs pods 10 minutes after being scaled to 0"));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Runs the restore in place; what the request's result says.
pub async fn run(
    context: &ServerContext,
    client: &Client,
    plan: &Plan,
    cx: &Context<'_>,
    env: &str,
) -> Outcome {
    let Plan::Restore(r) = plan else {
        return Outcome::Failed("not a restore in place".into());
    };
    let ns = cx.namespace;
    // Fresh: the plan still holds (no restore running, the template there).
    match apply::fetch(client, ns, plan).await {
        Ok(seen) => {
            if let Err(changed) = plan.holds(&seen) {
                return Outcome::Superseded(changed);
            }
        }
        Err(error) => return Outcome::Failed(apply::words(&error)),
    }
    let mut paused = false;
    if let Some(app) = &r.pause_auto_sync {
        let step = async {
            let seen = apply::fetch(client, ns, plan).await.map_err(|e| apply::words(&e))?;
            match &seen.application {
                Some(object) if super::plan::auto_sync(object) => {
                    apply::pause(client, app, object, cx).await.map_err(|_| {
                        format!("Argo CD auto-sync of {} could not be paused", app.name)
                    })
                }
                _ => Ok(()),
            }
        };
        if let Err(reason) = step.await {
            return Outcome::Failed(format!("nothing was changed: {reason}"));
        }
        paused = true;
        audited(context, cx, env, "auto-sync paused").await;
    }
    let outcome = stop_back_up_restore(context, client, r, cx, env).await;
    // Whatever happened: the writers back with what they had, auto-sync as it was.
    let mut back = Vec::new();
    for (workload, replicas) in &r.stop {
        if let Err(reason) = scale(client, ns, workload, *replicas).await {
            back.push(format!("{workload} could not be scaled back to {replicas}: {reason}"));
        }
    }
    audited(context, cx, env, "writers started again").await;
    if let (true, Some(app)) = (paused, &r.pause_auto_sync) {
        let resume =
            Plan::ResumeAutoSync { application: app.clone(), paused_by: cx.name.to_owned() };
        match apply::execute(client, &resume, cx).await {
            Outcome::Done(_) => audited(context, cx, env, "auto-sync resumed").await,
            other => back.push(format!("auto-sync was not resumed: {other:?}")),
        }
    }
    let tail =
        if back.is_empty() { String::new() } else { format!(" — and {}", back.join("; ")) };
    match outcome {
        Ok(done) => Outcome::Done(format!("{done}; the writers run again{tail}")),
        Err(reason) => Outcome::Failed(format!("{reason}; the writers run again{tail}")),
    }
}

async fn stop_back_up_restore(
    context: &ServerContext,
    client: &Client,
    r: &InPlace,
    cx: &Context<'_>,
    env: &str,
) -> Result<String, String> {
    let ns = cx.namespace;
    for (workload, _) in &r.stop {
        scale(client, ns, workload, 0).await?;
    }
    for (workload, _) in &r.stop {
        stopped(client, ns, workload).await?;
    }
    audited(context, cx, env, "writers stopped").await;
    let asker = super::backup::Asker { namespace: ns, request_id: cx.request_id, name: cx.name };
    let backup =
        super::backup::fetch(client, ns, &r.backup_cronjob).await.map_err(|e| apply::words(&e))?;
    super::backup::run(client, &backup, &asker, "backup", &[])
        .await
        .map_err(|e| apply::words(&e))?
        .ok_or_else(|| {
            format!(
                "nothing was restored: there is no CronJob {} for the safety backup",
                r.backup_cronjob
            )
        })?;
    let safety = ended(client, ns, &backup_job_name(&r.backup_cronjob, cx.request_id), false)
        .await
        .map_err(|reason| format!("nothing was restored: the safety backup failed: {reason}"))?;
    audited(context, cx, env, "safety backup taken").await;
    let template =
        super::backup::fetch(client, ns, &r.template).await.map_err(|e| apply::words(&e))?;
    let settings = [("BACKUP_FILE", r.file.clone()), ("EXPECTED_SHA256", r.sha256.clone())];
    super::backup::run(client, &template, &asker, "restore", &settings)
        .await
        .map_err(|e| apply::words(&e))?
        .ok_or_else(|| format!("nothing was restored: there is no CronJob {}", r.template))?;
    let restored = ended(client, ns, &restore_job_name(&r.template, cx.request_id), true)
        .await
        .map_err(|reason| format!("the restore failed and changed nothing (one transaction): {reason}; the safety backup {safety} holds the data as it was"))?;
    audited(context, cx, env, "restored").await;
    Ok(format!("{restored}; the safety backup {safety} holds the data as it was before"))
}

/// After a crash: settles a restore in place from what the cluster shows, running no step
/// again. The restore Job ended (or was never made): the writers come back with their
/// replicas and auto-sync resumes if this request paused it, and the request says how the
/// restore ended. Still running: `None` — asked again at the next sweep, the writers left
/// stopped meanwhile (starting them under a running restore would write into it).
pub async fn settle(client: &Client, plan: &Plan, cx: &Context<'_>) -> Option<(bool, String)> {
    let Plan::Restore(r) = plan else { return None };
    let ns = cx.namespace;
    let jobs = Api::<Job>::namespaced(client.clone(), ns);
    let name = restore_job_name(&r.template, cx.request_id);
    let job = jobs.get_opt(&name).await.ok()?;
    let state = job.as_ref().and_then(|j| j.status.as_ref()).map(|s| {
        let done = |kind: &str| {
            s.conditions.iter().flatten().any(|c| c.type_ == kind && c.status == "True")
        };
        (done("Complete"), done("Failed"))
    });
    // A safety backup still running: its executor may well be alive and waiting for it.
    let safety = jobs.get_opt(&backup_job_name(&r.backup_cronjob, cx.request_id)).await.ok()?;
    let safety_running = safety.as_ref().is_some_and(|j| {
        !j.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| {
            cs.iter().any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        })
    });
    if job.is_none() && safety_running {
        return None;
    }
    let (restored, said) = match (job.is_some(), state) {
        (false, _) => {
            (false, "interrupted before the restore began: nothing was restored".to_owned())
        }
        (true, Some((true, _))) => {
            (true, format!("the restore {name} had finished when it was interrupted"))
        }
        (true, Some((_, true))) => {
            (false, format!("the restore {name} had failed and changed nothing"))
        }
        _ => return None,
    };
    let mut back = Vec::new();
    for (workload, replicas) in &r.stop {
        if let Err(reason) = scale(client, ns, workload, *replicas).await {
            back.push(format!("{workload} could not be scaled back to {replicas}: {reason}"));
        }
    }
    if let Some(app) = &r.pause_auto_sync {
        let seen = apply::fetch(client, ns, plan).await.ok();
        let mine = seen.and_then(|s| s.application).is_some_and(|a| {
            a["metadata"]["annotations"][super::plan::PAUSED_REQUEST]
                == cx.request_id.to_string().as_str()
        });
        if mine {
            let resume =
                Plan::ResumeAutoSync { application: app.clone(), paused_by: cx.name.to_owned() };
            if !matches!(apply::execute(client, &resume, cx).await, Outcome::Done(_)) {
                back.push("auto-sync was not resumed".to_owned());
            }
        }
    }
    let tail =
        if back.is_empty() { String::new() } else { format!(" — and {}", back.join("; ")) };
    Some((restored, format!("reconciled after the server stopped: {said}; no step was run again; the writers run again{tail}")))
}
