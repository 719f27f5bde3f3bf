//! The action pages, rendered on the server as plain HTML forms (no client code): an
//! action's page with its preview and the request form, a request's page with its
//! decisions and the buttons the viewer may use, and the Approvals page.

use leptos::prelude::*;

use super::lifecycle::State;
use super::plan::{Asked, Plan};
use super::store::Stored;
use crate::access::{Action, Decision};
use crate::config::EnvironmentConfig;
use crate::error::AppError;
use crate::status::model::EnvironmentStatus;
use crate::status::words;

fn render(f: impl FnOnce() -> AnyView) -> String {
    let owner = Owner::new();
    owner.with(|| f().to_html())
}

pub fn label(action: &str) -> &'static str {
    match action {
        "sync" => "Sync",
        "scale" => "Scale",
        "restart" => "Restart",
        "rollback" => "Roll back",
        "resume_auto_sync" => "Resume auto-sync",
        "silence" => "Silence",
        "expire_silence" => "Expire silence",
        _ => "Action",
    }
}

fn when_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| crate::records::clock::to_second(&t))
        .unwrap_or_default()
}

fn preview_table(plan: &Plan) -> AnyView {
    let rows = plan
        .lines()
        .into_iter()
        .map(|l| {
            view! {
                <tr>
                    <th scope="row">{l.what}</th>
                    <td class="mono from">{l.from}</td>
                    <td aria-hidden="true">"→"</td>
                    <td class="mono to">{l.to}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="preview" id="preview" data-object=plan.object()>
            <caption>{format!("What changes on {}", plan.object())}</caption>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// Everything the action page shows.
pub struct ActionPage<'a> {
    pub env: &'a EnvironmentConfig,
    pub action: Action,
    pub asked: &'a Asked,
    pub decision: &'a Decision,
    /// The sentence saying what the action does and who approves (see `offers`).
    pub explanation: String,
    pub status: Option<&'a EnvironmentStatus>,
    /// The plan for what was asked, when enough was asked to make one.
    pub plan: Option<Result<Plan, AppError>>,
    pub may_break_glass: bool,
    /// For a restore: the backups it may use, newest first.
    pub restorable: Vec<crate::actions::plan::Restorable>,
}

mod restore;

/// How long a silence may be asked for, in the form's choice.
const SILENCE_CHOICES: [(&str, &str); 8] = [
    ("30m", "30 minutes"),
    ("1h", "1 hour"),
    ("2h", "2 hours"),
    ("4h", "4 hours"),
    ("8h", "8 hours"),
    ("1d", "1 day"),
    ("3d", "3 days"),
    ("7d", "7 days"),
];

/// A silence's inputs: which alert (empty: all of the environment's) and for how long.
fn silence_parameters(page: &ActionPage<'_>) -> AnyView {
    let action_url = format!("/environments/{}/actions/silence", page.env.name);
    let options = SILENCE_CHOICES
        .iter()
        .map(|(value, words)| {
            // Two hours unless the address asked for another.
            let selected = page
                .asked
                .minutes
                .map_or(*value == "2h", |m| super::plan::minutes(value) == Some(m));
            view! { <option value=*value selected=selected>{*words}</option> }
        })
        .collect_view();
    view! {
        <form class="panel parameters" method="get" action=action_url id="parameters">
            <label>"Alert (empty: every alert of " {page.env.name.clone()} ") "
                <input type="text" name="alertname" maxlength="200" value=page.asked.alertname.clone().unwrap_or_default()/>
            </label>
            <label>"For " <select name="duration" id="duration">{options}</select></label>
            <button type="submit">"Preview"</button>
        </form>
    }
    .into_any()
}

/// The inputs an action takes before it can be previewed (GET: the preview is a view).
fn parameters(page: &ActionPage<'_>) -> Option<AnyView> {
    if page.action == Action::Silence {
        return Some(silence_parameters(page));
    }
    if page.action == Action::Restore {
        return Some(restore::restore_parameters(page));
    }
    let workload = page.asked.workload.clone()?;
    let status = page.status?;
    let current = status.workloads.iter().find(|w| w.name == workload)?;
    let config = page.env.workload(&workload)?;
    let action_url = format!("/environments/{}/actions/{}", page.env.name, page.action.as_str());
    let inputs = match page.action {
        Action::Scale => match &current.autoscaler {
            Some(hpa) => view! {
                <p class="muted">
                    {format!("{workload} is scaled by an autoscaler between {} and {} replicas (now {}). Setting a replica count by hand would be undone; change its bounds instead.", hpa.min, hpa.max, current.desired)}
                </p>
                <label>"Minimum " <input type="number" name="min" min=config.min_replicas max=config.max_replicas value=page.asked.min.unwrap_or(hpa.min) required/></label>
                <label>"Maximum " <input type="number" name="max" min=config.min_replicas max=config.max_replicas value=page.asked.max.unwrap_or(hpa.max) required/></label>
            }
            .into_any(),
            None => view! {
                <label>
                    {format!("Replicas ({} now; {}–{} allowed) ", current.desired, config.min_replicas, config.max_replicas)}
                    <input type="number" name="replicas" min=config.min_replicas max=config.max_replicas value=page.asked.replicas.unwrap_or(current.desired) required/>
                </label>
            }
            .into_any(),
        },
        Action::Rollback => {
            let options = status
                .revisions
                .iter()
                .filter(|r| r.workload == workload && !r.current)
                .map(|r| {
                    let images: Vec<String> =
                        r.images.iter().map(|i| format!("{}:{}", i.repository.rsplit('/').next().unwrap_or(""), i.tag)).collect();
                    let selected = page.asked.revision == Some(r.revision);
                    view! { <option value=r.revision selected=selected>{format!("revision {} — {}", r.revision, images.join(", "))}</option> }
                })
                .collect_view();
            view! { <label>"Roll back to " <select name="revision" id="revision">{options}</select></label> }.into_any()
        }
        _ => return None,
    };
    Some(
        view! {
            <form class="panel parameters" method="get" action=action_url id="parameters">
                <input type="hidden" name="workload" value=workload/>
                {inputs}
                <button type="submit">"Preview"</button>
            </form>
        }
        .into_any(),
    )
}

fn hidden(name: &'static str, value: Option<String>) -> Option<AnyView> {
    value.map(|v| view! { <input type="hidden" name=name value=v/> }.into_any())
}

fn request_form(page: &ActionPage<'_>, plan: &Plan) -> AnyView {
    let needs = match page.decision {
        Decision::NeedsApproval { approvals } => Some(*approvals),
        _ => None,
    };
    let asked = page.asked;
    let fields = move || {
        view! {
            <input type="hidden" name="environment" value=page.env.name.clone()/>
            <input type="hidden" name="action" value=page.action.as_str()/>
            <input type="hidden" name="previewed" value=plan.fingerprint()/>
            {hidden("workload", asked.workload.clone())}
            {hidden("replicas", asked.replicas.map(|n| n.to_string()))}
            {hidden("min", asked.min.map(|n| n.to_string()))}
            {hidden("max", asked.max.map(|n| n.to_string()))}
            {hidden("revision", asked.revision.map(|n| n.to_string()))}
            {hidden("alertname", asked.alertname.clone())}
            {hidden("duration", asked.minutes.map(|n| format!("{n}m")))}
            {hidden("silence", asked.silence.clone())}
            {hidden("file", asked.file.clone())}
            {hidden("copy", asked.copy.clone())}
        }
    };
    let (button, kind, reason_label) = match needs {
        Some(1) => ("Request approval".to_owned(), "approval", "Reason (the approver reads it)"),
        Some(n) => (format!("Request {n} approvals"), "approval", "Reason (the approvers read it)"),
        None if page.action == Action::Silence => {
            ("Run now".to_owned(), "direct", "Reason (the silence's comment)")
        }
        None => ("Run now".to_owned(), "direct", "Reason (optional, kept in the audit log)"),
    };
    let reason_required = needs.is_some() || page.action == Action::Silence;
    let glass = (needs.is_some() && page.may_break_glass).then(|| {
        view! {
            <form class="panel break-glass" method="post" action="/api/actions" id="break-glass">
                {fields()}
                <input type="hidden" name="break_glass" value="1"/>
                <p><strong>"Break glass"</strong> " — run now without approval. The run is flagged in the audit log and on the environment until someone else acknowledges it."</p>
                <label>"Why this cannot wait " <textarea name="reason" required maxlength="2000"></textarea></label>
                <button type="submit" class="danger">"Run now without approval"</button>
            </form>
        }
    });
    let confirm = confirm_field(page.action, &page.env.name);
    view! {
        <form class="panel request" method="post" action="/api/actions" id="request" data-decision=kind>
            {fields()}
            {confirm}
            <label>{reason_label} " " <textarea name="reason" id="reason" required=reason_required maxlength="2000"></textarea></label>
            <button type="submit" id="submit-request">{button}</button>
        </form>
        {glass}
    }
    .into_any()
}

/// For a restore: the environment's name, typed by whoever asks or approves.
fn confirm_field(action: Action, env: &str) -> Option<AnyView> {
    (action == Action::Restore).then(|| {
        view! {
            <label>{format!("Type {env} to confirm the restore ")}
                <input type="text" name="confirm" id="confirm" required autocomplete="off" pattern=regex_literal(env)/>
            </label>
        }
        .into_any()
    })
}

/// `text` as an HTML `pattern` matching exactly it.
fn regex_literal(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

pub fn action_page(page: &ActionPage<'_>) -> String {
    let target = match &page.asked.workload {
        Some(w) => format!("{w} in {}", page.env.name),
        None => page.env.name.clone(),
    };
    render(|| {
        let preview = match &page.plan {
            None => None,
            Some(Err(refused)) => Some(view! { <p class="stale banner" role="alert" id="unplannable">{refused.to_string()}</p> }.into_any()),
            Some(Ok(plan)) => {
                let pin = match plan {
                    Plan::Rollback { pause_auto_sync: Some(app), .. } => Some(view! {
                        <p class="pinned" id="pin-warning">
                            {format!("Argo CD auto-syncs {}: Git would undo a plain rollback within minutes. This rollback pauses auto-sync of {} first; {} then shows as pinned until someone resumes auto-sync.", page.env.name, app.name, page.env.name)}
                        </p>
                    }),
                    _ => None,
                };
                Some(view! { {preview_table(plan)} {pin} {request_form(page, plan)} }.into_any())
            }
        };
        // Held while the last good backup is too old: said before the form, with the way out.
        let hold = page
            .status
            .and_then(|s| s.backups.as_ref())
            .and_then(|glance| crate::backups::guard::held(page.env, page.action, glance))
            .map(|said| {
                let href = format!("/environments/{}/actions/backup", page.env.name);
                view! {
                    <p class="stale banner" role="alert" id="backup-hold">
                        {said} " " <a class="button action" href=href>"Back up now"</a>
                    </p>
                }
            });
        view! {
            <header class="page-header">
                <h1>{format!("{} — {target}", label(page.action.as_str()))}</h1>
            </header>
            <section class="panel" id="action-decision" data-action=page.action.as_str()>
                <p>{page.explanation.clone()}</p>
            </section>
            {hold}
            {parameters(page)}
            {preview}
        }
        .into_any()
    })
}

/// What the viewer of a request may do with it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Allowed {
    pub decide: bool,
    pub cancel: bool,
    pub acknowledge: bool,
}

fn state_badge(state: State) -> AnyView {
    view! { <span class=format!("badge state state-{}", state.as_str()) data-state=state.as_str()>{state.as_str()}</span> }.into_any()
}

/// A request's page. `now` says whether the plan still holds against the caches.
pub fn request_page(request: &Stored, now: Option<Result<(), String>>, allowed: Allowed) -> String {
    render(|| {
        let id = request.id;
        let approvals = request.decisions.iter().filter(|d| d.approve).count();
        let decisions = request
            .decisions
            .iter()
            .map(|d| {
                let verb = if d.approve { "approved" } else { "rejected" };
                let comment = (!d.comment.is_empty()).then(|| format!(": “{}”", d.comment));
                view! { <li data-decision=verb>{format!("{} — {} {verb}{}", when_ms(d.decided_ms), d.display_name, comment.unwrap_or_default())}</li> }
            })
            .collect_view();
        let mut timeline = vec![format!(
            "{} — requested by {}",
            when_ms(request.requested_ms),
            request.requested_by_name
        )];
        if let Some(ms) = request.started_ms {
            timeline.push(format!(
                "{} — started on {}",
                when_ms(ms),
                request.executor.clone().unwrap_or_default()
            ));
        }
        if let Some(ms) = request.finished_ms {
            timeline.push(format!("{} — {}", when_ms(ms), request.state.as_str()));
        }
        let timeline = timeline.into_iter().map(|t| view! { <li>{t}</li> }).collect_view();
        let now = match (request.state, now) {
            (State::Pending | State::Approved, Some(Ok(()))) => Some(view! { <p class="plain" id="still-holds">"The target is still as it was when this was asked."</p> }.into_any()),
            (State::Pending | State::Approved, Some(Err(changed))) => Some(view! { <p class="stale banner" id="changed" role="alert">{format!("Changed since the request: {changed}. If approved it will not run (superseded).")}</p> }.into_any()),
            _ => None,
        };
        let expires = request
            .expires_ms
            .filter(|_| request.state == State::Pending)
            .map(|ms| view! { <dt>"Expires"</dt><dd>{when_ms(ms)}</dd> });
        let glass = request.break_glass.then(|| {
            let text = match (&request.acknowledged_by_name, request.acknowledged_ms) {
                (Some(by), Some(ms)) => format!(
                    "Break-glass run (no approval), acknowledged by {by} at {}.",
                    when_ms(ms)
                ),
                _ => {
                    "Break-glass run (no approval): not yet acknowledged by anyone else.".to_owned()
                }
            };
            view! { <p class="pinned" id="break-glass-flag">{text}</p> }
        });
        let result =
            request.result.clone().map(|r| view! { <dt>"Result"</dt><dd id="result">{r}</dd> });
        let post = |step: &'static str| format!("/api/requests/{id}/{step}");
        let decide = allowed.decide.then(|| view! {
            <form class="panel decide" method="post" id="decide" action=post("approve")>
                {confirm_field(request.plan.action(), &request.environment)}
                <label>"Comment (optional) " <textarea name="comment" maxlength="2000"></textarea></label>
                <button type="submit" id="approve">"Approve"</button>
                <button type="submit" class="danger" id="reject" formaction=post("reject") formnovalidate>"Reject"</button>
            </form>
        });
        let cancel = allowed.cancel.then(|| view! {
            <form method="post" action=post("cancel")><button type="submit" id="cancel">"Cancel my request"</button></form>
        });
        let acknowledge = allowed.acknowledge.then(|| view! {
            <form method="post" action=post("acknowledge")><button type="submit" id="acknowledge">"Acknowledge this break-glass run"</button></form>
        });
        let env_href = format!("/environments/{}", request.environment);
        view! {
            <header class="page-header">
                <h1>{format!("Request {id} — {} {} in {}", label(&request.action), request.object, request.environment)}</h1>
                {state_badge(request.state)}
            </header>
            {glass}
            {preview_table(&request.plan)}
            {now}
            <dl class="panel facts" id="request-facts">
                <dt>"Requested by"</dt><dd id="requester">{format!("{} ({})", request.requested_by_name, request.requested_by)}</dd>
                <dt>"Reason"</dt><dd id="reason">{if request.reason.is_empty() { "—".to_owned() } else { request.reason.clone() }}</dd>
                <dt>"Environment"</dt><dd><a href=env_href>{request.environment.clone()}</a></dd>
                <dt>"Approvals"</dt><dd id="approvals">{format!("{approvals} of {}", request.approvals_needed)}</dd>
                <dt>"Seen at"</dt><dd class="mono small">{format!("{} resourceVersion {}", request.object, request.seen_resource_version.clone().unwrap_or_else(|| "unknown".into()))}</dd>
                {expires}
                {result}
            </dl>
            <section class="panel">
                <h2>"Decisions"</h2>
                {request.decisions.is_empty().then(|| view! { <p class="muted">"No decision yet."</p> })}
                <ul id="decisions">{decisions}</ul>
            </section>
            <section class="panel"><h2>"Timeline"</h2><ul id="timeline">{timeline}</ul></section>
            {decide}
            {cancel}
            {acknowledge}
        }
        .into_any()
    })
}

fn table(id: &'static str, title: &'static str, empty: &'static str, rows: &[&Stored]) -> AnyView {
    if rows.is_empty() {
        return view! { <section class="panel" id=id><h2>{title}</h2><p class="muted">{empty}</p></section> }.into_any();
    }
    let body = rows
        .iter()
        .map(|r| {
            let href = format!("/requests/{}", r.id);
            view! {
                <tr data-request=r.id data-state=r.state.as_str()>
                    <td><a href=href>{format!("#{}", r.id)}</a></td>
                    <td>{r.environment.clone()}</td>
                    <td>{format!("{} {}", label(&r.action), r.object)}</td>
                    <td class="mono small">{r.preview.clone()}</td>
                    <td>{r.requested_by_name.clone()}</td>
                    <td class="small">{r.reason.clone()}</td>
                    <td>{state_badge(r.state)}</td>
                    <td class="mono small">{when_ms(r.updated_ms)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel" id=id>
            <h2>{title}</h2>
            <table class="table">
                <thead><tr><th>"#"</th><th>"Environment"</th><th>"Action"</th><th>"Change"</th><th>"Requested by"</th><th>"Reason"</th><th>"State"</th><th>"Last change"</th></tr></thead>
                <tbody>{body}</tbody>
            </table>
        </section>
    }
    .into_any()
}

/// The Approvals page: what waits for the viewer, their own requests, recent outcomes.
pub struct Approvals<'a> {
    pub to_decide: Vec<&'a Stored>,
    pub to_acknowledge: Vec<&'a Stored>,
    pub mine: Vec<&'a Stored>,
    pub recent: Vec<&'a Stored>,
}

pub fn approvals_page(page: &Approvals<'_>) -> String {
    render(|| {
        view! {
            <header class="page-header"><h1>"Approvals"</h1></header>
            {table("to-decide", "Waiting for your decision", "Nothing waits for your decision.", &page.to_decide)}
            {(!page.to_acknowledge.is_empty()).then(|| table("to-acknowledge", "Break-glass runs to acknowledge", "", &page.to_acknowledge))}
            {table("mine", "Your requests", "You have not asked for anything yet.", &page.mine)}
            {table("recent", "Recent decisions and runs", "Nothing has been decided yet.", &page.recent)}
        }
        .into_any()
    })
}

/// The pinned state and open requests on an environment page, above its details.
pub fn environment_notes(status: &EnvironmentStatus) -> String {
    let pinned = status.argo.as_ref().and_then(|a| a.pinned.as_ref()).map(words::pinned);
    let attention = status.attention;
    if pinned.is_none() && attention.pending == 0 && attention.unacknowledged == 0 {
        return String::new();
    }
    render(|| {
        view! {
            {pinned.map(|p| view! { <p class="pinned" id="pinned">{p}</p> })}
            {(attention.pending > 0).then(|| view! { <p><a class="badge attention" href="/approvals" id="pending">{format!("{} pending approval", attention.pending)}</a></p> })}
            {(attention.unacknowledged > 0).then(|| view! { <p class="pinned" id="unacknowledged"><a href="/approvals">"A break-glass run here has not been acknowledged yet."</a></p> })}
        }
        .into_any()
    })
}
