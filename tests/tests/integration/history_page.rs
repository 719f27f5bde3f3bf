//! The History pages and exports against the simulated cluster: what runs where, the
//! timeline with Gantry's own requests named, filters, diffs, the environment comparison,
//! paging, and the timeline query's plan on 10,000 revisions.

use std::time::Duration;

use gantry_sim::resources::ids::DEPLOYMENT;
use gantry_tests::history::{edit, fill, html_of, json_of, until_recorded, PROD};
use gantry_tests::{eventually_some, spawn_on_simulator};
use serde_json::{json, Value};
use sqlx::PgPool;

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_history_page_and_export_show_what_runs_where_and_who_changed_it(db: PgPool) {
    let app = spawn_on_simulator(db.clone(), &[]).await;
    let developer = app.client_as("developer").await;
    until_recorded(&db, "dev", "backend", 1).await;
    let answer = developer
        .post(app.url("/api/actions"))
        .json(&json!({"environment": "dev", "action": "restart", "workload": "backend", "reason": "new config"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    until_recorded(&db, "dev", "backend", 2).await;

    let stakeholder = app.client_as("stakeholder").await;
    let page = stakeholder.get(app.url("/history")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("What runs where") && html.contains("id=\"rev-dev-backend-2\""),
        "{html}"
    );

    let export: Value =
        json_of(&stakeholder, &app, "/api/history.json?env=dev&workload=backend").await;
    let entries = export["entries"].as_array().unwrap();
    assert!(
        entries.iter().all(|e| e["environment"] == "dev" && e["object"] == "backend"),
        "{export}"
    );
    let restart = entries.iter().find(|e| e["id"] == "rev-dev-backend-2").unwrap();
    assert_eq!(
        restart["what"],
        "revision 2: same images (template changed: restart or configuration)"
    );
    let who = restart["who"].as_str().unwrap();
    assert!(who.starts_with("restart by Dana Developer: “new config”"), "{who}");

    // The diff of the restart: only the restart annotation changed.
    let diff = stakeholder
        .get(app.url("/history/diff?env=dev&workload=backend&from=1&to=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(diff.status(), 200);
    let html = diff.text().await.unwrap();
    let rows = html.matches("<tr><th scope=\"row\">").count();
    assert_eq!(rows, 1, "{html}");
    assert!(html.contains("annotation kubectl.kubernetes.io/restartedAt"), "{html}");
    let bad = stakeholder
        .get(app.url("/history/diff?env=dev&workload=backend&from=x&to=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let missing = stakeholder
        .get(app.url("/history/diff?env=dev&workload=backend&from=1&to=99"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // Rolling back is offered from the timeline to whoever may ask for it, only there.
    assert!(!html_of(&stakeholder, &app, "/history?env=dev").await.contains("roll back to this"));
    let developers = html_of(&developer, &app, "/history?env=dev").await;
    assert!(
        developers.contains("/environments/dev/actions/rollback?workload=backend&amp;revision=1"),
        "{developers}"
    );

    // Filtering by person: part of a name, any case, after the join with the requests.
    let by_person = |query: &'static str| {
        let (client, app) = (&stakeholder, &app);
        async move {
            json_of(client, app, query).await["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(by_person("/api/history.json?person=dana").await, ["rev-dev-backend-2"]);
    assert!(by_person("/api/history.json?person=nobody-at-all").await.is_empty());
    let page = html_of(&stakeholder, &app, "/history?person=DANA+developer").await;
    assert!(
        page.contains("id=\"rev-dev-backend-2\"") && page.contains("Timeline (1 entry)"),
        "{page}"
    );

    let csv = stakeholder.get(app.url("/api/history.csv?env=dev")).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("\"id\",\"time\",\"environment\""), "{csv}");
    assert!(csv.contains("\"rev-dev-backend-2\""), "{csv}");

    let newcomer = app.client_as("newcomer").await;
    assert_eq!(newcomer.get(app.url("/api/history.json")).send().await.unwrap().status(), 403);
    assert_eq!(newcomer.get(app.url("/history")).send().await.unwrap().status(), 403);
    let unknown = stakeholder.get(app.url("/api/history.json?env=qa")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_environment_comparison_lists_what_differs_between_two_environments(db: PgPool) {
    const STAGING: &str = "co2-calculator-staging";
    let app = spawn_on_simulator(db.clone(), &[]).await;
    let image = |workload: &str, version: &str| {
        json!(format!("{}/{workload}:{version}", gantry_sim::seed::REGISTRY))
    };
    // A prepared pair: backend differs by version, frontend by one setting, the worker is
    // the same in both.
    for (namespace, backend) in [(STAGING, "2.1.0"), (PROD, "2.0.0")] {
        edit(&app, DEPLOYMENT, namespace, "backend", |d| {
            d["spec"]["template"]["spec"]["containers"][0]["image"] = image("backend", backend);
        });
        edit(&app, DEPLOYMENT, namespace, "frontend", |d| {
            let container = &mut d["spec"]["template"]["spec"]["containers"][0];
            container["image"] = image("frontend", "3.0.0");
            let flag = if namespace == STAGING { "on" } else { "off" };
            container["env"] = json!([{"name": "FEATURE_X", "value": flag}]);
        });
        edit(&app, DEPLOYMENT, namespace, "celery-worker", |d| {
            d["spec"]["template"]["spec"]["containers"][0]["image"] = image("backend", "2.0.0");
        });
    }
    let approver = app.client_as("approver").await;
    let html = eventually_some(Duration::from_secs(20), "the comparison to show both", || async {
        let html = html_of(&approver, &app, "/history/compare?from=staging&to=prod").await;
        (html.contains("backend 2.0.0 → 2.1.0") && html.contains("FEATURE_X")).then_some(html)
    })
    .await;
    let summary = html.split("id=\"promotion-summary\">").nth(1).unwrap();
    let summary = summary.split("</p>").next().unwrap();
    assert_eq!(summary, "Promoting staging to prod would change: backend 2.0.0 → 2.1.0.");
    let row = |workload: &str| {
        let start = html.find(&format!("data-workload=\"{workload}\"")).unwrap();
        // Up to the next workload's row (a row holds a table of its own fields).
        let rest = &html[start + 1..];
        rest[..rest.find("data-workload=").unwrap_or(rest.len())].to_owned()
    };
    let backend = row("backend");
    // Its image, and the setting that names the environment.
    assert!(backend.contains("differs") && backend.contains("2 field(s) differ"), "{backend}");
    assert!(
        backend.contains("backend: image") && backend.contains("backend: env APP_ENV"),
        "{backend}"
    );
    let frontend = row("frontend");
    assert!(frontend.contains("differs") && frontend.contains("env FEATURE_X"), "{frontend}");
    assert!(frontend.contains(">on<") && frontend.contains(">off<"), "{frontend}");
    let worker = row("celery-worker");
    assert!(!worker.contains("differs") && worker.contains("same pod template"), "{worker}");
    // A stakeholder learns which settings differ, not what they are set to.
    let stakeholder = app.client_as("stakeholder").await;
    let seen = html_of(&stakeholder, &app, "/history/compare?from=staging&to=prod").await;
    assert!(seen.contains("env FEATURE_X") && seen.contains("value hidden"), "{seen}");
    assert!(!seen.contains(">on<") && !seen.contains(">off<"), "{seen}");
    // The default is the last two environments: staging → prod.
    let default = html_of(&approver, &app, "/history/compare").await;
    assert!(default.contains("staging compared with prod"), "{default}");
    // Bad or hidden choices are refused with a reason.
    let same = approver.get(app.url("/history/compare?from=prod&to=prod")).send().await.unwrap();
    assert_eq!(same.status(), 400);
    let unknown = approver.get(app.url("/history/compare?from=qa&to=prod")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn older_entries_are_one_link_away_and_none_is_lost_between_pages(db: PgPool) {
    let app = spawn_on_simulator(db.clone(), &[]).await;
    until_recorded(&db, "prod", "backend", 1).await;
    fill(&db, 700).await;
    // Entries are named by environment, workload and revision (the filler's revision 1s
    // share names with the cluster's own).
    let all: i64 = sqlx::query_scalar(
        "select count(*) from (select distinct environment, workload, revision from observed_revision) r",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let stakeholder = app.client_as("stakeholder").await;
    let ids = |html: &str| -> Vec<String> {
        html.split("<tr id=\"").skip(1).map(|r| r.split('"').next().unwrap().to_owned()).collect()
    };
    let page = usize::try_from(gantry_app::history::PAGE).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut path = "/history?workload=".to_owned();
    let mut pages = 0;
    loop {
        let html = html_of(&stakeholder, &app, &path).await;
        pages += 1;
        let shown = ids(&html);
        seen.extend(shown.iter().cloned());
        let Some(at) = html.find("id=\"older\"") else { break };
        assert_eq!(shown.len(), page, "a page with older entries is full: {path}");
        let heading =
            format!("Timeline ({page} entries, newest first; older ones on the next page)");
        assert!(html.contains(&heading), "a full page says there are more: {path}");
        let link = html[..at].rsplit("href=\"").next().unwrap();
        path = link.split('"').next().unwrap().replace("&amp;", "&");
        assert!(
            path.contains("workload=&") || path.contains("workload=&to="),
            "filters kept: {path}"
        );
        assert!(pages < 20, "{path}");
    }
    assert!(
        !html_of(&stakeholder, &app, &path).await.contains("older ones on the next page"),
        "the last page"
    );
    assert!(pages * page >= 700 && pages <= 700 / page + 2, "{pages} pages of {page}");
    let revisions = seen.iter().filter(|id| id.starts_with("rev-")).count();
    assert_eq!(i64::try_from(revisions).unwrap(), all, "every revision on one page or another");
    // An export is not paged like the page: it carries the newest 500.
    let export = json_of(&stakeholder, &app, "/api/history.json?workload=").await;
    let exported = export["entries"].as_array().unwrap().len();
    assert_eq!(i64::try_from(exported).unwrap(), gantry_app::history::LIMIT);
    app.stop().await;
}

/// The plan of the timeline query for these filters.
async fn plan_of(
    db: &PgPool,
    sql: &str,
    envs: Vec<String>,
    environment: Option<&'static str>,
    workload: Option<&'static str>,
    since_ms: Option<i64>,
) -> String {
    let lines: Vec<String> = sqlx::query_scalar(&format!("explain {sql}"))
        .bind(envs)
        .bind(environment)
        .bind(workload)
        .bind(500_i64)
        .bind(since_ms)
        .bind(None::<i64>)
        .fetch_all(db)
        .await
        .unwrap();
    lines.join("\n")
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_timeline_query_reads_through_its_indexes(db: PgPool) {
    fill(&db, 10_000).await;
    let sql = include_str!("../../../app/src/history/timeline.sql");
    let envs = vec!["dev".to_owned(), "staging".to_owned(), "prod".to_owned()];
    let explain = |environment: Option<&'static str>, workload: Option<&'static str>| {
        plan_of(&db, sql, envs.clone(), environment, workload, None)
    };
    for (environment, workload) in
        [(None, None), (Some("prod"), None), (Some("prod"), Some("backend"))]
    {
        let plan = explain(environment, workload).await;
        eprintln!("EXPLAIN timeline ({environment:?}, {workload:?}):\n{plan}");
        assert!(plan.contains("Index Scan") && !plan.contains("Seq Scan"), "{plan}");
        // The newest first straight from the index; one workload's rows (a few hundred
        // here) may be fetched by the index and then sorted.
        assert!(workload.is_some() || !plan.contains("Sort"), "{plan}");
    }
    let one = explain(Some("prod"), Some("backend")).await;
    assert!(one.contains("observed_revision_environment_idx"), "{one}");
    // A time range starts the scan at its end of the index.
    let since =
        chrono::DateTime::parse_from_rfc3339("2026-01-05T00:00:00Z").unwrap().timestamp_millis();
    let ranged = plan_of(&db, sql, envs.clone(), None, None, Some(since)).await;
    eprintln!("EXPLAIN timeline since 2026-01-05:\n{ranged}");
    assert!(ranged.contains("Index Cond: (created_at >="), "{ranged}");
    assert!(!ranged.contains("Seq Scan") && !ranged.contains("Sort"), "{ranged}");
}
