//! The controllers as a control panel observes them: rollouts, rollbacks, pruning, faults,
//! CronJobs, Argo CD syncs and autoscaling, on a fast clock.

use std::sync::Arc;
use std::time::Duration;

use gantry_sim::controllers::Manifests;
use gantry_sim::resources::ids;
use gantry_sim::{Cluster, Options, Running, WorkloadFault};
use serde_json::{json, Value};

const DEV: &str = "co2-calculator-dev";
const PROD: &str = "co2-calculator-prod";

async fn start(speed: f64) -> Running {
    let options = Options { speed, ..Options::default() };
    Running::start(options, 0).await.expect("simulator starts")
}

/// Polls `check` until it returns Some, or fails after `seconds` of real time (the
/// project's one way to wait, [`gantry_sim::wait`], for a check that needs no await).
async fn wait_for<T>(seconds: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let check = || {
        let value = check();
        async move { value }
    };
    gantry_sim::wait::eventually_some(Duration::from_secs(seconds), what, check).await
}

fn get(cluster: &Cluster, resource: usize, ns: &str, name: &str) -> Arc<Value> {
    cluster.store.get(resource, ns, name).expect("object exists")
}

fn list(cluster: &Cluster, resource: usize, ns: &str) -> Vec<Arc<Value>> {
    cluster.store.list(resource, Some(ns)).0
}

fn set_image(cluster: &Cluster, ns: &str, deployment: &str, image: &str) {
    cluster
        .store
        .update(ids::DEPLOYMENT, ns, deployment, None, |d| {
            let mut next = d.clone();
            next["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
            Ok(next)
        })
        .expect("image changed");
}

/// Rolled out and available, as `kubectl rollout status` decides it: the status must
/// describe the current generation, or it may still be the previous rollout's.
fn available(d: &Value) -> bool {
    let want = d["spec"]["replicas"].as_i64().unwrap_or(0);
    d["status"]["observedGeneration"] == d["metadata"]["generation"]
        && d["status"]["availableReplicas"].as_i64() == Some(want)
        && d["status"]["updatedReplicas"].as_i64() == Some(want)
        && d["status"]["replicas"].as_i64() == Some(want)
}

fn revision(o: &Value) -> String {
    o["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn replica_sets_of(cluster: &Cluster, ns: &str, deployment: &str) -> Vec<Arc<Value>> {
    list(cluster, ids::REPLICASET, ns)
        .into_iter()
        .filter(|rs| rs["metadata"]["ownerReferences"][0]["name"] == deployment)
        .collect()
}

#[tokio::test]
async fn the_seeded_environments_come_up_ready() {
    let sim = start(20.0).await;
    let c = &sim.cluster;
    for ns in [DEV, "co2-calculator-staging", PROD] {
        for name in ["frontend", "backend", "celery-worker", "redis"] {
            wait_for(20, &format!("{ns}/{name} available"), || {
                available(&get(c, ids::DEPLOYMENT, ns, name)).then_some(())
            })
            .await;
        }
        wait_for(20, "postgres ready", || {
            (get(c, ids::STATEFULSET, ns, "postgres")["status"]["readyReplicas"] == 1).then_some(())
        })
        .await;
    }
    let backend = get(c, ids::DEPLOYMENT, PROD, "backend");
    assert_eq!(revision(&backend), "1");
    let pods: Vec<_> = list(c, ids::POD, PROD)
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "backend")
        .collect();
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(|p| p["status"]["phase"] == "Running"));
    sim.stop().await;
}

#[tokio::test]
async fn a_rollout_creates_a_new_revision_then_a_rollback_reuses_the_old_replica_set() {
    let sim = start(20.0).await;
    let c = &sim.cluster;
    wait_for(20, "backend available", || {
        available(&get(c, ids::DEPLOYMENT, PROD, "backend")).then_some(())
    })
    .await;
    let first_rs = replica_sets_of(c, PROD, "backend");
    assert_eq!(first_rs.len(), 1);
    let old_template = first_rs[0]["spec"]["template"].clone();

    set_image(c, PROD, "backend", "registry.example.org/co2-calculator/backend:1.8.3");
    // While rolling, the Deployment says so.
    wait_for(20, "rollout in progress", || {
        let d = get(c, ids::DEPLOYMENT, PROD, "backend");
        let progressing = d["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["reason"] == "ReplicaSetUpdated");
        progressing.then_some(())
    })
    .await;
    wait_for(30, "rollout complete", || {
        let d = get(c, ids::DEPLOYMENT, PROD, "backend");
        let done = d["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["reason"] == "NewReplicaSetAvailable");
        (done && available(&d) && revision(&d) == "2").then_some(())
    })
    .await;
    let sets = replica_sets_of(c, PROD, "backend");
    assert_eq!(sets.len(), 2);
    let old = sets.iter().find(|rs| revision(rs) == "1").expect("revision 1 kept");
    assert_eq!(old["spec"]["replicas"], 0);

    // Rollback as kubectl does it: the old ReplicaSet's template, minus pod-template-hash.
    let mut template = old_template;
    template["metadata"]["labels"].as_object_mut().unwrap().remove("pod-template-hash");
    c.store
        .update(ids::DEPLOYMENT, PROD, "backend", None, |d| {
            let mut next = d.clone();
            next["spec"]["template"] = template.clone();
            Ok(next)
        })
        .unwrap();
    wait_for(30, "rollback complete", || {
        let d = get(c, ids::DEPLOYMENT, PROD, "backend");
        (available(&d) && revision(&d) == "3").then_some(())
    })
    .await;
    let sets = replica_sets_of(c, PROD, "backend");
    assert_eq!(sets.len(), 2, "the old ReplicaSet is reused, not duplicated");
    let reused = sets.iter().find(|rs| revision(rs) == "3").expect("reused set has revision 3");
    assert_eq!(reused["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"], "1");
    assert_eq!(uid(reused), uid(&first_rs[0]));
    sim.stop().await;
}

fn uid(o: &Value) -> String {
    o["metadata"]["uid"].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn old_replica_sets_beyond_the_history_limit_are_pruned() {
    let sim = start(30.0).await;
    let c = &sim.cluster;
    wait_for(20, "frontend available", || {
        available(&get(c, ids::DEPLOYMENT, PROD, "frontend")).then_some(())
    })
    .await;
    c.store
        .update(ids::DEPLOYMENT, PROD, "frontend", None, |d| {
            let mut next = d.clone();
            next["spec"]["revisionHistoryLimit"] = json!(2);
            Ok(next)
        })
        .unwrap();
    for version in ["1.8.3", "1.8.4", "1.8.5", "1.8.6"] {
        set_image(
            c,
            PROD,
            "frontend",
            &format!("registry.example.org/co2-calculator/frontend:{version}"),
        );
        wait_for(30, "rollout", || {
            let d = get(c, ids::DEPLOYMENT, PROD, "frontend");
            (available(&d)
                && d["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()?
                    .ends_with(version)
                && replica_sets_of(c, PROD, "frontend")
                    .iter()
                    .filter(|rs| rs["status"]["replicas"] != 0)
                    .count()
                    == 1)
                .then_some(())
        })
        .await;
    }
    wait_for(10, "pruning", || (replica_sets_of(c, PROD, "frontend").len() == 3).then_some(()))
        .await;
    let mut revisions: Vec<String> =
        replica_sets_of(c, PROD, "frontend").iter().map(|rs| revision(rs)).collect();
    revisions.sort();
    assert_eq!(revisions, ["3", "4", "5"]);
    sim.stop().await;
}

#[tokio::test]
async fn a_crash_looping_workload_restarts_with_back_off_and_warning_events() {
    let sim = start(20.0).await;
    let c = &sim.cluster;
    c.faults.set(WorkloadFault::CrashLoop, DEV, "celery-worker", true);
    let pod = wait_for(30, "a crash-looping pod", || {
        list(c, ids::POD, DEV).into_iter().find(|p| {
            p["metadata"]["labels"]["app"] == "celery-worker"
                && p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                    == "CrashLoopBackOff"
                && p["status"]["containerStatuses"][0]["restartCount"].as_i64().unwrap_or(0) >= 2
        })
    })
    .await;
    assert_eq!(pod["status"]["phase"], "Running");
    assert_eq!(pod["status"]["containerStatuses"][0]["ready"], false);
    let events = list(c, ids::EVENT, DEV);
    assert!(events.iter().any(|e| e["type"] == "Warning"
        && e["reason"] == "BackOff"
        && e["involvedObject"]["name"] == pod["metadata"]["name"]));
    sim.stop().await;
}

#[tokio::test]
async fn an_image_that_never_pulls_stalls_the_rollout_past_its_deadline() {
    // prod: dev's Argo CD application self-heals and would undo the change.
    let sim = start(30.0).await;
    let c = &sim.cluster;
    wait_for(20, "backend available", || {
        available(&get(c, ids::DEPLOYMENT, PROD, "backend")).then_some(())
    })
    .await;
    c.store
        .update(ids::DEPLOYMENT, PROD, "backend", None, |d| {
            let mut next = d.clone();
            next["spec"]["progressDeadlineSeconds"] = json!(60);
            next["spec"]["template"]["spec"]["containers"][0]["image"] =
                json!("registry.example.org/co2-calculator/backend:9.9.9");
            Ok(next)
        })
        .unwrap();
    c.faults.set(WorkloadFault::ImageNeverPulls, PROD, "backend", true);
    let d = wait_for(30, "ProgressDeadlineExceeded", || {
        let d = get(c, ids::DEPLOYMENT, PROD, "backend");
        d["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["reason"] == "ProgressDeadlineExceeded")
            .then_some(d)
    })
    .await;
    // The old pods keep serving: availability holds while the new ones wait on their image.
    assert!(d["status"]["availableReplicas"].as_i64().unwrap_or(0) >= 2);
    let waiting: Vec<_> = list(c, ids::POD, PROD)
        .into_iter()
        .filter(|p| {
            let reason = &p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"];
            reason == "ErrImagePull" || reason == "ImagePullBackOff"
        })
        .collect();
    assert!(!waiting.is_empty());
    sim.stop().await;
}

#[tokio::test]
async fn a_missed_schedule_makes_no_job_and_says_so() {
    let sim = start(600.0).await;
    let c = &sim.cluster;
    c.faults.set(WorkloadFault::MissedSchedules, DEV, "", true);
    let before = list(c, ids::JOB, DEV).len();
    c.store
        .update(ids::CRONJOB, DEV, "db-backup", None, |cj| {
            let mut next = cj.clone();
            next["spec"]["schedule"] = json!("*/2 * * * *");
            Ok(next)
        })
        .unwrap();
    wait_for(20, "a MissSchedule warning", || {
        list(c, ids::EVENT, DEV).into_iter().find(|e| e["reason"] == "MissSchedule")
    })
    .await;
    assert_eq!(list(c, ids::JOB, DEV).len(), before, "no Job for a missed schedule");
    c.faults.set(WorkloadFault::MissedSchedules, DEV, "", false);
    wait_for(20, "the next run made again", || {
        (list(c, ids::JOB, DEV).len() > before).then_some(())
    })
    .await;
    sim.stop().await;
}

#[tokio::test]
async fn cron_jobs_create_jobs_that_succeed_or_fail_and_keep_their_history() {
    // Ten simulated minutes per real second.
    let sim = start(600.0).await;
    let c = &sim.cluster;
    c.store
        .update(ids::CRONJOB, DEV, "db-backup", None, |cj| {
            let mut next = cj.clone();
            next["spec"]["schedule"] = json!("*/2 * * * *");
            next["spec"]["successfulJobsHistoryLimit"] = json!(2);
            next["spec"]["failedJobsHistoryLimit"] = json!(1);
            Ok(next)
        })
        .unwrap();
    wait_for(20, "a successful backup", || {
        let cj = get(c, ids::CRONJOB, DEV, "db-backup");
        cj["status"]["lastSuccessfulTime"].as_str().map(str::to_owned)
    })
    .await;
    c.faults.set(WorkloadFault::FailingBackups, DEV, "", true);
    wait_for(30, "a failed backup job", || {
        list(c, ids::JOB, DEV).into_iter().find(|j| {
            j["status"]["conditions"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Failed"))
        })
    })
    .await;
    c.faults.set(WorkloadFault::FailingBackups, DEV, "", false);
    let last_good = get(c, ids::CRONJOB, DEV, "db-backup")["status"]["lastSuccessfulTime"].clone();
    wait_for(30, "a successful backup after the failed one", || {
        let cj = get(c, ids::CRONJOB, DEV, "db-backup");
        (cj["status"]["lastSuccessfulTime"] != last_good).then_some(())
    })
    .await;
    // Suspended, the CronJob settles: every finished Job beyond the limits is gone.
    c.store
        .update(ids::CRONJOB, DEV, "db-backup", None, |cj| {
            let mut next = cj.clone();
            next["spec"]["suspend"] = json!(true);
            Ok(next)
        })
        .unwrap();
    wait_for(20, "no active backup", || {
        get(c, ids::CRONJOB, DEV, "db-backup")["status"].get("active").is_none().then_some(())
    })
    .await;
    let (succeeded, failed) = wait_for(20, "the finished jobs pruned to the limits", || {
        let jobs = list(c, ids::JOB, DEV);
        let succeeded =
            jobs.iter().filter(|j| j["status"]["succeeded"].as_i64() == Some(1)).count();
        let failed =
            jobs.iter().filter(|j| j["status"]["failed"].as_i64().unwrap_or(0) > 0).count();
        (succeeded <= 2 && failed <= 1).then_some((succeeded, failed))
    })
    .await;
    assert_eq!(succeeded, 2, "successful jobs kept");
    assert!(failed <= 1, "failed jobs kept: {failed}");
    sim.stop().await;
}

#[tokio::test]
async fn the_autoscaler_undoes_a_manual_scale_of_its_target() {
    let sim = start(20.0).await;
    let c = &sim.cluster;
    wait_for(10, "hpa status", || {
        get(c, ids::HPA, PROD, "backend")["status"]["desiredReplicas"].as_i64()
    })
    .await;
    c.store
        .update(ids::DEPLOYMENT, PROD, "backend", None, |d| {
            let mut next = d.clone();
            next["spec"]["replicas"] = json!(1);
            Ok(next)
        })
        .unwrap();
    wait_for(10, "scaled back to 3", || {
        (get(c, ids::DEPLOYMENT, PROD, "backend")["spec"]["replicas"] == 3).then_some(())
    })
    .await;
    c.store
        .update(ids::HPA, PROD, "backend", None, |h| {
            let mut next = h.clone();
            next["spec"]["minReplicas"] = json!(5);
            Ok(next)
        })
        .unwrap();
    wait_for(10, "raised to the new minimum", || {
        (get(c, ids::DEPLOYMENT, PROD, "backend")["spec"]["replicas"] == 5).then_some(())
    })
    .await;
    sim.stop().await;
}

#[tokio::test]
async fn a_stalled_rollout_keeps_new_pods_unready_and_reports_the_deadline() {
    // prod: dev's Argo CD application self-heals and would undo the change.
    let sim = start(30.0).await;
    let c = &sim.cluster;
    wait_for(20, "frontend available", || {
        available(&get(c, ids::DEPLOYMENT, PROD, "frontend")).then_some(())
    })
    .await;
    c.faults.set(WorkloadFault::NeverReady, PROD, "frontend", true);
    c.store
        .update(ids::DEPLOYMENT, PROD, "frontend", None, |d| {
            let mut next = d.clone();
            next["spec"]["progressDeadlineSeconds"] = json!(60);
            next["spec"]["template"]["spec"]["containers"][0]["image"] =
                json!("registry.example.org/co2-calculator/frontend:1.8.3");
            Ok(next)
        })
        .unwrap();
    wait_for(30, "ProgressDeadlineExceeded", || {
        let d = get(c, ids::DEPLOYMENT, PROD, "frontend");
        d["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["reason"] == "ProgressDeadlineExceeded")
            .then_some(())
    })
    .await;
    let unready_running = list(c, ids::POD, PROD).into_iter().any(|p| {
        p["metadata"]["labels"]["app"] == "frontend"
            && p["status"]["phase"] == "Running"
            && p["status"]["containerStatuses"][0]["ready"] == false
    });
    assert!(unready_running, "the new pod runs but is not ready");
    assert!(list(c, ids::EVENT, PROD).iter().any(|e| e["reason"] == "ProgressDeadlineExceeded"));
    sim.stop().await;
}

mod argocd;
