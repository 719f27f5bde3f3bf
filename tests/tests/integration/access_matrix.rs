//! The authorization matrix: every server function and API route, as every kind of
//! person, on every environment. The expectation is written here from the roles alone
//! (viewer sees, operator and above act; nothing is disabled in the default policy), not
//! taken from the server's access check, so a mistake in either shows as a mismatch.

use gantry_tests::{anonymous_client, spawn_on_simulator};
use sqlx::PgPool;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Viewer,
    Operator,
    Approver,
    Admin,
}

/// The people of the matrix: their demo sign-in and their rank on dev, staging, prod.
const PEOPLE: [(&str, [Option<Rank>; 3]); 9] = [
    ("anonymous", [None, None, None]),
    ("newcomer", [None, None, None]),
    ("stakeholder", [Some(Rank::Viewer); 3]),
    ("operator", [Some(Rank::Operator); 3]),
    ("approver", [Some(Rank::Approver); 3]),
    ("admin", [Some(Rank::Admin); 3]),
    // A role on one environment only: operator on dev, viewer elsewhere.
    ("developer", [Some(Rank::Operator), Some(Rank::Viewer), Some(Rank::Viewer)]),
    // Higher roles on some environments only: the rules that look at one environment's
    // role (approving, the audit log of an environment) must not take another's.
    ("staging-lead", [Some(Rank::Viewer), Some(Rank::Approver), None]),
    ("dev-admin", [Some(Rank::Admin), Some(Rank::Viewer), Some(Rank::Viewer)]),
];

/// The built-in people and groups, plus the two above (a file replaces the built-in
/// lists, so they are all written out).
const CONFIG: &str = r#"
[[auth.demo_people]]
id = "admin"
name = "Alice Admin"
groups = ["co2-calculator-admins"]
[[auth.demo_people]]
id = "approver"
name = "Bob Approver"
groups = ["co2-calculator-approvers"]
[[auth.demo_people]]
id = "operator"
name = "Oscar Operator"
groups = ["co2-calculator-operators"]
[[auth.demo_people]]
id = "developer"
name = "Dana Developer"
groups = ["co2-calculator-developers"]
[[auth.demo_people]]
id = "stakeholder"
name = "Carol Viewer"
groups = ["co2-calculator-stakeholders"]
[[auth.demo_people]]
id = "newcomer"
name = "Nico Newcomer"
groups = ["epfl-staff"]
[[auth.demo_people]]
id = "staging-lead"
name = "Sam Staging-Lead"
groups = ["co2-calculator-staging-leads"]
[[auth.demo_people]]
id = "dev-admin"
name = "Dev Admin"
groups = ["co2-calculator-dev-admins"]

[[access.groups]]
group = "co2-calculator-admins"
roles = { "*" = "admin" }
[[access.groups]]
group = "co2-calculator-approvers"
roles = { "*" = "approver" }
[[access.groups]]
group = "co2-calculator-operators"
roles = { "*" = "operator" }
[[access.groups]]
group = "co2-calculator-developers"
roles = { dev = "operator", staging = "viewer", prod = "viewer" }
[[access.groups]]
group = "co2-calculator-stakeholders"
roles = { "*" = "viewer" }
[[access.groups]]
group = "co2-calculator-staging-leads"
roles = { dev = "viewer", staging = "approver" }
[[access.groups]]
group = "co2-calculator-dev-admins"
roles = { dev = "admin", staging = "viewer", prod = "viewer" }
"#;
const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

#[derive(Clone, Copy, Debug)]
enum Need {
    /// Anyone, signed in or not (the platform's probes).
    Anyone,
    /// Anyone signed in.
    SignedIn,
    /// A role on at least one environment.
    AnyRole,
    /// At least this rank on this environment (index into ENVIRONMENTS).
    Rank(usize, Rank),
    /// At least this rank on some environment.
    RankSomewhere(Rank),
    /// A role on both of these environments.
    Both(usize, usize),
}

struct Call {
    method: &'static str,
    path: String,
    form: Vec<(&'static str, String)>,
    page: bool,
    need: Need,
    /// The answer when allowed, and when refused to someone signed in: 200 and 403 for most;
    /// a request's address answers 404 to whoever may not see it (its existence is not
    /// told), and asking to resume an auto-sync that is not paused is refused for that
    /// reason (422) only once the access check has passed.
    answers: (u16, u16),
}

/// `ids`: one action request per environment, in the order of ENVIRONMENTS; `pods`: a
/// running backend pod of each.
fn calls(ids: &[i64; 3], pods: &[String; 3]) -> Vec<Call> {
    let get = |path: &str, page: bool, need| Call {
        method: "GET",
        path: path.to_owned(),
        form: vec![],
        page,
        need,
        answers: (200, 403),
    };
    let post = |path: &str, form: Vec<(&'static str, String)>, need| Call {
        method: "POST",
        path: path.to_owned(),
        form,
        page: false,
        need,
        answers: (200, 403),
    };
    let mut calls = vec![
        // The kubelet's probes carry no session.
        get("/health", false, Need::Anyone),
        get("/ready", false, Need::Anyone),
        get("/started", false, Need::Anyone),
        get("/", true, Need::AnyRole),
        post("/api/overview", vec![], Need::AnyRole),
        get("/me", true, Need::SignedIn),
        get("/api/me", false, Need::SignedIn),
        post("/api/page", vec![("path", "/me".to_owned())], Need::SignedIn),
        get("/api/live?view=card", false, Need::AnyRole),
        get("/audit", true, Need::RankSomewhere(Rank::Approver)),
        get("/api/audit.csv", false, Need::RankSomewhere(Rank::Approver)),
        get("/api/audit.json", false, Need::RankSomewhere(Rank::Approver)),
        get("/approvals", true, Need::AnyRole),
        post("/api/page", vec![("path", "/approvals".to_owned())], Need::AnyRole),
        get("/history", true, Need::AnyRole),
        get("/history/compare", true, Need::AnyRole),
        get("/api/history.json", false, Need::AnyRole),
        get("/api/history.csv", false, Need::AnyRole),
        get("/monitoring", true, Need::AnyRole),
        get("/backups", true, Need::AnyRole),
    ];
    for (i, env) in ENVIRONMENTS.iter().enumerate() {
        let view = Need::Rank(i, Rank::Viewer);
        calls.push(get(&format!("/environments/{env}"), true, view));
        calls.push(get(&format!("/environments/{env}/workloads/backend"), true, view));
        calls.push(post("/api/environment", vec![("name", (*env).to_owned())], view));
        calls.push(get(&format!("/api/live?env={env}&view=detail"), false, view));
        for action in ["sync", "scale", "restart", "rollback", "backup", "restore"] {
            let act = Need::Rank(i, Rank::Operator);
            let query = if matches!(action, "sync" | "backup" | "restore") {
                String::new()
            } else {
                "?workload=backend".to_owned()
            };
            calls.push(get(&format!("/environments/{env}/actions/{action}{query}"), true, act));
            let path = format!("/environments/{env}/actions/{action}{query}");
            calls.push(post("/api/page", vec![("path", path)], act));
        }
        // Silences (no Alertmanager configured here: the page says so, a request is 422).
        for query in [
            "silence?alertname=HighErrorRate",
            "silence?alertname=HighErrorRate&duration=2h",
            "expire_silence?silence=0f0e",
        ] {
            let path = format!("/environments/{env}/actions/{query}");
            calls.push(get(&path, true, Need::Rank(i, Rank::Operator)));
        }
        let env_owned = (*env).to_owned();
        for (action, key, value) in
            [("silence", "duration", "2h"), ("expire_silence", "silence", "0f0e")]
        {
            let form = vec![
                ("environment", env_owned.clone()),
                ("action", action.to_owned()),
                (key, value.to_owned()),
                ("reason", "matrix".to_owned()),
            ];
            calls.push(Call {
                answers: (422, 403),
                ..post("/api/actions", form, Need::Rank(i, Rank::Operator))
            });
        }
        let resume =
            vec![("environment", (*env).to_owned()), ("action", "resume_auto_sync".to_owned())];
        calls.push(Call {
            answers: (422, 403),
            ..post("/api/actions", resume, Need::Rank(i, Rank::Operator))
        });
        // The audit log of one environment: its approvers and admins only.
        let audit = Need::Rank(i, Rank::Approver);
        calls.push(get(&format!("/audit?env={env}"), true, audit));
        calls.push(get(&format!("/api/audit.csv?env={env}"), false, audit));
        calls.push(get(&format!("/api/audit.json?env={env}"), false, audit));
        calls.push(get(&format!("/history?env={env}"), true, view));
        calls.push(get(&format!("/backups?env={env}"), true, view));
        let path = format!("/backups?env={env}");
        calls.push(post("/api/page", vec![("path", path)], view));
        calls.push(get(&format!("/monitoring?env={env}&range=7d"), true, view));
        calls.push(get(&format!("/monitoring?env={env}&workload=backend"), true, view));
        let path = format!("/monitoring?env={env}&range=15m");
        calls.push(post("/api/page", vec![("path", path)], view));
        calls.push(get(&format!("/api/history.json?env={env}"), false, view));
        let diff = format!("/history/diff?env={env}&workload=backend&from=1&to=1");
        calls.push(get(&diff, true, view));
        let compare = format!("/history/compare?from={env}&to={}", ENVIRONMENTS[(i + 1) % 3]);
        calls.push(get(&compare, true, Need::Both(i, (i + 1) % 3)));
        // A pod is for everyone who sees the environment; its logs are for operators and up.
        let pod = &pods[i];
        calls.push(get(&format!("/environments/{env}/pods/{pod}"), true, view));
        let path = format!("/environments/{env}/pods/{pod}/logs");
        calls.push(post("/api/page", vec![("path", path)], view));
        calls.push(get(&format!("/environments/{env}/workloads/backend/logs"), true, view));
        let logs = Need::Rank(i, Rank::Operator);
        calls.push(get(&format!("/api/logs?env={env}&pod={pod}&follow=off"), false, logs));
        calls.push(get(&format!("/api/logs?env={env}&workload=backend&follow=off"), false, logs));
        calls.push(get(&format!("/api/logs.txt?env={env}&pod={pod}"), false, logs));
        let id = ids[i];
        calls.push(Call { answers: (200, 404), ..get(&format!("/requests/{id}"), true, view) });
        calls
            .push(Call { answers: (200, 404), ..get(&format!("/api/requests/{id}"), false, view) });
    }
    calls
}

fn allowed(ranks: &[Option<Rank>; 3], signed_in: bool, need: Need) -> bool {
    match need {
        Need::Anyone => true,
        Need::SignedIn => signed_in,
        Need::AnyRole => ranks.iter().any(Option::is_some),
        Need::Rank(env, least) => ranks[env].is_some_and(|r| r >= least),
        Need::RankSomewhere(least) => ranks.iter().any(|r| r.is_some_and(|r| r >= least)),
        Need::Both(a, b) => ranks[a].is_some() && ranks[b].is_some(),
    }
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn no_unauthorized_success_and_no_wrongful_denial_in_the_whole_matrix(db: PgPool) {
    // Anonymous calls come through a trusted proxy from addresses of their own: one
    // address making them all would soon get 429 (the anonymous budget) instead of 401.
    let config = std::env::temp_dir().join(format!("gantry-matrix-{}.toml", std::process::id()));
    std::fs::write(&config, CONFIG).unwrap();
    let config = config.to_string_lossy().into_owned();
    let app = spawn_on_simulator(
        db.clone(),
        &[
            ("GANTRY_TRUSTED_PROXIES", "127.0.0.1"),
            ("GANTRY_CONFIG", config.as_str()),
            ("GANTRY_PROMETHEUS_URL", "http://127.0.0.1:9"),
            // Caps are tested on their own; here each person makes many short reads.
            ("GANTRY_LOG_STREAMS_PER_PERSON", "100"),
        ],
    )
    .await;
    // One request per environment for the request addresses (run at once on dev).
    let admin = app.client_as("admin").await;
    let mut ids = [0; 3];
    for (i, env) in ENVIRONMENTS.iter().enumerate() {
        let body = serde_json::json!({"environment": env, "action": "restart", "workload": "redis", "reason": "matrix"});
        let answer = admin.post(app.url("/api/actions")).json(&body).send().await.expect("request");
        assert_eq!(answer.status(), 201, "{env}");
        let answer: serde_json::Value = answer.json().await.expect("JSON");
        ids[i] = answer["request"]["id"].as_i64().expect("an id");
    }
    // Revision 1 of each backend recorded, for the diff addresses.
    let recorded = || async {
        let recorded: i64 = sqlx::query_scalar(
            "select count(*) from observed_revision where workload = 'backend' and revision = 1",
        )
        .fetch_one(&db)
        .await
        .expect("a count");
        recorded == 3
    };
    let what = "revision 1 of every backend to be recorded";
    gantry_tests::eventually(std::time::Duration::from_secs(20), what, recorded).await;
    let mut pods: [String; 3] = Default::default();
    let cluster = &app.simulator.as_ref().expect("a simulated cluster").0;
    for (i, env) in ENVIRONMENTS.iter().enumerate() {
        let namespace = format!("co2-calculator-{env}");
        pods[i] = gantry_tests::eventually_some(
            std::time::Duration::from_secs(30),
            "a running backend pod",
            || async {
                let name = gantry_tests::logs::running_pod(cluster, &namespace, "backend")?;
                app.context.live.watches()[i].pod(&name).is_some().then_some(name)
            },
        )
        .await;
    }
    let calls = calls(&ids, &pods);
    let (mut checks, mut unauthorized_successes, mut wrongful_denials) = (0, 0, 0);
    let mut mismatches = Vec::new();
    for (person, ranks) in PEOPLE {
        let signed_in = person != "anonymous";
        let client = if signed_in { app.client_as(person).await } else { anonymous_client() };
        for (n, call) in calls.iter().enumerate() {
            let request = match call.method {
                "GET" => client.get(app.url(&call.path)),
                _ => client.post(app.url(&call.path)).form(&call.form),
            };
            let request = request.header("x-forwarded-for", format!("192.0.2.{}", n % 250 + 1));
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            // Only a failure's body is read (a stream's would never end): what it says.
            let said: String = if status >= 500 {
                response.text().await.unwrap_or_default().chars().take(200).collect()
            } else {
                String::new()
            };
            let ok = allowed(&ranks, signed_in, call.need);
            let expected = match (ok, signed_in, call.page) {
                (true, _, _) => call.answers.0,
                (false, false, true) => 303,
                (false, false, false) => 401,
                (false, true, _) => call.answers.1,
            };
            checks += 1;
            if !ok && (200..300).contains(&status) {
                unauthorized_successes += 1;
            }
            if ok && matches!(status, 303 | 401 | 403 | 404) {
                wrongful_denials += 1;
            }
            if status != expected {
                let pool = if status >= 500 {
                    format!(" ({}; it said: {said})", app.pool_state())
                } else {
                    String::new()
                };
                mismatches.push(format!(
                    "{person} {} {} {:?}: {status}, expected {expected}{pool}",
                    call.method, call.path, call.form
                ));
            }
        }
    }
    // The metrics listener: open to any caller (Prometheus has no session; in Kubernetes a
    // NetworkPolicy decides who reaches it); the pages' listener serves no metrics at all,
    // signed in or not.
    let metrics = app.metrics.expect("a metrics listener");
    for (person, _) in PEOPLE {
        let client =
            if person == "anonymous" { anonymous_client() } else { app.client_as(person).await };
        for path in ["/metrics", "/health"] {
            let status =
                client.get(format!("http://{metrics}{path}")).send().await.expect("sent").status();
            checks += 1;
            if status != 200 {
                wrongful_denials += 1;
                mismatches.push(format!(
                    "{person} GET (metrics listener) {path}: {status}, expected 200"
                ));
            }
        }
        let on_pages =
            client.get(app.url("/metrics")).send().await.expect("sent").status().as_u16();
        checks += 1;
        if (200..300).contains(&on_pages) {
            unauthorized_successes += 1;
            mismatches.push(format!("{person} GET /metrics on the pages' listener: {on_pages}"));
        }
    }
    let summary = format!(
        "authorization matrix: {checks} checks ({} calls × {} people, and the metrics listener), {unauthorized_successes} unauthorized successes, {wrongful_denials} wrongful denials",
        calls.len() ,
        PEOPLE.len()
    );
    eprintln!("{summary}");
    // ./run test prints it after the tests.
    let output = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("output");
    std::fs::create_dir_all(&output).unwrap();
    std::fs::write(output.join("access-matrix.txt"), format!("{summary}\n")).unwrap();
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
    assert_eq!((unauthorized_successes, wrongful_denials), (0, 0));
    // Every refusal of someone signed in is on record with their id.
    let recorded: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where kind = 'denied' and user_id is not null",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(recorded > 0);
    app.stop().await;
}
