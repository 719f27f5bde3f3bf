//! What a contract case runs against: a simulated cluster or the real apiserver, each with
//! a fresh namespace, the Argo CD CRD and (on the real one) a stand-in kubelet.

use std::time::Duration;

use gantry_sim::{Options, Running};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use kube::Client;
use serde_json::json;

pub struct Target {
    pub client: Client,
    pub namespace: String,
    _simulator: Option<Running>,
    kubelet: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(k) = &self.kubelet {
            k.abort();
        }
    }
}

pub async fn simulated() -> Target {
    let sim = Running::start(Options { seed: false, speed: 10.0, ..Options::default() }, 0)
        .await
        .unwrap();
    let mut config = kube::Config::new(sim.url().parse().unwrap());
    config.default_retry = false;
    let client = Client::try_from(config).unwrap();
    prepare(client, Some(sim), false).await
}

pub async fn real() -> Target {
    let client = Client::try_from(real_config().await).unwrap();
    prepare(client, None, true).await
}

/// The real apiserver's admin (in system:masters: RBAC lets it do anything).
pub async fn real_config() -> kube::Config {
    let path = std::env::var("GANTRY_ORACLE_KUBECONFIG")
        .expect("GANTRY_ORACLE_KUBECONFIG is not set: run through ./run test, which starts the real apiserver");
    let kubeconfig = kube::config::Kubeconfig::read_from(path).unwrap();
    let mut config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    config.default_retry = false;
    config
}

pub fn applications_resource() -> ApiResource {
    ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Application".into(),
        plural: "applications".into(),
    }
}

/// A fresh namespace per test, the Argo CD CRD, and (on the real cluster, which runs no
/// kubelet) a stand-in kubelet that marks the namespace's pods running and ready.
pub async fn prepare(client: Client, simulator: Option<Running>, needs_kubelet: bool) -> Target {
    let namespace = format!("contract-{:x}", rand::random::<u32>());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap(),
        )
        .await
        .unwrap();
    let crds: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource {
            group: "apiextensions.k8s.io".into(),
            version: "v1".into(),
            api_version: "apiextensions.k8s.io/v1".into(),
            kind: "CustomResourceDefinition".into(),
            plural: "customresourcedefinitions".into(),
        },
    );
    let crd: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "applications.argoproj.io"},
        "spec": {"group": "argoproj.io", "scope": "Namespaced",
            "names": {"kind": "Application", "listKind": "ApplicationList", "plural": "applications", "singular": "application", "shortNames": ["app"]},
            "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]},
    }))
    .unwrap();
    let _ = crds.create(&PostParams::default(), &crd).await;
    let apps: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &namespace, &applications_resource());
    let served = || async { apps.list(&ListParams::default()).await.is_ok() };
    gantry_sim::wait::eventually(Duration::from_secs(30), "Applications to be served", served)
        .await;
    let kubelet =
        needs_kubelet.then(|| tokio::spawn(stand_in_kubelet(client.clone(), namespace.clone())));
    Target { client, namespace, _simulator: simulator, kubelet }
}

/// Marks every pod of the namespace Running and Ready (Job pods: Succeeded).
async fn stand_in_kubelet(client: Client, namespace: String) {
    let pods: Api<Pod> = Api::namespaced(client, &namespace);
    loop {
        if let Ok(list) = pods.list(&ListParams::default()).await {
            for pod in list.items {
                let phase = pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
                if phase == "Running" || phase == "Succeeded" {
                    continue;
                }
                let name = pod.metadata.name.clone().unwrap_or_default();
                let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                let status = json!({"status": {"phase": "Running", "conditions": [
                    {"type": "Ready", "status": "True", "lastTransitionTime": now},
                    {"type": "ContainersReady", "status": "True", "lastTransitionTime": now}]}});
                let _ =
                    pods.patch_status(&name, &PatchParams::default(), &Patch::Merge(status)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl Target {
    pub fn deployments(&self) -> Api<Deployment> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    pub fn apps(&self) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.namespace, &applications_resource())
    }

    pub async fn web(&self, replicas: i32) -> Deployment {
        let d: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web:1"}]}}},
        }))
        .unwrap();
        self.deployments().create(&PostParams::default(), &d).await.unwrap()
    }

    pub async fn app(&self) -> DynamicObject {
        let app: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "app"},
            "spec": {"project": "default", "source": {"repoURL": "https://git.example.org/app.git", "path": "overlays/dev", "targetRevision": "main"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": self.namespace}},
        }))
        .unwrap();
        self.apps().create(&PostParams::default(), &app).await.unwrap()
    }
}
