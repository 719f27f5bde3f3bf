use std::collections::BTreeMap;

use super::*;
use crate::access::model::{EnvironmentPolicy, GroupRoles, Role};
use crate::access::principal::{normalize_groups, roles_for, SignInMethod};

fn environment(name: &str, policy: EnvironmentPolicy) -> EnvironmentConfig {
    EnvironmentConfig {
        name: name.to_owned(),
        namespace: format!("app-{name}"),
        argocd_application: None,
        argocd_namespace: "argocd".to_owned(),
        cluster_context: None,
        prometheus_selector: String::new(),
        grafana_url: None,
        workloads: Vec::new(),
        policy,
        backups: Default::default(),
    }
}

fn person(roles: &[(&str, Role)]) -> Principal {
    Principal {
        user_id: "100001".to_owned(),
        name: "Test Person".to_owned(),
        email: None,
        groups: Vec::new(),
        roles: roles.iter().map(|(e, r)| ((*e).to_owned(), *r)).collect(),
        method: SignInMethod::Demo,
        account_html: std::sync::OnceLock::new(),
    }
}

fn approval(approvals: u8) -> Policy {
    Policy::Approval { approvals, expires_minutes: 60 }
}

/// Production as the design describes it: everything needs one approval, restore two.
fn guarded() -> EnvironmentPolicy {
    EnvironmentPolicy {
        sync: approval(1),
        scale: approval(1),
        restart: approval(1),
        rollback: approval(1),
        resume_auto_sync: approval(1),
        backup: approval(1),
        restore: approval(2),
        silence: approval(1),
        break_glass: true,
        logs: Some(Role::Operator),
    }
}

/// What each role may do on a guarded environment, written out action by action:
/// A = allowed, 1/2 = needs that many approvals, - = denied.
const GUARDED_SPEC: [(Action, [&str; 4]); 14] = [
    //                       viewer operator approver admin
    (Action::View, ["A", "A", "A", "A"]),
    (Action::Sync, ["-", "1", "1", "1"]),
    (Action::Scale, ["-", "1", "1", "1"]),
    (Action::Restart, ["-", "1", "1", "1"]),
    (Action::Rollback, ["-", "1", "1", "1"]),
    (Action::ResumeAutoSync, ["-", "1", "1", "1"]),
    (Action::Backup, ["-", "1", "1", "1"]),
    (Action::Restore, ["-", "2", "2", "2"]),
    (Action::Silence, ["-", "1", "1", "1"]),
    (Action::ExpireSilence, ["-", "1", "1", "1"]),
    (Action::ReadLogs, ["-", "A", "A", "A"]),
    (Action::Approve, ["-", "-", "A", "A"]),
    (Action::BreakGlass, ["-", "-", "-", "A"]),
    (Action::ViewAudit, ["-", "-", "A", "A"]),
];

fn code(decision: &Decision) -> String {
    match decision {
        Decision::Allowed => "A".to_owned(),
        Decision::NeedsApproval { approvals } => approvals.to_string(),
        Decision::Denied(_) => "-".to_owned(),
    }
}

#[test]
fn every_role_and_action_on_a_guarded_environment_follows_the_written_table() {
    let prod = environment("prod", guarded());
    assert_eq!(GUARDED_SPEC.len(), Action::ALL.len(), "every action is in the table");
    for (action, expected) in GUARDED_SPEC {
        for (role, want) in Role::ALL.into_iter().zip(expected) {
            let decision = check(Some(&person(&[("prod", role)])), &prod, action);
            assert_eq!(
                code(&decision),
                want,
                "{} as {}: {decision:?}",
                action.as_str(),
                role.as_str()
            );
        }
    }
}

#[test]
fn on_an_open_environment_operators_act_directly_and_viewers_still_cannot() {
    let dev = environment("dev", EnvironmentPolicy::open());
    for action in Action::CHANGES {
        assert_eq!(
            check(Some(&person(&[("dev", Role::Operator)])), &dev, action),
            Decision::Allowed
        );
        assert_eq!(
            check(Some(&person(&[("dev", Role::Viewer)])), &dev, action),
            Decision::Denied(Denial::RoleTooLow {
                environment: "dev".to_owned(),
                has: Role::Viewer,
                needs: Role::Operator
            })
        );
    }
}

#[test]
fn nobody_signed_in_is_asked_to_sign_in_for_everything() {
    let prod = environment("prod", guarded());
    for action in Action::ALL {
        assert_eq!(check(None, &prod, action), Decision::Denied(Denial::SignInRequired));
        assert_eq!(Denial::SignInRequired.refusal(Action::View).status(), 401);
    }
}

#[test]
fn a_role_on_one_environment_gives_nothing_on_another() {
    let prod = environment("prod", guarded());
    let dev_admin = person(&[("dev", Role::Admin)]);
    for action in Action::ALL {
        let decision = check(Some(&dev_admin), &prod, action);
        assert_eq!(decision, Decision::Denied(Denial::NoRole { environment: "prod".to_owned() }));
    }
    let Decision::Denied(denial) = check(Some(&dev_admin), &prod, Action::View) else {
        panic!("denied above");
    };
    assert_eq!(denial.refusal(Action::View).status(), 403);
    assert_eq!(denial.reason(Action::View), "You have no role on prod, so you cannot see it.");
}

#[test]
fn a_disabled_change_is_refused_even_to_an_admin_and_break_glass_can_be_switched_off() {
    let mut policy = guarded();
    policy.restore = Policy::Disabled;
    policy.break_glass = false;
    let prod = environment("prod", policy);
    let admin = person(&[("prod", Role::Admin)]);
    let restore = check(Some(&admin), &prod, Action::Restore);
    assert_eq!(restore, Decision::Denied(Denial::Disabled { environment: "prod".to_owned() }));
    let Decision::Denied(denial) = restore else { panic!("denied above") };
    assert!(denial
        .reason(Action::Restore)
        .contains("does not allow anyone to restore a backup on prod"));
    assert_eq!(
        check(Some(&admin), &prod, Action::BreakGlass),
        Decision::Denied(Denial::BreakGlassOff { environment: "prod".to_owned() })
    );
    // The other changes keep their policy.
    assert_eq!(check(Some(&admin), &prod, Action::Sync), Decision::NeedsApproval { approvals: 1 });
}

#[test]
fn the_refusal_names_the_role_held_and_the_role_needed() {
    let staging = environment("staging", guarded());
    let Decision::Denied(denial) =
        check(Some(&person(&[("staging", Role::Viewer)])), &staging, Action::Rollback)
    else {
        panic!("a viewer cannot roll back");
    };
    assert_eq!(
        denial.reason(Action::Rollback),
        "You are a viewer on staging; to roll back it you need to be an operator."
    );
}

#[test]
fn an_unknown_environment_is_named_but_only_to_someone_signed_in() {
    let envs = vec![environment("dev", EnvironmentPolicy::open())];
    let admin = person(&[("dev", Role::Admin)]);
    assert_eq!(
        check_named(None, &envs, "qa", Action::View),
        Decision::Denied(Denial::SignInRequired)
    );
    let decision = check_named(Some(&admin), &envs, "qa", Action::View);
    assert_eq!(
        decision,
        Decision::Denied(Denial::UnknownEnvironment { environment: "qa".to_owned() })
    );
    assert_eq!(check_named(Some(&admin), &envs, "dev", Action::Sync), Decision::Allowed);
}

#[test]
fn groups_give_the_highest_role_per_environment_and_star_means_every_environment() {
    let mapping = vec![
        GroupRoles { group: "readers".to_owned(), roles: vec![("*".to_owned(), Role::Viewer)] },
        GroupRoles {
            group: "developers".to_owned(),
            roles: vec![("dev".to_owned(), Role::Operator), ("staging".to_owned(), Role::Viewer)],
        },
        GroupRoles { group: "leads".to_owned(), roles: vec![("prod".to_owned(), Role::Approver)] },
    ];
    let envs = ["dev", "staging", "prod"];
    let roles = |groups: &[&str]| {
        let groups: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
        roles_for(&groups, &mapping, &envs)
    };
    let expect = |pairs: &[(&str, Role)]| -> BTreeMap<String, Role> {
        pairs.iter().map(|(e, r)| ((*e).to_owned(), *r)).collect()
    };
    assert_eq!(roles(&[]), expect(&[]));
    assert_eq!(roles(&["strangers"]), expect(&[]));
    assert_eq!(
        roles(&["developers"]),
        expect(&[("dev", Role::Operator), ("staging", Role::Viewer)])
    );
    assert_eq!(
        roles(&["developers", "readers", "leads"]),
        expect(&[("dev", Role::Operator), ("staging", Role::Viewer), ("prod", Role::Approver)])
    );
}

#[test]
fn group_names_lose_the_configured_suffix_and_duplicates() {
    let raw = ["co2-admins_AppGrpU", " co2-readers ", "co2-admins", "", "x_AppGrpU_AppGrpU"];
    let groups = normalize_groups(raw.iter().map(|g| (*g).to_owned()), Some("_AppGrpU"));
    assert_eq!(groups, ["co2-admins", "co2-readers", "x_AppGrpU"]);
    let untouched = normalize_groups(["a_AppGrpU".to_owned()], None);
    assert_eq!(untouched, ["a_AppGrpU"]);
}

#[test]
fn reading_logs_needs_the_role_the_environment_names_and_says_why() {
    let mut policy = guarded();
    let prod = environment("prod", policy.clone());
    let viewer = person(&[("prod", Role::Viewer)]);
    let Decision::Denied(denial) = check(Some(&viewer), &prod, Action::ReadLogs) else {
        panic!("a viewer reads no logs by default");
    };
    assert_eq!(
        denial.reason(Action::ReadLogs),
        "You are a viewer on prod; logs can hold personal data, so reading them there needs the operator role or above."
    );
    policy.logs = Some(Role::Approver);
    let stricter = environment("prod", policy.clone());
    let operator = person(&[("prod", Role::Operator)]);
    assert!(!check(Some(&operator), &stricter, Action::ReadLogs).is_allowed());
    assert!(
        check(Some(&person(&[("prod", Role::Approver)])), &stricter, Action::ReadLogs).is_allowed()
    );
    policy.logs = Some(Role::Viewer);
    assert!(
        check(Some(&viewer), &environment("prod", policy.clone()), Action::ReadLogs).is_allowed()
    );
    policy.logs = None;
    let off = environment("prod", policy);
    let admin = person(&[("prod", Role::Admin)]);
    assert_eq!(
        check(Some(&admin), &off, Action::ReadLogs),
        Decision::Denied(Denial::Disabled { environment: "prod".to_owned() })
    );
}
