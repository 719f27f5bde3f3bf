//! Which server-rendered page an address is, and who may see it.

use crate::access::server::{authorize, caller};
use crate::access::{Action, Denial};
use crate::context::server_context;
use crate::error::AppError;

use super::ServerHtml;

fn signed_in() -> Result<std::sync::Arc<crate::access::principal::Principal>, AppError> {
    // The server's sign-in layer answers 401 before an anonymous call gets here; this is
    // the same rule, kept where the data is read.
    caller()
        .principal
        .ok_or_else(|| AppError::refused(401, Denial::SignInRequired.reason(Action::View)))
}

/// The account box of the caller (nothing for someone not signed in).
pub fn account() -> Result<ServerHtml, AppError> {
    let Some(principal) = caller().principal else {
        return Ok(ServerHtml { title: String::new(), html: String::new() });
    };
    let context = server_context()?;
    Ok(ServerHtml {
        title: principal.name.clone(),
        html: crate::me::account_box(&principal, &context.environments),
    })
}

pub async fn page(address: &str) -> Result<ServerHtml, AppError> {
    let (path, query) = address.split_once('?').unwrap_or((address, ""));
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["me"] => {
            let principal = signed_in()?;
            let context = server_context()?;
            Ok(ServerHtml {
                title: "Me".to_owned(),
                html: crate::me::page(&principal, &context.environments),
            })
        }
        ["audit"] => audit_page(query).await,
        ["environments", env, "actions", action] => action_page(env, action, query).await,
        ["requests", id] => request_page(id).await,
        ["approvals"] => approvals_page().await,
        ["history"] => crate::history::routes::history_page(query).await,
        ["history", "diff"] => crate::history::routes::diff_page(query).await,
        ["history", "compare"] => crate::history::routes::compare_page(query).await,
        _ => Err(AppError::not_found(format!("There is nothing at {path}."))),
    }
}

async fn action_page(env: &str, action: &str, query: &str) -> Result<ServerHtml, AppError> {
    use crate::actions::engine::{preview, Ask};
    use crate::actions::plan::Asked;
    let Some(parsed) = Action::parse(action).filter(|a| crate::actions::REQUESTABLE.contains(a))
    else {
        let known: Vec<&str> = crate::actions::REQUESTABLE.iter().map(|a| a.as_str()).collect();
        return Err(AppError::not_found(format!(
            "There is no action “{action}”. Actions: {}.",
            known.join(", ")
        )));
    };
    let (context, decision) = authorize(env, parsed).await?;
    let index =
        context.environments.iter().position(|e| e.name == env).ok_or(AppError::Internal)?;
    let environment = &context.environments[index];
    let asked = Asked::from_pairs(&pairs(query)).map_err(AppError::invalid)?;
    let explanation = crate::actions::offers::explain(
        environment,
        parsed,
        asked.workload.as_deref(),
        &decision,
        &context.role_mapping,
    )?;
    let caller = caller();
    // Scaling needs a number before there is anything to preview; the rest always has one.
    let ready = parsed != Action::Scale
        || asked.replicas.is_some()
        || asked.min.is_some()
        || asked.max.is_some();
    let ask = Ask {
        environment: env.to_owned(),
        action: action.to_owned(),
        asked: asked.clone(),
        ..Ask::default()
    };
    let plan = if ready {
        Some(preview(&context, &caller, &ask).await.map(|p| p.plan).map_err(|e| {
            crate::actions::plan::Unplannable { status: e.status, message: e.message }
        }))
    } else {
        None
    };
    let snapshot = context.live.snapshot(index);
    let may_break_glass =
        crate::access::check(caller.principal(), environment, Action::BreakGlass).is_allowed();
    let html = crate::actions::page::action_page(&crate::actions::page::ActionPage {
        env: environment,
        action: parsed,
        asked: &asked,
        decision: &decision,
        explanation,
        status: snapshot.as_ref().map(|s| s.status.as_ref()),
        plan,
        may_break_glass,
    });
    Ok(ServerHtml { title: format!("{} on {env}", action.replace('_', " ")), html })
}

async fn request_page(id: &str) -> Result<ServerHtml, AppError> {
    use crate::actions::engine;
    let id: i64 =
        id.parse().map_err(|_| AppError::not_found(format!("There is no request {id}.")))?;
    let context = server_context()?;
    let caller = caller();
    let stored = engine::visible(&context, &caller, id).await.map_err(|e| status_error(&e))?;
    let principal = signed_in()?;
    let index = context.environments.iter().position(|e| e.name == stored.environment);
    let env = index.map(|i| &context.environments[i]).ok_or(AppError::Internal)?;
    let now = index.and_then(|i| engine::holds_now(&context, i, &stored));
    let approver = crate::access::check(Some(&principal), env, Action::Approve).is_allowed();
    let mine = stored.requested_by == principal.user_id;
    let rules = stored.rules();
    let open = matches!(
        stored.state,
        crate::actions::lifecycle::State::Pending | crate::actions::lifecycle::State::Approved
    );
    let allowed = crate::actions::page::Allowed {
        decide: approver
            && !mine
            && stored.state == crate::actions::lifecycle::State::Pending
            && !rules.approvers.contains(&principal.user_id),
        cancel: mine && open,
        acknowledge: approver && !mine && stored.break_glass && stored.acknowledged_ms.is_none(),
    };
    let html = crate::actions::page::request_page(&stored, now, allowed);
    Ok(ServerHtml { title: format!("Request {id}"), html })
}

async fn approvals_page() -> Result<ServerHtml, AppError> {
    use crate::actions::lifecycle::State;
    let context = server_context()?;
    let principal = signed_in()?;
    // Someone without any role is refused here as on the overview, their groups named.
    let visible: Vec<String> = crate::access::server::visible_environments(&context)
        .await?
        .into_iter()
        .map(|i| context.environments[i].name.clone())
        .collect();
    let approver_on = |env: &str| {
        context.environments.iter().find(|e| e.name == env).is_some_and(|e| {
            crate::access::check(Some(&principal), e, Action::Approve).is_allowed()
        })
    };
    let requests = crate::actions::store::recent(&context.db, &visible, false, 200).await.map_err(
        |error| {
            tracing::error!(%error, "cannot read action requests");
            AppError::Internal
        },
    )?;
    let me = principal.user_id.as_str();
    let page = crate::actions::page::Approvals {
        to_decide: requests
            .iter()
            .filter(|r| {
                r.state == State::Pending && r.requested_by != me && approver_on(&r.environment)
            })
            .filter(|r| !r.decisions.iter().any(|d| d.user_id == me))
            .collect(),
        to_acknowledge: requests
            .iter()
            .filter(|r| {
                r.break_glass
                    && r.acknowledged_ms.is_none()
                    && r.requested_by != me
                    && approver_on(&r.environment)
            })
            .collect(),
        mine: requests.iter().filter(|r| r.requested_by == me).take(20).collect(),
        recent: requests.iter().filter(|r| r.state.is_final()).take(20).collect(),
    };
    Ok(ServerHtml {
        title: "Approvals".to_owned(),
        html: crate::actions::page::approvals_page(&page),
    })
}

/// An action refusal as the page's error (and status).
fn status_error(error: &crate::actions::engine::ActionError) -> AppError {
    match error.status {
        404 => AppError::not_found(error.message.clone()),
        401 | 403 => AppError::refused(error.status, error.message.clone()),
        500 => AppError::Internal,
        _ => AppError::invalid(error.message.clone()),
    }
}

/// The query string as key-value pairs, decoded.
pub fn pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

async fn audit_page(query: &str) -> Result<ServerHtml, AppError> {
    use crate::audit::query::{fetch, parse, Scope, PAGE};
    let context = server_context()?;
    let caller = caller();
    let principal = signed_in()?;
    let Some(scope) = Scope::of(&principal, &context.environments) else {
        let reason =
            "Reading the audit log takes the approver or admin role on an environment.".to_owned();
        crate::access::server::record_denial(
            &context.db,
            &caller,
            None,
            Action::ViewAudit,
            &reason,
        )
        .await;
        return Err(AppError::refused(403, reason));
    };
    let asked = pairs(query);
    let filter = parse(&asked).map_err(AppError::invalid)?;
    if let Some(env) =
        filter.environment.as_deref().filter(|e| !scope.environments.iter().any(|s| s == e))
    {
        let reason = format!("You may not read the audit log of {env}.");
        crate::access::server::record_denial(
            &context.db,
            &caller,
            Some(env),
            Action::ViewAudit,
            &reason,
        )
        .await;
        return Err(AppError::refused(403, reason));
    }
    let rows = fetch(&context.db, &filter, &scope, PAGE + 1).await.map_err(|error| {
        tracing::error!(%error, "cannot read the audit log");
        AppError::Internal
    })?;
    let more = rows.len() > usize::try_from(PAGE).unwrap_or(usize::MAX);
    let rows: Vec<_> = rows.into_iter().take(usize::try_from(PAGE).unwrap_or(usize::MAX)).collect();
    // Checking the chain reads every event: only on request, and only for admins (it
    // covers events they may not otherwise see, though it shows only the verdict).
    let may_verify = scope.without_environment;
    let chain = if may_verify && asked.iter().any(|(k, v)| k == "verify" && v == "1") {
        Some(crate::audit::verify(&context.db).await.map_err(|error| {
            tracing::error!(%error, "cannot check the audit chain");
            AppError::Internal
        })?)
    } else {
        None
    };
    let kept: Vec<(String, String)> =
        asked.into_iter().filter(|(k, _)| k != "before" && k != "verify").collect();
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish();
    let html = crate::audit::page::render(crate::audit::page::Page {
        filter: &filter,
        scope: &scope,
        query,
        rows,
        more,
        chain,
        may_verify,
    });
    Ok(ServerHtml { title: "Audit".to_owned(), html })
}
