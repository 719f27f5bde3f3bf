//! `kubectl logs` against the simulated cluster: `--tail`, `--since`, `-f`, `--previous`
//! and `-c` as against a real cluster, with the kubelet's refusals; and the ages
//! `kubectl get` prints.

use std::time::Duration;

use gantry_sim::resources::ids;
use serde_json::json;
use tokio::io::AsyncBufReadExt;

use super::kubectl::{settle, Kubectl};

const DEV: &str = "co2-calculator-dev";

/// The first running pod of `app` in dev.
fn pod_of(k: &Kubectl, app: &str) -> String {
    let (pods, _) = k.sim.cluster.store.list(ids::POD, Some(DEV));
    pods.iter()
        .find(|p| {
            p["metadata"]["labels"]["app"] == app
                && p["status"]["containerStatuses"][0]["state"].get("running").is_some()
        })
        .and_then(|p| p["metadata"]["name"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no running {app} pod"))
}

async fn control(k: &Kubectl, path: &str, body: serde_json::Value) -> serde_json::Value {
    let answer = reqwest::Client::new()
        .post(format!("{}{path}", k.sim.url()))
        .json(&body)
        .send()
        .await
        .expect("control API answers");
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.expect("JSON")
}

#[tokio::test]
async fn logs_tail_since_and_follow_work() {
    let k = Kubectl::start().await;
    settle(&k).await;
    let pod = pod_of(&k, "backend");
    // The backend's startup lines are there at once, as JSON.
    let all = k.ok(&["-n", DEV, "logs", &pod]).await;
    assert!(all.contains("\"logger\":\"app.main\""), "{all}");
    for line in ["one", "two", "three"] {
        control(
            &k,
            "/simulator/logs",
            json!({"namespace": DEV, "pod": pod, "text": format!("marker {line}")}),
        )
        .await;
    }
    let tail = k.ok(&["-n", DEV, "logs", &pod, "--tail=2"]).await;
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(lines.len(), 2, "{tail}");
    assert!(lines.iter().all(|l| !l.contains("marker one")), "{tail}");
    let stamped = k.ok(&["-n", DEV, "logs", &pod, "--tail=1", "--timestamps"]).await;
    let stamp = stamped.split(' ').next().unwrap_or("");
    assert!(chrono::DateTime::parse_from_rfc3339(stamp).is_ok(), "{stamped}");
    let recent = k.ok(&["-n", DEV, "logs", &pod, "--since=1h"]).await;
    assert!(recent.contains("marker three"), "{recent}");
    // kubectl logs deploy/… picks a pod of the Deployment.
    let by_workload = k.ok(&["-n", DEV, "logs", "deploy/backend", "--tail=1"]).await;
    assert_eq!(by_workload.lines().count(), 1, "{by_workload}");

    // -f: a line written after kubectl started reaches it.
    let mut child = tokio::process::Command::new(Kubectl::binary())
        .args(["-n", DEV, "logs", "-f", "--tail=1", &pod])
        .env("KUBECONFIG", &k.kubeconfig)
        .env("HOME", std::env::temp_dir())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("kubectl logs -f starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    // The stream is open once the tail has arrived.
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
    assert!(matches!(first, Ok(Ok(Some(_)))), "no tail from kubectl logs -f");
    control(
        &k,
        "/simulator/logs",
        json!({"namespace": DEV, "pod": pod, "text": "followed marker"}),
    )
    .await;
    let seen = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line == "followed marker" {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(seen, Ok(true), "kubectl logs -f did not print the new line");
    let _ = child.start_kill();
    let _ = child.wait().await;
    k.stop().await;
}

#[tokio::test]
async fn previous_shows_the_crash_and_refusals_are_the_kubelets() {
    let k = Kubectl::start().await;
    settle(&k).await;
    let healthy = pod_of(&k, "backend");
    let refused = k.run(&["-n", DEV, "logs", &healthy, "--previous"]).await;
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("previous terminated container \"backend\""), "{why}");
    let wrong = k.run(&["-n", DEV, "logs", &healthy, "-c", "sidecar"]).await;
    let why = String::from_utf8_lossy(&wrong.stderr);
    assert!(why.contains("container sidecar is not valid for pod"), "{why}");
    let gone = k.run(&["-n", DEV, "logs", "backend-gone-12345"]).await;
    let why = String::from_utf8_lossy(&gone.stderr);
    assert!(why.contains("pods \"backend-gone-12345\" not found"), "{why}");

    k.sim.cluster.faults.set(gantry_sim::WorkloadFault::CrashLoop, DEV, "backend", true);
    // Once the kubelet has restarted it, the previous run ends with the traceback.
    let cluster = &k.sim.cluster;
    let pod = healthy.clone();
    gantry_sim::wait::eventually(Duration::from_secs(30), "the backend to crash-loop", || async {
        cluster.store.get(ids::POD, DEV, &pod).is_ok_and(|p| {
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        })
    })
    .await;
    let previous = gantry_sim::wait::eventually_some(
        Duration::from_secs(30),
        "the crash in the previous log",
        || async {
            let out = k.run(&["-n", DEV, "logs", &pod, "--previous"]).await;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.contains("Traceback (most recent call last):").then_some(text)
        },
    )
    .await;
    assert!(previous.contains("starting the CO2 calculator backend"), "{previous}");
    let last = k.ok(&["-n", DEV, "logs", &pod, "--previous", "--tail=1"]).await;
    assert!(last.contains("password authentication failed"), "{last}");
    k.stop().await;
}

#[tokio::test]
async fn get_prints_ages_and_restarts_as_a_real_apiserver_does() {
    let k = Kubectl::start().await;
    settle(&k).await;
    let pods = k.ok(&["-n", DEV, "get", "pods"]).await;
    let age = regex_like_age(pods.lines().nth(1).unwrap_or(""));
    assert!(age, "the AGE column is not an age: {pods}");
    let deployments = k.ok(&["-n", DEV, "get", "deploy"]).await;
    assert!(regex_like_age(deployments.lines().nth(1).unwrap_or("")), "{deployments}");
    k.stop().await;
}

/// Whether the row's last column reads like `5s`, `3m`, `2m10s`.
fn regex_like_age(row: &str) -> bool {
    let last = row.split_whitespace().last().unwrap_or("");
    !last.is_empty()
        && last.chars().all(|c| c.is_ascii_digit() || "smhdy".contains(c))
        && last.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// The log controls refuse what names nothing, without repeating it.
#[tokio::test]
async fn the_log_controls_refuse_hostile_names_without_repeating_them() {
    let k = Kubectl::start().await;
    let hostile = "\"'></title></script><x-probe>";
    let http = reqwest::Client::new();
    for (path, body, status) in [
        ("/simulator/logs", json!({"namespace": hostile, "pod": "x", "text": "a"}), 404),
        ("/simulator/logs", json!({"namespace": DEV, "pod": hostile, "text": "a"}), 404),
        ("/simulator/request", json!({"namespace": hostile, "path": hostile}), 409),
    ] {
        let answer = http.post(format!("{}{path}", k.sim.url())).json(&body).send().await.unwrap();
        assert_eq!(answer.status().as_u16(), status, "{path} {body}");
        let text = answer.text().await.unwrap();
        assert!(!text.contains("x-probe"), "{path}: {text}");
    }
    k.stop().await;
}
