use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Pod};
use serde_json::{json, Value};

use super::*;

fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("valid fixture")
}

/// A Deployment with `desired` replicas and the given status counts.
fn deployment_with(desired: i32, updated: i32, available: i32, total: i32) -> Deployment {
    from(json!({
        "metadata": {"name": "backend", "generation": 4},
        "spec": {"replicas": desired, "selector": {"matchLabels": {"app": "backend"}},
            "template": {"spec": {"containers": [
                {"name": "backend", "image": "registry.example.org/co2-calculator/backend:1.8.2"},
                {"name": "proxy", "image": "envoyproxy/envoy"}]}}},
        "status": {"observedGeneration": 4, "replicas": total, "updatedReplicas": updated,
            "readyReplicas": available, "availableReplicas": available},
    }))
}

fn running_pod(name: &str, restarts: i32) -> Pod {
    from(json!({"metadata": {"name": name}, "status": {"phase": "Running", "containerStatuses": [
        {"name": "backend", "image": "x", "imageID": "", "ready": true, "restartCount": restarts,
         "state": {"running": {"startedAt": "2026-11-26T04:00:00Z"}}}]}}))
}

fn waiting_pod(name: &str, reason: &str, restarts: i32) -> Pod {
    from(json!({"metadata": {"name": name}, "status": {"phase": "Running", "containerStatuses": [
        {"name": "backend", "image": "x", "imageID": "", "ready": false, "restartCount": restarts,
         "state": {"waiting": {"reason": reason, "message": "back-off"}}}]}}))
}

#[test]
fn images_split_into_repository_and_tag() {
    assert_eq!(
        split_image("registry.example.org/co2/backend:1.8.2"),
        ("registry.example.org/co2/backend".into(), "1.8.2".into())
    );
    assert_eq!(split_image("localhost:5000/app"), ("localhost:5000/app".into(), "latest".into()));
    assert_eq!(split_image("redis:7.2.5-alpine"), ("redis".into(), "7.2.5-alpine".into()));
    assert_eq!(
        split_image("nginx@sha256:abcdef0123456789abcdef"),
        ("nginx".into(), "sha256:abcdef012345".into())
    );
}

#[test]
fn a_settled_deployment_is_complete() {
    assert_eq!(deployment_rollout(&deployment_with(3, 3, 3, 3)), Rollout::Complete);
}

#[test]
fn a_deployment_mid_rollout_reports_its_progress() {
    assert_eq!(
        deployment_rollout(&deployment_with(4, 2, 3, 5)),
        Rollout::Progressing { percent: 50 }
    );
}

#[test]
fn a_status_from_an_older_generation_is_not_complete() {
    let mut d = deployment_with(3, 3, 3, 3);
    d.metadata.generation = Some(5);
    assert_eq!(deployment_rollout(&d), Rollout::Progressing { percent: 100 });
}

#[test]
fn a_deployment_past_its_deadline_is_stalled_with_the_reason() {
    let mut d = deployment_with(3, 1, 3, 4);
    d.status.as_mut().unwrap().conditions = Some(vec![from(json!({
        "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
        "message": "ReplicaSet \"backend-5d8f\" has timed out progressing."}))]);
    assert_eq!(
        deployment_rollout(&d),
        Rollout::Stalled {
            reason: "ReplicaSet \"backend-5d8f\" has timed out progressing.".into()
        }
    );
}

#[test]
fn a_paused_deployment_is_paused() {
    let mut d = deployment_with(3, 1, 3, 4);
    d.spec.as_mut().unwrap().paused = Some(true);
    assert_eq!(deployment_rollout(&d), Rollout::Paused);
}

#[test]
fn pod_problems_are_named_by_kind() {
    assert_eq!(
        pod_problem(&waiting_pod("a", "CrashLoopBackOff", 4)).map(|p| (p.kind, p.restarts)),
        Some((ProblemKind::CrashLoop, 4))
    );
    assert_eq!(
        pod_problem(&waiting_pod("b", "ImagePullBackOff", 0)).map(|p| p.kind),
        Some(ProblemKind::ImagePull)
    );
    assert_eq!(
        pod_problem(&waiting_pod("c", "ErrImagePull", 0)).map(|p| p.kind),
        Some(ProblemKind::ImagePull)
    );
    assert_eq!(pod_problem(&waiting_pod("d", "ContainerCreating", 0)), None);
    assert_eq!(pod_problem(&running_pod("e", 2)), None);
    let unschedulable: Pod = from(
        json!({"metadata": {"name": "f"}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available: insufficient memory"}]}}),
    );
    let p = pod_problem(&unschedulable).unwrap();
    assert_eq!(
        (p.kind, p.message.as_str()),
        (ProblemKind::Unschedulable, "0/3 nodes are available: insufficient memory")
    );
}

#[test]
fn a_deployment_status_carries_counts_images_restarts_problems_and_autoscaler() {
    let d = deployment_with(3, 3, 2, 3);
    let pods = [
        running_pod("backend-1", 1),
        running_pod("backend-2", 0),
        waiting_pod("backend-3", "CrashLoopBackOff", 6),
    ];
    let refs: Vec<&Pod> = pods.iter().collect();
    let hpa: HorizontalPodAutoscaler = from(json!({"metadata": {"name": "backend"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "backend"}, "minReplicas": 3, "maxReplicas": 10},
        "status": {"currentReplicas": 3, "desiredReplicas": 3}}));
    let w = deployment(&d, &refs, Some(&hpa));
    assert_eq!((w.desired, w.updated, w.available, w.ready), (3, 3, 2, 2));
    assert_eq!(w.images[0].tag, "1.8.2");
    assert_eq!(w.images[1].tag, "latest");
    assert_eq!(w.restarts, 7);
    assert_eq!(w.problems.len(), 1);
    assert_eq!(w.problems[0].pod, "backend-3");
    assert_eq!(w.autoscaler, Some(Autoscaler { min: 3, max: 10, current: 3, desired: 3 }));
}

#[test]
fn a_statefulset_is_complete_when_every_replica_is_updated_and_ready() {
    let s: StatefulSet = from(json!({"metadata": {"name": "postgres"},
        "spec": {"replicas": 1, "serviceName": "postgres", "selector": {"matchLabels": {"app": "postgres"}},
            "template": {"spec": {"containers": [{"name": "postgres", "image": "postgres:16.4"}]}}},
        "status": {"replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1}}));
    let w = statefulset(&s, &[]);
    assert_eq!(w.rollout, Rollout::Complete);
    assert_eq!(w.kind, WorkloadKind::StatefulSet);
    assert_eq!(w.images[0].tag, "16.4");
}

fn healthy(name: &str) -> WorkloadStatus {
    let mut w = deployment(&deployment_with(2, 2, 2, 2), &[], None);
    w.name = name.into();
    w
}

#[test]
fn everything_available_is_healthy() {
    let v = verdict(&[healthy("frontend"), healthy("backend")], None);
    assert_eq!(
        v,
        Verdict {
            health: Health::Healthy,
            reason: "all workloads are running and available".into()
        }
    );
}

#[test]
fn a_rollout_in_progress_stays_healthy_and_says_so() {
    let mut w = healthy("backend");
    w.rollout = Rollout::Progressing { percent: 50 };
    let v = verdict(&[healthy("frontend"), w], None);
    assert_eq!(v.health, Health::Healthy);
    assert_eq!(v.reason, "healthy; rolling out backend");
}

#[test]
fn a_workload_with_no_available_pods_makes_the_environment_down() {
    let mut w = healthy("backend");
    w.available = 0;
    let v = verdict(&[healthy("frontend"), w], None);
    assert_eq!(
        v,
        Verdict { health: Health::Down, reason: "backend has no available pods (0 of 2)".into() }
    );
}

#[test]
fn down_outranks_degraded_whatever_the_order() {
    let mut crashing = healthy("celery-worker");
    crashing.problems.push(PodProblem {
        pod: "celery-worker-x".into(),
        kind: ProblemKind::CrashLoop,
        restarts: 3,
        message: String::new(),
    });
    let mut gone = healthy("backend");
    gone.available = 0;
    assert_eq!(verdict(&[crashing, gone], None).health, Health::Down);
}

#[test]
fn a_crash_looping_pod_degrades_the_environment_and_is_named() {
    let mut w = healthy("celery-worker");
    w.problems.push(PodProblem {
        pod: "celery-worker-7d9-abcde".into(),
        kind: ProblemKind::CrashLoop,
        restarts: 5,
        message: String::new(),
    });
    let v = verdict(&[w], None);
    assert_eq!(v.health, Health::Degraded);
    assert_eq!(
        v.reason,
        "celery-worker is crash-looping (pod celery-worker-7d9-abcde restarted 5 times)"
    );
}

#[test]
fn a_stalled_rollout_degrades_the_environment() {
    let mut w = healthy("backend");
    w.rollout =
        Rollout::Stalled { reason: "ReplicaSet \"backend-1\" has timed out progressing.".into() };
    let v = verdict(&[w], None);
    assert_eq!(v.health, Health::Degraded);
    assert!(v.reason.starts_with("the rollout of backend is stuck"), "{}", v.reason);
}

#[test]
fn fewer_available_pods_than_desired_outside_a_rollout_is_degraded() {
    let mut w = healthy("frontend");
    w.desired = 3;
    w.available = 2;
    w.rollout = Rollout::Complete;
    assert_eq!(
        verdict(&[w], None),
        Verdict { health: Health::Degraded, reason: "frontend runs 2 of 3 pods".into() }
    );
}

fn application(sync: &str, health: &str, phase: &str) -> Value {
    json!({"metadata": {"name": "co2-calculator-prod"},
        "spec": {"source": {"targetRevision": "v1.8.2"}, "syncPolicy": {"automated": {"selfHeal": true}}},
        "status": {"sync": {"status": sync, "revision": "9e8d7c6"}, "health": {"status": health},
            "operationState": {"phase": phase, "message": "one or more objects failed to apply",
                "startedAt": "2026-11-26T04:00:00Z", "finishedAt": "2026-11-26T04:00:06Z",
                "operation": {"initiatedBy": {"username": "alice"}}}}})
}

#[test]
fn argo_cd_status_reads_sync_health_revision_operation_and_auto_sync() {
    let a = argo(&application("OutOfSync", "Healthy", "Succeeded"));
    assert_eq!(
        (a.sync.as_str(), a.health.as_str(), a.revision.as_str(), a.target_revision.as_str()),
        ("OutOfSync", "Healthy", "9e8d7c6", "v1.8.2")
    );
    assert!(a.auto_sync);
    let op = a.last_operation.unwrap();
    assert_eq!((op.phase.as_str(), op.initiated_by.as_str()), ("Succeeded", "alice"));
    let bare = argo(&json!({"metadata": {"name": "x"}, "spec": {}}));
    assert_eq!(
        (bare.sync.as_str(), bare.health.as_str(), bare.auto_sync),
        ("Unknown", "Unknown", false)
    );
    assert!(bare.last_operation.is_none());
}

#[test]
fn a_failed_sync_or_degraded_application_degrades_the_environment() {
    let failed = argo(&application("OutOfSync", "Healthy", "Failed"));
    let v = verdict(&[healthy("backend")], Some(&failed));
    assert_eq!(v.health, Health::Degraded);
    assert_eq!(v.reason, "the last Argo CD sync failed: one or more objects failed to apply");
    let degraded = argo(&application("Synced", "Degraded", "Succeeded"));
    assert_eq!(verdict(&[healthy("backend")], Some(&degraded)).health, Health::Degraded);
    let fine = argo(&application("Synced", "Healthy", "Succeeded"));
    assert_eq!(verdict(&[healthy("backend")], Some(&fine)).health, Health::Healthy);
}

#[test]
fn pod_lines_read_like_kubectl_get_pods() {
    let mut pod = waiting_pod("backend-1", "CrashLoopBackOff", 5);
    pod.metadata.creation_timestamp = Some(from(json!("2026-11-26T04:00:00Z")));
    let info = pod_info(&pod, Some("backend"), Some(3));
    assert_eq!(info.state, "CrashLoopBackOff");
    assert_eq!((info.ready_containers, info.containers, info.restarts), (0, 1, 5));
    assert_eq!(info.workload.as_deref(), Some("backend"));
    assert_eq!(info.revision, Some(3));
    assert_eq!(info.created_ms, 1_795_665_600_000);
    assert_eq!(info.problem.map(|p| p.kind), Some(ProblemKind::CrashLoop));

    let running = pod_info(&running_pod("backend-2", 0), None, None);
    assert_eq!(running.state, "Running");
    assert_eq!((running.ready_containers, running.containers), (1, 1));
    assert!(running.problem.is_none());

    let mut leaving = running_pod("backend-3", 0);
    leaving.metadata.deletion_timestamp = Some(from(json!("2026-11-26T04:05:00Z")));
    assert_eq!(pod_info(&leaving, None, None).state, "Terminating");

    let pending: Pod = from(json!({"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "a"}, {"name": "b"}]}}));
    let info = pod_info(&pending, None, None);
    assert_eq!((info.state.as_str(), info.ready_containers, info.containers), ("Pending", 0, 2));
}

#[test]
fn replicasets_become_revisions_with_images() {
    let rs: ReplicaSet = from(json!({
        "metadata": {"name": "backend-7c9f", "creationTimestamp": "2026-11-26T04:00:00Z",
            "annotations": {"deployment.kubernetes.io/revision": "7"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "backend"}},
            "template": {"spec": {"containers": [
                {"name": "backend", "image": "registry.example.org/co2/backend:1.8.3"}]}}},
        "status": {"replicas": 2, "readyReplicas": 1}}));
    let r = revision(&rs, "backend", Some(7));
    assert_eq!((r.revision, r.desired, r.ready, r.current), (7, 2, 1, true));
    assert_eq!(r.images[0].tag, "1.8.3");
    assert_eq!(r.replicaset, "backend-7c9f");
    assert!(!revision(&rs, "backend", Some(8)).current);
    assert_eq!(revision_of(&rs.metadata), Some(7));
}

fn job(name: &str, created: &str, conditions: &Value) -> Job {
    from(json!({"metadata": {"name": name, "creationTimestamp": created},
        "status": {"startTime": created, "conditions": conditions}}))
}

#[test]
fn jobs_report_running_succeeded_and_failed() {
    let running = job("b-1", "2026-11-26T02:00:00Z", &json!([]));
    assert_eq!(job_run(&running).outcome, JobOutcome::Running);
    let mut done =
        job("b-2", "2026-11-26T03:00:00Z", &json!([{"type": "Complete", "status": "True"}]));
    if let Some(s) = done.status.as_mut() {
        s.completion_time = Some(from(json!("2026-11-26T03:01:00Z")));
    }
    let run = job_run(&done);
    assert_eq!(run.outcome, JobOutcome::Succeeded);
    assert_eq!(run.finished_ms.map(|f| f - run.started_ms.unwrap_or(0)), Some(60_000));
    let failed = job(
        "b-3",
        "2026-11-26T04:00:00Z",
        &json!([{"type": "Failed", "status": "True", "lastTransitionTime": "2026-11-26T04:02:00Z"}]),
    );
    let run = job_run(&failed);
    assert_eq!(run.outcome, JobOutcome::Failed);
    assert!(run.finished_ms.is_some());

    let cron: CronJob = from(json!({"metadata": {"name": "postgres-backup"},
        "spec": {"schedule": "0 2 * * *", "jobTemplate": {}},
        "status": {"lastSuccessfulTime": "2026-11-26T03:01:00Z"}}));
    let s = scheduled_job(&cron, &[&done, &failed, &running]);
    assert_eq!(s.schedule, "0 2 * * *");
    assert!(!s.suspended);
    assert_eq!(s.last_run.map(|r| r.name), Some("b-3".to_owned()), "the newest run");
    assert!(s.last_success_ms.is_some());
    assert!(scheduled_job(&cron, &[]).last_run.is_none());
}

#[test]
fn only_warning_events_are_kept_with_their_object() {
    let warning_event: Event = from(json!({"metadata": {"name": "e1"}, "type": "Warning",
        "reason": "BackOff", "message": "Back-off restarting failed container", "count": 12,
        "lastTimestamp": "2026-11-26T04:00:00Z",
        "involvedObject": {"kind": "Pod", "name": "backend-1"}}));
    let w = warning(&warning_event).expect("a warning");
    assert_eq!(w.object, "Pod/backend-1");
    assert_eq!((w.reason.as_str(), w.count, w.last_ms), ("BackOff", 12, 1_795_665_600_000));
    let mut normal = warning_event;
    normal.type_ = Some("Normal".into());
    assert!(warning(&normal).is_none());
}
