use super::super::Settings;
use super::{environment_error, file_with, load, URL};

/// OpenID settings that validate, for tests that change one of them.
const OIDC: [(&str, &str); 6] = [
    ("DATABASE_URL", URL),
    ("GANTRY_AUTH_MODE", "oidc"),
    ("GANTRY_OIDC_ISSUER", "https://login.example.org/tenant/v2.0"),
    ("GANTRY_OIDC_CLIENT_ID", "gantry"),
    ("GANTRY_OIDC_CLIENT_SECRET", "s3cret-value-from-the-environment"),
    ("GANTRY_OIDC_REDIRECT_URL", "https://gantry.example.org/auth/callback"),
];

fn oidc_with(
    changes: &[(&'static str, &'static str)],
) -> Result<Settings, super::super::ConfigError> {
    let mut vars: Vec<(&str, &str)> =
        OIDC.iter().copied().filter(|(k, _)| !changes.iter().any(|(c, _)| c == k)).collect();
    vars.extend(changes.iter().copied().filter(|(_, v)| !v.is_empty()));
    load(&vars)
}

#[test]
fn openid_settings_come_from_the_environment_and_the_secret_never_prints() {
    let settings = oidc_with(&[]).expect("valid");
    let super::super::SignInSettings::OpenId(openid) = &settings.auth.method else {
        panic!("oidc")
    };
    assert_eq!(openid.issuer, "https://login.example.org/tenant/v2.0");
    assert!(settings.auth.session.secure_cookie, "https redirect: Secure cookie");
    assert_eq!(settings.auth.claims.group_suffix.as_deref(), Some("_AppGrpU"));
    let printed = format!("{settings:?}");
    assert!(!printed.contains("s3cret-value"), "the client secret leaks into Debug output");
}

#[test]
fn missing_or_bad_openid_settings_name_the_key_and_the_variable() {
    for (change, key, words) in [
        (("GANTRY_OIDC_ISSUER", ""), "auth.issuer", "GANTRY_OIDC_ISSUER"),
        (("GANTRY_OIDC_ISSUER", "http://login.example.org"), "auth.issuer", "https://"),
        (("GANTRY_OIDC_CLIENT_ID", ""), "auth.client_id", "GANTRY_OIDC_CLIENT_ID"),
        (("GANTRY_OIDC_CLIENT_SECRET", ""), "auth.client_secret", "GANTRY_OIDC_CLIENT_SECRET"),
        (
            ("GANTRY_OIDC_REDIRECT_URL", "https://gantry.example.org/callback"),
            "auth.redirect_url",
            "/auth/callback",
        ),
        (
            ("GANTRY_OIDC_REDIRECT_URL", "http://gantry.example.org/auth/callback"),
            "auth.redirect_url",
            "https://",
        ),
        (("GANTRY_AUTH_MODE", "ldap"), "auth.mode", "\"oidc\", \"demo\""),
    ] {
        let error = oidc_with(&[change]).expect_err(key).to_string();
        assert!(error.contains(key) && error.contains(words), "{change:?}: {error}");
    }
}

#[test]
fn plain_http_is_allowed_only_on_loopback_and_then_the_cookie_is_not_secure() {
    let settings = oidc_with(&[
        ("GANTRY_OIDC_ISSUER", "http://127.0.0.1:9400"),
        ("GANTRY_OIDC_REDIRECT_URL", "http://127.0.0.1:3000/auth/callback"),
    ])
    .expect("loopback http");
    assert!(!settings.auth.session.secure_cookie);
}

#[test]
fn the_client_secret_is_refused_in_the_file() {
    let file = file_with("[auth]\nmode = \"oidc\"\nclient_secret = \"oops\"\n");
    let error = load(&[
        ("DATABASE_URL", URL),
        ("GANTRY_CONFIG", file.path()),
        ("GANTRY_AUTH_MODE", "oidc"),
    ])
    .expect_err("secret in file")
    .to_string();
    assert!(
        error.contains("auth.client_secret") && error.contains("GANTRY_OIDC_CLIENT_SECRET"),
        "{error}"
    );
}

#[test]
fn demo_sign_in_refuses_anything_but_a_loopback_address() {
    for listen in ["0.0.0.0:3000", "192.168.1.10:3000", "[::]:3000"] {
        let error =
            load(&[("DATABASE_URL", URL), ("GANTRY_LISTEN", listen), ("GANTRY_AUTH_MODE", "demo")])
                .expect_err(listen)
                .to_string();
        assert!(error.contains("auth.mode") && error.contains("loopback"), "{listen}: {error}");
    }
    for listen in ["127.0.0.1:3000", "[::1]:3000"] {
        let settings =
            load(&[("DATABASE_URL", URL), ("GANTRY_LISTEN", listen), ("GANTRY_AUTH_MODE", "demo")]);
        let settings = settings.expect(listen);
        let super::super::SignInSettings::Demo(people) = &settings.auth.method else {
            panic!("demo")
        };
        let ids: Vec<&str> = people.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["admin", "approver", "operator", "developer", "stakeholder", "newcomer"]);
    }
}

#[test]
fn cookie_names_of_the_provider_and_bad_session_limits_are_refused() {
    for (text, key) in [
        ("cookie_name = \"_session\"", "auth.cookie_name"),
        ("cookie_name = \"_interaction.sig\"", "auth.cookie_name"),
        ("cookie_name = \"a b\"", "auth.cookie_name"),
        ("session_idle_minutes = 0", "auth.session_idle_minutes"),
        ("session_max_hours = 1\nsession_idle_minutes = 120", "auth.session_idle_minutes"),
        ("user_id_claim = \"\"", "auth.user_id_claim"),
    ] {
        let file = file_with(&format!("[auth]\n{text}\n"));
        let error = load(&[("DATABASE_URL", URL), ("GANTRY_CONFIG", file.path())])
            .expect_err(text)
            .to_string();
        assert!(error.contains(key), "{text}: {error}");
    }
}

#[test]
fn the_role_mapping_is_validated_against_the_environments_and_the_roles() {
    let ok = file_with(
        "[[access.groups]]\ngroup = \"devs\"\nroles = { dev = \"operator\", prod = \"viewer\" }\n\
         [[access.groups]]\ngroup = \"leads\"\nroles = { \"*\" = \"approver\" }\n",
    );
    let settings =
        load(&[("DATABASE_URL", URL), ("GANTRY_CONFIG", ok.path())]).expect("valid mapping");
    assert_eq!(settings.role_mapping.len(), 2);
    assert_eq!(settings.role_mapping[0].group, "devs");
    for (text, key, words) in [
        (
            "group = \"x\"\nroles = { qa = \"viewer\" }",
            "access.groups[0].roles.qa",
            "no environment",
        ),
        ("group = \"x\"\nroles = { dev = \"boss\" }", "access.groups[0].roles.dev", "\"viewer\""),
        ("group = \"\"\nroles = { dev = \"viewer\" }", "access.groups[0].group", "empty"),
        ("group = \"x\"\nroles = {}", "access.groups[0].roles", "no role"),
    ] {
        let file = file_with(&format!("[[access.groups]]\n{text}\n"));
        let error = load(&[("DATABASE_URL", URL), ("GANTRY_CONFIG", file.path())])
            .expect_err(text)
            .to_string();
        assert!(error.contains(key) && error.contains(words), "{text}: {error}");
    }
}

#[test]
fn policies_default_to_the_design_and_bad_ones_name_the_key() {
    use gantry_app::access::Policy;
    let settings = load(&[("DATABASE_URL", URL)]).expect("defaults");
    let policy = |name: &str| {
        settings
            .environments
            .iter()
            .find(|e| e.name == name)
            .expect("a default environment")
            .policy
            .clone()
    };
    assert_eq!(policy("dev").sync, Policy::Direct);
    assert_eq!(policy("staging").scale, Policy::Direct);
    assert_eq!(policy("staging").sync, Policy::Approval { approvals: 1, expires_minutes: 1440 });
    assert_eq!(policy("prod").restart, Policy::Approval { approvals: 1, expires_minutes: 1440 });
    assert_eq!(policy("prod").restore, Policy::Approval { approvals: 2, expires_minutes: 1440 });

    let text = "[environments.policy]\nsync = \"direct\"\nrestore = \"disabled\"\nscale = { approvals = 2, expires_minutes = 60 }\nbreak_glass = false";
    let file =
        file_with(&format!("[[environments]]\nname = \"dev\"\nnamespace = \"co2-dev\"\n{text}\n"));
    let settings = load(&[("DATABASE_URL", URL), ("GANTRY_CONFIG", file.path())]).expect(text);
    let p = &settings.environments[0].policy;
    assert_eq!((p.sync, p.restore), (Policy::Direct, Policy::Disabled));
    assert_eq!(p.scale, Policy::Approval { approvals: 2, expires_minutes: 60 });
    // Not named: the careful default.
    assert_eq!(p.rollback, Policy::Approval { approvals: 1, expires_minutes: 1440 });
    assert!(!p.break_glass);

    for (line, key) in [
        ("sync = \"sometimes\"", "environments[0].policy.sync"),
        ("scale = { approvals = 0 }", "environments[0].policy.scale"),
        ("scale = { approvals = 1, expires_minutes = 1 }", "environments[0].policy.scale"),
        ("scale = { approvals = 1, within = 3 }", "environments[0].policy.scale"),
        ("deploy = \"direct\"", "environments"),
    ] {
        let error = environment_error(&format!("[environments.policy]\n{line}"), &[]);
        assert!(error.contains(key), "{line}: {error}");
    }
}
