//! The simulated cluster through kube-rs, the client Gantry uses: the answers must be the
//! ones a real apiserver gives (recorded in the project's contract).

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use gantry_sim::{Options, Running};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{
    Api, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::discovery::{ApiResource, Discovery};
use kube::Client;
use serde_json::json;

const DEV: &str = "co2-calculator-dev";

async fn start() -> (Running, Client) {
    start_with(Options { controllers: false, ..Options::default() }).await
}

async fn start_with(options: Options) -> (Running, Client) {
    let sim = Running::start(options, 0).await.expect("simulator starts");
    let mut config = kube::Config::new(sim.url().parse().expect("url"));
    // kube retries 503s for up to 15 attempts by default; these tests look at the 503 itself.
    config.default_retry = false;
    let client = Client::try_from(config).expect("client");
    (sim, client)
}

fn api_error(error: kube::Error) -> kube::core::Status {
    match error {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn applications(client: &Client) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Application".into(),
        plural: "applications".into(),
    };
    Api::namespaced_with(client.clone(), "argocd", &resource)
}

#[tokio::test]
async fn discovery_lists_the_builtin_groups_and_the_argo_cd_crd() {
    let (sim, client) = start().await;
    let discovery = Discovery::new(client.clone()).run().await.expect("discovery");
    let groups: Vec<String> = discovery.groups().map(|g| g.name().to_owned()).collect();
    for group in ["", "apps", "batch", "autoscaling", "argoproj.io"] {
        assert!(groups.iter().any(|g| g == group), "{group:?} missing from {groups:?}");
    }
    let version = client.apiserver_version().await.expect("version");
    assert_eq!(version.major, "1");
    sim.stop().await;
}

#[tokio::test]
async fn the_seed_holds_the_co2_calculator_in_three_namespaces() {
    let (sim, client) = start().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let names: Vec<String> = namespaces
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    for ns in ["co2-calculator-dev", "co2-calculator-staging", "co2-calculator-prod", "argocd"] {
        assert!(names.iter().any(|n| n == ns), "{ns} missing");
    }
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), DEV);
    let mut names: Vec<String> = deployments
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|d| d.metadata.name)
        .collect();
    names.sort();
    assert_eq!(names, ["backend", "celery-worker", "frontend", "redis"]);
    let backend = deployments.list(&ListParams::default().labels("app=backend")).await.unwrap();
    assert_eq!(backend.items.len(), 1);
    assert_eq!(backend.items[0].spec.as_ref().unwrap().replicas, Some(3));
    let apps = applications(&client).list(&ListParams::default()).await.unwrap();
    assert_eq!(apps.items.len(), 3);
    sim.stop().await;
}

/// A platform team's cluster, for the scale benchmark: more environments (each set up as
/// prod), each with extra workloads of 10 replicas besides the calculator's five.
#[tokio::test]
async fn the_seed_grows_to_more_environments_with_extra_workloads() {
    assert_eq!(gantry_sim::seed::environment_names(1), ["dev"]);
    assert_eq!(
        gantry_sim::seed::environment_names(5),
        ["dev", "staging", "prod", "env-004", "env-005"]
    );
    let options =
        Options { controllers: false, environments: 5, extra_workloads: 2, ..Options::default() };
    let (sim, client) = start_with(options).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "co2-calculator-env-005");
    let mut names: Vec<(String, Option<i32>)> = deployments
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|d| (d.metadata.name.unwrap_or_default(), d.spec.and_then(|s| s.replicas)))
        .collect();
    names.sort();
    let expected = [
        ("backend", Some(3)),
        ("celery-worker", Some(2)),
        ("frontend", Some(2)),
        ("redis", Some(1)),
        ("service-01", Some(10)),
        ("service-02", Some(10)),
    ];
    assert_eq!(names, expected.map(|(n, r)| (n.to_owned(), r)));
    let apps = applications(&client).list(&ListParams::default()).await.unwrap();
    let mut apps: Vec<String> = apps.items.into_iter().filter_map(|a| a.metadata.name).collect();
    apps.sort();
    assert_eq!(apps.len(), 5);
    assert!(apps.contains(&"co2-calculator-env-004".to_owned()), "{apps:?}");
    // Each runs prod's version.
    let env4: Api<Deployment> = Api::namespaced(client.clone(), "co2-calculator-env-004");
    let frontend = env4.get("frontend").await.unwrap();
    let image = frontend.spec.unwrap().template.spec.unwrap().containers[0].image.clone();
    assert_eq!(image.as_deref(), Some("registry.example.org/co2-calculator/frontend:1.8.2"));
    sim.stop().await;
}

#[tokio::test]
async fn a_missing_object_is_a_404_with_the_apiservers_message() {
    let (sim, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client, DEV);
    let status = api_error(deployments.get("nope").await.unwrap_err());
    assert_eq!(status.code, 404);
    assert_eq!(status.reason, "NotFound");
    assert_eq!(status.message, "deployments.apps \"nope\" not found");
    assert!(deployments.get_opt("nope").await.unwrap().is_none());
    sim.stop().await;
}

#[tokio::test]
async fn scaling_through_the_scale_subresource_and_refusing_negative_replicas() {
    let (sim, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client, DEV);
    let scale = deployments
        .patch_scale(
            "backend",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(5));
    assert_eq!(deployments.get_scale("backend").await.unwrap().spec.unwrap().replicas, Some(5));
    assert_eq!(deployments.get("backend").await.unwrap().spec.unwrap().replicas, Some(5));
    let status = api_error(
        deployments
            .patch_scale(
                "backend",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": -1}})),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code, 422);
    assert_eq!(status.reason, "Invalid");
    sim.stop().await;
}

#[tokio::test]
async fn a_replace_with_a_stale_resource_version_is_a_conflict() {
    let (sim, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client, DEV);
    let stale = deployments.get("backend").await.unwrap();
    deployments
        .patch_scale(
            "backend",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .unwrap();
    let status = api_error(
        deployments.replace("backend", &PostParams::default(), &stale).await.unwrap_err(),
    );
    assert_eq!(status.code, 409);
    assert_eq!(status.reason, "Conflict");
    sim.stop().await;
}

#[tokio::test]
async fn creating_twice_is_already_exists() {
    let (sim, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client, DEV);
    let mut copy = deployments.get("redis").await.unwrap();
    copy.metadata.resource_version = None;
    copy.metadata.uid = None;
    let status = api_error(deployments.create(&PostParams::default(), &copy).await.unwrap_err());
    assert_eq!((status.code, status.reason.as_str()), (409, "AlreadyExists"));
    copy.metadata.name = Some("redis-copy".into());
    let created = deployments.create(&PostParams::default(), &copy).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some());
    sim.stop().await;
}

#[tokio::test]
async fn restart_annotation_strategic_merge_and_server_side_apply() {
    let (sim, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client, DEV);
    let before = deployments.get("frontend").await.unwrap();
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-26T04:17:02Z"}}}}});
    let after = deployments
        .patch("frontend", &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .unwrap();
    let template = after.spec.as_ref().unwrap().template.metadata.as_ref().unwrap();
    assert_eq!(
        template.annotations.as_ref().unwrap()["kubectl.kubernetes.io/restartedAt"],
        "2026-11-26T04:17:02Z"
    );
    assert_eq!(
        template.labels,
        before.spec.as_ref().unwrap().template.metadata.as_ref().unwrap().labels
    );
    assert_eq!(after.metadata.generation, Some(before.metadata.generation.unwrap() + 1));

    let applied = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "frontend", "annotations": {"panel/touched": "yes"}}});
    let out = deployments
        .patch("frontend", &PatchParams::apply("co2-panel").force(), &Patch::Apply(applied))
        .await
        .unwrap();
    assert_eq!(out.metadata.annotations.unwrap()["panel/touched"], "yes");
    assert!(out
        .metadata
        .managed_fields
        .unwrap()
        .iter()
        .any(|m| m.manager.as_deref() == Some("co2-panel")));
    sim.stop().await;
}

#[tokio::test]
async fn argo_cd_applications_take_merge_patches_and_refuse_strategic_ones() {
    let (sim, client) = start().await;
    let apps = applications(&client);
    let operation = json!({"operation": {"initiatedBy": {"username": "co2-panel"}, "sync": {"revision": "main", "prune": true}}});
    let error = apps
        .patch("co2-calculator-dev", &PatchParams::default(), &Patch::Strategic(operation.clone()))
        .await
        .unwrap_err();
    assert_eq!(api_error(error).code, 415);
    let patched = apps
        .patch("co2-calculator-dev", &PatchParams::default(), &Patch::Merge(operation))
        .await
        .unwrap();
    assert_eq!(patched.data["operation"]["initiatedBy"]["username"], "co2-panel");
    sim.stop().await;
}

#[tokio::test]
async fn lists_page_with_limit_and_continue() {
    let (sim, client) = start().await;
    let deployments: Api<Deployment> = Api::all(client);
    let first = deployments.list(&ListParams::default().limit(5)).await.unwrap();
    assert_eq!(first.items.len(), 5);
    let token = first.metadata.continue_.clone().expect("a continue token");
    let rest =
        deployments.list(&ListParams::default().limit(100).continue_token(&token)).await.unwrap();
    assert_eq!(rest.items.len(), 12 - 5);
    assert!(rest.metadata.continue_.is_none_or(|c| c.is_empty()));
    sim.stop().await;
}

#[tokio::test]
async fn a_malformed_label_selector_is_a_bad_request() {
    let (sim, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client, DEV);
    let status = api_error(
        deployments.list(&ListParams::default().labels("app in backend")).await.unwrap_err(),
    );
    assert_eq!(status.code, 400);
    sim.stop().await;
}

#[tokio::test]
async fn a_watch_from_a_resource_version_sees_later_changes() {
    let (sim, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client, DEV);
    let list = deployments.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    deployments
        .patch_scale(
            "backend",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 6}})),
        )
        .await
        .unwrap();
    let mut stream =
        deployments.watch(&WatchParams::default().timeout(5), &rv).await.unwrap().boxed();
    let event = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match event {
        WatchEvent::Modified(d) => {
            assert_eq!(d.metadata.name.as_deref(), Some("backend"));
            assert_eq!(d.spec.unwrap().replicas, Some(6));
        }
        other => panic!("expected MODIFIED, got {other:?}"),
    }
    sim.stop().await;
}

#[tokio::test]
async fn a_watch_from_a_compacted_version_gets_410_gone() {
    let (sim, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client, DEV);
    sim.cluster.store.compact();
    let mut stream =
        deployments.watch(&WatchParams::default().timeout(5), "2").await.unwrap().boxed();
    let event = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match event {
        WatchEvent::Error(e) => assert_eq!(e.code, 410),
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    sim.stop().await;
}

#[tokio::test]
async fn the_kube_runtime_watcher_follows_changes_through_an_outage() {
    use kube::runtime::watcher::{self, Event};
    let (sim, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client, DEV);
    let mut events = watcher::watcher(deployments.clone(), watcher::Config::default()).boxed();
    // Initial listing.
    loop {
        if let Event::InitDone = events.try_next().await.unwrap().unwrap() {
            break;
        }
    }
    sim.cluster.faults.set_unavailable(true);
    let status = api_error(deployments.get("backend").await.unwrap_err());
    assert_eq!(status.code, 503);
    sim.cluster.faults.set_unavailable(false);
    deployments
        .patch_scale(
            "redis",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = events.next().await {
            if let Ok(Event::Apply(d) | Event::InitApply(d)) = event {
                if d.metadata.name.as_deref() == Some("redis")
                    && d.spec.and_then(|s| s.replicas) == Some(2)
                {
                    return true;
                }
            }
        }
        false
    })
    .await
    .expect("the watcher saw the change after the outage");
    assert!(seen);
    sim.stop().await;
}

#[tokio::test]
async fn the_control_api_switches_an_outage_that_ends_by_itself() {
    let (sim, client) = start().await;
    let http = reqwest::Client::new();
    let faults = format!("{}/simulator/faults", sim.url());
    let answer = http
        .put(&faults)
        .json(&json!({"fault": "unavailable", "seconds": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let deployments: Api<Deployment> = Api::namespaced(client, DEV);
    assert_eq!(api_error(deployments.get("backend").await.unwrap_err()).code, 503);
    // The controls themselves stay reachable during the outage.
    let state: serde_json::Value = http.get(&faults).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["unavailable"], true);
    let back = || async { deployments.get("backend").await.is_ok() };
    gantry_sim::wait::eventually(Duration::from_secs(20), "the outage to end", back).await;

    let refused =
        http.put(&faults).json(&json!({"fault": "refuse-connections"})).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let crash = json!({"fault": "crash-loop", "namespace": DEV, "workload": "backend"});
    http.put(&faults).json(&crash).send().await.unwrap();
    assert!(sim.cluster.faults.has(gantry_sim::WorkloadFault::CrashLoop, DEV, "backend"));

    let push = json!({"application": "co2-calculator-dev", "reference": "main", "images": {"backend": "x/backend:2"}});
    let pushed =
        http.post(format!("{}/simulator/git", sim.url())).json(&push).send().await.unwrap();
    assert_eq!(pushed.status(), 201);
    let (_, manifests) = sim.cluster.git.resolve("co2-calculator-dev", "main").unwrap();
    assert_eq!(manifests["backend"], "x/backend:2");
    sim.stop().await;
}

#[tokio::test]
async fn watches_that_allow_bookmarks_get_them_with_the_current_version() {
    let options = Options {
        controllers: false,
        bookmark_interval: Duration::from_millis(200),
        ..Options::default()
    };
    let (sim, client) = start_with(options).await;
    let deployments: Api<Deployment> = Api::namespaced(client, DEV);
    let rv =
        deployments.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut stream =
        deployments.watch(&WatchParams::default().timeout(5), &rv).await.unwrap().boxed();
    let event = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match event {
        WatchEvent::Bookmark(b) => assert!(
            b.metadata.resource_version.parse::<u64>().unwrap() >= rv.parse::<u64>().unwrap()
        ),
        other => panic!("expected BOOKMARK, got {other:?}"),
    }
    sim.stop().await;
}

#[tokio::test]
async fn refused_connections_and_slow_answers_are_what_clients_see() {
    let (sim, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client, DEV);
    sim.cluster.faults.set_refusing(true);
    let error = deployments.get("backend").await.unwrap_err();
    assert!(
        !matches!(error, kube::Error::Api(_)),
        "a transport error, not an API answer: {error:?}"
    );
    sim.cluster.faults.set_refusing(false);
    assert!(deployments.get("backend").await.is_ok());

    sim.cluster.faults.set_delay(Duration::from_millis(400));
    let started = std::time::Instant::now();
    deployments.get("backend").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
    sim.cluster.faults.set_delay(Duration::ZERO);
    sim.stop().await;
}

#[tokio::test]
async fn a_dry_run_is_refused_rather_than_stored() {
    let (sim, client) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client, DEV);
    let params = PatchParams { dry_run: true, ..PatchParams::default() };
    let error = deployments
        .patch_scale("backend", &params, &Patch::Merge(json!({"spec": {"replicas": 9}})))
        .await
        .unwrap_err();
    assert_eq!(api_error(error).code, 400);
    assert_eq!(deployments.get("backend").await.unwrap().spec.unwrap().replicas, Some(3));
    sim.stop().await;
}
