//! The `gantry` binary as an operator meets it: refusing bad configuration, starting,
//! and stopping cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gantry");

fn gantry() -> Command {
    let mut command = Command::new(BIN);
    command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

#[test]
fn a_bad_value_is_refused_in_one_line_naming_the_key_with_status_2() {
    let output = gantry()
        .env("GANTRY_DATABASE_URL", "postgres://x@127.0.0.1:1/x")
        .env("GANTRY_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("server.listen"), "{stderr}");
    assert!(stderr.contains("GANTRY_LISTEN"), "{stderr}");
}

#[test]
fn a_missing_database_url_is_refused_with_status_2() {
    let output = gantry().output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("database.url"));
}

#[test]
fn demo_sign_in_refuses_to_start_on_an_address_others_can_reach() {
    let output = gantry()
        .env("GANTRY_DATABASE_URL", "postgres://x@127.0.0.1:1/x")
        .env("GANTRY_AUTH_MODE", "demo")
        .env("GANTRY_LISTEN", "0.0.0.0:3000")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("auth.mode") && stderr.contains("loopback"), "{stderr}");
    assert!(stderr.contains("GANTRY_AUTH_MODE"), "{stderr}");
}

#[test]
fn without_sign_in_settings_the_server_says_what_to_set() {
    let output =
        gantry().env("GANTRY_DATABASE_URL", "postgres://x@127.0.0.1:1/x").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("auth.issuer") && stderr.contains("GANTRY_OIDC_ISSUER"), "{stderr}");
}

#[test]
fn an_unreadable_config_file_is_refused_with_status_2() {
    let output = gantry()
        .env("GANTRY_DATABASE_URL", "postgres://x@127.0.0.1:1/x")
        .env("GANTRY_CONFIG", "/nonexistent/gantry.toml")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/gantry.toml"));
}

/// `gantry` serving on free ports with JSON logs on its stdout, on the test database
/// (DATABASE_URL, set by ./run test).
fn serving() -> std::process::Child {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL is set by ./run test");
    gantry()
        .env("GANTRY_DATABASE_URL", url)
        .env("GANTRY_LISTEN", "127.0.0.1:0")
        .env("GANTRY_METRICS_LISTEN", "127.0.0.1:0")
        .env("GANTRY_LOG_FORMAT", "json")
        .env("GANTRY_SITE_ROOT", "/nonexistent")
        .env("GANTRY_CLUSTER", "none")
        .env("GANTRY_AUTH_MODE", "demo")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn terminate(child: &std::process::Child) {
    let pid = child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
}

/// SIGTERM while the server is still starting (its database ready, not yet listening):
/// kept, and honoured once it serves — not fatal, as a signal nobody listens for is.
#[test]
fn a_stop_asked_while_starting_is_kept_and_honoured() {
    let mut child = serving();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = lines.by_ref().map_while(Result::ok).find(|l| l.contains("database ready"));
    assert!(started.is_some(), "no 'database ready' line");
    terminate(&child);
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit after SIGTERM at start: {exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("\"stopped\"")), "no 'stopped' line: {rest:?}");
}

#[test]
fn the_server_logs_json_and_stops_cleanly_on_sigterm() {
    let mut child = serving();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "no 'listening' line: {seen:?}");
        let line = lines.next().expect("server output ended early").unwrap();
        let record: serde_json::Value = serde_json::from_str(&line).expect("every line is JSON");
        for key in ["timestamp", "level", "logger", "message", "fields", "trace_id"] {
            assert!(record.get(key).is_some(), "{key} missing in {line}");
        }
        let listening = record["message"].as_str().unwrap().contains("listening");
        seen.push(line);
        if listening {
            break;
        }
    }
    terminate(&child);
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit after SIGTERM: {exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("\"stopped\"")), "no 'stopped' line: {rest:?}");
}

/// The URL of the test's own database (DATABASE_URL names the server).
fn url_of(db: &sqlx::PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set by ./run test");
    let name = db.connect_options().get_database().expect("a database name").to_owned();
    format!("{}/{name}", base.rsplit_once('/').expect("a URL with a path").0)
}

/// `gantry audit verify ARGS` against the database at `url`.
fn verify(url: &str, args: &[&str]) -> std::process::Output {
    gantry()
        .args(["audit", "verify"])
        .args(args)
        .env("GANTRY_DATABASE_URL", url)
        .env("GANTRY_AUTH_MODE", "demo")
        .output()
        .expect("gantry runs")
}

/// `gantry audit verify` on a database whose audit log was tampered with: exit 1, naming
/// the first bad event; on an intact one: exit 0 with the count.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn audit_verify_names_the_first_bad_event(db: sqlx::PgPool) {
    use gantry_app::audit::{append, NewEvent};
    for _ in 0..3 {
        append(
            &db,
            &NewEvent {
                kind: "sign_in",
                user_id: Some("100001"),
                outcome: "ok",
                ..NewEvent::default()
            },
        )
        .await
        .unwrap();
    }
    let url = url_of(&db);
    let run = || verify(&url, &[]);
    let intact = run();
    assert_eq!(intact.status.code(), Some(0), "{}", String::from_utf8_lossy(&intact.stderr));
    assert!(String::from_utf8_lossy(&intact.stderr).contains("audit log intact: 3 events"));
    let mut tx = db.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica").execute(&mut *tx).await.unwrap();
    sqlx::query("update audit_event set reason = 'nothing to see' where audit_event_id = 2")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let broken = run();
    assert_eq!(broken.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(stderr.contains("audit log broken at event 2 (sign_in)"), "{stderr}");
}

#[test]
fn an_unknown_command_prints_the_usage_with_status_2() {
    let output = gantry().args(["audit", "rewrite"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("gantry audit verify"));
}

/// Events cut off the end leave no break in the chain; the anchor the server announced
/// (event id and hash) shows them.
#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn an_anchor_kept_elsewhere_shows_events_cut_off_the_end(db: sqlx::PgPool) {
    use gantry_app::audit::{append, NewEvent};
    for _ in 0..4 {
        let event = NewEvent {
            kind: "sign_in",
            user_id: Some("100001"),
            outcome: "ok",
            ..NewEvent::default()
        };
        append(&db, &event).await.unwrap();
    }
    let anchor = gantry::anchor::announce(&db, None).await.expect("an anchor");
    assert!(anchor.starts_with("4:") && anchor.len() == 2 + 64, "{anchor}");
    let url = url_of(&db);
    let run = |args: &[&str]| verify(&url, args);
    let held = run(&["--anchor", &anchor]);
    let stderr = String::from_utf8_lossy(&held.stderr);
    assert_eq!(held.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("it holds the anchor, event 4"), "{stderr}");
    // Cut the last two events, as someone with the triggers off could.
    let mut tx = db.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica").execute(&mut *tx).await.unwrap();
    sqlx::query("delete from audit_event where audit_event_id > 2")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let plain = run(&[]);
    assert_eq!(plain.status.code(), Some(0), "without the anchor the cut does not show");
    let cut = run(&["--anchor", &anchor]);
    let stderr = String::from_utf8_lossy(&cut.stderr);
    assert_eq!(cut.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("audit log cut short: the anchor, event 4, is gone"), "{stderr}");
    let bad = run(&["--anchor", "4:not-a-hash"]);
    assert_eq!(bad.status.code(), Some(2), "a malformed anchor is a usage error");
}

/// `gantry config check FILE`: the example file is valid as it stands (its secrets come
/// from the environment); a bad key is named with exit status 2, as at start.
#[test]
fn config_check_reads_a_file_as_the_server_would_and_names_a_bad_key() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/gantry.example.toml");
    let output = gantry().args(["config", "check", example]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("is valid: 3 environments (dev, staging, prod)"), "{stderr}");
    let bad = std::env::temp_dir().join(format!("gantry-check-{}.toml", std::process::id()));
    std::fs::write(&bad, "[[environments]]\nname = \"prod\"\nnamespace = \"p\"\n[environments.policy]\nlogs = \"everyone\"\n").unwrap();
    let output = gantry().args(["config", "check", bad.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("environments[0].policy.logs"), "{stderr}");
    let missing = gantry().args(["config", "check", "/nonexistent/gantry.toml"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let _ = std::fs::remove_file(&bad);
}
