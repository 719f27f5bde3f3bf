//! The "me" page's content, rendered on the server.

use leptos::prelude::*;

use crate::access::principal::{Principal, SignInMethod};
use crate::access::{check, Action, Decision, Role};
use crate::config::EnvironmentConfig;

/// "admin on dev, staging, prod; viewer on qa" — or "no role" for someone without any.
/// Environments are named in their configured order.
pub fn summary(principal: &Principal, environments: &[EnvironmentConfig]) -> String {
    let mut by_role: Vec<(Role, Vec<&str>)> = Vec::new();
    let held = environments
        .iter()
        .filter_map(|e| principal.role_on(&e.name).map(|r| (e.name.as_str(), r)));
    for (env, role) in held {
        match by_role.iter_mut().find(|(r, _)| *r == role) {
            Some((_, envs)) => envs.push(env),
            None => by_role.push((role, vec![env])),
        }
    }
    if by_role.is_empty() {
        return "no role".to_owned();
    }
    by_role.sort_by_key(|(role, _)| std::cmp::Reverse(*role));
    let parts: Vec<String> = by_role
        .into_iter()
        .map(|(role, envs)| format!("{} on {}", role.as_str(), envs.join(", ")))
        .collect();
    parts.join("; ")
}

/// What a decision means for this person, in a few words.
fn decision_words(decision: &Decision) -> (&'static str, String) {
    match decision {
        Decision::Allowed => ("allowed", "yes".to_owned()),
        Decision::NeedsApproval { approvals: 1 } => ("approval", "after 1 approval".to_owned()),
        Decision::NeedsApproval { approvals } => {
            ("approval", format!("after {approvals} approvals"))
        }
        Decision::Denied(_) => ("denied", "no".to_owned()),
    }
}

/// The sidebar's account box: name (a link to the "me" page), roles, and signing out — a
/// form, since signing out changes state (a POST, refused from other sites).
pub fn account_box(principal: &Principal, environments: &[EnvironmentConfig]) -> String {
    let owner = Owner::new();
    owner.with(|| {
        view! {
            <div class="account" id="account" data-user=principal.user_id.clone()>
                <a class="account-name" href="/me">{principal.name.clone()}</a>
                <span class="muted small account-roles">{summary(principal, environments)}</span>
                <form method="post" action="/auth/logout">
                    <button class="button small" type="submit" id="sign-out">"Sign out"</button>
                </form>
            </div>
        }
        .to_html()
    })
}

pub fn page(principal: &Principal, environments: &[EnvironmentConfig]) -> String {
    let owner = Owner::new();
    owner.with(|| render(principal, environments))
}

fn render(principal: &Principal, environments: &[EnvironmentConfig]) -> String {
    let method = match &principal.method {
        SignInMethod::OpenId { issuer } => format!("OpenID Connect ({issuer})"),
        SignInMethod::Demo => "demo sign-in (this server runs in demo mode)".to_owned(),
    };
    let groups = if principal.groups.is_empty() {
        view! { <p class="muted">"Your sign-in reported no groups."</p> }.into_any()
    } else {
        let items = principal
            .groups
            .iter()
            .map(|g| view! { <li class="mono">{g.clone()}</li> })
            .collect_view();
        view! { <ul id="me-groups">{items}</ul> }.into_any()
    };
    let no_role = (!principal.has_any_role()).then(|| {
        view! {
            <p class="stale banner" id="no-access">
                {crate::access::server::no_access_reason(principal)}
            </p>
        }
    });
    let actions: Vec<Action> = Action::ALL.into_iter().filter(|a| *a != Action::View).collect();
    let head = actions
        .iter()
        .map(|a| view! { <th scope="col">{a.as_str().replace('_', " ")}</th> })
        .collect_view();
    let rows = environments
        .iter()
        .map(|env| {
            let role = principal.role_on(&env.name);
            let role_text = role.map_or("none", Role::as_str);
            let meaning = role.map_or("cannot see it", Role::meaning);
            let cells = actions
                .iter()
                .map(|action| {
                    let (class, text) = decision_words(&check(Some(principal), env, *action));
                    view! { <td class=format!("decision {class}") data-action=action.as_str()>{text}</td> }
                })
                .collect_view();
            view! {
                <tr data-env=env.name.clone() data-role=role_text>
                    <th scope="row">{env.name.clone()}</th>
                    <td>
                        <strong>{role_text}</strong>
                        <div class="muted small">{meaning}</div>
                    </td>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    view! {
        <header class="page-header">
            <h1>{principal.name.clone()}</h1>
        </header>
        {no_role}
        <section class="panel">
            <h2>"Identity"</h2>
            <dl class="facts" id="me-identity">
                <dt>"User id"</dt>
                <dd class="mono">{principal.user_id.clone()}</dd>
                <dt>"Email"</dt>
                <dd>{principal.email.clone().unwrap_or_else(|| "—".to_owned())}</dd>
                <dt>"Signed in with"</dt>
                <dd>{method}</dd>
            </dl>
        </section>
        <section class="panel">
            <h2>"Groups"</h2>
            {groups}
        </section>
        <section class="panel">
            <h2>"Roles and what they allow"</h2>
            <p class="muted">
                "Your groups give you one role per environment. Changes follow each environment's policy: some run at once, some after approval by someone else."
            </p>
            <table class="table" id="me-roles">
                <thead>
                    <tr>
                        <th scope="col">"Environment"</th>
                        <th scope="col">"Role"</th>
                        {head}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
    .to_html()
}
