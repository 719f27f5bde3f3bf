//! Live status over HTTP against the simulated cluster: the `/api/live` stream (current
//! state first, then changes, filtered per environment; stale and recovered), the
//! environment and workload pages, and what all of it costs the Kubernetes API.

use std::time::Duration;

use gantry_sim::resources::ids::DEPLOYMENT;
use gantry_tests::{eventually_some, spawn_on_simulator, TestApp};
use serde_json::{json, Value};
use sqlx::PgPool;

/// Server-sent events read off a streaming response.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(app: &TestApp, query: &str) -> Self {
        let response = app.get(&format!("/api/live{query}")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self { response, buffer: String::new() }
    }

    /// The next `status` event's data; None when the stream ends or stays quiet for 10 s.
    async fn next(&mut self) -> Option<Value> {
        self.next_named("status").await
    }

    /// The next event called `name`.
    async fn next_named(&mut self, name: &str) -> Option<Value> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = "";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event: ") {
                        event = name;
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data.push_str(d);
                    }
                }
                if event == name {
                    return Some(serde_json::from_str(&data).expect("events carry JSON"));
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .ok()?
                .ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Reads until `check` holds; every status read is handed to `seen` first.
    async fn until(
        &mut self,
        what: &str,
        mut seen: impl FnMut(&Value),
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        for _ in 0..200 {
            let status = self.next().await.unwrap_or_else(|| panic!("stream ended before {what}"));
            seen(&status);
            if check(&status) {
                return status;
            }
        }
        panic!("no status with {what}");
    }
}

fn desired(status: &Value, workload: &str) -> i64 {
    status["workloads"]
        .as_array()
        .and_then(|ws| ws.iter().find(|w| w["name"] == workload))
        .and_then(|w| w["desired"].as_i64())
        .unwrap_or(-1)
}

fn scale(app: &TestApp, namespace: &str, workload: &str, replicas: i64) {
    let (cluster, _) = app.simulator.as_ref().unwrap();
    cluster
        .store
        .update(DEPLOYMENT, namespace, workload, None, |d| {
            let mut next = d.clone();
            next["spec"]["replicas"] = json!(replicas);
            Ok(next)
        })
        .unwrap();
}

async fn api_requests(app: &TestApp) -> Value {
    let (_, url) = app.simulator.as_ref().unwrap();
    reqwest::get(format!("{url}/simulator/requests")).await.unwrap().json().await.unwrap()
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_stream_sends_the_current_state_then_only_its_environments_changes(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let mut dev = Events::open(&app, "?env=dev").await;
    let first = dev.next().await.unwrap();
    assert_eq!(first["name"], "dev", "the current state comes first");
    let before = desired(&first, "frontend");
    assert!(before > 0, "{first}");

    // A change elsewhere first, then one in dev: the dev stream carries only dev.
    scale(&app, "co2-calculator-staging", "frontend", 4);
    scale(&app, "co2-calculator-dev", "frontend", before + 1);
    let mut others = Vec::new();
    dev.until(
        "the new frontend scale",
        |s| {
            if s["name"] != "dev" {
                others.push(s["name"].to_string());
            }
        },
        |s| desired(s, "frontend") == before + 1,
    )
    .await;
    assert!(others.is_empty(), "a dev stream carried {others:?}");

    // Without a filter, a stream carries every environment, each current state first.
    let mut all = Events::open(&app, "").await;
    let mut names = Vec::new();
    for _ in 0..3 {
        names.push(all.next().await.unwrap()["name"].as_str().unwrap().to_owned());
    }
    names.sort();
    assert_eq!(names, ["dev", "prod", "staging"]);
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_stream_carries_the_form_a_page_asks_for(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let mut cards = Events::open(&app, "?env=prod&view=card").await;
    let card = cards.next_named("card").await.unwrap();
    assert_eq!(card["name"], "prod");
    assert_eq!(card["version"], "1.8.2");
    assert!(card["plain"].is_string() && card["workloads"].is_null(), "{card}");
    let mut details = Events::open(&app, "?env=prod&view=detail").await;
    let detail = details.next_named("detail").await.unwrap();
    assert_eq!(detail["name"], "prod");
    let html = detail["environment"].as_str().unwrap();
    assert!(
        html.contains("data-table=\"workloads\"") && html.contains("id=\"env-health\""),
        "{html}"
    );
    assert_eq!(detail["workloads"].as_array().map(Vec::len), Some(5));
    assert!(detail["workloads"][0][1].as_str().unwrap().contains("data-table=\"revisions\""));
    let response = app.get("/api/live?view=yaml").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "view=\"yaml\" is not one of status, detail, card");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn an_unknown_environment_is_refused_with_the_known_ones(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let response = app.get("/api/live?env=dev&env=qa").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"],
        "there is no environment named \"qa\"; known environments: dev, staging, prod"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn an_outage_streams_as_stale_with_the_last_state_and_recovery_clears_it(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let mut prod = Events::open(&app, "?env=prod").await;
    let fresh = prod.until("healthy", |_| {}, |s| s["verdict"]["health"] == "Healthy").await;
    let (cluster, _) = app.simulator.as_ref().unwrap();
    cluster.faults.set_unavailable(true);
    let stale = prod.until("stale_since", |_| {}, |s| s["stale_since"].is_string()).await;
    assert_eq!(stale["workloads"], fresh["workloads"], "the last known state is kept");
    cluster.faults.set_unavailable(false);
    prod.until("fresh again", |_| {}, |s| s["stale_since"].is_null()).await;
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn page_views_and_open_streams_cost_no_kubernetes_api_requests(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    // Once start-up has settled: every watch open (9 kinds per environment, Argo CD's
    // Application included: each one watch).
    let before = eventually_some(Duration::from_secs(20), "every watch to be open", || async {
        let counts = api_requests(&app).await;
        (counts["watches"].as_u64().unwrap_or(0) >= 27).then_some(counts)
    })
    .await;
    let mut streams = Vec::new();
    // Two people, ten pages each (a session may hold a few streams, not any number).
    for person in ["stakeholder", "operator"] {
        let client = app.client_as(person).await;
        for _ in 0..10 {
            let response = client.get(app.url("/api/live")).send().await.unwrap();
            assert_eq!(response.status(), 200);
            let mut s = Events { response, buffer: String::new() };
            s.next().await.unwrap();
            streams.push(s);
        }
    }
    for path in ["/", "/environments/prod", "/environments/dev/workloads/backend"] {
        for _ in 0..30 {
            assert_eq!(app.get(path).await.status(), 200, "{path}");
        }
    }
    let after = api_requests(&app).await;
    assert_eq!(after, before, "page views or streams reached the Kubernetes API");
    assert_eq!(before["writes"], 0, "the panel only watches");
    drop(streams);
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_environment_and_workload_pages_show_pods_revisions_and_jobs(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let page = app.get("/environments/prod").await.text().await.unwrap();
    let table = |page: &str, name: &str| -> String {
        let start = page
            .find(&format!("data-table=\"{name}\""))
            .unwrap_or_else(|| panic!("no {name} table"));
        let end = page[start..].find("</table>").map_or(page.len(), |e| start + e);
        page[start..end].to_owned()
    };
    for (name, key) in [("workloads", "backend"), ("pods", "postgres-0"), ("jobs", "db-backup")] {
        assert!(table(&page, name).contains(&format!("data-key=\"{key}\"")), "{name} lacks {key}");
    }
    assert!(
        page.contains("id=\"argo\"") && page.contains("co2-calculator-prod"),
        "no Argo CD facts"
    );
    assert!(page.contains("Recent warnings"));
    assert!(table(&page, "workloads").contains("scalable 3–10"), "prod backend's bounds not shown");
    assert!(page.contains("href=\"/history?env=prod\""), "no link to the environment's history");
    let page = app.get("/environments/prod/workloads/backend").await.text().await.unwrap();
    assert!(
        table(&page, "revisions").contains("data-key=\"1\""),
        "no revision 1 on the workload page"
    );
    // Kubernetes keeps a few revisions; the full record is one link away.
    assert!(page.contains("href=\"/history?env=prod&amp;workload=backend\""), "no history link");
    let pods = table(&page, "pods");
    assert!(pods.contains("data-key=\"backend-"), "no backend pod on the workload page");
    assert!(!pods.contains("data-key=\"frontend-"), "another workload's pod listed");
    assert!(
        page.contains("namespace=\"co2-calculator-prod\",pod=~\"backend-[a-z0-9]+-[a-z0-9]+\""),
        "no metrics selector"
    );

    // Each page is written once: not the other pages of the environment, and not again in
    // the hydration data (hydration keeps what the server wrote; the live stream brings
    // the next version whole).
    for (path, tables, absent) in [
        (
            "/environments/prod",
            ["workloads", "pods", "jobs", "events"].as_slice(),
            "workload-history",
        ),
        ("/environments/prod/workloads/backend", &["pods", "revisions", "events"], "env-title"),
    ] {
        let page = app.get(path).await.text().await.unwrap();
        for name in tables {
            assert_eq!(
                page.matches(&format!("data-table=\"{name}\"")).count(),
                1,
                "{path}: {name}"
            );
        }
        assert_eq!(page.matches("data-table=").count(), tables.len(), "{path}: other tables");
        assert!(!page.contains(absent), "{path} carries another page ({absent})");
    }

    for (path, message) in [
        (
            "/environments/qa",
            "There is no environment named “qa”. Known environments: dev, staging, prod.",
        ),
        ("/environments/prod/workloads/nginx", "There is no workload named “nginx” in prod."),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.text().await.unwrap().contains(message), "{path}");
    }
    app.stop().await;
}

/// Many views of the detail pages at once, each answered whole with its address's title.
/// leptos_meta reads the titles after the body; a title that read the route's reactive
/// values then, under load, found them disposed — the handler panicked and the connection
/// dropped.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn detail_pages_viewed_all_at_once_are_each_answered_whole(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let pages = [
        ("/environments/prod", "<title>prod environment · Gantry</title>"),
        ("/environments/prod/workloads/backend", "<title>backend in prod · Gantry</title>"),
    ];
    let views: Vec<_> = (0..64)
        .map(|n| {
            let (path, title) = pages[n % 2];
            let (client, url) = (app.client.clone(), app.url(path));
            tokio::spawn(async move {
                for _ in 0..25 {
                    let response =
                        client.get(&url).send().await.map_err(|e| format!("{path}: {e}"))?;
                    let status = response.status();
                    let page = response.text().await.map_err(|e| format!("{path}: {e}"))?;
                    if status != 200 || !page.contains(title) || !page.contains("</html>") {
                        return Err(format!("{path}: {status}, {} bytes", page.len()));
                    }
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for view in views {
        view.await.expect("the viewer ran").expect("every view answered whole");
    }
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn open_streams_end_when_the_server_stops(db: PgPool) {
    let app = spawn_on_simulator(db, &[("GANTRY_SHUTDOWN_GRACE_SECONDS", "60")]).await;
    let mut stream = Events::open(&app, "").await;
    stream.next().await.unwrap();
    let started = std::time::Instant::now();
    app.stop().await;
    // With a 60 s grace period, only the streams ending lets the server stop this soon.
    assert!(started.elapsed() < Duration::from_secs(30), "stopping waited for the streams");
    while stream.next().await.is_some() {}
}

/// The overview's `data-refresh` (one more for every rendering) and prod's total desired
/// replicas, read off the page.
async fn overview_of(client: &reqwest::Client, app: &TestApp) -> (u64, i64, String) {
    let html = client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    let after = |marker: &str| {
        let start =
            html.find(marker).unwrap_or_else(|| panic!("no {marker} in {html}")) + marker.len();
        html[start..].split('"').next().unwrap().to_owned()
    };
    let rendering = after("data-refresh=\"").parse().unwrap();
    let prod = &html[html.find("data-env=\"prod\"").unwrap()..];
    let desired = prod.split("data-desired=\"").nth(1).unwrap().split('"').next().unwrap();
    (rendering, desired.parse().unwrap(), html)
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_overview_is_rendered_again_for_each_person_and_each_change(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let stakeholder = app.client_as("stakeholder").await;
    let operator = app.client_as("operator").await;
    // The same person twice in a row: the second answer is the first rendering (kept for
    // up to a second; a slow machine may straddle one, hence a few tries).
    let mut reused = false;
    for _ in 0..5 {
        let (first, ..) = overview_of(&stakeholder, &app).await;
        let (second, ..) = overview_of(&stakeholder, &app).await;
        if first == second {
            reused = true;
            break;
        }
    }
    assert!(reused, "two requests in a row were rendered twice");
    // Another person never gets someone else's page.
    let (mine, _, theirs) = overview_of(&stakeholder, &app).await;
    let (other, _, operators) = overview_of(&operator, &app).await;
    assert_ne!(mine, other, "the operator got the stakeholder's rendering");
    assert!(theirs.contains("Carol Viewer") && !theirs.contains("Oscar Operator"), "{theirs}");
    assert!(operators.contains("Oscar Operator") && !operators.contains("Carol Viewer"));

    // A change in the cluster: once the live view has it, the next page shows it, however
    // recent the last rendering.
    let mut stream = Events::open(&app, "?env=prod").await;
    let before = stream.next().await.unwrap();
    let (_, desired_before, _) = overview_of(&stakeholder, &app).await;
    let frontend = desired(&before, "frontend");
    scale(&app, "co2-calculator-prod", "frontend", frontend + 3);
    stream.until("the scale", |_| {}, |s| desired(s, "frontend") == frontend + 3).await;
    let (_, desired_after, _) = overview_of(&stakeholder, &app).await;
    assert_eq!(desired_after, desired_before + 3);
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_stream_ends_when_its_session_signs_out(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let viewer = app.client_as("stakeholder").await;
    let response = viewer.get(app.url("/api/live?env=dev")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = Events { response, buffer: String::new() };
    assert!(stream.next().await.is_some(), "the current state first");
    let signed_out = viewer.post(app.url("/auth/logout")).send().await.unwrap();
    assert_eq!(signed_out.status(), 303);
    // Changes keep coming (every scale is one); the stream must end instead of carrying
    // them. next() answers None when the stream ends (or stays quiet for 10 s: a change
    // is made each time, so quiet means ended too).
    let mut ended = false;
    let started = std::time::Instant::now();
    for replicas in [2, 3].into_iter().cycle() {
        if started.elapsed() > Duration::from_secs(30) {
            break;
        }
        scale(&app, "co2-calculator-dev", "frontend", replicas);
        if stream.next().await.is_none() {
            ended = true;
            break;
        }
    }
    assert!(ended, "the stream carried changes after its session signed out");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn one_session_cannot_hold_more_than_its_share_of_streams(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let viewer = app.client_as("stakeholder").await;
    let mut open = Vec::new();
    for _ in 0..gantry::http::live::MOST_PER_SESSION {
        let response = viewer.get(app.url("/api/live?view=card")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        open.push(response);
    }
    let refused = viewer.get(app.url("/api/live?view=card")).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "60");
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("close some tabs"), "{body}");
    // Someone else is not held up by it.
    let other = app.client_as("operator").await;
    assert_eq!(other.get(app.url("/api/live?view=card")).send().await.unwrap().status(), 200);
    // A closed stream frees its place.
    open.pop();
    gantry_tests::eventually(
        Duration::from_secs(10),
        "a place freed by a closed stream",
        || async {
            viewer.get(app.url("/api/live?view=card")).send().await.unwrap().status() == 200
        },
    )
    .await;
    app.stop().await;
}
