//! Signing in through a real OpenID provider (npm `oidc-provider`, started by the test
//! harness), sessions, signing out, and the refusals: tampered tokens, replayed or foreign
//! callbacks, session fixation, cross-site requests and open redirects.

use gantry_tests::oidc::{
    self, provider, sign_in_until_callback, signed_in_client, spawn_with_provider,
};
use gantry_tests::{anonymous_client, audit_events, session_cookie, spawn_app};
use sqlx::PgPool;

async fn identity(app: &gantry_tests::TestApp, client: &reqwest::Client) -> reqwest::Response {
    client.get(app.url("/api/me")).send().await.unwrap()
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn signing_in_through_the_provider_gives_the_epfl_identity_and_its_roles(db: PgPool) {
    let app = spawn_with_provider(db.clone(), &[]).await;
    let client = signed_in_client(&app, "developer").await;
    let who: serde_json::Value = identity(&app, &client).await.json().await.unwrap();
    // The SCIPER (uniqueid), not the provider's subject; groups without _AppGrpU.
    assert_eq!(who["user_id"], "100005");
    assert_eq!(who["name"], "Dana Developer");
    assert_eq!(who["summary"], "operator on dev; viewer on staging, prod");
    assert_eq!(who["groups"], serde_json::json!(["co2-calculator-developers"]));
    assert_eq!(
        who["roles"],
        serde_json::json!({ "dev": "operator", "staging": "viewer", "prod": "viewer" })
    );
    let me = client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let html = me.text().await.unwrap();
    assert!(
        html.contains("co2-calculator-developers") && !html.contains("_AppGrpU"),
        "groups on /me"
    );
    assert!(html.contains(&provider().issuer), "/me names the provider");
    let signed_in = audit_events(&db, "sign_in").await;
    assert_eq!(signed_in.len(), 1);
    assert_eq!(signed_in[0].0.as_deref(), Some("100005"));
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_page_asked_for_before_signing_in_is_where_the_sign_in_ends(db: PgPool) {
    let app = spawn_with_provider(db, &[]).await;
    let browser = anonymous_client();
    let page = browser.get(app.url("/environments/prod?tab=pods")).send().await.unwrap();
    assert_eq!(page.status(), 303);
    let location = page.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/auth/login?next=%2Fenvironments%2Fprod%3Ftab%3Dpods");
    let sign_in = sign_in_until_callback(&app, "stakeholder", "/environments/prod?tab=pods").await;
    let back = sign_in.client.get(&sign_in.callback).send().await.unwrap();
    assert_eq!(back.status(), 303);
    assert_eq!(back.headers()["location"], "/environments/prod?tab=pods");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn anonymous_api_calls_get_401_and_pages_redirect(db: PgPool) {
    let app = spawn_with_provider(db.clone(), &[]).await;
    let browser = anonymous_client();
    for path in ["/api/overview", "/api/environment", "/api/page"] {
        let response = browser.post(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 401, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "Sign in first.", "{path}");
    }
    for path in ["/api/live", "/api/me"] {
        assert_eq!(browser.get(app.url(path)).send().await.unwrap().status(), 401, "{path}");
    }
    for path in ["/", "/me", "/environments/dev", "/history"] {
        assert_eq!(browser.get(app.url(path)).send().await.unwrap().status(), 303, "{path}");
    }
    // The platform's endpoints stay open (metrics are on a listener of their own).
    for path in ["/health", "/ready", "/started"] {
        assert_eq!(browser.get(app.url(path)).send().await.unwrap().status(), 200, "{path}");
    }
    // Five refusals from one address within a minute: one event, which the next one (a
    // minute later) follows with their count (tests/tests/sessions.rs' flood test and
    // server/src/auth/throttle.rs).
    assert_eq!(audit_events(&db, "denied").await.len(), 1, "recorded, once a minute");
    app.stop().await;
}

/// Each forged or tampered ID token is refused with the reason, nobody is signed in, and
/// the refusal is recorded.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn tampered_id_tokens_are_refused_one_check_at_a_time(db: PgPool) {
    let app = spawn_with_provider(db.clone(), &[]).await;
    let past = chrono::Utc::now().timestamp() - 600;
    let cases = [
        (
            "wrong issuer",
            serde_json::json!({ "iss": "https://evil.example" }),
            None,
            "another provider (issuer)",
        ),
        (
            "wrong audience",
            serde_json::json!({ "aud": "another-app" }),
            None,
            "another application (audience)",
        ),
        ("expired", serde_json::json!({ "exp": past, "iat": past - 600 }), None, "expired"),
        (
            "nonce mismatch",
            serde_json::json!({ "nonce": "not-the-one-sent" }),
            None,
            "nonce mismatch",
        ),
        ("foreign signature", serde_json::json!({}), Some("foreign"), "signature does not verify"),
    ];
    for (case, claims, key, words) in &cases {
        let sign_in = sign_in_until_callback(&app, "admin", "/").await;
        let tamper = serde_json::json!({ "nonce": sign_in.nonce(), "claims": claims, "key": key });
        let asked = sign_in
            .client
            .post(format!("{}/__test/tamper", provider().issuer))
            .json(&tamper)
            .send()
            .await;
        assert_eq!(asked.unwrap().status(), 200);
        let response = sign_in.client.get(&sign_in.callback).send().await.unwrap();
        assert_eq!(response.status(), 400, "{case}");
        let page = response.text().await.unwrap();
        assert!(page.contains(words), "{case}: {page}");
        // Not signed in: the overview still sends this browser to sign in.
        let after = sign_in.client.get(app.url("/")).send().await.unwrap();
        assert_eq!(after.status(), 303, "{case}: signed in after a refused token");
    }
    let refused = audit_events(&db, "sign_in_refused").await;
    assert_eq!(refused.len(), cases.len());
    assert!(audit_events(&db, "sign_in").await.is_empty());
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_callback_with_another_state_or_in_another_browser_is_refused(db: PgPool) {
    let app = spawn_with_provider(db.clone(), &[]).await;
    // State mismatch: the provider's answer altered on the way back.
    let sign_in = sign_in_until_callback(&app, "admin", "/").await;
    let state = sign_in.query("state");
    let forged = sign_in.callback.replace(&format!("state={state}"), "state=forged");
    let response = sign_in.client.get(&forged).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("not started in this browser"));
    // The genuine answer was not consumed by the forgery... but a state is used once.
    assert_eq!(sign_in.client.get(&sign_in.callback).send().await.unwrap().status(), 303);
    assert_eq!(
        sign_in.client.get(&sign_in.callback).send().await.unwrap().status(),
        400,
        "replayed callback"
    );

    // No PKCE verifier: the callback arrives in a browser that never started a sign-in.
    let sign_in = sign_in_until_callback(&app, "admin", "/").await;
    let stranger = anonymous_client();
    let response = stranger.get(&sign_in.callback).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("not started in this browser"));

    // Code injection: an attacker's code in the victim's own sign-in (valid state) cannot
    // be exchanged, because it was issued for the attacker's PKCE challenge.
    let attacker = sign_in_until_callback(&app, "admin", "/").await;
    let (victim, victim_authorize) = oidc::start_sign_in(&app, "stakeholder", "/").await;
    let victim_state: String = victim_authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let code: String = reqwest::Url::parse(&attacker.callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let injected = format!(
        "{}?code={code}&state={victim_state}&iss={}",
        app.url("/auth/callback"),
        gantry::auth::layer::urlencode(&provider().issuer)
    );
    let response = victim.get(&injected).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let page = response.text().await.unwrap();
    assert!(page.contains("refused to exchange the sign-in code"), "{page}");
    assert_eq!(
        victim.get(app.url("/")).send().await.unwrap().status(),
        303,
        "victim not signed in"
    );
    app.stop().await;
}

/// A session id known before signing in (planted by an attacker, say) is worthless after.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn the_session_id_changes_at_sign_in(db: PgPool) {
    let app = spawn_with_provider(db, &[]).await;
    let sign_in = sign_in_until_callback(&app, "admin", "/").await;
    // The session that holds the sign-in in progress (made by /auth/login).
    let fresh = anonymous_client();
    let login = fresh.get(app.url("/auth/login")).send().await.unwrap();
    let before = session_cookie(&login).expect("a session for the sign-in in progress");
    let after_response = sign_in.client.get(&sign_in.callback).send().await.unwrap();
    let after = session_cookie(&after_response).expect("a new session cookie at sign-in");
    assert_ne!(before, after);
    // The pre-sign-in id of *this* browser: replaying it gets nobody signed in.
    let planted =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = planted
        .get(app.url("/"))
        .header("cookie", format!("gantry_session={before}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let response = planted
        .get(app.url("/"))
        .header("cookie", format!("gantry_session={after}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the new id is the signed-in session");
    let attrs: Vec<String> = after_response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .filter(|c| c.starts_with("gantry_session="))
        .collect();
    assert!(attrs[0].contains("HttpOnly") && attrs[0].contains("SameSite=Lax"), "{attrs:?}");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn signing_out_ends_the_session_here_and_at_the_provider(db: PgPool) {
    let app = spawn_with_provider(db.clone(), &[]).await;
    let client = signed_in_client(&app, "operator").await;
    let out =
        client.post(app.url("/auth/logout")).header("origin", app.url("")).send().await.unwrap();
    assert_eq!(out.status(), 303);
    let location = reqwest::Url::parse(out.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        location.as_str().starts_with(&provider().issuer),
        "not sent to the provider: {location}"
    );
    let params: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert!(params.contains_key("id_token_hint"), "{params:?}");
    assert_eq!(params["post_logout_redirect_uri"], app.url("/auth/signed-out"));
    assert_eq!(client.get(app.url("/")).send().await.unwrap().status(), 303, "still signed in");
    let (status, _) = oidc::follow(&client, location.to_string(), "never").await;
    assert_eq!(status, 200, "the provider's sign-out page");
    let events = audit_events(&db, "sign_out").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0.as_deref(), Some("100004"));
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_cross_origin_post_is_refused_and_a_same_origin_one_passes(db: PgPool) {
    let app = spawn_app(db.clone()).await;
    let cross = [
        vec![("origin", "https://evil.example")],
        vec![("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")],
        vec![("sec-fetch-site", "same-site")],
    ];
    for headers in cross {
        let mut request = app.client.post(app.url("/auth/logout"));
        for (k, v) in &headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{headers:?}");
        let mut request = app.client.post(app.url("/api/overview"));
        for (k, v) in &headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{headers:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("another site"), "{body}");
    }
    // Still signed in: the forged sign-out did nothing.
    assert_eq!(app.get("/").await.status(), 200);
    let same = app
        .client
        .post(app.url("/api/overview"))
        .header("origin", app.url(""))
        .header("sec-fetch-site", "same-origin");
    assert_eq!(same.send().await.unwrap().status(), 200);
    assert_eq!(audit_events(&db, "denied").await.len(), 1, "recorded, once a minute per address");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn after_signing_in_only_paths_on_this_server_are_followed(db: PgPool) {
    let app = spawn_app(db).await;
    for (next, expected) in [
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/environments/prod", "/environments/prod"),
    ] {
        let client = anonymous_client();
        let response = client
            .post(app.url("/auth/demo"))
            .form(&[("person", "admin"), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{next}");
        assert_eq!(response.headers()["location"], expected, "{next}");
    }
    // The provider flow keeps the same rule (checked when the sign-in starts).
    let page = anonymous_client()
        .get(app.url("/auth/login?next=https://evil.example/"))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(!html.contains("evil.example") && html.contains("name=\"next\" value=\"/\""), "{html}");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn demo_sign_in_lists_the_demo_people_and_exists_only_in_demo_mode(db: PgPool) {
    let app = spawn_app(db.clone()).await;
    let html =
        anonymous_client().get(app.url("/auth/login")).send().await.unwrap().text().await.unwrap();
    for name in [
        "Alice Admin",
        "Bob Approver",
        "Oscar Operator",
        "Dana Developer",
        "Carol Viewer",
        "Nico Newcomer",
    ] {
        assert!(html.contains(name), "{name} missing from the demo sign-in");
    }
    let unknown = anonymous_client()
        .post(app.url("/auth/demo"))
        .form(&[("person", "mallory")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    app.stop().await;
    let app = spawn_with_provider(db, &[]).await;
    let refused = anonymous_client()
        .post(app.url("/auth/demo"))
        .form(&[("person", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404, "demo sign-in on a server using a provider");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn someone_without_a_role_sees_no_access_naming_their_groups(db: PgPool) {
    let app = spawn_with_provider(db.clone(), &[]).await;
    let client = signed_in_client(&app, "norole").await;
    let page = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 403);
    let html = page.text().await.unwrap();
    assert!(html.contains("No access") && html.contains("epfl-staff"), "no-access page");
    assert!(
        !html.contains("co2-calculator-prod"),
        "environment data shown to someone without a role"
    );
    assert_eq!(client.get(app.url("/me")).send().await.unwrap().status(), 200, "/me stays open");
    let denied = audit_events(&db, "denied").await;
    assert!(denied.iter().any(|(user, _)| user.as_deref() == Some("100006")), "{denied:?}");
    app.stop().await;
}

/// Sessions live in PostgreSQL: a sign-in on one replica holds on another; a sign-out on
/// one is seen by the other once its few seconds of memory run out.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn replicas_share_sessions_and_see_a_sign_out_within_seconds(db: PgPool) {
    let first = spawn_app(db.clone()).await;
    let second = spawn_app(db).await;
    let signed_in = anonymous_client()
        .post(first.url("/auth/demo"))
        .form(&[("person", "operator"), ("next", "/")])
        .send()
        .await
        .unwrap();
    let cookie = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("gantry_session="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    // The same cookie at either replica, as a browser keeps sending it (one address in
    // production); a plain client so that nothing drops it after the sign-out.
    let plain =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let me = |app: &gantry_tests::TestApp| {
        plain.get(app.url("/api/me")).header("cookie", &cookie).send()
    };
    let answer = me(&second).await.unwrap();
    assert_eq!(answer.status(), 200, "the second replica does not know the session");
    let who: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(who["user_id"], "operator");
    assert_eq!(me(&first).await.unwrap().status(), 200);
    let out = plain.post(first.url("/auth/logout")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(me(&first).await.unwrap().status(), 401, "at once where signed out");
    // The other replica forgets it once its memory of the session (5 s) is out of date.
    let limit = gantry::auth::SESSION_MEMORY + std::time::Duration::from_secs(10);
    let what = "the other replica to refuse the signed-out session";
    gantry_tests::eventually(limit, what, || async { me(&second).await.unwrap().status() == 401 })
        .await;
    first.stop().await;
    second.stop().await;
}
