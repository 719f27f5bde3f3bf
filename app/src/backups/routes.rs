//! `/backups` as an address: `env` (default: the first environment the caller may see).
//! The caller must be allowed to view it; an unknown one is refused in words.

use super::observe::{observe, restores, verification};
use super::page::Page;
use super::schedule::next_run;
use crate::access::server::{authorize_for, caller, visible_environments_for};
use crate::access::Action;
use crate::context::server_context;
use crate::error::AppError;
use crate::server_page::model::{pairs, ServerHtml};

/// Runs listed at most (the newest).
const LISTED: i64 = 60;

pub async fn backups_page(query: &str) -> Result<ServerHtml, AppError> {
    let context = server_context()?;
    let caller = caller();
    let visible = visible_environments_for(&context, &caller).await?;
    let names: Vec<String> =
        visible.iter().map(|i| context.environments[*i].name.clone()).collect();
    let query = pairs(query);
    let asked = query
        .iter()
        .find(|(k, v)| k == "env" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned())
        .or_else(|| names.first().cloned())
        .unwrap_or_default();
    authorize_for(&context, &caller, &asked, Action::View).await?;
    let Some(index) = context.environments.iter().position(|e| e.name == asked) else {
        return Err(AppError::NotFound(format!("There is no environment named “{asked}”.")));
    };
    let environment = &context.environments[index];
    let now = chrono::Utc::now();
    let watch = context.live.watches().get(index);
    let observed = watch.and_then(|w| observe(w, &environment.backups.cronjob));
    let verification = watch.and_then(|w| verification(w, &environment.backups.verify_cronjob));
    let schedule = observed.map(|o| o.schedule);
    let next_run_ms = schedule
        .as_ref()
        .and_then(|s| s.as_ref())
        .and_then(|s| next_run(&s.schedule, s.time_zone.as_deref(), now))
        .map(|t| t.timestamp_millis());
    let records = &context.records;
    let newest = super::store::runs(&context.db, &environment.name, LISTED);
    let runs = records
        .backup_runs
        .get(&records.versions, environment.name.clone(), newest)
        .await
        .map_err(|error| AppError::internal("cannot read the backup runs", &error))?;
    let page = Page {
        environments: &names,
        environment: &environment.name,
        namespace: &environment.namespace,
        cronjob: &environment.backups.cronjob,
        glance: context.backups.glance(
            &environment.name,
            environment.backups.max_age_hours,
            now.timestamp_millis(),
        ),
        schedule,
        next_run_ms,
        runs: &runs,
        verification,
        verify_cronjob: &environment.backups.verify_cronjob,
        restores: watch
            .map(|w| restores(w, &environment.backups.restore_cronjob))
            .unwrap_or_default(),
        restore: crate::access::check(caller.principal(), environment, Action::Restore),
        backup: crate::access::check(caller.principal(), environment, Action::Backup),
        now_ms: now.timestamp_millis(),
    };
    Ok(page.render())
}
