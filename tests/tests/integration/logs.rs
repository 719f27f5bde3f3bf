//! Logs against the simulated cluster: a pod's last lines then new ones, a workload's
//! pods merged, filters and trace ids, the previous run of a crash, the download, who
//! may read them (and the record of each read), the caps, sign-out, a page that does
//! not keep up, and refusals in words.

use std::time::Duration;

use gantry_sim::WorkloadFault;
use gantry_tests::logs::{running_pod, LogStream};
use gantry_tests::{eventually_some, spawn_on_simulator, TestApp};
use serde_json::{json, Value};
use sqlx::PgPool;

const DEV: &str = "co2-calculator-dev";

fn cluster(app: &TestApp) -> &gantry_sim::Cluster {
    &app.simulator.as_ref().expect("a simulated cluster").0
}

async fn pod(app: &TestApp, workload: &str) -> String {
    let cluster = cluster(app);
    eventually_some(Duration::from_secs(30), "a running pod", || async {
        running_pod(cluster, DEV, workload)
    })
    .await
}

/// Writes `text` into the pod's log now, as the container would.
fn write(app: &TestApp, pod: &str, text: &str) {
    let cluster = cluster(app);
    let now = cluster.clock().now();
    let container = cluster
        .store
        .get(gantry_sim::resources::ids::POD, DEV, pod)
        .ok()
        .and_then(|p| p["spec"]["containers"][0]["name"].as_str().map(str::to_owned))
        .unwrap_or_default();
    assert!(cluster.logs.write_now(DEV, pod, &container, now, text), "{pod} is not running");
}

/// One request through the application once its frontend, backend and worker run.
async fn make_request(app: &TestApp, path: &str) -> String {
    let url = &app.simulator.as_ref().expect("simulator").1;
    // Until they run and have started writing.
    eventually_some(Duration::from_secs(30), "a request through every pod it reaches", || async {
        let answer: Value = reqwest::Client::new()
            .post(format!("{url}/simulator/request"))
            .json(&json!({"namespace": DEV, "path": path}))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        // The worker logs only requests that queue a task.
        let wanted = if path.contains("compute") { 3 } else { 2 };
        let all = answer["pods"].as_array().map(Vec::len) == Some(wanted);
        all.then(|| answer["trace_id"].as_str().map(str::to_owned)).flatten()
    })
    .await
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_pods_last_lines_come_first_then_each_new_line_and_the_read_is_recorded(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let operator = app.client_as("operator").await;
    let backend = pod(&app, "backend").await;
    let mut stream =
        LogStream::open(&operator, &app.url(&format!("/api/logs?env=dev&pod={backend}"))).await;
    // The startup lines as columns: level, logger, message.
    let first = stream.until("app.main").await;
    assert!(first.contains(r#"<span class="log-level">INFO</span>"#), "{first}");
    assert!(first.contains("starting the CO2 calculator backend"), "{first}");
    write(
        &app,
        &backend,
        r#"{"level":"WARNING","logger":"app.test","message":"followed <marker>","trace_id":"feedc0de","user":"alice"}"#,
    );
    let seen = stream.until("followed &lt;marker&gt;").await;
    assert!(seen.contains(r#"<span class="log-kv"><b>user</b>=alice</span>"#), "{seen}");
    assert!(
        seen.contains(&format!(r#"href="/environments/dev/pods/{backend}?trace=feedc0de""#)),
        "{seen}"
    );
    // Bytes that are not UTF-8 are shown replaced, not dropped.
    let runs = cluster(&app).logs.runs(DEV, &backend, "backend");
    runs.last().expect("a run").append(cluster(&app).clock().now(), b"caf\xe9 au lait");
    stream.until("caf\u{fffd} au lait").await;
    // The pod changes (a restart, here a label): its state comes again on the stream.
    let store = &cluster(&app).store;
    store
        .update(gantry_sim::resources::ids::POD, DEV, &backend, None, |p| {
            let mut p = p.clone();
            p["metadata"]["labels"]["touched"] = json!("yes");
            Ok(p)
        })
        .unwrap();
    let state = stream.until(r#"id="pod-facts""#).await;
    assert!(state.contains("[pod]"), "{state}");
    let reads = gantry_tests::audit_events(&app.db, "log_read").await;
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0].0.as_deref(), Some("operator"));
    assert!(reads[0].1.as_deref().unwrap_or("").contains("last 200 lines, followed"), "{reads:?}");
    let object: Option<String> =
        sqlx::query_scalar("select object from audit_event where kind = 'log_read'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(object, Some(format!("Pod/{backend}")));
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_workload_merges_its_pods_and_a_trace_id_narrows_everything_to_one_request(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let operator = app.client_as("operator").await;
    let trace = make_request(&app, "/api/v1/footprint/compute").await;
    let other = make_request(&app, "/api/v1/units").await;
    // The whole stack's lines of that request: nginx's, the backend's, the worker's.
    for (workload, wanted) in [
        ("frontend", "POST /api/v1/footprint/compute"),
        ("backend", "queued a footprint computation"),
        ("celery-worker", "compute_footprint"),
    ] {
        let url =
            app.url(&format!("/api/logs?env=dev&workload={workload}&trace={trace}&follow=off"));
        let (rows, end) = LogStream::open(&operator, &url).await.to_end().await;
        assert!(rows.contains(wanted), "{workload}: {rows}");
        assert!(!rows.contains(&other), "{workload} shows another request: {rows}");
        assert!(end.contains("Not following"), "{end}");
        assert!(rows.contains(r#"<span class="log-pod">"#), "the pod column: {rows}");
    }
    // Two pods of the backend, merged by time, each line naming its pod.
    let pods: Vec<String> = {
        let (all, _) = cluster(&app).store.list(gantry_sim::resources::ids::POD, Some(DEV));
        all.iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "frontend")
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(pods.len() >= 2, "dev runs two frontends: {pods:?}");
    write(&app, &pods[0], "first of two");
    write(&app, &pods[1], "second of two");
    let url = app.url("/api/logs?env=dev&workload=frontend&follow=off&q=of+two");
    let (rows, _) = LogStream::open(&operator, &url).await.to_end().await;
    let (a, b) =
        (rows.find("first of two").expect("first"), rows.find("second of two").expect("second"));
    assert!(a < b, "merged by time: {rows}");
    assert!(rows.contains(&format!(r#"data-pod="{}""#, pods[1])), "{rows}");
    // Levels: warning and above keeps no INFO line.
    let url = app.url("/api/logs?env=dev&workload=backend&follow=off&level=warning");
    let (rows, _) = LogStream::open(&operator, &url).await.to_end().await;
    assert!(!rows.contains(">INFO<"), "{rows}");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_crash_looping_pod_says_why_and_shows_its_previous_run_by_default(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let operator = app.client_as("operator").await;
    cluster(&app).faults.set(WorkloadFault::CrashLoop, DEV, "backend", true);
    let crashed = eventually_some(Duration::from_secs(30), "a crash-looping backend", || async {
        let (pods, _) = cluster(&app).store.list(gantry_sim::resources::ids::POD, Some(DEV));
        let crashing = pods.iter().find(|p| {
            p["metadata"]["labels"]["app"] == "backend"
                && p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                    == "CrashLoopBackOff"
        })?;
        // Once the panel's view has it too.
        let name = crashing["metadata"]["name"].as_str()?.to_owned();
        let page = app.page_as(&operator, &format!("/environments/dev/pods/{name}")).await;
        page.contains("keeps crashing").then_some((name, page))
    })
    .await;
    let (name, page) = crashed;
    assert!(page.contains("CrashLoopBackOff"), "{page}");
    assert!(page.contains("Next step:"), "{page}");
    assert!(page.contains("previous (before the last restart)</option>"), "{page}");
    let url = app.url(&format!("/api/logs?env=dev&pod={name}"));
    let (rows, end) = LogStream::open(&operator, &url).await.to_end().await;
    assert!(rows.contains("Showing the run before the last restart"), "{rows}");
    assert!(rows.contains("Traceback (most recent call last):"), "{rows}");
    assert!(rows.contains("password authentication failed"), "{rows}");
    assert!(end.contains("previous run"), "{end}");
    // Its environment page links to it.
    let env_page = app.page_as(&operator, "/environments/dev").await;
    assert!(
        env_page.contains(&format!(r#"href="/environments/dev/pods/{name}""#)),
        "no link to the pod"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn stakeholders_may_not_read_logs_and_are_told_why(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let viewer = app.client_as("stakeholder").await;
    let backend = pod(&app, "backend").await;
    let refused =
        viewer.get(app.url(&format!("/api/logs?env=dev&pod={backend}"))).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    let reason = body["error"].as_str().unwrap_or("").to_owned();
    assert!(reason.contains("logs can hold personal data"), "{reason}");
    let download =
        viewer.get(app.url(&format!("/api/logs.txt?env=dev&pod={backend}"))).send().await.unwrap();
    assert_eq!(download.status(), 403);
    // The pod page is theirs to see; the logs panel says why there are no logs.
    let page = app.page_as(&viewer, &format!("/environments/dev/pods/{backend}")).await;
    assert!(
        page.contains(r#"id="logs-refused""#) && page.contains("operator role or above"),
        "{page}"
    );
    assert!(!page.contains("data-log-stream"), "{page}");
    let denied: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where kind = 'denied' and action = 'read_logs'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(denied >= 2, "each refusal is recorded");
    assert!(gantry_tests::audit_events(&app.db, "log_read").await.is_empty());
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_download_is_the_lines_as_text_and_the_apis_refusals_come_back_in_words(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let operator = app.client_as("operator").await;
    let backend = pod(&app, "backend").await;
    write(&app, &backend, "downloaded marker");
    let answer = operator
        .get(app.url(&format!("/api/logs.txt?env=dev&pod={backend}")))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        answer.headers()["content-disposition"],
        format!("attachment; filename=\"{backend}.log\"")
    );
    let text = answer.text().await.unwrap();
    let last = text.lines().last().unwrap_or("");
    let (stamp, rest) = last.split_once(' ').unwrap_or_default();
    assert!(chrono::DateTime::parse_from_rfc3339(stamp).is_ok(), "{last}");
    assert_eq!(rest, "downloaded marker");
    // A pod whose image cannot be pulled has no log: Kubernetes says why, and so do we.
    cluster(&app).faults.set(WorkloadFault::ImageNeverPulls, DEV, "backend", true);
    let stuck = eventually_some(Duration::from_secs(30), "a pod waiting for its image", || async {
        let (pods, _) = cluster(&app).store.list(gantry_sim::resources::ids::POD, Some(DEV));
        let name = pods.iter().find(|p| {
            p["metadata"]["labels"]["app"] == "backend"
                && p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("ImagePull") || r == "ErrImagePull")
        })?["metadata"]["name"]
            .as_str()?
            .to_owned();
        app.context.live.watches()[0].pod(&name).is_some().then_some(name)
    });
    // A rollout makes the new pod that cannot pull.
    let url = &app.simulator.as_ref().unwrap().1;
    reqwest::Client::new().post(format!("{url}/simulator/git")).json(&json!({"application": "co2-calculator-dev", "reference": "main", "images": {"backend": "registry.example.org/co2-calculator/backend:9.9.9"}})).send().await.unwrap();
    let stuck = stuck.await;
    let url = app.url(&format!("/api/logs.txt?env=dev&pod={stuck}&previous=off"));
    // The client's kept connection may have idled past the server's 10 s header timeout
    // while the test waited, and meet its closing: once more, on a new connection.
    let answer = match operator.get(&url).send().await {
        Ok(answer) => answer,
        Err(_) => operator.get(&url).send().await.unwrap(),
    };
    assert_eq!(answer.status(), 503);
    let body: Value = answer.json().await.unwrap();
    assert!(body["error"].as_str().unwrap_or("").contains("is waiting to start"), "{body}");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn bad_choices_and_unknown_pods_are_refused_in_words(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let operator = app.client_as("operator").await;
    let backend = pod(&app, "backend").await;
    for (query, status, words) in [
        (format!("env=dev&pod={backend}&tail=0"), 400, "from 1 to 5000"),
        (format!("env=dev&pod={backend}&container=sidecar"), 400, "has no container “sidecar”"),
        (format!("env=dev&pod={backend}&previous=on"), 400, "has not restarted"),
        ("env=dev&pod=backend-gone-1".to_owned(), 404, "There is no pod named “backend-gone-1”"),
        ("env=dev&workload=nothing".to_owned(), 404, "no workload named “nothing”"),
        ("env=nowhere&pod=x".to_owned(), 404, "Known environments"),
        ("pod=x".to_owned(), 400, "Name the environment"),
    ] {
        let answer = operator.get(app.url(&format!("/api/logs?{query}"))).send().await.unwrap();
        assert_eq!(answer.status(), status, "{query}");
        let body: Value = answer.json().await.unwrap();
        assert!(body["error"].as_str().unwrap_or("").contains(words), "{query}: {body}");
    }
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn streams_are_capped_per_person_and_end_on_sign_out(db: PgPool) {
    let app = spawn_on_simulator(db, &[("GANTRY_LOG_STREAMS_PER_PERSON", "2")]).await;
    let operator = app.client_as("operator").await;
    let backend = pod(&app, "backend").await;
    let url = app.url(&format!("/api/logs?env=dev&pod={backend}"));
    let mut first = LogStream::open(&operator, &url).await;
    let _second = LogStream::open(&operator, &url).await;
    // The same person in another session is the same person.
    let again = app.client_as("operator").await;
    let refused = again.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().unwrap_or("").contains("2 log streams open"), "{body}");
    assert_eq!(app.client_as("admin").await.get(&url).send().await.unwrap().status(), 200);
    first.until("app.main").await;
    assert_eq!(operator.post(app.url("/auth/logout")).send().await.unwrap().status(), 303);
    let (_, end) = first.to_end().await;
    assert!(end.contains("signed out"), "{end}");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_page_that_stops_reading_is_cut_off_rather_than_buffered(db: PgPool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_on_simulator(db, &[]).await;
    let backend = pod(&app, "backend").await;
    let signed_in = gantry_tests::anonymous_client()
        .post(app.url("/auth/demo"))
        .form(&[("person", "operator"), ("next", "/")])
        .send()
        .await
        .unwrap();
    let cookie = gantry_tests::session_cookie(&signed_in).expect("a session");
    let cut_before = gantry_app::logs::follow::CUT_OFF.load(std::sync::atomic::Ordering::SeqCst);
    // A reader with a small window that reads nothing after asking: the kernel's
    // buffers fill in megabytes, not in the tens a browser's socket may grow to.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut reader = socket.connect(app.address).await.unwrap();
    let ask = format!(
        "GET /api/logs?env=dev&pod={backend} HTTP/1.1\r\nHost: {}\r\nCookie: gantry_session={cookie}\r\n\r\n",
        app.address
    );
    reader.write_all(ask.as_bytes()).await.unwrap();
    // The pod writes far more than the sockets and the backlog hold.
    let line = format!(r#"{{"level":"INFO","logger":"flood","message":"{}"}}"#, "x".repeat(8_000));
    let block = vec![line.as_str(); 30].join("\n");
    // Minutes, on a loaded machine: the kernel's buffers fill before the backlog does.
    eventually_some(Duration::from_secs(300), "the stream to be cut off", || async {
        write(&app, &backend, &block);
        let now = gantry_app::logs::follow::CUT_OFF.load(std::sync::atomic::Ordering::SeqCst);
        (now > cut_before).then_some(())
    })
    .await;
    // Read again: what was sent, then the reason, then the end of the response.
    let mut seen = Vec::new();
    let mut buf = vec![0_u8; 1 << 16];
    let told = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let n = reader.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return false;
            }
            seen.extend_from_slice(&buf[..n]);
            let tail = &seen[seen.len().saturating_sub(4096)..];
            if String::from_utf8_lossy(tail).contains("left 256 lines unread") {
                return true;
            }
        }
    })
    .await;
    assert_eq!(told, Ok(true), "no reason after the lines");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_pod_with_several_containers_offers_the_choice(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let operator = app.client_as("operator").await;
    let pod = serde_json::json!({
        "metadata": {"name": "report-0", "labels": {"app": "report"}},
        "spec": {"containers": [{"name": "app", "image": "r/report:1"}, {"name": "sidecar", "image": "r/proxy:1"}]},
    });
    let pod =
        gantry_sim::admission::prepare_create(gantry_sim::resources::ids::POD, DEV, pod).unwrap();
    cluster(&app).store.create(gantry_sim::resources::ids::POD, pod).unwrap();
    eventually_some(Duration::from_secs(30), "both containers running with a log", || async {
        let logs = &cluster(&app).logs;
        let seen = app.context.live.watches()[0].pod("report-0")?;
        let statuses = seen.status.as_ref()?.container_statuses.as_ref()?;
        let running = statuses.len() == 2
            && statuses.iter().all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()));
        (running && !logs.runs(DEV, "report-0", "sidecar").is_empty()).then_some(())
    })
    .await;
    write(&app, "report-0", "from the first container");
    let runs = cluster(&app).logs.runs(DEV, "report-0", "sidecar");
    runs.last().unwrap().append(cluster(&app).clock().now(), b"from the sidecar");
    let page = app.page_as(&operator, "/environments/dev/pods/report-0").await;
    assert!(
        page.contains(r#"<select name="container">"#)
            && page.contains(r#"<option value="sidecar">"#),
        "{page}"
    );
    // The first container by default, as kubectl picks it; the other when asked.
    let url = app.url("/api/logs?env=dev&pod=report-0&follow=off");
    let (rows, _) = LogStream::open(&operator, &url).await.to_end().await;
    assert!(
        rows.contains("from the first container") && !rows.contains("from the sidecar"),
        "{rows}"
    );
    let url = app.url("/api/logs?env=dev&pod=report-0&follow=off&container=sidecar");
    let (rows, _) = LogStream::open(&operator, &url).await.to_end().await;
    assert!(
        rows.contains("from the sidecar") && !rows.contains("from the first container"),
        "{rows}"
    );
    app.stop().await;
}
