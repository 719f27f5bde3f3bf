//! Argo CD as the simulator plays it: sync operations, history, automated sync and
//! self-heal, failing syncs.

use super::*;

fn apps(c: &Cluster, name: &str) -> Arc<Value> {
    get(c, ids::APPLICATION, "argocd", name)
}

#[tokio::test]
async fn an_argo_cd_sync_runs_records_history_and_clears_the_operation() {
    let sim = start(20.0).await;
    let c = &sim.cluster;
    let mut changes = Manifests::new();
    changes.insert("backend".into(), "registry.example.org/co2-calculator/backend:1.8.3".into());
    let commit = c.git.push("co2-calculator-prod", "v1.8.2", &changes).expect("push");
    wait_for(10, "OutOfSync", || {
        (apps(c, "co2-calculator-prod")["status"]["sync"]["status"] == "OutOfSync").then_some(())
    })
    .await;
    c.store
        .update(ids::APPLICATION, "argocd", "co2-calculator-prod", None, |a| {
            let mut next = a.clone();
            next["operation"] = json!({"initiatedBy": {"username": "alice"}, "sync": {"revision": "v1.8.2", "prune": true}});
            Ok(next)
        })
        .unwrap();
    wait_for(10, "operation running", || {
        (apps(c, "co2-calculator-prod")["status"]["operationState"]["phase"] == "Running")
            .then_some(())
    })
    .await;
    let app = wait_for(20, "operation succeeded", || {
        let a = apps(c, "co2-calculator-prod");
        (a["status"]["operationState"]["phase"] == "Succeeded" && a.get("operation").is_none())
            .then_some(a)
    })
    .await;
    let history = app["status"]["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(last["revision"], commit.as_str());
    assert_eq!(last["initiatedBy"]["username"], "alice");
    assert_eq!(last["id"], 2);
    assert_eq!(app["status"]["sync"]["revision"], commit.as_str());
    let backend = get(c, ids::DEPLOYMENT, PROD, "backend");
    assert_eq!(
        backend["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.org/co2-calculator/backend:1.8.3"
    );
    wait_for(10, "Synced", || {
        (apps(c, "co2-calculator-prod")["status"]["sync"]["status"] == "Synced").then_some(())
    })
    .await;
    sim.stop().await;
}

#[tokio::test]
async fn automated_sync_follows_git_and_self_heals_drift() {
    let sim = start(20.0).await;
    let c = &sim.cluster;
    let mut changes = Manifests::new();
    changes.insert(
        "frontend".into(),
        "registry.example.org/co2-calculator/frontend:1.9.0-rc.3".into(),
    );
    c.git.push("co2-calculator-dev", "main", &changes).expect("push");
    wait_for(20, "dev auto-synced the new commit", || {
        let d = get(c, ids::DEPLOYMENT, DEV, "frontend");
        (d["spec"]["template"]["spec"]["containers"][0]["image"]
            == "registry.example.org/co2-calculator/frontend:1.9.0-rc.3")
            .then_some(())
    })
    .await;
    let history = apps(c, "co2-calculator-dev")["status"]["history"].as_array().unwrap().clone();
    assert_eq!(history.last().unwrap()["initiatedBy"]["automated"], true);
    // A manual change (a plain rollback) is reverted by Git.
    set_image(c, DEV, "frontend", "registry.example.org/co2-calculator/frontend:1.9.0-rc.2");
    wait_for(20, "drift reverted", || {
        let d = get(c, ids::DEPLOYMENT, DEV, "frontend");
        (d["spec"]["template"]["spec"]["containers"][0]["image"]
            == "registry.example.org/co2-calculator/frontend:1.9.0-rc.3")
            .then_some(())
    })
    .await;
    sim.stop().await;
}

#[tokio::test]
async fn a_failing_sync_is_reported_and_not_retried_for_the_same_revision() {
    let sim = start(20.0).await;
    let c = &sim.cluster;
    c.faults.set(WorkloadFault::FailingSync, DEV, "", true);
    let mut changes = Manifests::new();
    changes
        .insert("backend".into(), "registry.example.org/co2-calculator/backend:1.9.0-rc.3".into());
    c.git.push("co2-calculator-dev", "main", &changes).expect("push");
    let app = wait_for(20, "sync failed", || {
        let a = apps(c, "co2-calculator-dev");
        (a["status"]["operationState"]["phase"] == "Failed").then_some(a)
    })
    .await;
    assert!(app["status"]["operationState"]["message"]
        .as_str()
        .unwrap()
        .contains("failed to apply"));
    // Not retried: after more passes of the controllers, still the failed operation.
    for _ in 0..3 {
        gantry_sim::controllers::pass(c);
    }
    assert_eq!(apps(c, "co2-calculator-dev")["status"]["operationState"]["phase"], "Failed");
    assert_eq!(apps(c, "co2-calculator-dev")["status"]["sync"]["status"], "OutOfSync");
    sim.stop().await;
}
