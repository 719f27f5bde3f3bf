//! The watch caches against the simulated cluster: what the panel will show as the
//! cluster changes, including an API outage.

use std::time::Duration;

use gantry_app::cluster::{EnvironmentWatch, WatchTarget};
use gantry_app::status::model::{EnvironmentStatus, Health, Rollout};
use gantry_sim::{Options, Running, WorkloadFault};
use gantry_tests::eventually_some;
use serde_json::json;

const PROD: &str = "co2-calculator-prod";

async fn watch_prod(speed: f64) -> (Running, EnvironmentWatch) {
    let sim = Running::start(Options { speed, ..Options::default() }, 0).await.expect("simulator");
    let mut config = kube::Config::new(sim.url().parse().expect("url"));
    // Retrying a 503 for minutes would hide an outage; the watcher's own backoff retries.
    config.default_retry = false;
    let client = kube::Client::try_from(config).expect("client");
    let target = WatchTarget {
        name: "prod".into(),
        namespace: PROD.into(),
        application: Some(("argocd".into(), "co2-calculator-prod".into())),
    };
    let watch = EnvironmentWatch::start(&client, target);
    (sim, watch)
}

async fn until(
    watch: &EnvironmentWatch,
    what: &str,
    check: impl Fn(&EnvironmentStatus) -> bool,
) -> EnvironmentStatus {
    let status = || {
        let status = watch.status();
        let held = check(&status);
        async move { held.then_some(status) }
    };
    eventually_some(Duration::from_secs(30), what, status).await
}

#[tokio::test]
async fn the_environment_turns_healthy_once_synced_and_its_pods_are_ready() {
    let (sim, watch) = watch_prod(20.0).await;
    let status = until(&watch, "healthy", |s| s.verdict.health == Health::Healthy).await;
    assert!(watch.synced());
    let names: Vec<&str> = status.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["backend", "celery-worker", "frontend", "postgres", "redis"]);
    let argo = status.argo.expect("application watched");
    assert_eq!(
        (argo.sync.as_str(), argo.target_revision.as_str(), argo.auto_sync),
        ("Synced", "v1.8.2", false)
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_rollout_shows_as_progressing_then_complete() {
    let (sim, watch) = watch_prod(20.0).await;
    until(&watch, "healthy", |s| s.verdict.health == Health::Healthy).await;
    sim.cluster
        .store
        .update(gantry_sim::resources::ids::DEPLOYMENT, PROD, "frontend", None, |d| {
            let mut next = d.clone();
            next["spec"]["template"]["spec"]["containers"][0]["image"] =
                json!("registry.example.org/co2-calculator/frontend:1.8.3");
            Ok(next)
        })
        .expect("image changed");
    let frontend =
        |s: &EnvironmentStatus| s.workloads.iter().find(|w| w.name == "frontend").cloned();
    until(&watch, "progressing", |s| {
        frontend(s).is_some_and(|w| matches!(w.rollout, Rollout::Progressing { .. }))
    })
    .await;
    let done = until(&watch, "complete", |s| {
        frontend(s).is_some_and(|w| w.rollout == Rollout::Complete && w.images[0].tag == "1.8.3")
    })
    .await;
    assert_eq!(done.verdict.health, Health::Healthy);
    sim.stop().await;
}

#[tokio::test]
async fn a_crash_looping_pod_degrades_the_environment_with_the_pod_named() {
    let (sim, watch) = watch_prod(20.0).await;
    until(&watch, "healthy", |s| s.verdict.health == Health::Healthy).await;
    sim.cluster.faults.set(WorkloadFault::CrashLoop, PROD, "celery-worker", true);
    let status = until(&watch, "degraded", |s| s.verdict.health == Health::Degraded).await;
    assert!(
        status.verdict.reason.starts_with("celery-worker is crash-looping (pod celery-worker-"),
        "{}",
        status.verdict.reason
    );
    sim.stop().await;
}

#[tokio::test]
async fn an_api_outage_marks_the_view_stale_and_recovery_clears_it() {
    let (sim, watch) = watch_prod(20.0).await;
    until(&watch, "healthy", |s| s.verdict.health == Health::Healthy).await;
    let before = watch.status();
    sim.cluster.faults.set_unavailable(true);
    let stale = until(&watch, "stale", |s| s.stale_since.is_some()).await;
    // The last known state is still there.
    assert_eq!(stale.workloads, before.workloads);
    sim.cluster.faults.set_unavailable(false);
    until(&watch, "fresh again", |s| s.stale_since.is_none()).await;
    sim.stop().await;
}

#[tokio::test]
async fn watches_that_cannot_list_say_why_and_sync_once_they_can() {
    let sim =
        Running::start(Options { speed: 20.0, ..Options::default() }, 0).await.expect("simulator");
    sim.cluster.faults.set_unavailable(true);
    let mut config = kube::Config::new(sim.url().parse().expect("url"));
    config.default_retry = false;
    let client = kube::Client::try_from(config).expect("client");
    let target = WatchTarget { name: "prod".into(), namespace: PROD.into(), application: None };
    let watch = EnvironmentWatch::start(&client, target);
    let failures = eventually_some(Duration::from_secs(20), "8 failed watches", || {
        let failures = watch.failures();
        async move { (failures.len() >= 8).then_some(failures) }
    })
    .await;
    assert!(!watch.synced());
    // Tried once: the panel is ready and serves on, showing this environment as stale.
    until(&watch, "settled", |_| watch.settled()).await;
    assert!(
        failures
            .iter()
            .any(|f| f.starts_with("deployments: ") && f.contains("unable to handle the request")),
        "{failures:?}"
    );
    sim.cluster.faults.set_unavailable(false);
    until(&watch, "synced", |_| watch.synced()).await;
    sim.stop().await;
}

/// A failed watch may be waiting out a long backoff when the API comes back: the prober
/// (one per client, asking for the version while any watch waits) wakes it as soon as the
/// API answers again. Waiting an hour here, so only the prober can end the wait.
#[tokio::test]
async fn the_end_of_an_outage_wakes_every_waiting_watch_at_once() {
    use gantry_app::cluster::reconnect::Reconnect;
    use std::sync::Arc;

    let sim =
        Running::start(Options { seed: false, ..Options::default() }, 0).await.expect("simulator");
    let mut config = kube::Config::new(sim.url().parse().expect("url"));
    config.default_retry = false;
    let client = kube::Client::try_from(config).expect("client");
    let reconnect = Arc::new(Reconnect::default());
    let waiter = |r: &Arc<Reconnect>| {
        let (r, c) = (Arc::clone(r), client.clone());
        tokio::spawn(async move { r.wait(&c, Duration::from_secs(3600)).await })
    };

    // The API answers: a watch refused for its own reasons keeps its backoff.
    let asked = sim.cluster.requests.snapshot().reads;
    let patient = waiter(&reconnect);
    eventually_some(Duration::from_secs(20), "the prober to ask", || {
        let reads = sim.cluster.requests.snapshot().reads;
        async move { (reads > asked).then_some(()) }
    })
    .await;
    // Proving that something does not happen takes time: 300 ms for the wait to end wrongly.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!patient.is_finished(), "a wait ended although the API had not been down");
    patient.abort();

    // An outage: two watches wait; the prober fails, then the API is back.
    sim.cluster.faults.set_unavailable(true);
    let before = sim.cluster.requests.snapshot().reads;
    let (first, second) = (waiter(&reconnect), waiter(&reconnect));
    eventually_some(Duration::from_secs(20), "the prober to fail once", || {
        let reads = sim.cluster.requests.snapshot().reads;
        async move { (reads > before).then_some(()) }
    })
    .await;
    sim.cluster.faults.set_unavailable(false);
    for waiting in [first, second] {
        tokio::time::timeout(Duration::from_secs(20), waiting)
            .await
            .expect("the end of the outage ended the wait")
            .expect("the wait ends cleanly");
    }
    sim.stop().await;
}
