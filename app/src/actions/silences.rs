//! Silences as actions: made and expired in Alertmanager (not the cluster) with the same
//! policy, approvals and audit as every change. The silence says who asked and which
//! request made it (`createdBy`, the end of its comment), so a server that stopped while
//! making one can tell afterwards whether it did.

use super::apply::{Context, Outcome};
use super::plan::{silence_marker, Plan};
use crate::context::ServerContext;
use crate::error::AppError;
use crate::monitoring::alertmanager::{Alertmanager, NewSilence, Silence};

/// The configured Alertmanager, or why a silence cannot be made.
pub fn alertmanager(context: &ServerContext) -> Result<&Alertmanager, AppError> {
    context.monitoring.as_ref().and_then(|m| m.cache.alertmanager()).ok_or_else(|| {
        AppError::Unprocessable(
            "No Alertmanager is configured, so there are no silences: an administrator sets alertmanager.url (see the README's Configuration table).".into(),
        )
    })
}

/// Alertmanager's silences now (fresh, not the page's cached listing: a plan is checked
/// against what holds at the moment it runs).
pub async fn fresh(context: &ServerContext) -> Result<Vec<Silence>, AppError> {
    alertmanager(context)?.silences().await.map_err(AppError::Unavailable)
}

/// Makes or expires the silence; the listing the pages show is read afresh after it.
pub async fn execute(context: &ServerContext, plan: &Plan, cx: &Context<'_>) -> Outcome {
    let Ok(alertmanager) = alertmanager(context) else {
        return Outcome::Failed("no Alertmanager is configured".into());
    };
    let outcome = match plan {
        Plan::Silence { matchers, minutes } => {
            let now = chrono::Utc::now();
            let ends = now + chrono::Duration::minutes(i64::from(*minutes));
            let silence = NewSilence {
                matchers: matchers.clone(),
                starts_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                ends_at: ends.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                created_by: format!("{} ({}) via Gantry", cx.name, cx.user_id),
                comment: format!("{} {}", cx.reason, silence_marker(cx.request_id)),
            };
            match alertmanager.create(&silence).await {
                Ok(id) => Outcome::Done(format!(
                    "silence {id} made, until {}",
                    ends.format("%a %d %b %H:%M UTC")
                )),
                Err(error) => Outcome::Failed(error),
            }
        }
        Plan::ExpireSilence { id, .. } => {
            let silences = match alertmanager.silences().await {
                Ok(silences) => silences,
                Err(error) => return Outcome::Failed(error),
            };
            let seen = super::plan::Seen { silences: Some(silences), ..Default::default() };
            if let Err(changed) = plan.holds(&seen) {
                return Outcome::Superseded(changed);
            }
            match alertmanager.expire(id).await {
                Ok(()) => Outcome::Done(format!("silence {id} expired")),
                Err(error) => Outcome::Failed(error),
            }
        }
        _ => Outcome::Failed("not a silence".into()),
    };
    if let Some(monitoring) = &context.monitoring {
        monitoring.cache.forget_alerting().await;
    }
    outcome
}
