//! The pod page as an address. Anyone who may see the environment sees its pods (their
//! state is not personal data); the logs below are a permission of their own.

use super::page::PodPage;
use crate::access::server::{authorize_for, caller};
use crate::access::{check, Action};
use crate::context::server_context;
use crate::error::AppError;
use crate::logs::ask::is_name;
use crate::server_page::model::ServerHtml;

pub async fn pod_page(env: &str, pod: &str, query: &str) -> Result<ServerHtml, AppError> {
    let context = server_context()?;
    let caller = caller();
    authorize_for(&context, &caller, env, Action::View).await?;
    let Some(index) = context.environments.iter().position(|e| e.name == env) else {
        return Err(AppError::Internal);
    };
    if !is_name(pod) {
        return Err(AppError::Invalid(
            "A pod's name has lowercase letters, digits, '-' and '.' only.".into(),
        ));
    }
    let watch = context.live.watches().get(index).ok_or_else(|| {
        AppError::NotFound(
            "No cluster is configured, so there are no pods to show (set cluster.source).".into(),
        )
    })?;
    let found = watch.pod(pod).ok_or_else(|| {
        AppError::NotFound(format!(
            "There is no pod named “{pod}” in {env}. It may have been replaced: pods of a Deployment get new names; open the current ones from the environment's page."
        ))
    })?;
    let logs =
        check(caller.principal(), &context.environments[index], Action::ReadLogs).is_allowed();
    let Some(details) = details(&context.live, index, env, &found, logs) else {
        return Err(AppError::Internal);
    };
    // The log stream replaces the state inside as the pod changes.
    let mut html = format!(r#"<div id="pod-detail">{details}</div>"#);
    let target = crate::logs::ask::Target::Pod(pod.to_owned());
    html.push_str(&crate::logs::routes::frame(env, target, query).await?.html);
    Ok(ServerHtml { title: format!("{pod} in {env}"), html })
}

/// What a pod's page shows changes with the pod (its resourceVersion) and its warnings:
/// a stream sends the state again only when this does.
pub fn fingerprint(
    live: &crate::cluster::live::Live,
    index: usize,
    pod: &k8s_openapi::api::core::v1::Pod,
) -> String {
    let name = pod.metadata.name.as_deref().unwrap_or("");
    let warnings =
        live.watches().get(index).map(|w| w.warnings_about("Pod", name)).unwrap_or_default();
    format!(
        "{}/{}/{}",
        pod.metadata.resource_version.as_deref().unwrap_or(""),
        warnings.len(),
        warnings.first().map_or(0, |w| w.last_ms)
    )
}

/// The pod's state as its page shows it.
pub fn details(
    live: &crate::cluster::live::Live,
    index: usize,
    env: &str,
    pod: &k8s_openapi::api::core::v1::Pod,
    logs: bool,
) -> Option<String> {
    let name = pod.metadata.name.as_deref()?;
    let watch = live.watches().get(index)?;
    let workload = live.snapshot(index).and_then(|s| {
        s.status.pods.iter().find(|p| p.name == name).and_then(|p| p.workload.clone())
    });
    let warnings = watch.warnings_about("Pod", name);
    let page = PodPage {
        env,
        pod,
        workload: workload.as_deref(),
        warnings: &warnings,
        logs,
        now: chrono::Utc::now(),
    };
    Some(page.render())
}
