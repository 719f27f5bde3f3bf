//! The action pages as addresses: `/environments/<env>/actions/<action>` (the form and its
//! preview), `/requests/<id>` and `/approvals`. Each checks who may see what first.

use crate::access::server::{authorize, caller, signed_in};
use crate::access::Action;
use crate::context::server_context;
use crate::error::AppError;
use crate::server_page::model::{pairs, ServerHtml};

pub async fn action_page(env: &str, action: &str, query: &str) -> Result<ServerHtml, AppError> {
    use crate::actions::engine::{preview, Ask};
    use crate::actions::plan::Asked;
    let Some(parsed) = Action::parse(action).filter(|a| crate::actions::REQUESTABLE.contains(a))
    else {
        let known: Vec<&str> = crate::actions::REQUESTABLE.iter().map(|a| a.as_str()).collect();
        return Err(AppError::NotFound(format!(
            "There is no action “{action}”. Actions: {}.",
            known.join(", ")
        )));
    };
    let (context, decision) = authorize(env, parsed).await?;
    let index =
        context.environments.iter().position(|e| e.name == env).ok_or(AppError::Internal)?;
    let environment = &context.environments[index];
    let asked = Asked::from_pairs(&pairs(query)).map_err(AppError::Invalid)?;
    let explanation = crate::actions::offers::explain(
        environment,
        parsed,
        asked.workload.as_deref(),
        &decision,
        &context.role_mapping,
    )?;
    let caller = caller();
    // Scaling needs a number before there is anything to preview; the rest always has one.
    let ready = match parsed {
        Action::Scale => asked.replicas.is_some() || asked.min.is_some() || asked.max.is_some(),
        Action::Silence => asked.minutes.is_some(),
        Action::Restore => asked.file.is_some(),
        _ => true,
    };
    let ask = Ask {
        environment: env.to_owned(),
        action: action.to_owned(),
        asked: asked.clone(),
        ..Ask::default()
    };
    let plan =
        if ready { Some(preview(&context, &caller, &ask).await.map(|p| p.plan)) } else { None };
    let snapshot = context.live.snapshot(index);
    let restorable = if parsed == Action::Restore {
        crate::actions::engine::restorable(&context, &environment.name).await?
    } else {
        Vec::new()
    };
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
        restorable,
    });
    Ok(ServerHtml { title: format!("{} on {env}", action.replace('_', " ")), html })
}

pub async fn request_page(id: &str) -> Result<ServerHtml, AppError> {
    use crate::actions::engine;
    let id: i64 =
        id.parse().map_err(|_| AppError::NotFound(format!("There is no request {id}.")))?;
    let context = server_context()?;
    let caller = caller();
    let stored = engine::visible(&context, &caller, id).await?;
    let principal = signed_in()?;
    let index = context.environments.iter().position(|e| e.name == stored.environment);
    let env = index.map(|i| &context.environments[i]).ok_or(AppError::Internal)?;
    let approver = crate::access::check(Some(&principal), env, Action::Approve).is_allowed();
    let mine = stored.requested_by == principal.user_id;
    let rules = stored.rules();
    let open = matches!(
        stored.state,
        crate::actions::lifecycle::State::Pending | crate::actions::lifecycle::State::Approved
    );
    // Whether the plan still holds matters only while it may still run.
    let now = index.filter(|_| open).and_then(|i| engine::holds_now(&context, i, &stored));
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

pub async fn approvals_page() -> Result<ServerHtml, AppError> {
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
    let records = &context.records;
    let newest = crate::actions::store::recent(&context.db, &visible, false, 200);
    let requests = records
        .recent_requests
        .get(&records.versions, visible.join("\n"), newest)
        .await
        .map_err(|error| AppError::internal("cannot read action requests", &error))?;
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
