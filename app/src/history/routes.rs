//! The History pages as addresses: `/history` (what runs where and the timeline),
//! `/history/diff` (two revisions of a workload) and `/history/compare` (two environments
//! now). Each checks who may see what before reading anything.

use crate::access::server::{authorize, authorize_for, caller, visible_environments_for, Caller};
use crate::access::Action;
use crate::context::{server_context, ServerContext};
use crate::error::AppError;
use crate::server_page::model::{pairs, ServerHtml};

/// Whose history the caller may read, and the asked filter — the one rule of the History
/// page and its exports: the environments they may see (someone who may see none is
/// refused, their groups named); a filter naming an environment is 404 when it does not
/// exist and 403 (recorded) when it is not theirs, as on every other page.
pub async fn readable(
    context: &ServerContext,
    caller: &Caller,
    asked: &[(String, String)],
) -> Result<(Vec<String>, crate::history::store::Filter), AppError> {
    let visible = visible_environments_for(context, caller).await?;
    let filter = crate::history::filter(asked).map_err(AppError::Invalid)?;
    if let Some(env) = filter.environment.as_deref() {
        authorize_for(context, caller, env, Action::View).await?;
    }
    Ok((visible.iter().map(|i| context.environments[*i].name.clone()).collect(), filter))
}

pub async fn history_page(query: &str) -> Result<ServerHtml, AppError> {
    let context = server_context()?;
    let asked = pairs(query);
    let (names, filter) = readable(&context, &caller(), &asked).await?;
    let visible: Vec<usize> = names
        .iter()
        .filter_map(|n| context.environments.iter().position(|e| &e.name == n))
        .collect();
    let statuses = visible
        .iter()
        .filter_map(|i| context.live.snapshot(*i))
        .map(|s| std::sync::Arc::clone(&s.status))
        .collect();
    let caller = caller();
    let may_roll_back: Vec<String> = visible
        .iter()
        .map(|i| &context.environments[*i])
        .filter(|e| crate::access::check(caller.principal(), e, Action::Rollback).is_allowed())
        .map(|e| e.name.clone())
        .collect();
    let records = &context.records;
    let read = async {
        // One entry more than a page tells whether there are older ones.
        let page = crate::history::PAGE;
        let entries = crate::history::kept_timeline(&context, &names, &filter, page + 1).await?;
        let most = usize::try_from(page).unwrap_or(usize::MAX);
        Ok::<_, sqlx::Error>(crate::history::page::Timeline::render(&entries, most, &may_roll_back))
    };
    let key = format!("{names:?} {filter:?} {may_roll_back:?}");
    let timeline = records
        .timeline_rows
        .get(&records.versions, key, read)
        .await
        .map_err(|error| AppError::internal("cannot read the history", &error))?;
    let typed = |key: &str| {
        asked.iter().find(|(k, v)| k == key && !v.trim().is_empty()).map(|(_, v)| v.clone())
    };
    let (person, from, to) = (typed("person"), typed("from"), typed("to"));
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&asked).finish();
    // When there are older entries, the next page ends where this one does. Times have a
    // second's precision, so the boundary's millisecond is included (an entry of that
    // moment may show on both pages rather than on neither).
    let older = timeline
        .more
        .then_some(timeline.oldest_ms)
        .flatten()
        .and_then(|last| chrono::DateTime::from_timestamp_millis(last + 1))
        .map(|end| {
            let end = end.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let kept = asked.iter().filter(|(k, _)| k != "to");
            let mut next = url::form_urlencoded::Serializer::new(String::new());
            next.extend_pairs(kept).append_pair("to", &end);
            format!("/history?{}", next.finish())
        });
    let html = crate::history::page::render(crate::history::page::Page {
        statuses,
        environments: &names,
        environment: filter.environment.clone(),
        workload: filter.workload.clone(),
        person,
        from,
        to,
        timeline: &timeline,
        query,
        older,
    });
    Ok(ServerHtml { title: "History".to_owned(), html })
}

pub async fn diff_page(query: &str) -> Result<ServerHtml, AppError> {
    let asked = pairs(query);
    let get = |key: &str| {
        asked.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    let (env, workload) = (get("env"), get("workload"));
    let number = |key: &str| {
        get(key).parse::<i64>().map_err(|_| {
            AppError::Invalid(format!(
                "Say which revisions to compare: “{key}” must be a revision number."
            ))
        })
    };
    let (from, to) = (number("from")?, number("to")?);
    let (context, _) = authorize(&env, Action::View).await?;
    let read = |revision: i64| {
        let (context, env, workload) = (context.clone(), env.clone(), workload.clone());
        async move {
            crate::history::store::revision(&context.db, &env, &workload, revision)
                .await
                .map_err(|error| AppError::internal("cannot read a recorded revision", &error))?
                .ok_or_else(|| {
                    AppError::NotFound(format!(
                        "No revision {revision} of {workload} in {env} has been recorded."
                    ))
                })
        }
    };
    let (a, b) = (read(from).await?, read(to).await?);
    let mut changes: Vec<_> =
        crate::history::diff::replicas(a.replicas, b.replicas).into_iter().collect();
    let values = values_for(&context, &[env.as_str()]);
    changes.extend(crate::history::diff::templates(&a.template, &b.template, values));
    let html = crate::history::page::diff_page(&env, &workload, (from, &a), (to, &b), &changes);
    Ok(ServerHtml { title: format!("{workload} {from} → {to}"), html })
}

/// The environments compared: `from` and `to` as asked, else the last two the person may
/// see (staging and prod in the seed: the promotion an approver is asked about).
pub async fn compare_page(query: &str) -> Result<ServerHtml, AppError> {
    let context = server_context()?;
    let visible = crate::access::server::visible_environments(&context).await?;
    let names: Vec<String> =
        visible.iter().map(|i| context.environments[*i].name.clone()).collect();
    let asked = pairs(query);
    let get = |key: &str, fallback: Option<&String>| {
        asked
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .or_else(|| fallback.cloned())
    };
    let from = get("from", names.len().checked_sub(2).and_then(|i| names.get(i)));
    let to = get("to", names.last());
    let (Some(from), Some(to)) = (from, to) else {
        return Err(AppError::Invalid(
            "Comparing needs two environments you may see; you may see fewer.".to_owned(),
        ));
    };
    if from == to {
        return Err(AppError::Invalid(format!(
            "“from” and “to” are both {from}: choose two different environments."
        )));
    }
    let (context, _) = authorize(&from, Action::View).await?;
    authorize(&to, Action::View).await?;
    let side = |name: &str| -> Result<super::compare::Side, AppError> {
        let i =
            context.environments.iter().position(|e| e.name == name).ok_or(AppError::Internal)?;
        let watch = context.live.watches().get(i).ok_or(AppError::Internal)?;
        let status = context.live.snapshot(i).map(|s| s.status.as_ref().clone());
        Ok(super::compare::Side::from_watch(name, watch, status.as_ref()))
    };
    let values = values_for(&context, &[from.as_str(), to.as_str()]);
    let comparison = super::compare::compare(&side(&from)?, &side(&to)?, values);
    let html = super::compare::render(&comparison, &names);
    Ok(ServerHtml { title: format!("{from} → {to}"), html })
}

/// Literal values (environment variables, commands, arguments) for people whose role on
/// every environment shown reaches `access.values_visible_to` (operator by default: those
/// who may change it); names with "value hidden" for the others.
fn values_for(
    context: &crate::context::ServerContext,
    environments: &[&str],
) -> super::diff::Values {
    let caller = caller();
    let least = context.values_visible_to;
    let may = caller.principal().is_some_and(|p| {
        environments.iter().all(|env| p.role_on(env).is_some_and(|role| role >= least))
    });
    if may {
        super::diff::Values::Shown
    } else {
        super::diff::Values::Hidden
    }
}
