//! Making a plan from what is seen: the checks a request must pass before it is stored
//! (bounds, autoscalers, kept revisions, Argo CD busy or not), each refusal in words.

use serde_json::Value;

use super::{
    auto_sync, bounds, images_of, operation_running, replicas, replicaset_of_revision, revision_of,
    template_fingerprint, template_for_rollback, text, workload_template, AppRef, Asked, Bounds,
    Plan, Seen, PAUSED_BY,
};
use crate::access::Action;
use crate::config::{EnvironmentConfig, WorkloadConfig};
use crate::error::AppError;
use crate::monitoring::alertmanager::Matcher;
use crate::status::model::WorkloadKind;

/// The plan for `action` on `env` as asked, from what is seen now.
pub fn make(
    env: &EnvironmentConfig,
    action: Action,
    asked: &Asked,
    seen: &Seen,
) -> Result<Plan, AppError> {
    match action {
        Action::Sync => sync(env, seen),
        Action::ResumeAutoSync => resume(env, seen),
        Action::Silence => silence(env, asked),
        Action::ExpireSilence => expire_silence(env, asked, seen),
        Action::Backup => super::backup::backup(env, seen),
        Action::Restore => super::backup::restore(env, asked, seen),
        Action::Scale | Action::Restart | Action::Rollback => {
            let Some(name) = asked.workload.as_deref() else {
                return Err(AppError::Invalid(format!("Say which workload to {}.", action.verb())));
            };
            let Some(config) = env.workload(name) else {
                return Err(AppError::NotFound(format!(
                    "There is no workload named “{name}” in {}.",
                    env.name
                )));
            };
            if replicas(seen).is_none() {
                return Err(AppError::Conflict(format!(
                    "{name} is configured but the panel does not see it in {} (namespace {}).",
                    env.name, env.namespace
                )));
            }
            match action {
                Action::Scale => scale(env, config, asked, seen),
                Action::Restart => Ok(Plan::Restart {
                    kind: config.kind,
                    workload: name.to_owned(),
                    template: workload_template(seen)
                        .map(|t| template_fingerprint(&t))
                        .unwrap_or_default(),
                    revision: seen
                        .deployment
                        .as_ref()
                        .filter(|_| config.kind == WorkloadKind::Deployment)
                        .and_then(|d| super::revision_of(&d.metadata)),
                }),
                _ => rollback(env, config, asked, seen),
            }
        }
        _ => Err(AppError::Invalid(format!(
            "“{}” is not a change the panel makes.",
            action.as_str()
        ))),
    }
}

fn scale(
    env: &EnvironmentConfig,
    config: &WorkloadConfig,
    asked: &Asked,
    seen: &Seen,
) -> Result<Plan, AppError> {
    let name = &config.name;
    let (lo, hi) = (config.min_replicas, config.max_replicas);
    let within = |n: i32, what: &str| {
        if (lo..=hi).contains(&n) {
            Ok(n)
        } else {
            Err(AppError::Unprocessable(format!(
                "The {what} must be between {lo} and {hi}: the bounds configured for {name} in {}.",
                env.name
            )))
        }
    };
    if let Some(hpa) = &seen.autoscaler {
        let from = bounds(hpa);
        let autoscaler = hpa.metadata.name.clone().unwrap_or_default();
        if asked.replicas.is_some() && asked.min.is_none() && asked.max.is_none() {
            return Err(AppError::Conflict(format!(
                    "{name} is scaled by the autoscaler {autoscaler} (between {} and {} replicas): a replica count set by hand would be undone within seconds. Change the autoscaler's minimum and maximum instead.",
                    from.min, from.max
                )));
        }
        let to = Bounds {
            min: within(asked.min.unwrap_or(from.min), "minimum")?,
            max: within(asked.max.unwrap_or(from.max), "maximum")?,
        };
        if to.min > to.max {
            return Err(AppError::Unprocessable("The minimum cannot be above the maximum.".into()));
        }
        if to == from {
            return Err(AppError::Unprocessable(format!(
                "The autoscaler already keeps {name} between {} and {}.",
                from.min, from.max
            )));
        }
        return Ok(Plan::ScaleAutoscaler { workload: name.clone(), autoscaler, from, to });
    }
    let Some(wanted) = asked.replicas else {
        return Err(AppError::Invalid(format!("Say how many replicas {name} should run.")));
    };
    let to = within(wanted, "number of replicas")?;
    let from = replicas(seen).unwrap_or_default();
    if to == from {
        return Err(AppError::Unprocessable(format!("{name} already runs {from} replicas.")));
    }
    Ok(Plan::Scale { kind: config.kind, workload: name.clone(), from, to })
}

fn rollback(
    env: &EnvironmentConfig,
    config: &WorkloadConfig,
    asked: &Asked,
    seen: &Seen,
) -> Result<Plan, AppError> {
    let name = &config.name;
    let Some(deployment) =
        seen.deployment.as_ref().filter(|_| config.kind == WorkloadKind::Deployment)
    else {
        return Err(AppError::Unprocessable(format!(
            "{name} is not a Deployment: only Deployments keep revisions to roll back to."
        )));
    };
    let Some(current) = revision_of(&deployment.metadata) else {
        return Err(AppError::Conflict(format!(
            "{name} has no revision yet: its first rollout has not been recorded."
        )));
    };
    let mut kept: Vec<i64> =
        seen.replicasets.iter().filter_map(|rs| revision_of(&rs.metadata)).collect();
    kept.sort_unstable();
    // Like `kubectl rollout undo` without --to-revision: the one before the current.
    let target = asked.revision.or_else(|| kept.iter().rev().find(|r| **r < current).copied());
    let Some(target) = target else {
        return Err(AppError::Conflict(format!("{name} has no earlier revision to roll back to.")));
    };
    if target == current {
        return Err(AppError::Unprocessable(format!(
            "Revision {target} is the one {name} runs now."
        )));
    }
    let Some(rs) = replicaset_of_revision(&seen.replicasets, target) else {
        let list: Vec<String> = kept.iter().map(i64::to_string).collect();
        return Err(AppError::NotFound(format!(
            "There is no revision {target} of {name}; revisions kept: {}.",
            list.join(", ")
        )));
    };
    let Some(template) = template_for_rollback(rs) else {
        return Err(AppError::Conflict(format!(
            "Revision {target} of {name} has no pod template."
        )));
    };
    let pause_auto_sync = match (&env.argocd_application, &seen.application) {
        (Some(app), Some(object)) if auto_sync(object) => {
            Some(AppRef { namespace: env.argocd_namespace.clone(), name: app.clone() })
        }
        _ => None,
    };
    Ok(Plan::Rollback {
        workload: name.clone(),
        from_revision: current,
        to_revision: target,
        from_images: images_of(deployment.spec.as_ref().map(|s| &s.template)),
        to_images: images_of(Some(&template)),
        template: template_fingerprint(&template),
        pause_auto_sync,
    })
}

fn application(env: &EnvironmentConfig, seen: &Seen) -> Result<(AppRef, Value), AppError> {
    let Some(name) = &env.argocd_application else {
        return Err(AppError::Unprocessable(format!(
            "{} is not deployed by Argo CD here: there is no application to sync.",
            env.name
        )));
    };
    let Some(app) = seen.application.clone() else {
        return Err(AppError::Conflict(format!(
            "The panel does not see the Argo CD application {name} (namespace {}).",
            env.argocd_namespace
        )));
    };
    Ok((AppRef { namespace: env.argocd_namespace.clone(), name: name.clone() }, app))
}

fn sync(env: &EnvironmentConfig, seen: &Seen) -> Result<Plan, AppError> {
    let (application, app) = application(env, seen)?;
    if let Some(running) = operation_running(&app) {
        return Err(AppError::Conflict(format!(
            "Argo CD is busy with {}: {running}. Wait for it to finish.",
            application.name
        )));
    }
    let target = text(&app, "/spec/source/targetRevision");
    Ok(Plan::Sync {
        application,
        deployed: text(&app, "/status/sync/revision"),
        target: if target.is_empty() { "HEAD".into() } else { target },
    })
}

fn resume(env: &EnvironmentConfig, seen: &Seen) -> Result<Plan, AppError> {
    let (application, app) = application(env, seen)?;
    let paused_by = text(&app, &format!("/metadata/annotations/{}", PAUSED_BY.replace('/', "~1")));
    if auto_sync(&app) || paused_by.is_empty() {
        return Err(AppError::Unprocessable(format!(
            "Auto-sync of {} is not paused by Gantry: there is nothing to resume.",
            application.name
        )));
    }
    Ok(Plan::ResumeAutoSync { application, paused_by })
}

/// A silence of the environment's alerts: its namespace always among the matchers, so it
/// never reaches another environment's; the alert's name when one is given.
fn silence(env: &EnvironmentConfig, asked: &Asked) -> Result<Plan, AppError> {
    let Some(minutes) = asked.minutes else {
        return Err(AppError::Invalid(
            "Say for how long (duration: 30m, 2h, 1d): a silence always ends.".into(),
        ));
    };
    let mut matchers = vec![Matcher::equal("namespace", &env.namespace)];
    if let Some(alertname) = &asked.alertname {
        matchers.push(Matcher::equal("alertname", alertname));
    }
    Ok(Plan::Silence { matchers, minutes })
}

/// Expiring one of the environment's silences, as Alertmanager holds it now.
fn expire_silence(env: &EnvironmentConfig, asked: &Asked, seen: &Seen) -> Result<Plan, AppError> {
    let Some(id) = &asked.silence else {
        return Err(AppError::Invalid("Say which silence to expire (silence=<id>).".into()));
    };
    let found = seen.silences.as_deref().unwrap_or_default().iter().find(|s| s.id == *id);
    // Only a silence scoped to this environment's namespace is this environment's to end
    // (one of another's, or one covering every environment, is as if it were not there).
    let scoped = |s: &&crate::monitoring::alertmanager::Silence| {
        s.matchers.iter().any(|m| *m == Matcher::equal("namespace", &env.namespace))
    };
    let Some(silence) = found.filter(scoped) else {
        return Err(AppError::NotFound(format!("There is no silence {id} on {}.", env.name)));
    };
    if silence.state == "expired" {
        return Err(AppError::Unprocessable(format!("The silence {id} has expired already.")));
    }
    Ok(Plan::ExpireSilence {
        id: id.clone(),
        matchers: silence.matchers.clone(),
        ends_at: silence.ends_at.clone(),
    })
}
