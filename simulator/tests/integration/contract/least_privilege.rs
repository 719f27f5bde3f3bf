//! Least privilege, on the real apiserver with RBAC: the Helm chart's ServiceAccount, Roles
//! and RoleBindings, rendered from a configuration that names this test's namespaces, are
//! applied; then Gantry's own code runs with the ServiceAccount's token. Every watch and
//! every action the panel makes is allowed; what the panel never does is refused (403).
//! The simulator has no authorization, so this runs against the real apiserver only.

use std::process::{Command, Stdio};

use gantry_app::actions::apply::{execute, Context, Outcome};
use gantry_app::actions::plan::{AppRef, Plan};
use gantry_app::cluster::{EnvironmentWatch, WatchTarget};
use gantry_app::status::model::WorkloadKind;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use kube::api::{DeleteParams, DynamicObject};

use super::target::{applications_resource, real_config};
use super::*;

const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/helm/gantry");

fn tool(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is not set: run through ./run test (scripts/bootstrap.sh installs it)")
    })
}

/// Runs `program`, feeding it `input`; its standard output, or the test fails with what it said.
fn run(program: &str, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} does not start: {e}"));
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The chart's values for a configuration with one environment in `namespace`, its
/// Application `app` in `argocd`.
fn values(namespace: &str, argocd: &str) -> String {
    format!(
        r#"secrets:
  databaseUrl: {{name: gantry-database, key: url}}
  oidcClientSecret: {{name: gantry-oidc, key: client-secret}}
networkPolicy: {{enabled: false}}
config: |
  [auth]
  issuer = "https://id.example.org/"
  client_id = "gantry"
  redirect_url = "https://gantry.example.org/auth/callback"

  [[environments]]
  name = "dev"
  namespace = "{namespace}"
  argocd_application = "app"
  argocd_namespace = "{argocd}"

  [[environments.workloads]]
  name = "web"
  max_replicas = 4

  [[environments.workloads]]
  name = "db"
  kind = "StatefulSet"

  [environments.policy]
  sync = "direct"
  scale = "direct"
  restart = "direct"
  rollback = "direct"
  resume_auto_sync = "direct"
  backup = "direct"
  restore = "direct"
  logs = "operator"
"#
    )
}

fn context(namespace: &str) -> Context<'_> {
    Context {
        namespace,
        user_id: "100001",
        name: "Oscar Operator",
        reason: "least privilege",
        request_id: 7,
        started_at: "2026-12-03T10:00:00Z",
    }
}

fn code(result: Result<impl std::fmt::Debug, kube::Error>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(kube::Error::Api(s)) => s.code,
        Err(other) => panic!("expected an answer from the API server, got {other:?}"),
    }
}

async fn create_namespace(client: &Client, name: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    namespaces.create(&PostParams::default(), &ns).await.unwrap();
}

async fn application(client: &Client, namespace: &str, name: &str, target: &str) {
    let apps: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &applications_resource());
    let app: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name},
        "spec": {"project": "default", "source": {"repoURL": "https://git.example.org/app.git", "path": "overlays/dev", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": target}},
    }))
    .unwrap();
    apps.create(&PostParams::default(), &app).await.unwrap();
}

#[tokio::test]
async fn real_apiserver_with_rbac() {
    let admin = real_config().await;
    let t = prepare(Client::try_from(admin.clone()).unwrap(), None, true).await;
    let suffix = t.namespace.trim_start_matches("contract-");
    let (argocd, home) = (format!("argocd-{suffix}"), format!("gantry-{suffix}"));
    create_namespace(&t.client, &argocd).await;
    create_namespace(&t.client, &home).await;

    // What the panel watches and acts on, and what it must not touch.
    t.web(1).await;
    let deployments = t.deployments();
    let other: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "other", "labels": {"app": "other"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "other"}},
            "template": {"metadata": {"labels": {"app": "other"}}, "spec": {"containers": [{"name": "other", "image": "other:1"}]}}},
    }))
    .unwrap();
    deployments.create(&PostParams::default(), &other).await.unwrap();
    let statefulsets: Api<StatefulSet> = Api::namespaced(t.client.clone(), &t.namespace);
    let db: StatefulSet = serde_json::from_value(json!({
        "metadata": {"name": "db"},
        "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres:16.4"}]}}},
    }))
    .unwrap();
    statefulsets.create(&PostParams::default(), &db).await.unwrap();
    application(&t.client, &argocd, "app", &t.namespace).await;
    application(&t.client, &argocd, "another-team", "elsewhere").await;
    let secrets: Api<Secret> = Api::namespaced(t.client.clone(), &t.namespace);
    let secret = serde_json::from_value(
        json!({"metadata": {"name": "postgres"}, "stringData": {"password": "hunter2"}}),
    )
    .unwrap();
    secrets.create(&PostParams::default(), &secret).await.unwrap();

    // The chart's ServiceAccount, Roles and RoleBindings, as `helm install` would apply them.
    let rendered = run(
        &tool("GANTRY_HELM"),
        &[
            "template",
            "gantry",
            CHART,
            "--namespace",
            &home,
            "-f",
            "-",
            "--show-only",
            "templates/serviceaccount.yaml",
            "--show-only",
            "templates/rbac.yaml",
            "--show-only",
            "templates/rbac-argocd.yaml",
        ],
        &values(&t.namespace, &argocd),
    );
    let kubeconfig = std::env::var("GANTRY_ORACLE_KUBECONFIG").unwrap();
    let kubectl = tool("GANTRY_KUBECTL");
    run(&kubectl, &["--kubeconfig", &kubeconfig, "apply", "-f", "-"], &rendered);
    let token =
        run(&kubectl, &["--kubeconfig", &kubeconfig, "create", "token", "gantry", "-n", &home], "");
    let mut config = admin.clone();
    config.auth_info = kube::config::AuthInfo {
        token: Some(token.trim().to_owned().into()),
        ..kube::config::AuthInfo::default()
    };
    let gantry = Client::try_from(config).unwrap();

    // Every watch: those of the ServiceAccount fail exactly where the admin's do (kinds
    // this 1.20 apiserver does not serve in the version Gantry asks for), never for lack
    // of permission.
    let target = WatchTarget {
        name: "dev".into(),
        namespace: t.namespace.clone(),
        application: Some((argocd.clone(), "app".into())),
    };
    let watch = EnvironmentWatch::start(&gantry, target.clone());
    let as_admin = EnvironmentWatch::start(&t.client, target);
    eventually("every watch tried once", async || {
        (watch.settled() && as_admin.settled()).then_some(())
    })
    .await;
    eventually("the workloads and the Application listed", async || {
        let names: Vec<_> =
            watch.deployments().iter().filter_map(|d| d.metadata.name.clone()).collect();
        (names.len() == 2 && watch.statefulset("db").is_some() && watch.application().is_some())
            .then_some(())
    })
    .await;
    let kinds = |w: &EnvironmentWatch| {
        let mut k: Vec<String> = w
            .failures()
            .iter()
            .map(|f| f.split(':').next().unwrap_or_default().to_owned())
            .collect();
        k.sort();
        k
    };
    let failures = watch.failures();
    assert!(
        failures.iter().all(|f| !f.contains("403") && !f.to_lowercase().contains("forbidden")),
        "{failures:?}"
    );
    assert_eq!(kinds(&watch), kinds(&as_admin), "{failures:?}");

    // Every action, with the ServiceAccount. A rollback to revision 1, pausing auto-sync
    // (the Application's patch), then resuming it.
    let ns = t.namespace.as_str();
    rolled_out(&t, "web:1").await;
    let new_image = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}}});
    deployments.patch("web", &PatchParams::default(), &Patch::Strategic(new_image)).await.unwrap();
    rolled_out(&t, "web:2").await;
    let argo_apps: Api<DynamicObject> =
        Api::namespaced_with(t.client.clone(), &argocd, &applications_resource());
    let automated = json!({"spec": {"syncPolicy": {"automated": {"prune": true}}}});
    argo_apps.patch("app", &PatchParams::default(), &Patch::Merge(automated)).await.unwrap();
    let sets = replica_sets(&t).await;
    let first = sets.iter().find(|rs| revision(rs) == "1").unwrap();
    let application = AppRef { namespace: argocd.clone(), name: "app".into() };
    let rollback = super::actions::web_back_to_revision_1(first, &application);
    let outcome = execute(&gantry, &rollback, &context(ns)).await;
    assert!(
        matches!(outcome, Outcome::Done(ref d) if d.contains("paused")),
        "rollback: {outcome:?}"
    );
    let resume = Plan::ResumeAutoSync { application, paused_by: "Oscar Operator (100001)".into() };
    let outcome = execute(&gantry, &resume, &context(ns)).await;
    assert!(matches!(outcome, Outcome::Done(_)), "resume auto-sync: {outcome:?}");
    rolled_out(&t, "web:1").await;
    let scale =
        Plan::Scale { kind: WorkloadKind::Deployment, workload: "web".into(), from: 1, to: 2 };
    assert!(matches!(execute(&gantry, &scale, &context(ns)).await, Outcome::Done(_)));
    let scale_db =
        Plan::Scale { kind: WorkloadKind::StatefulSet, workload: "db".into(), from: 1, to: 2 };
    assert!(matches!(execute(&gantry, &scale_db, &context(ns)).await, Outcome::Done(_)));
    for (kind, workload) in [(WorkloadKind::Deployment, "web"), (WorkloadKind::StatefulSet, "db")] {
        let template = match kind {
            WorkloadKind::Deployment => gantry_app::actions::plan::template_fingerprint(
                &deployments.get(workload).await.unwrap().spec.unwrap().template,
            ),
            WorkloadKind::StatefulSet => gantry_app::actions::plan::template_fingerprint(
                &statefulsets.get(workload).await.unwrap().spec.unwrap().template,
            ),
        };
        let restart = Plan::Restart { kind, workload: workload.into(), template, revision: None };
        let outcome = execute(&gantry, &restart, &context(ns)).await;
        assert!(matches!(outcome, Outcome::Done(_)), "restart {workload}: {outcome:?}");
    }
    let sync = Plan::Sync {
        application: AppRef { namespace: argocd.clone(), name: "app".into() },
        deployed: String::new(),
        target: "main".into(),
    };
    let outcome = execute(&gantry, &sync, &context(ns)).await;
    assert!(matches!(outcome, Outcome::Done(_)), "sync: {outcome:?}");
    // Back up now: a Job from the CronJob's template (read by the watch; made here).
    {
        use gantry_app::actions::backup::{run, Asker};
        let cronjob = serde_json::from_value(json!({
            "metadata": {"name": "db-backup", "uid": "6b1a3c0e-0000-4000-8000-000000000002"},
            "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "backup", "image": "postgres:16.4"}]}}}}},
        }))
        .unwrap();
        let seen = gantry_app::actions::plan::Seen { cronjob: Some(cronjob), ..Default::default() };
        let asker = Asker { namespace: ns, request_id: 7, name: "Oscar Operator" };
        let made = run(&gantry, &seen, &asker, "backup", &[]).await;
        assert!(matches!(made, Ok(Some(_))), "back up now: {made:?}");
    }
    // The autoscaler's bounds (autoscaling/v2 is not served by 1.20: 404 once authorized).
    let autoscalers: Api<HorizontalPodAutoscaler> = Api::namespaced(gantry.clone(), ns);
    let bounds = Patch::Merge(json!({"spec": {"maxReplicas": 3}}));
    assert_ne!(code(autoscalers.patch("web", &PatchParams::default(), &bounds).await), 403);
    // Logs: authorized (the pod has no node here, so the kubelet part cannot answer).
    let pod = eventually("a pod of web", async || {
        let pods: Api<Pod> = Api::namespaced(t.client.clone(), ns);
        let list = pods.list(&ListParams::default().labels("app=web")).await.ok()?;
        list.items.into_iter().find_map(|p| p.metadata.name)
    })
    .await;
    let open = gantry_app::logs::read::Open {
        namespace: ns,
        pod: &pod,
        container: "web",
        previous: false,
        tail: Some(10),
        since: None,
        follow: false,
    };
    if let Err(said) = gantry_app::logs::read::open(&gantry, &open).await {
        assert!(!said.contains("refused Gantry"), "{said}");
    }

    // What the panel never does.
    let refused = |what: &str, code: u16| assert_eq!(code, 403, "{what} was not refused");
    refused(
        "reading a Secret",
        code(Api::<Secret>::namespaced(gantry.clone(), ns).get("postgres").await),
    );
    refused(
        "listing Secrets",
        code(Api::<Secret>::namespaced(gantry.clone(), ns).list(&ListParams::default()).await),
    );
    let apps: Api<DynamicObject> =
        Api::namespaced_with(gantry.clone(), &argocd, &applications_resource());
    refused("reading another team's Application", code(apps.get("another-team").await));
    refused("listing every Application", code(apps.list(&ListParams::default()).await));
    refused(
        "syncing another team's Application",
        code(
            apps.patch(
                "another-team",
                &PatchParams::default(),
                &Patch::Merge(json!({"operation": {"sync": {}}})),
            )
            .await,
        ),
    );
    let mine: Api<Deployment> = Api::namespaced(gantry.clone(), ns);
    let one = Patch::Merge(json!({"spec": {"replicas": 2}}));
    refused(
        "scaling an unlisted workload",
        code(mine.patch_scale("other", &PatchParams::default(), &one).await),
    );
    refused(
        "patching an unlisted workload",
        code(mine.patch("other", &PatchParams::default(), &one).await),
    );
    refused(
        "the autoscaler of an unlisted workload",
        code(autoscalers.patch("other", &PatchParams::default(), &bounds).await),
    );
    let web = deployments.get("web").await.unwrap();
    refused("an update (PUT)", code(mine.replace("web", &PostParams::default(), &web).await));
    refused("a delete", code(mine.delete("web", &DeleteParams::default()).await));
    let mut copy = other.clone();
    copy.metadata.name = Some("made-by-gantry".into());
    refused("creating a Deployment", code(mine.create(&PostParams::default(), &copy).await));
    let exec = http::Request::post(format!(
        "/api/v1/namespaces/{ns}/pods/{pod}/exec?command=sh&stdout=true"
    ))
    .body(Vec::new())
    .unwrap();
    refused("exec into a pod", code(gantry.request_text(exec).await));
    refused(
        "listing pods cluster-wide",
        code(Api::<Pod>::all(gantry.clone()).list(&ListParams::default()).await),
    );
    refused(
        "listing namespaces",
        code(Api::<Namespace>::all(gantry.clone()).list(&ListParams::default()).await),
    );
    refused(
        "reading another namespace",
        code(
            Api::<Deployment>::namespaced(gantry.clone(), &home).list(&ListParams::default()).await,
        ),
    );
}
