//! The browser test: a real Chromium against a real server, through the project's
//! Playwright script. Needs the browser assets (`./run build` or `./run test`) and the
//! tools from `scripts/bootstrap.sh`.

use std::path::PathBuf;
use std::time::Duration;

use gantry_tests::{eventually, spawn_app, spawn_on_simulator};
use sqlx::PgPool;

fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `tests/browser/<script>` against the server with the output folder and `extra`
/// arguments; fails the test with the script's output if it fails; returns its stdout.
async fn run_script(
    script: &str,
    app: &gantry_tests::TestApp,
    output_dir: &std::path::Path,
    extra: &[&std::ffi::OsStr],
) -> String {
    let result = tokio::process::Command::new("node")
        .arg(project_root().join("tests/browser").join(script))
        .arg(format!("http://{}", app.address))
        .arg(output_dir)
        .args(extra)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&result.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&result.stderr);
    eprintln!("{stdout}");
    eprintln!("{stderr}");
    assert!(result.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    stdout
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_panel_loads_hydrates_and_calls_the_server_in_chromium(db: PgPool) {
    let settings = gantry_tests::test_settings(&[]);
    let wasm = settings.server.site_root.join("pkg/gantry_bg.wasm");
    assert!(
        wasm.exists(),
        "{} is missing: build the browser assets first (./run test does)",
        wasm.display()
    );
    assert!(
        std::env::var_os("GANTRY_PLAYWRIGHT").is_some(),
        "GANTRY_PLAYWRIGHT is not set: run through ./run test (scripts/bootstrap.sh installs playwright-core)"
    );
    // On the simulated cluster, as in the demo: the overview shows real environments.
    let app = spawn_on_simulator(db, &[]).await;
    let output_dir = project_root().join("tests/output");
    run_script("smoke.mjs", &app, &output_dir, &[]).await;
    assert!(output_dir.join("overview.png").exists(), "no screenshot saved");
    app.stop().await;
}

/// With the overview open, `kubectl scale` shows without a reload; the time from the
/// change to the screen is measured and kept in tests/output/live-latency.json for the
/// README. An API outage shows the stale banner, and the detail pages update in place.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn cluster_changes_reach_the_open_page_without_reload_in_chromium(db: PgPool) {
    assert!(
        std::env::var_os("GANTRY_KUBECTL").is_some(),
        "GANTRY_KUBECTL is not set: run through ./run test (scripts/bootstrap.sh installs kubectl)"
    );
    let output_dir = project_root().join("tests/output");
    std::fs::create_dir_all(&output_dir).unwrap();
    let kubeconfig = output_dir.join("live-test.kubeconfig");
    let kubeconfig_text = kubeconfig.to_string_lossy().into_owned();
    let app = spawn_on_simulator(db, &[("GANTRY_SIMULATOR_KUBECONFIG", &kubeconfig_text)]).await;
    let stdout = run_script("live.mjs", &app, &output_dir, &[kubeconfig.as_os_str()]).await;
    let measured = stdout
        .lines()
        .find_map(|l| l.strip_prefix("LIVE "))
        .expect("the live test prints its measurements");
    let measured: serde_json::Value = serde_json::from_str(measured).unwrap();
    assert_eq!(measured["samples"].as_array().map(Vec::len), Some(6), "{measured}");
    std::fs::write(output_dir.join("live-latency.json"), measured.to_string()).unwrap();
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn browser_assets_are_served_precompressed(db: PgPool) {
    let app = spawn_app(db).await;
    for (path, kind) in [
        ("/pkg/gantry_bg.wasm", "application/wasm"),
        ("/pkg/gantry.js", "text/javascript"),
        ("/pkg/gantry.css", "text/css"),
    ] {
        let response =
            app.client.get(app.url(path)).header("accept-encoding", "gzip").send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-encoding"], "gzip", "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with(kind), "{path}");
        assert_eq!(response.headers()["cache-control"], "no-cache", "{path}");
    }
    app.stop().await;
}

/// Through the real OpenID provider: the stakeholder sees the overview and no action
/// button; the operator sees them (tests/browser/auth.mjs).
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn people_sign_in_through_the_provider_and_see_only_their_actions_in_chromium(db: PgPool) {
    let app = gantry_tests::oidc::spawn_with_provider(
        db,
        &[
            ("GANTRY_SIMULATOR", "true"),
            ("GANTRY_SIMULATOR_PORT", "0"),
            ("GANTRY_CLUSTER", "simulator"),
        ],
    )
    .await;
    app.wait_ready().await;
    let output_dir = project_root().join("tests/output");
    let issuer = std::ffi::OsString::from(&gantry_tests::oidc::provider().issuer);
    run_script("auth.mjs", &app, &output_dir, &[issuer.as_os_str()]).await;
    assert!(output_dir.join("operator-action.png").exists(), "no screenshot saved");
    app.stop().await;
}

/// The production flow in Chromium (tests/browser/approval.mjs): an operator asks for a
/// rollback of backend with a reason, the approver approves it from the Approvals page,
/// the rollout shows on the open overview, and the audit page lists every step.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_prod_rollback_is_asked_approved_rolled_out_and_audited_in_chromium(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    // A release to roll back from: backend 1.8.3 on prod becomes revision 2.
    release_backend_1_8_3_on_prod(&app).await;
    let output_dir = project_root().join("tests/output");
    run_script("approval.mjs", &app, &output_dir, &[]).await;
    assert!(output_dir.join("approval-audit.png").exists(), "no screenshot saved");
    app.stop().await;
}

/// A production restore in Chromium (tests/browser/restore.mjs): an operator chooses a
/// kept backup and types "prod", two approvers type it too, and the restore runs over the
/// live database step by step to its end.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_prod_restore_needs_the_typed_name_and_two_approvers_in_chromium(db: PgPool) {
    let app = spawn_on_simulator(db.clone(), &[("GANTRY_SIMULATOR_SPEED", "20")]).await;
    // The running recorder has read prod's seeded backups: there is something to restore.
    let recorded = || async {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from backup_run where environment = 'prod' and state = 'succeeded'",
        )
        .fetch_one(&db)
        .await
        .unwrap_or(0);
        n > 0
    };
    gantry_tests::eventually(
        std::time::Duration::from_secs(20),
        "prod's backups recorded",
        recorded,
    )
    .await;
    let output_dir = project_root().join("tests/output");
    run_script("restore.mjs", &app, &output_dir, &[]).await;
    assert!(output_dir.join("restore-done.png").exists(), "no screenshot saved");
    app.stop().await;
}

/// Releases backend 1.8.3 on prod (revision 2) and waits for its ReplicaSet.
async fn release_backend_1_8_3_on_prod(app: &gantry_tests::TestApp) {
    use gantry_sim::resources::ids::{DEPLOYMENT, REPLICASET};
    let (cluster, _) = app.simulator.as_ref().unwrap();
    let namespace = "co2-calculator-prod";
    cluster
        .store
        .update(DEPLOYMENT, namespace, "backend", None, |d| {
            let mut next = d.clone();
            let image = next["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap()
                .replace("1.8.2", "1.8.3");
            next["spec"]["template"]["spec"]["containers"][0]["image"] = image.into();
            Ok(next)
        })
        .unwrap();
    let revision_2 = || async {
        let (sets, _) = cluster.store.list(REPLICASET, Some(namespace));
        sets.iter()
            .any(|rs| rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2")
    };
    eventually(Duration::from_secs(20), "prod's backend revision 2", revision_2).await;
}

/// The History page in Chromium (tests/browser/history.mjs): what runs where, the timeline
/// filtered to prod with the release's outcome, the diff of a release, and the comparison
/// of staging with prod.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_stakeholder_reads_the_history_and_a_diff_in_chromium(db: PgPool) {
    let app = spawn_on_simulator(db.clone(), &[]).await;
    release_backend_1_8_3_on_prod(&app).await;
    let completed = || async {
        let recorded: Option<i64> = sqlx::query_scalar(
            "select revision from observed_revision where environment = 'prod' and workload = 'backend' and revision = 2 and outcome = 'completed'",
        )
        .fetch_optional(&db)
        .await
        .unwrap();
        recorded.is_some()
    };
    eventually(Duration::from_secs(30), "the release recorded as completed", completed).await;
    let output_dir = project_root().join("tests/output");
    run_script("history.mjs", &app, &output_dir, &[]).await;
    assert!(output_dir.join("history-diff.png").exists(), "no screenshot saved");
    app.stop().await;
}

/// Alerting rules that see a change within seconds (the deploy/ rules wait minutes):
/// only the live scrapes of the simulator count (`job="simulator"`), not the history.
const FAST_RULES: &str = r#"groups:
  - name: browser
    rules:
      - alert: HighErrorRate
        expr: sum by (namespace) (rate(http_requests_total{job="simulator",status=~"5.."}[10s])) / sum by (namespace) (rate(http_requests_total{job="simulator"}[10s])) > 0.05
        labels: {severity: critical}
        annotations:
          summary: "More than 5% of requests fail in {{ $labels.namespace }}"
"#;

/// The Metrics pages in Chromium (tests/browser/metrics.mjs): prod's charts and a range
/// switch; with the overview open, a crash loop in prod's backend fires the error-rate
/// alert on the card without a reload, and a silence asked by an operator and approved
/// (prod's policy) takes it away.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn metrics_charts_and_a_firing_alert_reach_the_open_overview_in_chromium(db: PgPool) {
    let end = chrono::Utc::now().timestamp() / 30 * 30 - 60;
    let history = crate::monitoring::history(end);
    let monitoring = gantry_tests::prometheus::Monitoring::start(&history, FAST_RULES, true).await;
    let app = spawn_on_simulator(db, &monitoring.settings()).await;
    let (_, simulator) = app.simulator.clone().expect("the simulated cluster");
    monitoring.prometheus.scrape(simulator.trim_start_matches("http://"));
    let output_dir = project_root().join("tests/output");
    let simulator = std::ffi::OsString::from(simulator);
    run_script("metrics.mjs", &app, &output_dir, &[&simulator]).await;
    app.stop().await;
}

/// Pods and logs in Chromium (tests/browser/logs.mjs): a crash-looping pod explained with
/// its previous run's last lines, the backend's logs followed live while a request is made,
/// filtered to its trace id, paused by scrolling up; a stakeholder refused with the reason.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_crash_is_explained_and_the_backend_followed_to_one_request_in_chromium(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let (cluster, simulator) = app.simulator.clone().expect("a simulated cluster");
    let namespace = "co2-calculator-dev";
    cluster.faults.set(gantry_sim::WorkloadFault::CrashLoop, namespace, "celery-worker", true);
    let crashing = gantry_tests::eventually_some(
        Duration::from_secs(30),
        "a crash-looping worker in the panel's view",
        || async {
            let (pods, _) = cluster.store.list(gantry_sim::resources::ids::POD, Some(namespace));
            let name = pods.iter().find(|p| {
                p["metadata"]["labels"]["app"] == "celery-worker"
                    && p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                        == "CrashLoopBackOff"
            })?["metadata"]["name"]
                .as_str()?
                .to_owned();
            let seen = app.context.live.watches()[0].pod(&name)?;
            let waiting = seen
                .status
                .as_ref()?
                .container_statuses
                .as_ref()?
                .first()?
                .state
                .as_ref()?
                .waiting
                .is_some();
            // Its crash is in its log by now (the simulator writes it with the restart).
            (waiting && !cluster.logs.runs(namespace, &name, "celery-worker").is_empty())
                .then_some(name)
        },
    )
    .await;
    // The backend has written enough to fill the view (its chatter at demo speed).
    let backend =
        gantry_tests::eventually_some(Duration::from_secs(30), "a running backend", || async {
            gantry_tests::logs::running_pod(&cluster, namespace, "backend")
                .filter(|b| !cluster.logs.runs(namespace, b, "backend").is_empty())
        })
        .await;
    let lines =
        vec![r#"{"level":"INFO","logger":"app.filler","message":"earlier line"}"#; 80].join("\n");
    assert!(cluster.logs.write_now(namespace, &backend, "backend", cluster.clock().now(), &lines));
    let output_dir = project_root().join("tests/output");
    run_script("logs.mjs", &app, &output_dir, &[simulator.as_ref(), crashing.as_ref()]).await;
    assert!(output_dir.join("logs-trace.png").exists(), "no screenshot saved");
    app.stop().await;
}
