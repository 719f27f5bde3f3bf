//! Gantry's own writes (`gantry_app::actions::apply`) against both clusters: scale, restart,
//! rollback with auto-sync paused and resumed, and an Argo CD sync — each checked by the
//! effect the cluster shows, and by the plan's own "done" test used after a crash.

use gantry_app::actions::apply::{execute, fetch, Context, Outcome};
use gantry_app::actions::plan::{self, AppRef, Plan};
use gantry_app::status::model::WorkloadKind;

use super::*;

fn context(namespace: &str) -> Context<'_> {
    Context {
        namespace,
        user_id: "100001",
        name: "Oscar Operator",
        reason: "contract",
        request_id: 42,
        started_at: "2026-11-26T10:00:00Z",
    }
}

async fn done(t: &Target, plan: &Plan) -> bool {
    let seen = fetch(&t.client, &t.namespace, plan).await.unwrap();
    plan.done(&seen, "2026-11-26T10:00:00Z", 42)
}

/// Rolling web (revision 2, web:2) back to `first` (revision 1, web:1), pausing the
/// Application's auto-sync.
pub(super) fn web_back_to_revision_1(first: &ReplicaSet, application: &AppRef) -> Plan {
    let target = plan::template_for_rollback(first).unwrap();
    Plan::Rollback {
        workload: "web".into(),
        from_revision: 2,
        to_revision: 1,
        from_images: vec!["web:2".into()],
        to_images: vec!["web:1".into()],
        template: plan::template_fingerprint(&target),
        pause_auto_sync: Some(application.clone()),
    }
}

fn image_of(d: &k8s_openapi::api::apps::v1::Deployment) -> String {
    d.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0]
        .image
        .clone()
        .unwrap_or_default()
}

contract!(gantry_scales_with_a_guarded_write_and_supersedes_a_stale_plan, |t| {
    t.web(2).await;
    let scale =
        Plan::Scale { kind: WorkloadKind::Deployment, workload: "web".into(), from: 2, to: 3 };
    let outcome = execute(&t.client, &scale, &context(&t.namespace)).await;
    assert_eq!(outcome, Outcome::Done("web scaled from 2 to 3 replicas".into()));
    assert_eq!(t.deployments().get("web").await.unwrap().spec.unwrap().replicas, Some(3));
    assert!(done(&t, &scale).await);
    // Asked when it ran 2: it runs 3 now, so the same plan no longer holds.
    let outcome = execute(&t.client, &scale, &context(&t.namespace)).await;
    assert!(
        matches!(outcome, Outcome::Superseded(ref why) if why.contains("now runs 3")),
        "{outcome:?}"
    );
});

contract!(gantry_restarts_like_kubectl_rollout_restart, |t| {
    let d = t.web(1).await;
    rolled_out(&t, "web:1").await;
    let template = plan::template_fingerprint(&d.spec.unwrap().template);
    let restart = Plan::Restart {
        kind: WorkloadKind::Deployment,
        workload: "web".into(),
        template,
        revision: None,
    };
    let outcome = execute(&t.client, &restart, &context(&t.namespace)).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    assert!(done(&t, &restart).await);
    eventually("the restart's ReplicaSet", async || {
        replica_sets(&t).await.iter().any(|rs| revision(rs) == "2").then_some(())
    })
    .await;
});

contract!(gantry_rolls_back_to_a_kept_revision_and_pins_auto_sync, |t| {
    t.web(1).await;
    rolled_out(&t, "web:1").await;
    t.deployments()
        .patch("web", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}}})))
        .await
        .unwrap();
    rolled_out(&t, "web:2").await;
    let mut app = t.app().await;
    app.data["spec"]["syncPolicy"] = json!({"automated": {"prune": true, "selfHeal": true}});
    t.apps().replace("app", &PostParams::default(), &app).await.unwrap();

    let sets = replica_sets(&t).await;
    let first = sets.iter().find(|rs| revision(rs) == "1").unwrap();
    let application = AppRef { namespace: t.namespace.clone(), name: "app".into() };
    let rollback = web_back_to_revision_1(first, &application);
    let outcome = execute(&t.client, &rollback, &context(&t.namespace)).await;
    assert!(matches!(outcome, Outcome::Done(ref d) if d.contains("paused")), "{outcome:?}");
    assert_eq!(image_of(&t.deployments().get("web").await.unwrap()), "web:1");
    assert!(done(&t, &rollback).await);
    rolled_out(&t, "web:1").await;
    let reused = replica_sets(&t).await;
    assert!(reused.iter().any(|rs| rs.metadata.uid == first.metadata.uid && revision(rs) == "3"));

    let pinned = t.apps().get("app").await.unwrap();
    assert!(pinned.data["spec"]["syncPolicy"]["automated"].is_null(), "{:?}", pinned.data);
    let annotations = pinned.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations[plan::PAUSED_BY], "Oscar Operator (100001)");
    assert_eq!(annotations[plan::PAUSED_REASON], "contract");

    let resume =
        Plan::ResumeAutoSync { application, paused_by: annotations[plan::PAUSED_BY].clone() };
    let outcome = execute(&t.client, &resume, &context(&t.namespace)).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let resumed = t.apps().get("app").await.unwrap();
    assert_eq!(
        resumed.data["spec"]["syncPolicy"]["automated"],
        json!({"prune": true, "selfHeal": true})
    );
    assert!(!resumed.metadata.annotations.unwrap_or_default().contains_key(plan::PAUSED_BY));
});

contract!(gantry_starts_a_sync_as_argo_cd_does_and_waits_for_a_running_one, |t| {
    t.app().await;
    let sync = Plan::Sync {
        application: AppRef { namespace: t.namespace.clone(), name: "app".into() },
        deployed: String::new(),
        target: "main".into(),
    };
    let outcome = execute(&t.client, &sync, &context(&t.namespace)).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let app = t.apps().get("app").await.unwrap();
    let operation = &app.data["operation"];
    assert_eq!(operation["sync"]["revision"], "main");
    assert_eq!(operation["initiatedBy"]["username"], "Oscar Operator (100001) via Gantry");
    assert!(done(&t, &sync).await);
    // No Argo CD controller runs here: the operation stays requested, so a second sync is
    // refused as Argo CD refuses it.
    let again = execute(&t.client, &sync, &context(&t.namespace)).await;
    assert!(
        matches!(again, Outcome::Failed(ref why) if why.contains("Argo CD is busy")),
        "{again:?}"
    );
});

contract!(a_json_patch_testing_a_stale_resource_version_is_422_in_general_words, |t| {
    // Nothing in the answer says the test failed: Gantry's rollback reads the object again
    // to tell a lost race (retried) from a real refusal.
    let d = t.web(1).await;
    let stale = d.metadata.resource_version.clone().unwrap();
    t.deployments()
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"moved": "on"}}})),
        )
        .await
        .unwrap();
    let patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/resourceVersion", "value": stale},
        {"op": "replace", "path": "/spec/replicas", "value": 2},
    ]))
    .unwrap();
    let s = status(
        t.deployments()
            .patch("web", &PatchParams::default(), &Patch::<Value>::Json(patch))
            .await
            .unwrap_err(),
    );
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"), "{s:?}");
    assert_eq!(s.message, "the server rejected our request due to an error in our request");
    assert!(s.details.is_none_or(|d| d.causes.is_empty()));
});

contract!(gantry_makes_a_backup_job_from_a_cronjob_template_once_per_request, |t| {
    use gantry_app::actions::backup::{run, Asker};
    use k8s_openapi::api::batch::v1::{CronJob, Job};
    // The CronJob as Gantry read it (batch/v1; the 1.20 oracle serves CronJobs only as
    // batch/v1beta1, so it is not created there: the Job is what is checked).
    let cronjob: CronJob = serde_json::from_value(json!({
        "metadata": {"name": "db-backup", "uid": "6b1a3c0e-0000-4000-8000-000000000001"},
        "spec": {"schedule": "0 2 * * *", "jobTemplate": {
            "metadata": {"labels": {"app": "db-backup"}},
            "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": {"app": "db-backup"}}, "spec": {
                "restartPolicy": "Never", "containers": [{"name": "backup", "image": "postgres:16.4",
                    "command": ["/bin/sh", "/scripts/backup.sh"], "terminationMessagePolicy": "FallbackToLogsOnError"}]}}}}},
    }))
    .unwrap();
    let seen = plan::Seen { cronjob: Some(cronjob), ..plan::Seen::default() };
    let asker = Asker { namespace: &t.namespace, request_id: 42, name: "Oscar Operator" };
    let made = run(&t.client, &seen, &asker, "backup", &[]).await.unwrap();
    assert_eq!(
        made.as_deref(),
        Some("the backup Job db-backup-gantry-42 is running (made from the CronJob db-backup)")
    );
    let jobs: Api<Job> = Api::namespaced(t.client.clone(), &t.namespace);
    let job = jobs.get("db-backup-gantry-42").await.unwrap();
    let annotations = job.metadata.annotations.clone().unwrap();
    assert_eq!(annotations["cronjob.kubernetes.io/instantiate"], "manual");
    assert_eq!(annotations["gantry/request"], "42");
    assert_eq!(job.metadata.owner_references.unwrap()[0].kind, "CronJob");
    // The API server names the Job on its pods' template, so they can be found by it.
    let labels = job.spec.unwrap().template.metadata.unwrap().labels.unwrap();
    assert_eq!(labels["job-name"], "db-backup-gantry-42");
    assert_eq!(labels["controller-uid"], job.metadata.uid.unwrap());
    assert_eq!(labels["app"], "db-backup");
    // The same request again meets its own Job: a 409, taken as done, no second Job.
    let again = run(&t.client, &seen, &asker, "backup", &[]).await.unwrap();
    assert_eq!(
        again.as_deref(),
        Some("the backup Job db-backup-gantry-42 was already made for this request")
    );
    let all = jobs.list(&ListParams::default()).await.unwrap();
    assert_eq!(all.items.len(), 1);
    // Another Job of that name is refused as kubectl would show it.
    let copy: Job = serde_json::from_value(json!({"metadata": {"name": "db-backup-gantry-42"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "x", "image": "busybox"}]}}}})).unwrap();
    let s = status(jobs.create(&PostParams::default(), &copy).await.unwrap_err());
    assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(s.message, "jobs.batch \"db-backup-gantry-42\" already exists");
});
