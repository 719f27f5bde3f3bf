//! Silences as actions: made and expired in a real Alertmanager through the panel, under
//! the environment's policy (dev direct, prod one approval), recorded in the audit log,
//! and never reaching another environment's alerts.

use std::time::Duration;

use gantry_tests::actions::{ask, audit_kinds, step};
use gantry_tests::prometheus::Monitoring;
use gantry_tests::{eventually_some, spawn_on_simulator_with, Background, TestApp};
use serde_json::json;
use sqlx::PgPool;

use crate::monitoring::{history, RULES};

const DEV: &str = "co2-calculator-dev";
const PROD: &str = "co2-calculator-prod";

/// The tests' Prometheus (two hours of prod, dev's alert firing) and an Alertmanager.
async fn started() -> Monitoring {
    let end = chrono::Utc::now().timestamp() / 30 * 30 - 60;
    Monitoring::start(&history(end), RULES, false).await
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let response = client.get(app.url(path)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn an_operator_silences_devs_alert_from_the_metrics_page_and_expires_it(db: PgPool) {
    let monitoring = started().await;
    let app =
        spawn_on_simulator_with(db.clone(), &monitoring.settings(), Background::OnDemand).await;
    let operator = app.client_as("operator").await;
    let stakeholder = app.client_as("stakeholder").await;

    // Dev's alert (its rule is `vector(1)`) comes with a Silence link for the operator...
    let link = r#"href="/environments/dev/actions/silence?alertname=DevOnly""#;
    let offered = || async {
        let (_, text) = page(&app, &operator, "/monitoring?env=dev").await;
        text.contains(link).then_some(text)
    };
    eventually_some(Duration::from_secs(60), "the Silence link on dev's alert", offered).await;
    // ...and none for someone who may only look.
    let (_, text) = page(&app, &stakeholder, "/monitoring?env=dev").await;
    assert!(text.contains("data-alert=\"DevOnly\"") && !text.contains("data-action=\"silence\""));

    // The action page asks for how long, then previews.
    let (status, form) =
        page(&app, &operator, "/environments/dev/actions/silence?alertname=DevOnly").await;
    assert_eq!(status, 200);
    assert!(form.contains("<select name=\"duration\"") && !form.contains("id=\"request\""));
    let (_, preview) =
        page(&app, &operator, "/environments/dev/actions/silence?alertname=DevOnly&duration=2h")
            .await;
    assert!(preview.contains("silenced for 2 hours from when it runs"), "{preview}");
    assert!(preview.contains("id=\"request\""), "{preview}");

    // Refusals in words.
    let silence = |duration: &str, reason: &str| {
        json!({"environment": "dev", "action": "silence", "alertname": "DevOnly",
               "duration": duration, "reason": reason})
    };
    let (status, body) = ask(&app, &operator, silence("", "noise")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().starts_with("Say for how long"), "{body}");
    let (status, body) = ask(&app, &operator, silence("3w", "noise")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("between 5 minutes and 7 days"), "{body}");
    let (status, body) = ask(&app, &operator, silence("2h", "")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().starts_with("Say why"), "{body}");
    let (status, _) = ask(&app, &stakeholder, silence("2h", "noise")).await;
    assert_eq!(status, 403);

    // Dev's policy runs it at once: the silence is in Alertmanager, scoped to dev.
    let (status, body) = ask(&app, &operator, silence("2h", "known noise <x-probe>")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["request"]["state"], "succeeded", "{body}");
    let id = body["request"]["id"].as_i64().unwrap();
    let client = app.context.monitoring.as_ref().unwrap().cache.alertmanager().unwrap();
    let silences = client.silences().await.unwrap();
    assert_eq!(silences.len(), 1, "{silences:?}");
    let made = &silences[0];
    let matchers: Vec<String> = made.matchers.iter().map(ToString::to_string).collect();
    assert_eq!(matchers, [format!("namespace={DEV:?}"), "alertname=\"DevOnly\"".to_owned()]);
    assert_eq!(made.created_by, "Oscar Operator (operator) via Gantry");
    assert_eq!(made.comment, format!("known noise <x-probe> (Gantry request {id})"));
    let ends = chrono::DateTime::parse_from_rfc3339(&made.ends_at).unwrap();
    let left = ends.timestamp() - chrono::Utc::now().timestamp();
    assert!((7_100..=7_200).contains(&left), "ends in {left} s");
    let kinds = audit_kinds(&db, id).await;
    assert_eq!(kinds, ["action_requested", "action_started", "action_succeeded"]);

    // The Metrics page at once: silenced, the comment escaped, an Expire link.
    let (_, text) = page(&app, &operator, "/monitoring?env=dev").await;
    assert!(text.contains("data-alert=\"DevOnly\" data-state=\"silenced\""), "{text}");
    assert!(text.contains("known noise &lt;x-probe&gt;") && !text.contains("<x-probe"));
    let expire = format!("href=\"/environments/dev/actions/expire_silence?silence={}\"", made.id);
    assert!(text.contains(&expire), "{text}");

    // Another environment's silence is not dev's to end.
    let now = chrono::Utc::now();
    let prods = client
        .create(&gantry_app::monitoring::alertmanager::NewSilence {
            matchers: vec![gantry_app::monitoring::alertmanager::Matcher::equal(
                "namespace",
                "co2-calculator-prod",
            )],
            starts_at: now.to_rfc3339(),
            ends_at: (now + chrono::Duration::hours(1)).to_rfc3339(),
            created_by: "someone".into(),
            comment: "prod maintenance".into(),
        })
        .await
        .unwrap();
    let expire = |silence: &str| json!({"environment": "dev", "action": "expire_silence", "silence": silence, "reason": ""});
    let (status, body) = ask(&app, &operator, expire(&prods)).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].as_str().unwrap().contains(&format!("no silence {prods} on dev")));
    let (status, _) = ask(&app, &operator, expire("not-an-id!")).await;
    assert_eq!(status, 400);

    // Expired through the panel; a second time is refused.
    let (status, body) = ask(&app, &operator, expire(&made.id)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["request"]["state"], "succeeded", "{body}");
    let after = client.silences().await.unwrap();
    let state = after.iter().find(|s| s.id == made.id).map(|s| s.state.as_str());
    assert_eq!(state, Some("expired"));
    let (status, body) = ask(&app, &operator, expire(&made.id)).await;
    assert_eq!(status, 422, "{body}");
    let (_, text) = page(&app, &operator, "/monitoring?env=dev").await;
    assert!(text.contains("data-alert=\"DevOnly\" data-state=\"firing\""), "{text}");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_prod_silence_waits_for_an_approver(db: PgPool) {
    let monitoring = started().await;
    let app =
        spawn_on_simulator_with(db.clone(), &monitoring.settings(), Background::OnDemand).await;
    let operator = app.client_as("operator").await;
    let approver = app.client_as("approver").await;
    let body = json!({"environment": "prod", "action": "silence", "alertname": "HighErrorRate",
                      "duration": "1h", "reason": "the release is being rolled back"});
    let (status, body) = ask(&app, &operator, body).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["request"]["state"], "pending", "{body}");
    let id = body["request"]["id"].as_i64().unwrap();
    let client = app.context.monitoring.as_ref().unwrap().cache.alertmanager().unwrap();
    assert_eq!(client.silences().await.unwrap(), [], "nothing is silenced before approval");
    let (status, body) = step(&app, &approver, id, "approve").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["request"]["state"], "succeeded", "{body}");
    let silences = client.silences().await.unwrap();
    let matchers: Vec<String> = silences[0].matchers.iter().map(ToString::to_string).collect();
    assert_eq!(matchers, ["namespace=\"co2-calculator-prod\"", "alertname=\"HighErrorRate\""]);
    let kinds = audit_kinds(&db, id).await;
    assert_eq!(
        kinds,
        ["action_requested", "action_approved", "action_started", "action_succeeded"]
    );
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_silence_in_alertmanager_holds_prods_alert_back_on_every_page(db: PgPool) {
    use gantry_app::monitoring::alertmanager::{Matcher, NewSilence};
    let end = chrono::Utc::now().timestamp() / 30 * 30 - 60;
    let monitoring = gantry_tests::prometheus::Monitoring::start(&history(end), RULES, false).await;
    let app = spawn_on_simulator_with(db, &monitoring.settings(), Background::OnDemand).await;
    let stakeholder = app.client_as("stakeholder").await;
    let card = |env: &'static str| {
        let (app, stakeholder) = (&app, &stakeholder);
        async move {
            gantry_app::monitoring::summary::refresh_once(&app.context).await;
            let page = stakeholder.get(app.url("/")).send().await.ok()?.text().await.ok()?;
            let card = page.split(&format!("data-env=\"{env}\"")).nth(1)?;
            Some(card.split("</article>").next()?.to_owned())
        }
    };
    let firing = || async { card("prod").await.filter(|c| c.contains("1 alert firing")) };
    eventually_some(Duration::from_secs(60), "prod's alert firing on its card", firing).await;

    let monitoring = app.context.monitoring.clone().expect("monitoring is configured");
    let client = monitoring.cache.alertmanager().expect("an Alertmanager client");
    let now = chrono::Utc::now();
    let silence = NewSilence {
        matchers: vec![
            Matcher::equal("namespace", PROD),
            Matcher::equal("alertname", "HighErrorRate"),
        ],
        starts_at: now.to_rfc3339(),
        ends_at: (now + chrono::Duration::hours(2)).to_rfc3339(),
        created_by: "Olivia Operator (operator) via Gantry".into(),
        comment: "<x-probe> known: the release is being rolled back".into(),
    };
    let id = client.create(&silence).await.expect("Alertmanager takes the silence");

    // The card no longer counts it; the Metrics page says who silenced it until when.
    let quiet = || async { card("prod").await.filter(|c| !c.contains("alert firing")) };
    eventually_some(Duration::from_secs(30), "prod's card without the silenced alert", quiet).await;
    let page = stakeholder.get(app.url("/monitoring?env=prod")).send().await.unwrap();
    let page = page.text().await.unwrap();
    let alerts = page.split("id=\"alerts\"").nth(1).unwrap().split("</section>").next().unwrap();
    assert!(
        alerts.contains(
            "<li class=\"alert silenced\" data-alert=\"HighErrorRate\" data-state=\"silenced\">"
        ),
        "{alerts}"
    );
    assert!(alerts.contains("0 firing, 1 silenced or inhibited, 1 pending on prod."), "{alerts}");
    assert!(
        alerts.contains("by Olivia Operator (operator) via Gantry: &lt;x-probe&gt; known"),
        "{alerts}"
    );
    assert!(!alerts.contains("<x-probe"), "{alerts}");
    let listed = alerts.split("id=\"silences\"").nth(1).expect("the silences");
    assert!(listed.contains(&format!("data-silence=\"{id}\"")), "{listed}");
    assert!(
        listed.contains(
            "namespace=&quot;co2-calculator-prod&quot;, alertname=&quot;HighErrorRate&quot;"
        ),
        "{listed}"
    );
    // Dev's alerts and silences are its own.
    let dev = stakeholder.get(app.url("/monitoring?env=dev")).send().await.unwrap();
    let dev = dev.text().await.unwrap();
    assert!(dev.contains("No silence is active or scheduled here.") && !dev.contains(&id), "{dev}");
    assert!(card("dev").await.unwrap().contains("1 alert firing"));

    // Expired: it fires on the card again.
    client.expire(&id).await.expect("Alertmanager expires the silence");
    eventually_some(Duration::from_secs(30), "prod's alert firing again", firing).await;
    app.stop().await;
}
