//! The real kubectl (1.33) against the simulated cluster: the commands an operator would
//! type must work as against a real apiserver. Needs GANTRY_KUBECTL (set by ./run test;
//! scripts/bootstrap.sh installs kubectl).

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use gantry_sim::resources::ids;
use gantry_sim::{Options, Running};
use serde_json::Value;

pub struct Kubectl {
    pub sim: Running,
    pub kubeconfig: PathBuf,
}

impl Kubectl {
    pub async fn start() -> Self {
        let sim = Running::start(Options { speed: 20.0, ..Options::default() }, 0)
            .await
            .expect("simulator");
        let kubeconfig = std::env::temp_dir().join(format!(
            "gantry-sim-{}-{}.kubeconfig",
            std::process::id(),
            sim.addr.port()
        ));
        std::fs::write(&kubeconfig, sim.kubeconfig()).expect("kubeconfig written");
        Self { sim, kubeconfig }
    }

    pub fn binary() -> String {
        std::env::var("GANTRY_KUBECTL")
            .expect("GANTRY_KUBECTL is not set: run through ./run test (scripts/bootstrap.sh installs kubectl)")
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(Self::binary())
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", std::env::temp_dir())
            .output()
            .await
            .expect("kubectl runs")
    }

    /// Runs kubectl and returns its standard output, failing the test on a non-zero exit.
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "kubectl {args:?} failed:\n{stdout}\n{stderr}");
        stdout
    }

    pub async fn stop(self) {
        let _ = std::fs::remove_file(&self.kubeconfig);
        self.sim.stop().await;
    }
}

/// Until the seeded cluster has settled: every Deployment's rollout complete (the
/// commands below report on them).
pub async fn settle(k: &Kubectl) {
    let cluster = &k.sim.cluster;
    let settled = || async {
        let (deployments, _) = cluster.store.list(ids::DEPLOYMENT, None);
        deployments.iter().all(|d| {
            let (spec, status) = (&d["spec"], &d["status"]);
            status["observedGeneration"] == d["metadata"]["generation"]
                && status["updatedReplicas"] == spec["replicas"]
                && status["availableReplicas"] == spec["replicas"]
        })
    };
    gantry_sim::wait::eventually(Duration::from_secs(30), "every rollout to complete", settled)
        .await;
}

#[tokio::test]
async fn get_prints_tables_and_json() {
    let k = Kubectl::start().await;
    settle(&k).await;
    let table = k.ok(&["get", "deploy"]).await;
    let header = table.lines().next().unwrap_or("");
    for column in ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] {
        assert!(header.contains(column), "{table}");
    }
    assert!(table.lines().any(|l| l.starts_with("backend ")), "{table}");
    let json: Value = serde_json::from_str(&k.ok(&["get", "deploy", "-o", "json"]).await).unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 4);
    let selected = k.ok(&["get", "deploy", "-l", "app=backend", "-o", "name"]).await;
    assert_eq!(selected.trim(), "deployment.apps/backend");
    let pods = k.ok(&["get", "pods"]).await;
    assert!(pods.lines().next().unwrap_or("").contains("STATUS"), "{pods}");
    let all = k.ok(&["get", "sts,cronjobs,hpa", "-A"]).await;
    assert!(
        all.contains("postgres") && all.contains("db-backup") && all.contains("backend"),
        "{all}"
    );
    k.stop().await;
}

#[tokio::test]
async fn scale_and_rollout_commands_work() {
    let k = Kubectl::start().await;
    settle(&k).await;
    let out =
        k.ok(&["-n", "co2-calculator-prod", "scale", "deploy/frontend", "--replicas=4"]).await;
    assert_eq!(out.trim(), "deployment.apps/frontend scaled");
    let d = k.sim.cluster.store.get(ids::DEPLOYMENT, "co2-calculator-prod", "frontend").unwrap();
    assert_eq!(d["spec"]["replicas"], 4);

    let out = k
        .ok(&["-n", "co2-calculator-prod", "rollout", "status", "deploy/frontend", "--timeout=60s"])
        .await;
    assert!(out.contains("successfully rolled out"), "{out}");
    // The scale shows in `kubectl get`.
    let row =
        k.ok(&["-n", "co2-calculator-prod", "get", "deploy", "frontend", "--no-headers"]).await;
    assert_eq!(row.split_whitespace().nth(1), Some("4/4"), "{row}");

    k.ok(&[
        "-n",
        "co2-calculator-prod",
        "set",
        "image",
        "deploy/frontend",
        "frontend=registry.example.org/co2-calculator/frontend:1.8.3",
    ])
    .await;
    let out = k
        .ok(&["-n", "co2-calculator-prod", "rollout", "status", "deploy/frontend", "--timeout=60s"])
        .await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let history =
        k.ok(&["-n", "co2-calculator-prod", "rollout", "history", "deploy/frontend"]).await;
    assert!(
        history.contains("REVISION")
            && history.lines().filter(|l| l.starts_with('1') || l.starts_with('2')).count() == 2,
        "{history}"
    );

    let out = k
        .ok(&["-n", "co2-calculator-prod", "rollout", "undo", "deploy/frontend", "--to-revision=1"])
        .await;
    assert!(out.contains("rolled back"), "{out}");
    k.ok(&["-n", "co2-calculator-prod", "rollout", "status", "deploy/frontend", "--timeout=60s"])
        .await;
    let d = k.sim.cluster.store.get(ids::DEPLOYMENT, "co2-calculator-prod", "frontend").unwrap();
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.org/co2-calculator/frontend:1.8.2"
    );
    assert_eq!(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3");
    let image = k
        .ok(&[
            "-n",
            "co2-calculator-prod",
            "get",
            "deploy",
            "frontend",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
        .await;
    assert_eq!(image, "registry.example.org/co2-calculator/frontend:1.8.2", "undo visible in get");

    let out = k.ok(&["-n", "co2-calculator-prod", "rollout", "restart", "deploy/backend"]).await;
    assert!(out.contains("restarted"), "{out}");
    let restarted = k
        .ok(&[
            "-n",
            "co2-calculator-prod",
            "get",
            "deploy",
            "backend",
            "-o",
            r"jsonpath={.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}",
        ])
        .await;
    assert!(restarted.starts_with("20"), "restart visible in get: {restarted:?}");
    // The Deployment controller makes the new ReplicaSet after the patch returns: wait
    // for it rather than read the list at once (a loaded machine showed the old one only).
    let two = || async {
        let sets = k
            .ok(&["-n", "co2-calculator-prod", "get", "rs", "-l", "app=backend", "--no-headers"])
            .await;
        sets.lines().count() >= 2
    };
    gantry_sim::wait::eventually(Duration::from_secs(20), "a new ReplicaSet", two).await;
    k.stop().await;
}

#[tokio::test]
async fn argo_cd_applications_are_listed_and_patched() {
    let k = Kubectl::start().await;
    let apps = k.ok(&["-n", "argocd", "get", "applications"]).await;
    assert!(apps.lines().next().unwrap_or("").contains("SYNC STATUS"), "{apps}");
    assert_eq!(apps.lines().filter(|l| l.starts_with("co2-calculator-")).count(), 3, "{apps}");
    let short = k
        .ok(&[
            "-n",
            "argocd",
            "get",
            "app",
            "co2-calculator-prod",
            "-o",
            "jsonpath={.spec.source.targetRevision}",
        ])
        .await;
    assert_eq!(short, "v1.8.2");
    let out = k
        .ok(&["-n", "argocd", "patch", "app", "co2-calculator-prod", "--type", "merge", "-p",
            r#"{"operation":{"initiatedBy":{"username":"panel"},"sync":{"revision":"v1.8.2","prune":true}}}"#])
        .await;
    assert!(out.contains("patched"), "{out}");
    let refused = k
        .run(&[
            "-n",
            "argocd",
            "patch",
            "app",
            "co2-calculator-prod",
            "--type",
            "strategic",
            "-p",
            r#"{"metadata":{"labels":{"x":"y"}}}"#,
        ])
        .await;
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("the body of the request was in an unknown format"), "{why}");
    k.stop().await;
}

#[tokio::test]
async fn get_watch_prints_changes_as_they_happen() {
    let k = Kubectl::start().await;
    settle(&k).await;
    let mut child = tokio::process::Command::new(Kubectl::binary())
        .args([
            "-n",
            "co2-calculator-staging",
            "get",
            "deploy",
            "redis",
            "-w",
            "--output-watch-events",
        ])
        .env("KUBECONFIG", &k.kubeconfig)
        .env("HOME", std::env::temp_dir())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("kubectl -w starts");
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut text = String::new();
    // Reads kubectl's lines until one matches, for at most 30 s.
    let mut until = async |wanted: &dyn Fn(&str) -> bool, text: &mut String| {
        let read = async {
            while let Some(line) = lines.next_line().await.expect("kubectl's output") {
                text.push_str(&line);
                text.push('\n');
                if wanted(&line) {
                    return true;
                }
            }
            false
        };
        tokio::time::timeout(Duration::from_secs(30), read).await.unwrap_or(false)
    };
    // The watch is open once kubectl has printed the object as it is.
    let added = until(&|l: &str| l.starts_with("ADDED"), &mut text).await;
    assert!(added, "no ADDED line: {text}");
    k.ok(&["-n", "co2-calculator-staging", "scale", "deploy/redis", "--replicas=2"]).await;
    let modified =
        until(&|l: &str| l.starts_with("MODIFIED") && l.contains("redis"), &mut text).await;
    assert!(modified, "no MODIFIED line for redis: {text}");
    let _ = child.start_kill();
    let _ = child.wait().await;
    k.stop().await;
}
