use super::*;
use crate::status::model::{Health, Image, JobRun, Operation, PodProblem, ProblemKind, Verdict};

fn workload(name: &str, available: i32, problems: Vec<PodProblem>) -> WorkloadStatus {
    WorkloadStatus {
        name: name.into(),
        kind: WorkloadKind::Deployment,
        desired: 2,
        ready: available,
        updated: 2,
        available,
        rollout: Rollout::Complete,
        images: vec![Image {
            container: name.into(),
            repository: format!("r/{name}"),
            tag: "1.8.2".into(),
        }],
        restarts: problems.iter().map(|p| p.restarts).sum(),
        problems,
        autoscaler: None,
    }
}

fn pod(name: &str, workload: &str, problem: Option<PodProblem>) -> PodInfo {
    PodInfo {
        name: name.into(),
        workload: Some(workload.into()),
        state: if problem.is_some() { "CrashLoopBackOff".into() } else { "Running".into() },
        ready_containers: i32::from(problem.is_none()),
        containers: 1,
        restarts: 3,
        created_ms: 1_000,
        node: Some("node-1".into()),
        revision: Some(2),
        problem,
    }
}

fn status() -> EnvironmentStatus {
    let crash = PodProblem {
        pod: "backend-2-a".into(),
        kind: ProblemKind::CrashLoop,
        restarts: 3,
        message: "back-off restarting failed container".into(),
    };
    EnvironmentStatus {
        name: "prod".into(),
        namespace: "co2-calculator-prod".into(),
        verdict: Verdict { health: Health::Degraded, reason: "backend is crash-looping".into() },
        workloads: vec![
            workload("backend", 1, vec![crash.clone()]),
            workload("frontend", 2, vec![]),
        ],
        argo: Some(ArgoStatus {
            application: "co2-calculator-prod".into(),
            sync: "Synced".into(),
            health: "Healthy".into(),
            revision: "9e8d7c6b5a4f".into(),
            target_revision: "v1.8.2".into(),
            auto_sync: false,
            pinned: None,
            last_operation: Some(Operation {
                phase: "Succeeded".into(),
                message: "successfully synced".into(),
                started_at: "2026-11-20T09:29:00Z".into(),
                finished_at: Some("2026-11-20T09:30:00Z".into()),
                initiated_by: "alice".into(),
            }),
        }),
        stale_since: Some("2026-11-26T07:58:22Z".into()),
        stale_reason: Some("pods: HTTP 503".into()),
        pods: vec![
            pod("backend-2-a", "backend", Some(crash)),
            pod("frontend-2-b", "frontend", None),
        ],
        revisions: vec![
            Revision {
                workload: "backend".into(),
                replicaset: "backend-2".into(),
                revision: 2,
                images: vec![],
                desired: 2,
                ready: 1,
                created_ms: 5_000,
                current: true,
            },
            Revision {
                workload: "frontend".into(),
                replicaset: "frontend-2".into(),
                revision: 2,
                images: vec![],
                desired: 2,
                ready: 2,
                created_ms: 5_000,
                current: true,
            },
        ],
        jobs: vec![ScheduledJob {
            name: "db-backup".into(),
            schedule: "0 2 * * *".into(),
            suspended: false,
            last_run: Some(JobRun {
                name: "db-backup-1".into(),
                outcome: JobOutcome::Failed,
                started_ms: Some(7_000),
                finished_ms: Some(9_000),
            }),
            last_success_ms: None,
        }],
        events: vec![WarningEvent {
            object: "Pod/backend-2-a".into(),
            reason: "BackOff".into(),
            message: "Back-off restarting failed container".into(),
            count: 12,
            last_ms: 8_000,
        }],
        attention: Default::default(),
        figures: None,
        backups: None,
    }
}

fn config() -> EnvironmentConfig {
    EnvironmentConfig {
        name: "prod".into(),
        namespace: "co2-calculator-prod".into(),
        argocd_application: Some("co2-calculator-prod".into()),
        argocd_namespace: "argocd".into(),
        cluster_context: None,
        prometheus_selector: "namespace=\"co2-calculator-prod\"".into(),
        grafana_url: Some("https://grafana.example.org/d/co2".into()),
        workloads: vec![WorkloadConfig {
            name: "backend".into(),
            kind: WorkloadKind::Deployment,
            min_replicas: 3,
            max_replicas: 10,
            prometheus_selector: "namespace=\"co2-calculator-prod\",pod=~\"backend-.*\"".into(),
            grafana_url: None,
        }],
        policy: crate::access::EnvironmentPolicy::open(),
        backups: Default::default(),
    }
}

#[test]
fn the_environment_page_says_health_staleness_and_argo_cd_in_words() {
    let d = detail(&status(), &config());
    assert_eq!(d.plain, "Working, with problems. Backend is crash-looping.");
    assert_eq!(d.stale_since.as_deref(), Some("2026-11-26 07:58:22 UTC"));
    assert_eq!(d.stale_reason.as_deref(), Some("pods: HTTP 503"));
    assert_eq!(d.grafana_url.as_deref(), Some("https://grafana.example.org/d/co2"));
    let argo = d.argo.expect("argo facts");
    let value = |label: &str| argo.iter().find(|f| f.label == label).map(|f| f.value.clone());
    assert_eq!(value("Sync").as_deref(), Some("Synced · manual sync"));
    assert_eq!(value("Revision").as_deref(), Some("9e8d7c6 (tracking v1.8.2)"));
    assert_eq!(
        value("Last operation").as_deref(),
        Some("Succeeded · by alice · 2026-11-20 09:30:00 UTC")
    );
}

#[test]
fn workload_rows_carry_plain_words_state_and_configured_bounds() {
    let d = detail(&status(), &config());
    let backend = &d.workloads.rows[0];
    assert_eq!((backend.key.as_str(), backend.health.as_deref()), ("backend", Some("degraded")));
    assert_eq!(backend.cells[0].href.as_deref(), Some("/environments/prod/workloads/backend"));
    assert_eq!(backend.cells[1].text, "Keeps crashing and restarting");
    assert_eq!(backend.cells[1].notes, ["1/2 ready · rollout complete", "scalable 3–10"]);
    let frontend = &d.workloads.rows[1];
    assert_eq!(frontend.cells[1].notes[1], "not configured: the panel will not scale it");
}

#[test]
fn ages_are_left_for_the_browser_to_keep_current() {
    let d = detail(&status(), &config());
    let age = &d.pods.rows[0].cells[5];
    assert_eq!((age.text.as_str(), age.since_ms), (AGE, Some(1_000)));
    let job = &d.jobs.rows[0].cells[2];
    assert_eq!((job.text.as_str(), job.since_ms), ("FAILED, {age} ago", Some(9_000)));
    assert!(job.class.contains("health-degraded"));
    assert_eq!(d.jobs.rows[0].cells[3].text, "never");
    assert_eq!(d.events.rows[0].cells[3].text, "Back-off restarting failed container (×12)");
}

#[test]
fn a_workload_page_holds_only_its_pods_revisions_and_events() {
    let d = detail(&status(), &config());
    let backend = &d.workload_pages[0];
    assert_eq!(backend.name, "backend");
    let keys = |t: &Table| t.rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&backend.pods), ["backend-2-a"]);
    assert_eq!(keys(&backend.revisions), ["2"]);
    assert_eq!(backend.revisions.rows[0].cells[0].text, "2 (current)");
    assert_eq!(keys(&backend.events), ["Pod/backend-2-a"]);
    assert_eq!(
        backend.problems,
        ["Backend is crash-looping (pod backend-2-a restarted 3 times): back-off restarting failed container"]
    );
    let facts: Vec<&str> = backend.facts.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(facts, ["State", "Version", "Images", "Scaling", "Metrics selector"]);
    let frontend = &d.workload_pages[1];
    assert!(frontend.events.rows.is_empty());
    assert!(!frontend.facts.iter().any(|f| f.label == "Metrics selector"));
}

#[test]
fn a_page_rendered_at_a_change_and_brought_to_now_is_the_page_rendered_now() {
    let d = detail(&status(), &config());
    // Ages from 1 s and 9 s since the epoch: a minute later, then three hours later.
    let (then, now) = (61_000, 3 * 3_600_000);
    let rendered = crate::environment::pages(&d, then);
    let fresh = crate::environment::pages(&d, now);
    assert_ne!(rendered.environment, fresh.environment, "no age on the page");
    assert!(rendered.environment.contains(">60s</span>"), "{}", rendered.environment);
    let shown = crate::environment::page(&rendered, None, now).expect("the environment's page");
    assert_eq!(shown.environment, fresh.environment);
    assert!(shown.workloads.is_empty(), "the workload pages travel with the environment's");
    for (name, html) in &fresh.workloads {
        let shown = crate::environment::page(&rendered, Some(name), now).expect(name);
        assert_eq!(shown.workloads, [(name.clone(), html.clone())]);
        assert!(shown.environment.is_empty());
    }
    assert!(crate::environment::page(&rendered, Some("nginx"), now).is_none());
}

#[test]
fn restamping_copies_what_is_not_an_age_as_it_is() {
    use crate::environment::restamp;
    let odd = r#"<span data-since="x">5s</span> <span data-since="7">never closed"#;
    assert_eq!(restamp(odd, 100_000), odd);
    assert_eq!(
        restamp(r#"<td><span data-since="0">1s</span> ago</td>"#, 125_000),
        r#"<td><span data-since="0">2m</span> ago</td>"#
    );
}
