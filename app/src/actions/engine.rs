//! The action flow on the server: a person asks (access check, policy, plan from the watch
//! caches, mandatory reason), others decide, and an approved request is executed exactly
//! once — claimed by a conditional UPDATE, re-checked against the cluster, recorded. A
//! sweeper expires what waits too long, runs what was approved but never claimed, and
//! reconciles what a crashed server left `executing` (against the cluster, never re-run).

use super::apply::{self, Outcome};
use super::lifecycle::{Refused, State};
use super::plan::{self, Asked, Plan};
use super::store::{self, StepError, Stored, Who};
use crate::access::server::{record_denial, Caller};
use crate::access::{check, Action, Decision, Policy};
use crate::error::AppError;
use crate::records::Topic;
use crate::{config::EnvironmentConfig, context::ServerContext};

pub use super::settings::Settings;

fn internal(error: &dyn std::fmt::Display) -> AppError {
    AppError::internal("action request: database failure", error)
}

impl From<StepError> for AppError {
    fn from(error: StepError) -> Self {
        match error {
            StepError::NotFound(id) => AppError::NotFound(format!("There is no request {id}.")),
            StepError::Refused(refused) => {
                let message = AppError::sentence(&refused.to_string());
                match refused {
                    Refused::OwnRequest | Refused::NotAnApprover | Refused::NotTheRequester => {
                        AppError::Forbidden(message)
                    }
                    _ => AppError::Conflict(message),
                }
            }
            StepError::Db(error) => internal(&error),
        }
    }
}

/// What someone asks for.
#[derive(Clone, Debug, Default)]
pub struct Ask {
    pub environment: String,
    pub action: String,
    pub asked: Asked,
    pub reason: String,
    pub break_glass: bool,
    /// The fingerprint of the plan the person previewed, when the form carried one.
    pub previewed: Option<String>,
    /// What the person typed to confirm a restore (the environment's name).
    pub confirm: Option<String>,
}

/// A restore goes ahead only when the person typed the environment's name: the last
/// look at where the data goes before it is replaced.
fn confirmed(action: Action, env: &EnvironmentConfig, typed: Option<&str>) -> Result<(), AppError> {
    if action != Action::Restore || typed.map(str::trim) == Some(env.name.as_str()) {
        return Ok(());
    }
    Err(AppError::Invalid(format!(
        "Type the environment's name, {}, to confirm the restore.",
        env.name
    )))
}

fn who(caller: &Caller) -> Who {
    let principal = caller.principal();
    Who {
        user_id: principal.map(|p| p.user_id.clone()),
        display_name: principal.map(|p| p.name.clone()),
        client_addr: caller.client_addr.clone(),
        forwarded_for: caller.forwarded_for.clone(),
        request: Some(caller.request.clone()).filter(|r| !r.is_empty()),
    }
}

fn environment<'a>(
    context: &'a ServerContext,
    name: &str,
) -> Result<(usize, &'a EnvironmentConfig), AppError> {
    match context.environments.iter().enumerate().find(|(_, e)| e.name == name) {
        Some(found) => Ok(found),
        None => {
            let known: Vec<&str> = context.environments.iter().map(|e| e.name.as_str()).collect();
            Err(AppError::NotFound(format!(
                "There is no environment named “{name}”. Known environments: {}.",
                known.join(", ")
            )))
        }
    }
}

/// A plan as previewed: what it will do, how it is allowed, the version it was made from.
pub struct Preview {
    pub plan: Plan,
    pub decision: Decision,
    pub seen_version: Option<String>,
}

/// The plan `ask` would make now (the action page's preview), after the access check.
pub async fn preview(
    context: &ServerContext,
    caller: &Caller,
    ask: &Ask,
) -> Result<Preview, AppError> {
    let (index, env) = environment(context, &ask.environment)?;
    let action = parse_action(&ask.action)?;
    let decision = allowed(context, caller, env, action).await?;
    let mut seen = cached(context, index, env, ask.asked.workload.as_deref(), Parts::ALL)?;
    match action {
        Action::Silence => {
            super::silences::alertmanager(context)?;
        }
        Action::ExpireSilence => seen.silences = Some(super::silences::fresh(context).await?),
        Action::Restore => {
            // The restore template and its Jobs stand where a backup's CronJob would.
            let watch = context.live.watches().get(index);
            let template = watch.and_then(|w| w.cronjob(&env.backups.restore_cronjob));
            seen.jobs = match (watch, &template) {
                (Some(w), Some(t)) => {
                    w.runs_of(t).into_iter().map(|(j, _)| j.as_ref().clone()).collect()
                }
                _ => Vec::new(),
            };
            seen.cronjob = template.map(|t| t.as_ref().clone());
            seen.restorable = restorable(context, &env.name).await?;
            seen.workloads = env
                .backups
                .stop_during_restore
                .iter()
                .filter_map(|w| {
                    let d = watch?.deployment(w)?;
                    Some((w.clone(), d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)))
                })
                .collect();
        }
        _ => {}
    }
    let plan = plan::make(env, action, &ask.asked, &seen)?;
    let version = plan.seen_version(&seen);
    Ok(Preview { plan, decision, seen_version: version })
}

/// The dumps a restore of `environment` may use (see `backup::restorable`).
pub async fn restorable(
    context: &ServerContext,
    environment: &str,
) -> Result<Vec<plan::Restorable>, AppError> {
    super::backup::restorable(&context.db, environment).await.map_err(|e| internal(&e))
}

fn parse_action(name: &str) -> Result<Action, AppError> {
    match Action::parse(name).filter(|a| super::REQUESTABLE.contains(a)) {
        Some(action) => Ok(action),
        None => {
            let known: Vec<&str> = super::REQUESTABLE.iter().map(|a| a.as_str()).collect();
            Err(AppError::NotFound(format!(
                "There is no action “{name}”. Actions: {}.",
                known.join(", ")
            )))
        }
    }
}

/// The access check for `action`; a refusal is recorded.
async fn allowed(
    context: &ServerContext,
    caller: &Caller,
    env: &EnvironmentConfig,
    action: Action,
) -> Result<Decision, AppError> {
    let decision = check(caller.principal(), env, action);
    if let Decision::Denied(denial) = &decision {
        let reason = denial.reason(action);
        record_denial(context, caller, Some(&env.name), action, &reason).await;
        return Err(denial.refusal_with(reason));
    }
    Ok(decision)
}

/// Records a request; runs it at once when the policy (or broken glass) needs no approval.
pub async fn request(
    context: &ServerContext,
    caller: &Caller,
    ask: Ask,
) -> Result<Stored, AppError> {
    let Preview { plan, decision, seen_version } = preview(context, caller, &ask).await?;
    let (_, env) = environment(context, &ask.environment)?;
    let Some(principal) = caller.principal() else {
        return Err(AppError::SignInRequired("Sign in first.".into()));
    };
    if let Some(previewed) = &ask.previewed {
        if *previewed != plan.fingerprint() {
            return Err(AppError::Conflict(format!("What this would do has changed since your preview: it would now be “{}”. Look at the preview again.", plan.summary())));
        }
    }
    confirmed(plan.action(), env, ask.confirm.as_deref())?;
    let reason = ask.reason.trim();
    let mut approvals = match decision {
        Decision::NeedsApproval { approvals } => approvals,
        _ => 0,
    };
    if ask.break_glass {
        allowed(context, caller, env, Action::BreakGlass).await?;
        if reason.is_empty() {
            return Err(AppError::Invalid(
                "Breaking the glass takes a written reason: say why this cannot wait for approval."
                    .into(),
            ));
        }
        approvals = 0;
    } else if approvals > 0 && reason.is_empty() {
        return Err(AppError::Invalid(format!(
            "Say why: on {} this needs approval, and the approvers read your reason.",
            env.name
        )));
    }
    if !ask.break_glass {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let glance = context.backups.glance(&env.name, env.backups.max_age_hours, now_ms);
        if let Some(held) = crate::backups::guard::held(env, plan.action(), &glance) {
            return Err(AppError::Conflict(held));
        }
    }
    if plan.action() == Action::Silence && reason.is_empty() {
        return Err(AppError::Invalid(
            "Say why: the reason is the silence's comment, which tells whoever finds the alert quiet why it is."
                .into(),
        ));
    }
    if reason.chars().count() > 2000 {
        return Err(AppError::Invalid("The reason is too long (at most 2,000 characters).".into()));
    }
    let expires_minutes = match env.policy.of(plan.action()) {
        Some(Policy::Approval { expires_minutes, .. }) => Some(expires_minutes),
        _ => None,
    };
    let new = store::New {
        environment: &env.name,
        plan: &plan,
        requested_by: &principal.user_id,
        requested_by_name: &principal.name,
        reason,
        approvals_needed: approvals,
        expires_minutes,
        break_glass: ask.break_glass,
        seen_version: seen_version.as_deref(),
    };
    let stored = wrote(context, store::insert(&context.db, &new, &who(caller)).await)
        .map_err(|e| internal(&e))?;
    notify(
        context,
        &stored,
        if stored.state == State::Pending { "needs approval" } else { "requested" },
    );
    refresh_attention_soon(context);
    if stored.state == State::Approved {
        return run_now(context, stored.id).await;
    }
    Ok(stored)
}

/// Executes in a task of its own (a client that goes away does not stop it half-way) and
/// waits for it — except a restore in place, which takes minutes: its page follows it.
async fn run_now(context: &ServerContext, id: i64) -> Result<Stored, AppError> {
    let long = store::load(&context.db, id)
        .await
        .ok()
        .flatten()
        .is_some_and(|s| matches!(s.plan, plan::Plan::Restore(_)));
    let task = tokio::spawn(run(context.clone(), id));
    if long {
        // Answered at once (approved, about to run): the request's page follows it.
        return store::load(&context.db, id)
            .await
            .map_err(|e| internal(&e))?
            .ok_or_else(|| AppError::NotFound(format!("There is no request {id}.")));
    }
    if let Ok(Some(stored)) = task.await {
        return Ok(stored);
    }
    // Claimed elsewhere, or the outcome could not be read back: show what is stored.
    store::load(&context.db, id)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(|| AppError::NotFound(format!("There is no request {id}.")))
}

/// An approval or rejection by the caller; runs the request once it is approved.
pub async fn decide(
    context: &ServerContext,
    caller: &Caller,
    id: i64,
    approve: bool,
    comment: &str,
    confirm: Option<&str>,
) -> Result<Stored, AppError> {
    let stored = visible(context, caller, id).await?;
    let env = environment(context, &stored.environment)?.1;
    if approve {
        confirmed(stored.plan.action(), env, confirm)?;
    }
    // Deciding takes the approver role there; the rules refuse anyone else (recorded).
    let approver = check(caller.principal(), env, Action::Approve).is_allowed();
    let decided = wrote(
        context,
        store::decide(&context.db, id, &who(caller), approver, approve, comment).await,
    );
    let decided = match decided {
        Err(StepError::Refused(refused @ (Refused::OwnRequest | Refused::NotAnApprover))) => {
            record_denial(context, caller, Some(&env.name), Action::Approve, &refused.to_string())
                .await;
            return Err(StepError::Refused(refused).into());
        }
        other => other?,
    };
    refresh_attention_soon(context);
    match decided.state {
        State::Approved => {
            notify(context, &decided, "approved");
            run_now(context, id).await
        }
        State::Rejected => {
            notify(context, &decided, "rejected");
            Ok(decided)
        }
        _ => Ok(decided),
    }
}

/// The requester withdraws their request.
pub async fn cancel(context: &ServerContext, caller: &Caller, id: i64) -> Result<Stored, AppError> {
    visible(context, caller, id).await?;
    let stored = wrote(context, store::cancel(&context.db, id, &who(caller)).await)?;
    refresh_attention_soon(context);
    Ok(stored)
}

/// Someone else has seen a break-glass run.
pub async fn acknowledge(
    context: &ServerContext,
    caller: &Caller,
    id: i64,
) -> Result<Stored, AppError> {
    let stored = visible(context, caller, id).await?;
    let env = environment(context, &stored.environment)?.1;
    allowed(context, caller, env, Action::Approve).await?;
    let stored = wrote(context, store::acknowledge(&context.db, id, &who(caller)).await)?;
    refresh_attention_soon(context);
    Ok(stored)
}

/// The request, if the caller may see its environment (404 otherwise: its existence is
/// not revealed to someone who may not see it).
pub async fn visible(
    context: &ServerContext,
    caller: &Caller,
    id: i64,
) -> Result<Stored, AppError> {
    let Some(principal) = caller.principal() else {
        return Err(AppError::SignInRequired("Sign in first.".into()));
    };
    let records = &context.records;
    let kept = records.request.get(&records.versions, id.to_string(), store::load(&context.db, id));
    let stored = Option::clone(&*kept.await.map_err(|e| internal(&e))?);
    let env =
        stored.as_ref().and_then(|s| context.environments.iter().find(|e| e.name == s.environment));
    match (stored, env) {
        (Some(stored), Some(env)) if check(Some(principal), env, Action::View).is_allowed() => {
            Ok(stored)
        }
        _ => Err(AppError::NotFound(format!("There is no request {id} that you may see."))),
    }
}

/// `result`, once the kept record pages know the requests were written to (`records`).
pub(crate) fn wrote<T>(context: &ServerContext, result: T) -> T {
    context.records.wrote(&[Topic::Requests, Topic::Audit]);
    result
}

/// Claims and executes an approved request; `None` when someone else claimed it.
pub async fn run(context: ServerContext, id: i64) -> Option<Stored> {
    let host = context.actions.host.clone();
    let claimed = match wrote(&context, store::claim(&context.db, id, &host).await) {
        Ok(Some(claimed)) => claimed,
        Ok(None) => return None,
        Err(error) => {
            tracing::error!(%error, id, "cannot claim an approved request; the sweeper will retry");
            return None;
        }
    };
    let request = &claimed.request;
    let outcome = match environment(&context, &request.environment) {
        Ok((index, env)) => {
            let cx = apply::Context {
                namespace: &env.namespace,
                user_id: &request.requested_by,
                name: &request.requested_by_name,
                reason: &request.reason,
                request_id: id,
                started_at: &claimed.started_at,
            };
            match context.live.watches().get(index) {
                _ if request.plan.is_silence() => {
                    super::silences::execute(&context, &request.plan, &cx).await
                }
                Some(watch) if matches!(request.plan, super::plan::Plan::Restore(_)) => {
                    super::restore::run(&context, watch.client(), &request.plan, &cx, &env.name)
                        .await
                }
                Some(watch) => apply::execute(watch.client(), &request.plan, &cx).await,
                None => Outcome::Failed("this server watches no cluster".into()),
            }
        }
        Err(e) => Outcome::Failed(e.to_string()),
    };
    let (state, result) = match outcome {
        Outcome::Done(done) => (State::Succeeded, done),
        Outcome::Superseded(changed) => (State::Superseded, format!("not run: {changed}")),
        Outcome::Failed(error) => (State::Failed, error),
    };
    tracing::info!(id, state = state.as_str(), %result, "action executed");
    if let Err(error) = wrote(&context, store::finish(&context.db, id, &host, state, &result).await)
    {
        // Left `executing`: the sweeper reconciles it against the cluster.
        tracing::error!(%error, id, "cannot record how an action ended");
    }
    let stored = store::load(&context.db, id).await.ok().flatten();
    if let Some(stored) = &stored {
        notify(&context, stored, state.as_str());
    }
    refresh_attention_soon(&context);
    stored
}

pub mod notify;
mod seen;
pub mod sweeper;

pub use notify::refresh_attention;
use notify::{notify, refresh_attention_soon};
pub use seen::holds_now;
use seen::{cached, Parts};
pub use sweeper::{reconcile, start};
