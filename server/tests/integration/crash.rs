//! A server killed (SIGKILL) while it runs an action: at restart it settles the request
//! by looking at the cluster — done or not done — and never runs it a second time. The
//! simulated cluster runs in this test, so it outlives the server.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gantry_sim::resources::ids::DEPLOYMENT;
use gantry_sim::wait::{eventually, eventually_some};

const BIN: &str = env!("CARGO_BIN_EXE_gantry");

/// Starts `gantry` on the given database and kubeconfig; returns it and its address.
fn start(database: &str, kubeconfig: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GANTRY_DATABASE_URL", database)
        .env("GANTRY_LISTEN", "127.0.0.1:0")
        .env("GANTRY_METRICS_LISTEN", "127.0.0.1:0")
        // The simulated cluster through a kubeconfig: to Gantry, a real one.
        .env("GANTRY_ALLOW_DEMO_ON_A_REAL_CLUSTER", "true")
        .env("GANTRY_LOG_FORMAT", "json")
        .env("GANTRY_SITE_ROOT", "/nonexistent")
        .env("GANTRY_CLUSTER", "kubeconfig")
        .env("KUBECONFIG", kubeconfig)
        .env("GANTRY_AUTH_MODE", "demo")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let address = loop {
        assert!(Instant::now() < deadline, "gantry did not start");
        let line = lines.next().expect("gantry stopped early").unwrap();
        let record: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(url) = record["message"].as_str().and_then(|m| m.split("http://").nth(1)) {
            break url.to_owned();
        }
    };
    // Keep reading so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, address)
}

async fn ready(client: &reqwest::Client, address: &str) {
    let url = format!("http://{address}/ready");
    let ready = || async { client.get(&url).send().await.is_ok_and(|r| r.status() == 200) };
    eventually(Duration::from_secs(30), "gantry to be ready", ready).await;
}

async fn state(db: &sqlx::PgPool) -> Option<(i64, String)> {
    sqlx::query_as::<_, (i64, String)>("select request_id, state from action_request")
        .fetch_optional(db)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_server_killed_while_executing_settles_the_request_at_restart(db: sqlx::PgPool) {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set by ./run test");
    let name = db.connect_options().get_database().unwrap().to_owned();
    let database = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    let cluster = gantry_sim::Running::start(gantry_sim::Options::default(), 0).await.unwrap();
    let dir = std::env::temp_dir().join(format!("gantry-crash-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, cluster.kubeconfig()).unwrap();

    let (mut first, address) = start(&database, &kubeconfig);
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    ready(&client, &address).await;
    let signed_in = client
        .post(format!("http://{address}/auth/demo"))
        .form(&[("person", "developer"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert!(signed_in.status().is_success() || signed_in.status().is_redirection());
    let namespace = "co2-calculator-dev";
    let before = cluster.cluster.store.get(DEPLOYMENT, namespace, "frontend").unwrap()["spec"]
        ["replicas"]
        .as_i64()
        .unwrap();
    let to = if before == 1 { 2 } else { 1 };
    let writes_before = cluster.cluster.requests.snapshot().writes;

    // The API answers slowly: the server is caught in the middle of the write.
    cluster.cluster.faults.set_delay(Duration::from_secs(3));
    let asking = tokio::spawn({
        let client = client.clone();
        let url = format!("http://{address}/api/actions");
        async move {
            let body = serde_json::json!({"environment": "dev", "action": "scale", "workload": "frontend", "replicas": to});
            let _ = client.post(url).json(&body).send().await;
        }
    });
    let id = eventually_some(Duration::from_secs(20), "the request to be executing", || async {
        state(&db).await.filter(|(_, s)| s == "executing").map(|(id, _)| id)
    })
    .await;
    first.kill().unwrap();
    first.wait().unwrap();
    asking.abort();
    assert_eq!(state(&db).await, Some((id, "executing".to_owned())), "left executing by the kill");
    cluster.cluster.faults.set_delay(Duration::ZERO);
    // Whatever was already on its way reaches the cluster (or not) before the restart.
    let faults = &cluster.cluster.faults;
    let quiet = || async { faults.answering() == 0 };
    eventually(Duration::from_secs(20), "the cluster to answer what it was holding", quiet).await;

    let (mut second, _) = start(&database, &kubeconfig);
    let settled = eventually_some(Duration::from_secs(30), "the request to be settled", || async {
        Some(state(&db).await.unwrap().1).filter(|s| s != "executing")
    })
    .await;
    let now = cluster.cluster.store.get(DEPLOYMENT, namespace, "frontend").unwrap()["spec"]
        ["replicas"]
        .as_i64()
        .unwrap();
    let (result,): (String,) =
        sqlx::query_as("select result from action_request where request_id = $1")
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap();
    match settled.as_str() {
        "succeeded" => {
            assert_eq!(now, to, "{result}");
            assert!(result.contains("the change is in place"), "{result}");
        }
        "failed" => {
            assert_eq!(now, before, "{result}");
            assert!(result.contains("not run again"), "{result}");
        }
        other => panic!("not settled: {other} ({result})"),
    }
    eprintln!("request {id} settled as {settled}: {result}");
    let writes = cluster.cluster.requests.snapshot().writes - writes_before;
    assert!(writes <= 1, "the action was written {writes} times");
    let kinds: Vec<String> = sqlx::query_scalar(
        "select kind from audit_event where request_id = $1 order by audit_event_id",
    )
    .bind(id)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(kinds.iter().filter(|k| *k == "action_started").count(), 1, "{kinds:?}");
    assert_eq!(kinds.last().map(String::as_str), Some(format!("action_{settled}").as_str()));
    second.kill().unwrap();
    second.wait().unwrap();
    let _ = std::fs::remove_dir_all(dir);
    cluster.stop().await;
}
