//! The action buttons a person is offered, and each action's page. Built on the server from
//! the access check, so nobody is shown a button the server would refuse.

use leptos::prelude::*;

use crate::access::principal::Principal;
use crate::access::{check, Action, Decision, GroupRoles, Policy, Role};
use crate::config::{EnvironmentConfig, WorkloadConfig};
use crate::error::AppError;
use crate::status::model::WorkloadKind;

/// An action the person may ask for, and whether it needs approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub action: Action,
    pub workload: Option<String>,
    pub decision: Decision,
}

/// The actions on the environment itself: its Argo CD application (`pinned`: Gantry
/// paused its auto-sync, so resuming it is offered too) and its database backup.
pub fn environment_offers(
    principal: Option<&Principal>,
    env: &EnvironmentConfig,
    pinned: bool,
) -> Vec<Offer> {
    let mut actions = Vec::with_capacity(3);
    if env.argocd_application.is_some() {
        actions.push(Action::Sync);
        if pinned {
            actions.push(Action::ResumeAutoSync);
        }
    }
    actions.push(Action::Backup);
    actions.push(Action::Restore);
    offers(principal, env, &actions, None)
}

/// The actions on one workload: scaling only where its bounds leave room, rolling back
/// only Deployments (their ReplicaSets are the revisions).
pub fn workload_offers(
    principal: Option<&Principal>,
    env: &EnvironmentConfig,
    workload: &WorkloadConfig,
) -> Vec<Offer> {
    let mut actions = Vec::with_capacity(3);
    if workload.max_replicas > workload.min_replicas {
        actions.push(Action::Scale);
    }
    actions.push(Action::Restart);
    if workload.kind == WorkloadKind::Deployment {
        actions.push(Action::Rollback);
    }
    offers(principal, env, &actions, Some(&workload.name))
}

fn offers(
    principal: Option<&Principal>,
    env: &EnvironmentConfig,
    actions: &[Action],
    workload: Option<&str>,
) -> Vec<Offer> {
    actions
        .iter()
        .map(|action| Offer {
            action: *action,
            workload: workload.map(str::to_owned),
            decision: check(principal, env, *action),
        })
        .filter(|offer| offer.decision.is_allowed())
        .collect()
}

fn label(action: Action) -> &'static str {
    match action {
        Action::Sync => "Sync",
        Action::Scale => "Scale",
        Action::Restart => "Restart",
        Action::Rollback => "Roll back",
        Action::ResumeAutoSync => "Resume auto-sync",
        Action::Backup => "Back up now",
        Action::Restore => "Restore",
        Action::Silence => "Silence",
        Action::ExpireSilence => "Expire silence",
        Action::View
        | Action::ReadLogs
        | Action::Approve
        | Action::BreakGlass
        | Action::ViewAudit => "",
    }
}

/// The buttons, or nothing at all for someone who may only look.
pub fn bar(env: &str, offers: &[Offer]) -> String {
    if offers.is_empty() {
        return String::new();
    }
    let owner = Owner::new();
    owner.with(|| {
        let buttons = offers
            .iter()
            .map(|offer| {
                let mut href = format!("/environments/{env}/actions/{}", offer.action.as_str());
                if let Some(w) = &offer.workload {
                    href.push_str(&format!("?workload={w}"));
                }
                let (kind, note) = match offer.decision {
                    Decision::NeedsApproval { approvals: 1 } => ("approval", Some("needs 1 approval".to_owned())),
                    Decision::NeedsApproval { approvals } => ("approval", Some(format!("needs {approvals} approvals"))),
                    _ => ("direct", None),
                };
                let note = note.map(|n| view! { <span class="small muted">" · " {n}</span> });
                view! {
                    <a class="button action" href=href data-action=offer.action.as_str() data-decision=kind>
                        {label(offer.action)}
                        {note}
                    </a>
                }
            })
            .collect_view();
        view! {
            <div class="actions" id="actions" role="toolbar" aria-label="Actions">
                {buttons}
            </div>
        }
        .to_html()
    })
}

/// What the action does and how it is allowed for this person, in two sentences (the
/// head of the action page).
pub fn explain(
    env: &EnvironmentConfig,
    action: Action,
    workload: Option<&str>,
    decision: &Decision,
    mapping: &[GroupRoles],
) -> Result<String, AppError> {
    match (action, workload) {
        (Action::Scale | Action::Restart | Action::Rollback, None) => {
            return Err(AppError::NotFound(format!(
                "Say which workload to {}: add ?workload=<name>.",
                action.verb()
            )))
        }
        (Action::Scale | Action::Restart | Action::Rollback, Some(name))
            if env.workload(name).is_none() =>
        {
            return Err(AppError::NotFound(format!(
                "There is no workload named “{name}” in {}.",
                env.name
            )));
        }
        _ => {}
    }
    let what = match action {
        Action::Sync => format!(
            "Asks Argo CD to sync the application {} to its target revision, as the Argo CD UI's Sync does.",
            env.argocd_application.as_deref().unwrap_or("(none configured)")
        ),
        Action::Scale => "Sets the number of replicas, within the configured bounds.".to_owned(),
        Action::Restart => "Replaces every pod, one by one, as kubectl rollout restart does.".to_owned(),
        Action::Rollback => "Puts back an earlier revision of the workload, as kubectl rollout undo does; with auto-sync on, Argo CD's auto-sync is paused so Git does not undo it.".to_owned(),
        Action::ResumeAutoSync => "Turns Argo CD's auto-sync back on, as it was before Gantry paused it.".to_owned(),
        Action::Backup => format!(
            "Starts a backup of {}'s database now: a Job made from the CronJob {}'s template, as kubectl create job --from does, that dumps, checks and keeps the dump as the scheduled ones do. Refused while a backup runs; followed on the Backups page.",
            env.name, env.backups.cronjob
        ),
        Action::Restore => format!(
            "Restores a good backup of {} that retention still keeps (a Job made from the CronJob {}'s template, which checks the dump's checksum first): into a new database beside the live one, which changes nothing live; or over the live database — auto-sync paused, the writers ({}) stopped, a safety backup first, the restore in one transaction, then everything back as it was. The requester and each approver type the environment's name.",
            env.name, env.backups.restore_cronjob, env.backups.stop_during_restore.join(", ")
        ),
        Action::Silence => format!(
            "Silences alerts of {} in Alertmanager for a while, as amtool silence add does: Alertmanager stops notifying about them and the panel shows them as silenced. The silence always carries the namespace {}, so no other environment's alerts are touched, and it always ends.",
            env.name, env.namespace
        ),
        Action::ExpireSilence => "Ends a silence now: Alertmanager notifies about its alerts again.".to_owned(),
        Action::View
        | Action::ReadLogs
        | Action::Approve
        | Action::BreakGlass
        | Action::ViewAudit => String::new(),
    };
    let approvers: Vec<String> = mapping
        .iter()
        .filter(|g| {
            g.roles.iter().any(|(e, r)| (e == "*" || *e == env.name) && *r >= Role::Approver)
        })
        .map(|g| g.group.clone())
        .collect();
    let rule = match (decision, env.policy.of(action)) {
        (Decision::NeedsApproval { approvals }, Some(Policy::Approval { expires_minutes, .. })) => format!(
            "On {} this needs {approvals} approval{} from someone else holding the approver role there (groups: {}). A request not decided within {} expires.",
            env.name,
            if *approvals == 1 { "" } else { "s" },
            if approvers.is_empty() { "none configured".to_owned() } else { approvers.join(", ") },
            duration_words(expires_minutes),
        ),
        _ => format!("On {} you may do this directly, without anyone's approval.", env.name),
    };
    Ok(format!("{what} {rule}"))
}

fn duration_words(minutes: u32) -> String {
    match minutes {
        m if m % (24 * 60) == 0 => format!("{} day{}", m / 1440, if m == 1440 { "" } else { "s" }),
        m if m % 60 == 0 => format!("{} hour{}", m / 60, if m == 60 { "" } else { "s" }),
        m => format!("{m} minutes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::principal::SignInMethod;
    use crate::access::EnvironmentPolicy;

    fn prod() -> EnvironmentConfig {
        let workload = |name: &str, kind, min, max| WorkloadConfig {
            name: name.to_owned(),
            kind,
            min_replicas: min,
            max_replicas: max,
            prometheus_selector: String::new(),
            grafana_url: None,
        };
        let mut policy = EnvironmentPolicy::open();
        policy.sync = Policy::Approval { approvals: 1, expires_minutes: 1440 };
        EnvironmentConfig {
            name: "prod".to_owned(),
            namespace: "app-prod".to_owned(),
            argocd_application: Some("app-prod".to_owned()),
            argocd_namespace: "argocd".to_owned(),
            cluster_context: None,
            prometheus_selector: String::new(),
            grafana_url: None,
            workloads: vec![
                workload("backend", WorkloadKind::Deployment, 3, 10),
                workload("postgres", WorkloadKind::StatefulSet, 1, 1),
            ],
            policy,
            backups: Default::default(),
        }
    }

    fn person(role: Role) -> Principal {
        Principal {
            user_id: "1".to_owned(),
            name: "P".to_owned(),
            email: None,
            groups: Vec::new(),
            roles: [("prod".to_owned(), role)].into_iter().collect(),
            method: SignInMethod::Demo,
            account_html: std::sync::OnceLock::new(),
        }
    }

    #[test]
    fn a_viewer_is_offered_nothing_and_sees_no_buttons() {
        let env = prod();
        let viewer = person(Role::Viewer);
        assert!(environment_offers(Some(&viewer), &env, false).is_empty());
        assert!(workload_offers(Some(&viewer), &env, &env.workloads[0]).is_empty());
        assert_eq!(bar("prod", &environment_offers(Some(&viewer), &env, false)), "");
        assert!(environment_offers(None, &env, true).is_empty());
    }

    #[test]
    fn an_operator_is_offered_what_the_workload_allows_with_the_policy_noted() {
        let env = prod();
        let operator = person(Role::Operator);
        let sync = environment_offers(Some(&operator), &env, false);
        let actions: Vec<Action> = sync.iter().map(|o| o.action).collect();
        assert_eq!(
            actions,
            [Action::Sync, Action::Backup, Action::Restore],
            "the application and the database"
        );
        assert_eq!(sync[0].decision, Decision::NeedsApproval { approvals: 1 });
        let html = bar("prod", &sync);
        assert!(
            html.contains("data-action=\"sync\"") && html.contains("needs 1 approval"),
            "{html}"
        );
        let backend: Vec<Action> = workload_offers(Some(&operator), &env, &env.workloads[0])
            .iter()
            .map(|o| o.action)
            .collect();
        assert_eq!(backend, [Action::Scale, Action::Restart, Action::Rollback]);
        // Fixed at one replica and a StatefulSet: only a restart makes sense.
        let postgres: Vec<Action> = workload_offers(Some(&operator), &env, &env.workloads[1])
            .iter()
            .map(|o| o.action)
            .collect();
        assert_eq!(postgres, [Action::Restart]);
        let html = bar("prod", &workload_offers(Some(&operator), &env, &env.workloads[0]));
        assert!(html.contains("/environments/prod/actions/scale?workload=backend"), "{html}");
    }

    #[test]
    fn the_action_page_states_the_policy_and_who_approves() {
        let env = prod();
        let mapping = vec![GroupRoles {
            group: "leads".to_owned(),
            roles: vec![("*".to_owned(), Role::Approver)],
        }];
        let html =
            explain(&env, Action::Sync, None, &Decision::NeedsApproval { approvals: 1 }, &mapping)
                .expect("sync needs no workload");
        assert!(
            html.contains("needs 1 approval from someone else") && html.contains("leads"),
            "{html}"
        );
        assert!(html.contains("1 day"), "{html}");
        let missing = explain(&env, Action::Scale, None, &Decision::Allowed, &mapping);
        assert!(matches!(missing, Err(AppError::NotFound(_))));
        let unknown = explain(&env, Action::Scale, Some("nope"), &Decision::Allowed, &mapping);
        assert!(matches!(unknown, Err(AppError::NotFound(_))));
    }
}
