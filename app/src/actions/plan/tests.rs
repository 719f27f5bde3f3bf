use serde_json::json;

use super::*;
use crate::access::EnvironmentPolicy;
use crate::config::{EnvironmentConfig, WorkloadConfig};
use crate::monitoring::alertmanager::{Matcher, Silence};

fn env(auto_sync_app: bool) -> EnvironmentConfig {
    let workload = |name: &str, kind, min, max| WorkloadConfig {
        name: name.to_owned(),
        kind,
        min_replicas: min,
        max_replicas: max,
        prometheus_selector: String::new(),
        grafana_url: None,
    };
    EnvironmentConfig {
        name: "prod".to_owned(),
        namespace: "app-prod".to_owned(),
        argocd_application: auto_sync_app.then(|| "app-prod".to_owned()),
        argocd_namespace: "argocd".to_owned(),
        cluster_context: None,
        prometheus_selector: String::new(),
        grafana_url: None,
        workloads: vec![
            workload("backend", WorkloadKind::Deployment, 2, 6),
            workload("postgres", WorkloadKind::StatefulSet, 1, 1),
        ],
        policy: EnvironmentPolicy::open(),
        backups: Default::default(),
    }
}

fn template(image: &str, hash: Option<&str>) -> Value {
    let mut labels = json!({"app": "backend"});
    if let Some(h) = hash {
        labels["pod-template-hash"] = json!(h);
    }
    json!({"metadata": {"labels": labels}, "spec": {"containers": [{"name": "backend", "image": image}]}})
}

fn deployment(replicas: i32, revision: i64, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "backend", "uid": "d1", "resourceVersion": "7",
                     "annotations": {"deployment.kubernetes.io/revision": revision.to_string()}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "backend"}},
                 "template": template(image, None)},
    }))
    .expect("a Deployment")
}

fn replicaset(revision: i64, image: &str) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {"name": format!("backend-{revision}"),
                     "annotations": {"deployment.kubernetes.io/revision": revision.to_string()},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "backend", "uid": "d1", "controller": true}]},
        "spec": {"selector": {"matchLabels": {"app": "backend"}}, "template": template(image, Some(&format!("h{revision}")))},
    }))
    .expect("a ReplicaSet")
}

fn app(automated: bool, operation: bool) -> Value {
    let mut app = json!({
        "metadata": {"name": "app-prod", "resourceVersion": "3"},
        "spec": {"source": {"targetRevision": "v1.8.3"}, "syncPolicy": {}},
        "status": {"sync": {"revision": "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807"}, "operationState": {"phase": "Succeeded"}},
    });
    if automated {
        app["spec"]["syncPolicy"]["automated"] = json!({"selfHeal": true});
    }
    if operation {
        app["operation"] = json!({"sync": {}});
    }
    app
}

fn asked(workload: &str) -> Asked {
    Asked { workload: Some(workload.to_owned()), ..Asked::default() }
}

fn seen_backend() -> Seen {
    Seen {
        deployment: Some(deployment(3, 3, "reg/backend:1.8.2")),
        replicasets: vec![
            replicaset(1, "reg/backend:1.8.0"),
            replicaset(2, "reg/backend:1.8.1"),
            replicaset(3, "reg/backend:1.8.2"),
        ],
        application: Some(app(true, false)),
        ..Seen::default()
    }
}

#[test]
fn scaling_stays_within_the_configured_bounds() {
    let seen = seen_backend();
    let plan =
        make(&env(true), Action::Scale, &Asked { replicas: Some(5), ..asked("backend") }, &seen)
            .expect("5 is within 2–6");
    assert_eq!(plan.summary(), "replicas 3 → 5");
    assert_eq!(plan.object(), "Deployment/backend");
    for (n, status) in [(7, 422), (1, 422), (3, 422)] {
        let refused = make(
            &env(true),
            Action::Scale,
            &Asked { replicas: Some(n), ..asked("backend") },
            &seen,
        )
        .expect_err("out of bounds or no change");
        assert_eq!(refused.status(), status, "{n}: {refused}");
    }
    let none = make(&env(true), Action::Scale, &asked("backend"), &seen).expect_err("no number");
    assert_eq!(none.status(), 400);
    let unknown = make(&env(true), Action::Scale, &asked("nope"), &seen).expect_err("unknown");
    assert_eq!(unknown.status(), 404);
}

#[test]
fn an_autoscaled_workload_is_explained_and_its_bounds_offered() {
    let mut seen = seen_backend();
    seen.autoscaler = Some(
        serde_json::from_value(json!({"metadata": {"name": "backend"}, "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "backend"}, "minReplicas": 2, "maxReplicas": 4}}))
        .expect("an HPA"),
    );
    let by_hand =
        make(&env(true), Action::Scale, &Asked { replicas: Some(5), ..asked("backend") }, &seen)
            .expect_err("fighting the autoscaler");
    assert!(by_hand.to_string().contains("autoscaler backend (between 2 and 4"), "{by_hand}");
    let plan = make(&env(true), Action::Scale, &Asked { max: Some(6), ..asked("backend") }, &seen)
        .expect("raise the maximum");
    assert_eq!(plan.summary(), "autoscaler minimum 2 → 2; autoscaler maximum 4 → 6");
    let crossed = make(
        &env(true),
        Action::Scale,
        &Asked { min: Some(5), max: Some(3), ..asked("backend") },
        &seen,
    );
    assert_eq!(crossed.map_err(|e| e.status()), Err(422));
}

#[test]
fn rollback_defaults_to_the_previous_revision_and_pauses_auto_sync() {
    let seen = seen_backend();
    let plan =
        make(&env(true), Action::Rollback, &asked("backend"), &seen).expect("revision 2 is kept");
    let Plan::Rollback { from_revision, to_revision, pause_auto_sync, .. } = &plan else {
        panic!("{plan:?}")
    };
    assert_eq!((*from_revision, *to_revision), (3, 2));
    assert!(pause_auto_sync.is_some(), "the application auto-syncs");
    assert_eq!(
        plan.summary(),
        "revision 3 → 2; image backend:1.8.2 → backend:1.8.1; Argo CD auto-sync on → paused (pinned)"
    );
    let manual = Seen { application: Some(app(false, false)), ..seen_backend() };
    let plan = make(
        &env(true),
        Action::Rollback,
        &Asked { revision: Some(1), ..asked("backend") },
        &manual,
    )
    .expect("revision 1 is kept");
    assert!(matches!(plan, Plan::Rollback { pause_auto_sync: None, to_revision: 1, .. }));
    let missing =
        make(&env(true), Action::Rollback, &Asked { revision: Some(9), ..asked("backend") }, &seen)
            .expect_err("not kept");
    assert_eq!(missing.to_string(), "There is no revision 9 of backend; revisions kept: 1, 2, 3.");
    let current =
        make(&env(true), Action::Rollback, &Asked { revision: Some(3), ..asked("backend") }, &seen);
    assert_eq!(current.map_err(|e| e.status()), Err(422));
    let statefulset: StatefulSet =
        serde_json::from_value(json!({"metadata": {"name": "postgres"}, "spec": {
        "selector": {}, "serviceName": "postgres", "template": {}}}))
        .expect("a StatefulSet");
    let db = Seen { statefulset: Some(statefulset), ..Seen::default() };
    let refused =
        make(&env(true), Action::Rollback, &asked("postgres"), &db).expect_err("no revisions");
    assert!(refused.to_string().contains("not a Deployment"), "{refused}");
}

#[test]
fn a_plan_is_superseded_when_its_target_changed_and_done_when_in_place() {
    let seen = seen_backend();
    let scale =
        make(&env(true), Action::Scale, &Asked { replicas: Some(5), ..asked("backend") }, &seen)
            .expect("a plan");
    assert_eq!(scale.holds(&seen), Ok(()));
    let scaled = Seen { deployment: Some(deployment(4, 3, "reg/backend:1.8.2")), ..seen_backend() };
    assert_eq!(
        scale.holds(&scaled),
        Err("backend now runs 4 replicas, not 3 as when this was asked".to_owned())
    );
    assert!(!scale.done(&seen, "", 1));
    let five = Seen { deployment: Some(deployment(5, 3, "reg/backend:1.8.2")), ..seen_backend() };
    assert!(scale.done(&five, "", 1));

    let rollback = make(&env(true), Action::Rollback, &asked("backend"), &seen).expect("a plan");
    let moved_on =
        Seen { deployment: Some(deployment(3, 4, "reg/backend:1.9.0")), ..seen_backend() };
    assert!(rollback.holds(&moved_on).is_err());
    // Rolled back: the Deployment's template is revision 2's (renumbered 4 by the controller).
    let rolled = Seen { deployment: Some(deployment(3, 4, "reg/backend:1.8.1")), ..seen_backend() };
    assert!(rollback.done(&rolled, "", 1));
    assert!(!rollback.done(&seen, "", 1));

    let restart = make(&env(true), Action::Restart, &asked("backend"), &seen).expect("a plan");
    let mut restarted = deployment(3, 4, "reg/backend:1.8.2");
    if let Some(spec) = restarted.spec.as_mut() {
        spec.template.metadata.get_or_insert_with(Default::default).annotations =
            Some([(RESTARTED_AT.to_owned(), "2026-11-26T10:00:00Z".to_owned())].into());
    }
    let after = Seen { deployment: Some(restarted), ..seen_backend() };
    assert!(restart.done(&after, "2026-11-26T10:00:00Z", 1));
    assert!(!restart.done(&after, "2026-11-26T10:00:01Z", 1));
    assert!(restart.holds(&after).is_err(), "the template changed since");
}

#[test]
fn sync_waits_for_a_running_operation_and_names_its_target() {
    let busy = Seen { application: Some(app(false, true)), ..Seen::default() };
    let refused = make(&env(true), Action::Sync, &Asked::default(), &busy).expect_err("busy");
    assert_eq!(refused.status(), 409);
    assert!(refused.to_string().contains("Argo CD is busy"), "{refused}");
    let idle = Seen { application: Some(app(false, false)), ..Seen::default() };
    let plan = make(&env(true), Action::Sync, &Asked::default(), &idle).expect("idle");
    assert_eq!(plan.summary(), "revision 9e8d7c6 → v1.8.3");
    let mut retargeted = app(false, false);
    retargeted["spec"]["source"]["targetRevision"] = json!("v1.9.0");
    assert!(plan.holds(&Seen { application: Some(retargeted), ..Seen::default() }).is_err());
    let mut started = app(false, false);
    started["status"]["operationState"]["operation"] =
        json!({"info": [{"name": INFO_REQUEST, "value": "42"}]});
    let started = Seen { application: Some(started), ..Seen::default() };
    assert!(plan.done(&started, "", 42));
    assert!(!plan.done(&started, "", 41));
    let none = make(&env(false), Action::Sync, &Asked::default(), &idle).expect_err("no app");
    assert_eq!(none.status(), 422);
}

#[test]
fn only_a_pause_by_gantry_can_be_resumed() {
    let on = Seen { application: Some(app(true, false)), ..Seen::default() };
    assert_eq!(
        make(&env(true), Action::ResumeAutoSync, &Asked::default(), &on).map_err(|e| e.status()),
        Err(422)
    );
    let mut paused = app(false, false);
    paused["metadata"]["annotations"] = json!({PAUSED_BY: "Dana (1)"});
    let paused = Seen { application: Some(paused), ..Seen::default() };
    let plan =
        make(&env(true), Action::ResumeAutoSync, &Asked::default(), &paused).expect("paused");
    assert_eq!(plan.summary(), "Argo CD auto-sync paused (pinned) → on");
    assert!(plan.holds(&on).is_err());
    assert!(plan.done(&on, "", 1));
}

#[test]
fn asked_numbers_must_be_whole_numbers() {
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    };
    let asked =
        Asked::from_pairs(&pairs(&[("workload", "backend"), ("replicas", " 4 "), ("min", "")]))
            .expect("valid");
    assert_eq!(
        (asked.workload.as_deref(), asked.replicas, asked.min),
        (Some("backend"), Some(4), None)
    );
    assert_eq!(
        Asked::from_pairs(&pairs(&[("replicas", "four")])),
        Err("The number of replicas must be a whole number, not “four”.".to_owned())
    );
    assert!(Asked::from_pairs(&pairs(&[("min", "99999999999")])).is_err());
}

fn silence(id: &str, namespace: &str, state: &str, comment: &str) -> Silence {
    Silence {
        id: id.to_owned(),
        matchers: vec![Matcher::equal("namespace", namespace)],
        starts_at: "2026-12-01T10:00:00Z".to_owned(),
        ends_at: "2026-12-01T12:00:00Z".to_owned(),
        created_by: "Ann".to_owned(),
        comment: comment.to_owned(),
        state: state.to_owned(),
    }
}

fn pairs(pairs: &[(&str, &str)]) -> Result<Asked, String> {
    let pairs: Vec<(String, String)> =
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Asked::from_pairs(&pairs)
}

#[test]
fn a_silence_is_scoped_to_the_namespace_and_always_ends() {
    let prod = env(false);
    let two_hours =
        pairs(&[("alertname", "HighErrorRate"), ("duration", "2h")]).expect("a valid ask");
    let plan = make(&prod, Action::Silence, &two_hours, &Seen::default()).expect("a plan");
    assert_eq!(
        plan,
        Plan::Silence {
            matchers: vec![
                Matcher::equal("namespace", "app-prod"),
                Matcher::equal("alertname", "HighErrorRate")
            ],
            minutes: 120,
        }
    );
    assert_eq!(
        plan.summary(),
        "alerts HighErrorRate notified → silenced for 2 hours from when it runs"
    );
    let everything = make(
        &prod,
        Action::Silence,
        &pairs(&[("duration", "1d")]).expect("a valid ask"),
        &Seen::default(),
    );
    assert_eq!(everything.expect("a plan for every alert").object(), "Silence/every alert");
    let endless = make(
        &prod,
        Action::Silence,
        &pairs(&[("alertname", "X")]).expect("a valid ask"),
        &Seen::default(),
    );
    assert!(endless.unwrap_err().to_string().starts_with("Say for how long"));
    for bad in ["0", "4m", "8d", "2w", "-1h", "h"] {
        assert!(pairs(&[("duration", bad)]).is_err(), "{bad}");
    }
    assert_eq!(pairs(&[("duration", "90")]).expect("minutes").minutes, Some(90));
    assert!(pairs(&[("alertname", "a\nb")]).is_err());
    assert!(pairs(&[("silence", "../x")]).is_err());
}

#[test]
fn a_silence_made_by_a_request_is_known_by_its_marker_after_a_crash() {
    let plan =
        Plan::Silence { matchers: vec![Matcher::equal("namespace", "app-prod")], minutes: 60 };
    let seen = |silences| Seen { silences: Some(silences), ..Seen::default() };
    let made = silence("s-1", "app-prod", "active", "known (Gantry request 7)");
    assert!(plan.done(&seen(vec![made.clone()]), "", 7));
    assert!(!plan.done(&seen(vec![made]), "", 17), "request 17 made no silence");
    assert!(!plan.done(&seen(vec![]), "", 7));
    assert_eq!(plan.holds(&Seen::default()), Ok(()));
}

#[test]
fn only_a_live_silence_of_this_environment_can_be_expired() {
    let prod = env(false);
    let silences = vec![
        silence("aa-1", "app-prod", "active", ""),
        silence("bb-2", "app-dev", "active", ""),
        silence("cc-3", "app-prod", "expired", ""),
    ];
    let seen = Seen { silences: Some(silences), ..Seen::default() };
    let expire = |id: &str| {
        make(&prod, Action::ExpireSilence, &pairs(&[("silence", id)]).expect("a valid id"), &seen)
    };
    let plan = expire("aa-1").expect("dev's own live silence");
    assert_eq!(plan.object(), "Silence/aa-1");
    assert_eq!(expire("bb-2").unwrap_err().to_string(), "There is no silence bb-2 on prod.");
    assert!(expire("cc-3").unwrap_err().to_string().contains("expired already"));
    assert_eq!(plan.holds(&seen), Ok(()));
    assert!(!plan.done(&seen, "", 1));
    let gone = Seen {
        silences: Some(vec![silence("aa-1", "app-prod", "expired", "")]),
        ..Seen::default()
    };
    assert!(plan.holds(&gone).unwrap_err().contains("expired already"));
    assert!(plan.done(&gone, "", 1));
}
