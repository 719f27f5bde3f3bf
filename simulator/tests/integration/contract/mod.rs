//! The contract: one suite of API behaviours Gantry relies on, run against the simulated
//! cluster AND against a real kube-apiserver + kube-controller-manager (1.20, built from
//! Debian's source by scripts/oracle.sh). Whatever the real one does, the simulator must do.
//!
//! The real apiserver is found through GANTRY_ORACLE_KUBECONFIG (./run test starts it).

// Helpers here are test code: a failure should fail the test where it happens.

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use gantry_sim::{Options, Running};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::Status;
use kube::Client;
use serde_json::{json, Value};

mod target;

use target::{prepare, real, simulated, Target};

fn status(error: kube::Error) -> Status {
    match error {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The project's one way to wait ([`gantry_sim::wait`]), with the contract's 30 s.
async fn eventually<T, Fut>(what: &str, check: impl FnMut() -> Fut) -> T
where
    Fut: std::future::Future<Output = Option<T>>,
{
    gantry_sim::wait::eventually_some(Duration::from_secs(30), what, check).await
}

/// Each contract runs as two tests: against the simulator and against the real apiserver.
macro_rules! contract {
    ($name:ident, |$t:ident| $body:block) => {
        mod $name {
            use super::*;
            async fn check($t: Target) $body
            #[tokio::test]
            async fn simulated_cluster() { check(super::simulated().await).await }
            #[tokio::test]
            async fn real_apiserver() { check(super::real().await).await }
        }
    };
}

contract!(a_missing_object_is_404_not_found, |t| {
    let s = status(t.deployments().get("nope").await.unwrap_err());
    assert_eq!((s.code, s.reason.as_str()), (404, "NotFound"));
    assert_eq!(s.message, "deployments.apps \"nope\" not found");
    let details = s.details.unwrap();
    assert_eq!(
        (details.name.as_str(), details.group.as_str(), details.kind.as_str()),
        ("nope", "apps", "deployments")
    );
});

contract!(creating_twice_is_409_already_exists, |t| {
    let d = t.web(1).await;
    let mut again = d.clone();
    again.metadata.resource_version = None;
    again.metadata.uid = None;
    let s = status(t.deployments().create(&PostParams::default(), &again).await.unwrap_err());
    assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(s.message, "deployments.apps \"web\" already exists");
});

contract!(an_update_with_a_stale_resource_version_is_409_conflict, |t| {
    let stale = t.web(1).await;
    // A real controller-manager may write the new Deployment's status in between: label
    // the latest version (retrying its own conflicts) so the object surely moves on.
    let mut replaced = false;
    for _ in 0..10 {
        let mut labelled = t.deployments().get("web").await.unwrap();
        labelled.metadata.labels.get_or_insert_default().insert("touched".into(), "yes".into());
        match t.deployments().replace("web", &PostParams::default(), &labelled).await {
            Ok(_) => {
                replaced = true;
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("replace failed: {e}"),
        }
    }
    assert!(replaced, "the label never landed");
    let s =
        status(t.deployments().replace("web", &PostParams::default(), &stale).await.unwrap_err());
    assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
    assert!(s.message.starts_with("Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified"), "{}", s.message);
});

contract!(a_negative_scale_is_422_invalid_on_spec_replicas, |t| {
    t.web(1).await;
    let s = status(
        t.deployments()
            .patch_scale(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": -1}})),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
    let causes = s.details.unwrap().causes;
    assert_eq!(causes[0].field, "spec.replicas");
});

contract!(the_scale_subresource_reports_replicas_and_selector, |t| {
    t.web(2).await;
    let scale = t.deployments().get_scale("web").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(2));
    assert_eq!(scale.status.unwrap().selector.as_deref(), Some("app=web"));
    let scaled = t
        .deployments()
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(3));
    assert_eq!(t.deployments().get("web").await.unwrap().spec.unwrap().replicas, Some(3));
});

contract!(strategic_merge_on_a_custom_resource_is_415, |t| {
    t.app().await;
    let s = status(
        t.apps()
            .patch(
                "app",
                &PatchParams::default(),
                &Patch::Strategic(json!({"metadata": {"labels": {"a": "b"}}})),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!((s.code, s.reason.as_str()), (415, "UnsupportedMediaType"));
    let merged = t
        .apps()
        .patch("app", &PatchParams::default(), &Patch::Merge(json!({"operation": {"initiatedBy": {"username": "panel"}, "sync": {"revision": "main"}}})))
        .await
        .unwrap();
    assert_eq!(merged.data["operation"]["sync"]["revision"], "main");
});

contract!(a_malformed_label_selector_is_400, |t| {
    let s = status(
        t.deployments().list(&ListParams::default().labels("app in web")).await.unwrap_err(),
    );
    assert_eq!((s.code, s.reason.as_str()), (400, "BadRequest"));
});

contract!(paging_with_limit_and_continue_returns_every_object_once, |t| {
    let maps: Api<ConfigMap> = Api::namespaced(t.client.clone(), &t.namespace);
    for i in 0..5 {
        let cm: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": format!("cm-{i}")}, "data": {"i": i.to_string()}}),
        )
        .unwrap();
        maps.create(&PostParams::default(), &cm).await.unwrap();
    }
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let mut params = ListParams::default().limit(2);
        if let Some(t) = &token {
            params = params.continue_token(t);
        }
        let page = maps.list(&params).await.unwrap();
        assert!(page.items.len() <= 2);
        names.extend(
            page.items.into_iter().filter_map(|c| c.metadata.name).filter(|n| n.starts_with("cm-")),
        );
        token = page.metadata.continue_.filter(|c| !c.is_empty());
        if token.is_none() {
            break;
        }
    }
    names.sort();
    assert_eq!(names, ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"]);
});

contract!(a_watch_from_the_list_version_sees_the_next_change, |t| {
    t.web(1).await;
    let rv = t
        .deployments()
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream =
        t.deployments().watch(&WatchParams::default().timeout(10), &rv).await.unwrap().boxed();
    t.deployments()
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"seen": "yes"}}})),
        )
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = stream.try_next().await.unwrap() {
            if let WatchEvent::Modified(d) = event {
                if d.metadata.labels.as_ref().and_then(|l| l.get("seen")).is_some() {
                    return true;
                }
            }
        }
        false
    })
    .await
    .unwrap();
    assert!(seen);
});

contract!(a_watch_from_zero_starts_with_the_current_objects, |t| {
    t.web(1).await;
    let mut stream =
        t.deployments().watch(&WatchParams::default().timeout(5), "0").await.unwrap().boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match first {
        WatchEvent::Added(d) => assert_eq!(d.metadata.name.as_deref(), Some("web")),
        other => panic!("expected ADDED, got {other:?}"),
    }
});

contract!(a_spec_change_bumps_generation_a_label_change_does_not, |t| {
    let d = t.web(1).await;
    assert_eq!(d.metadata.generation, Some(1));
    let labelled = t
        .deployments()
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(1));
    let scaled = t
        .deployments()
        .patch("web", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 2}})))
        .await
        .unwrap();
    assert_eq!(scaled.metadata.generation, Some(2));
});

contract!(status_sent_to_the_main_endpoint_is_ignored, |t| {
    t.web(1).await;
    let patched = t
        .deployments()
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observedGeneration": 42}})),
        )
        .await
        .unwrap();
    assert_ne!(patched.status.and_then(|s| s.observed_generation), Some(42));
});

fn revision(rs: &ReplicaSet) -> String {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("deployment.kubernetes.io/revision"))
        .cloned()
        .unwrap_or_default()
}

async fn replica_sets(t: &Target) -> Vec<ReplicaSet> {
    let api: Api<ReplicaSet> = Api::namespaced(t.client.clone(), &t.namespace);
    api.list(&ListParams::default().labels("app=web")).await.unwrap().items
}

async fn rolled_out(t: &Target, image: &str) {
    eventually(&format!("rollout of {image}"), async || {
        let d = t.deployments().get("web").await.ok()?;
        let status = d.status?;
        let want = d.spec?.replicas?;
        let current = d.metadata.generation == status.observed_generation
            && status.updated_replicas == Some(want)
            && status.available_replicas == Some(want)
            && status.replicas == Some(want);
        let image_now = replica_sets(t).await.iter().any(|rs| {
            rs.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|tp| tp.spec.as_ref())
                .map(|s| s.containers[0].image.clone())
                == Some(Some(image.to_owned()))
                && rs.status.as_ref().map(|s| s.replicas) == Some(want)
        });
        (current && image_now).then_some(())
    })
    .await;
}

contract!(a_rollout_makes_revision_2_and_a_rollback_reuses_revision_1, |t| {
    t.web(2).await;
    rolled_out(&t, "web:1").await;
    let first = replica_sets(&t).await;
    assert_eq!(first.len(), 1);
    assert_eq!(revision(&first[0]), "1");
    let original_template = first[0].spec.as_ref().unwrap().template.clone().unwrap();

    t.deployments()
        .patch("web", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}}})))
        .await
        .unwrap();
    rolled_out(&t, "web:2").await;
    let sets = replica_sets(&t).await;
    assert_eq!(sets.len(), 2);
    let d = t.deployments().get("web").await.unwrap();
    assert_eq!(d.metadata.annotations.unwrap()["deployment.kubernetes.io/revision"], "2");

    // kubectl rollout undo: the old template minus pod-template-hash, by JSON patch.
    let mut template = serde_json::to_value(&original_template).unwrap();
    template["metadata"]["labels"].as_object_mut().unwrap().remove("pod-template-hash");
    t.deployments()
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::<Value>::Json(
                serde_json::from_value(
                    json!([{"op": "replace", "path": "/spec/template", "value": template}]),
                )
                .unwrap(),
            ),
        )
        .await
        .unwrap();
    rolled_out(&t, "web:1").await;
    let sets = replica_sets(&t).await;
    assert_eq!(sets.len(), 2, "the first ReplicaSet is reused");
    let reused = sets.iter().find(|rs| rs.metadata.uid == first[0].metadata.uid).unwrap();
    assert_eq!(revision(reused), "3");
    assert_eq!(
        reused.metadata.annotations.as_ref().unwrap()["deployment.kubernetes.io/revision-history"],
        "1"
    );
});

contract!(a_restart_annotation_rolls_out_a_new_replica_set, |t| {
    t.web(1).await;
    rolled_out(&t, "web:1").await;
    t.deployments()
        .patch("web", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-26T04:17:02Z"}}}}})))
        .await
        .unwrap();
    eventually("a second ReplicaSet", async || (replica_sets(&t).await.len() == 2).then_some(()))
        .await;
    let sets = replica_sets(&t).await;
    let newest = sets.iter().find(|rs| revision(rs) == "2").unwrap();
    let annotations = newest
        .spec
        .as_ref()
        .unwrap()
        .template
        .as_ref()
        .unwrap()
        .metadata
        .as_ref()
        .unwrap()
        .annotations
        .clone()
        .unwrap();
    assert_eq!(annotations["kubectl.kubernetes.io/restartedAt"], "2026-11-26T04:17:02Z");
});

contract!(an_application_update_with_a_stale_resource_version_is_409_conflict, |t| {
    // Argo CD's own sync: GET, refuse if an operation runs, update with the resourceVersion
    // read, retry on 409. The conflict must come back for custom resources too.
    let app = t.app().await;
    let mut first = app.clone();
    first.data["operation"] =
        json!({"initiatedBy": {"username": "alice"}, "sync": {"revision": "main"}});
    t.apps().replace("app", &PostParams::default(), &first).await.unwrap();
    let mut second = app;
    second.data["operation"] =
        json!({"initiatedBy": {"username": "bob"}, "sync": {"revision": "main"}});
    let s = status(t.apps().replace("app", &PostParams::default(), &second).await.unwrap_err());
    assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        t.apps().get("app").await.unwrap().data["operation"]["initiatedBy"]["username"],
        "alice"
    );
});

/// CronJob is only batch/v1beta1 on the 1.20 oracle, which kube-rs does not speak: the
/// backup contract runs against the simulator only.
mod backups_simulator_only {
    use k8s_openapi::api::batch::v1::{CronJob, Job};

    use super::*;

    #[tokio::test]
    async fn a_cron_job_creates_a_job_that_completes_and_records_success() {
        eprintln!("simulator only: CronJob is batch/v1beta1 on the 1.20 oracle");
        let sim = Running::start(Options { seed: false, speed: 600.0, ..Options::default() }, 0)
            .await
            .unwrap();
        let mut config = kube::Config::new(sim.url().parse().unwrap());
        config.default_retry = false;
        let t = prepare(Client::try_from(config).unwrap(), None, false).await;
        let cronjobs: Api<CronJob> = Api::namespaced(t.client.clone(), &t.namespace);
        let cj: CronJob = serde_json::from_value(json!({
            "metadata": {"name": "db-backup"},
            "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "dump", "image": "postgres:16.4"}]}}}}},
        }))
        .unwrap();
        cronjobs.create(&PostParams::default(), &cj).await.unwrap();
        eventually("a successful backup", async || {
            cronjobs.get("db-backup").await.ok()?.status?.last_successful_time
        })
        .await;
        let jobs: Api<Job> = Api::namespaced(t.client.clone(), &t.namespace);
        let list = jobs.list(&ListParams::default()).await.unwrap();
        assert!(list.items.iter().any(|j| j.status.as_ref().and_then(|s| s.succeeded) == Some(1)));
        assert!(list.items.iter().all(|j| j
            .metadata
            .owner_references
            .as_ref()
            .is_some_and(|o| o[0].name == "db-backup")));
        drop(t);
        sim.stop().await;
    }
}

mod actions;
mod least_privilege;
