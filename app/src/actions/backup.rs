//! Running "Back up now" in the cluster: a Job made from the backup CronJob's job
//! template as `kubectl create job --from=cronjob/…` makes it (its labels, annotations
//! `cronjob.kubernetes.io/instantiate: manual`, an owner reference to the CronJob), named
//! after the request and annotated with it and who asked. A retry of the same request
//! meets its own Job (409) and counts as done: the backup never runs twice.

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, ListParams, PostParams};
use kube::Client;

use super::plan::{backup_job_name, Restorable, Seen};
use crate::backups::observe::{INSTANTIATE, REQUEST, REQUESTED_BY};

/// The CronJob and the Jobs it owns, fresh from the API.
pub async fn fetch(client: &Client, namespace: &str, cronjob: &str) -> Result<Seen, kube::Error> {
    let mut seen = Seen::default();
    let Some(cron) = Api::<CronJob>::namespaced(client.clone(), namespace).get_opt(cronjob).await?
    else {
        return Ok(seen);
    };
    let uid = cron.metadata.uid.clone();
    let jobs =
        Api::<Job>::namespaced(client.clone(), namespace).list(&ListParams::default()).await?;
    seen.jobs = jobs
        .items
        .into_iter()
        .filter(|j| {
            j.metadata.owner_references.iter().flatten().any(|o| Some(&o.uid) == uid.as_ref())
        })
        .collect();
    seen.cronjob = Some(cron);
    Ok(seen)
}

/// Who asks for the backup, and in which namespace.
pub struct Asker<'a> {
    pub namespace: &'a str,
    pub request_id: i64,
    pub name: &'a str,
}

/// Creates the request's Job (`what`: "backup", "restore"), with `settings` set in its
/// container's environment; `Ok` also when it exists already (an earlier attempt of the
/// same request made it). `Ok(None)`: the CronJob is gone, there is nothing to run.
pub async fn run(
    client: &Client,
    seen: &Seen,
    cx: &Asker<'_>,
    what: &str,
    settings: &[(&str, String)],
) -> Result<Option<String>, kube::Error> {
    let Some(cron) = &seen.cronjob else { return Ok(None) };
    let cron_name = cron.metadata.name.clone().unwrap_or_default();
    let name = backup_job_name(&cron_name, cx.request_id);
    let mut template = cron.spec.as_ref().map(|s| s.job_template.clone()).unwrap_or_default();
    let container = template
        .spec
        .as_mut()
        .and_then(|s| s.template.spec.as_mut())
        .and_then(|s| s.containers.first_mut());
    if let Some(container) = container {
        let env = container.env.get_or_insert_with(Vec::new);
        for (key, value) in settings {
            env.retain(|e| e.name != *key);
            env.push(k8s_openapi::api::core::v1::EnvVar {
                name: (*key).to_owned(),
                value: Some(value.clone()),
                value_from: None,
            });
        }
    }
    let mut annotations =
        template.metadata.as_ref().and_then(|m| m.annotations.clone()).unwrap_or_default();
    annotations.insert(INSTANTIATE.into(), "manual".into());
    annotations.insert(REQUEST.into(), cx.request_id.to_string());
    annotations.insert(REQUESTED_BY.into(), cx.name.to_owned());
    let job = Job {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(cx.namespace.to_owned()),
            labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "CronJob".into(),
                name: cron_name.clone(),
                uid: cron.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: None,
            }]),
            ..ObjectMeta::default()
        },
        spec: template.spec,
        status: None,
    };
    let params = PostParams { field_manager: Some("gantry".into()), ..PostParams::default() };
    match Api::<Job>::namespaced(client.clone(), cx.namespace).create(&params, &job).await {
        Ok(_) => Ok(Some(format!(
            "the {what} Job {name} is running (made from the CronJob {cron_name})"
        ))),
        Err(kube::Error::Api(status)) if status.code == 409 => {
            Ok(Some(format!("the {what} Job {name} was already made for this request")))
        }
        Err(error) => Err(error),
    }
}

/// The dumps a restore of `environment` may use: good runs recorded whose file the newest
/// good run's retention still keeps, newest first.
pub async fn restorable(
    db: &sqlx::PgPool,
    environment: &str,
) -> Result<Vec<Restorable>, sqlx::Error> {
    let runs = crate::backups::store::runs(db, environment, 200).await?;
    let good: Vec<(i64, &crate::backups::model::Manifest)> = runs
        .iter()
        .filter_map(|r| match &r.outcome {
            crate::backups::model::Outcome::Succeeded(m) => Some((r.finished_ms.unwrap_or(0), m)),
            _ => None,
        })
        .collect();
    let Some((_, newest)) = good.first() else { return Ok(Vec::new()) };
    let kept = |file: &str| {
        newest.retained.is_empty() && file == newest.file
            || newest.retained.iter().any(|f| f == file)
    };
    Ok(good
        .iter()
        .filter(|(_, m)| kept(&m.file))
        .map(|(at, m)| Restorable {
            file: m.file.clone(),
            sha256: m.sha256.clone(),
            finished_ms: *at,
        })
        .collect())
}
