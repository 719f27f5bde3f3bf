//! The `[prometheus]` and `[alertmanager]` sections: where the metrics and the silences
//! are, how the backend labels its series, and (from the environment only, as every
//! secret) how to sign in to them.

use serde::Deserialize;

use gantry_app::config::PrometheusConfig;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrometheus {
    pub url: Option<String>,
    pub scrape_interval_seconds: Option<u64>,
    pub handler_label: Option<String>,
    pub status_label: Option<String>,
    pub error_status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlertmanager {
    pub url: Option<String>,
}

/// The secrets Prometheus may need, read from the environment: `GANTRY_PROMETHEUS_TOKEN`
/// (a bearer token), or `GANTRY_PROMETHEUS_USER` and `GANTRY_PROMETHEUS_PASSWORD`.
#[derive(Clone, Default)]
pub enum PrometheusAuth {
    #[default]
    None,
    Bearer(secrecy::SecretString),
    Basic {
        user: String,
        password: secrecy::SecretString,
    },
}

impl PrometheusAuth {
    /// The credentials as the monitoring clients take them.
    pub fn credentials(&self) -> gantry_app::monitoring::prometheus::Credentials {
        use gantry_app::monitoring::prometheus::Credentials;
        use secrecy::ExposeSecret;
        match self {
            PrometheusAuth::None => Credentials::None,
            PrometheusAuth::Bearer(token) => Credentials::Bearer(token.expose_secret().to_owned()),
            PrometheusAuth::Basic { user, password } => Credentials::Basic {
                user: user.clone(),
                password: password.expose_secret().to_owned(),
            },
        }
    }
}

impl std::fmt::Debug for PrometheusAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PrometheusAuth::None => "none",
            PrometheusAuth::Bearer(_) => "bearer token",
            PrometheusAuth::Basic { .. } => "basic auth",
        })
    }
}

/// A Prometheus label name: letters, digits and underscores, not starting with a digit.
fn is_label_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A problem with one key of the section: its name under `prometheus.` and what is wrong.
pub type Problem = (&'static str, String);

pub fn validate(raw: RawPrometheus) -> Result<Option<PrometheusConfig>, Problem> {
    let Some(url) = raw.url.filter(|u| !u.trim().is_empty()) else {
        let set = [
            ("scrape_interval_seconds", raw.scrape_interval_seconds.is_some()),
            ("handler_label", raw.handler_label.is_some()),
            ("status_label", raw.status_label.is_some()),
            ("error_status", raw.error_status.is_some()),
        ];
        if let Some((key, _)) = set.into_iter().find(|(_, present)| *present) {
            return Err((key, "is set but prometheus.url is not: set the URL too".into()));
        }
        return Ok(None);
    };
    let base = base_url(&url, "GANTRY_PROMETHEUS", "http://prometheus.monitoring:9090")
        .map_err(|problem| ("url", problem))?;
    let scrape = raw.scrape_interval_seconds.unwrap_or(30);
    if !(1..=600).contains(&scrape) {
        return Err((
            "scrape_interval_seconds",
            format!("{scrape} is out of range; use 1 to 600 (Prometheus' scrape_interval)"),
        ));
    }
    let label = |key: &'static str, value: Option<String>, default: &str| {
        let value = value.unwrap_or_else(|| default.to_owned());
        if is_label_name(&value) {
            Ok(value)
        } else {
            Err((key, format!("{value:?} is not a label name (letters, digits, _)")))
        }
    };
    let handler_label = label("handler_label", raw.handler_label, "handler")?;
    let status_label = label("status_label", raw.status_label, "status")?;
    let error_status = raw.error_status.unwrap_or_else(|| "5..".to_owned());
    if error_status.is_empty() || error_status.len() > 64 {
        return Err(("error_status", "must be a short regular expression such as 5..".into()));
    }
    // It lands inside a PromQL string: quotes and backslashes would end or bend it, and
    // `regex`-valid is what Prometheus (RE2) accepts too for these plain patterns.
    if error_status.contains(['"', '\\', '\n']) || regex_lite_check(&error_status).is_err() {
        return Err((
            "error_status",
            format!("{error_status:?} is not a plain regular expression such as 5.. or 5xx"),
        ));
    }
    Ok(Some(PrometheusConfig {
        url: base,
        scrape_interval_secs: scrape,
        handler_label,
        status_label,
        error_status,
    }))
}

/// `[alertmanager]`: its base URL, when set; only beside a Prometheus (the alerts come
/// from Prometheus, Alertmanager says which are silenced).
pub fn validate_alertmanager(
    raw: RawAlertmanager,
    prometheus: bool,
) -> Result<Option<String>, Problem> {
    let Some(url) = raw.url.filter(|u| !u.trim().is_empty()) else {
        return Ok(None);
    };
    if !prometheus {
        return Err((
            "url",
            "is set but prometheus.url is not: the alerts come from Prometheus; set it too".into(),
        ));
    }
    base_url(&url, "GANTRY_ALERTMANAGER", "http://alertmanager.monitoring:9093")
        .map(Some)
        .map_err(|problem| ("url", problem))
}

/// A service's base URL, checked: http(s), a host, no credentials (`{env}_USER` and
/// `{env}_PASSWORD` are the place), no query; with a trailing slash, as API paths are
/// joined to it.
fn base_url(url: &str, env: &str, example: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url.trim())
        .map_err(|_| format!("{url:?} is not a URL such as {example}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!("{url:?} must be an http:// or https:// address"));
    }
    // Credentials belong in the environment, where a secret is kept out of files and logs.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "carries a user or password: set {env}_USER and {env}_PASSWORD instead"
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("must not have a query or fragment; give the base URL only".into());
    }
    let mut base = parsed.to_string();
    if !base.ends_with('/') {
        base.push('/');
    }
    Ok(base)
}

/// Status patterns are short: digits, letters, `.`, `|`, `[]`, `()`, `*`, `+`, `?` and
/// balanced brackets. Anything else is refused rather than guessed at.
fn regex_lite_check(pattern: &str) -> Result<(), ()> {
    let mut depth = (0i32, 0i32);
    for c in pattern.chars() {
        match c {
            '(' => depth.0 += 1,
            ')' => depth.0 -= 1,
            '[' => depth.1 += 1,
            ']' => depth.1 -= 1,
            c if c.is_ascii_alphanumeric() || ".|*+?-^$".contains(c) => {}
            _ => return Err(()),
        }
        if depth.0 < 0 || depth.1 < 0 {
            return Err(());
        }
    }
    if depth == (0, 0) {
        Ok(())
    } else {
        Err(())
    }
}

/// The environment variables holding one service's credentials: token, user, password.
pub type CredentialNames = [&'static str; 3];

pub const PROMETHEUS_CREDENTIALS: CredentialNames =
    ["GANTRY_PROMETHEUS_TOKEN", "GANTRY_PROMETHEUS_USER", "GANTRY_PROMETHEUS_PASSWORD"];
pub const ALERTMANAGER_CREDENTIALS: CredentialNames =
    ["GANTRY_ALERTMANAGER_TOKEN", "GANTRY_ALERTMANAGER_USER", "GANTRY_ALERTMANAGER_PASSWORD"];

/// The credentials from the environment; both halves of basic auth or neither.
pub fn auth_from(
    names: CredentialNames,
    token: Option<&str>,
    user: Option<&str>,
    password: Option<&str>,
) -> Result<PrometheusAuth, (&'static str, String)> {
    let [token_name, user_name, password_name] = names;
    let token = token.filter(|t| !t.is_empty());
    let user = user.filter(|u| !u.is_empty());
    let password = password.filter(|p| !p.is_empty());
    match (token, user, password) {
        (None, None, None) => Ok(PrometheusAuth::None),
        (Some(token), None, None) => Ok(PrometheusAuth::Bearer(token.to_owned().into())),
        (None, Some(user), Some(password)) => Ok(PrometheusAuth::Basic {
            user: user.to_owned(),
            password: password.to_owned().into(),
        }),
        (Some(_), _, _) => Err((
            token_name,
            format!("is set together with {user_name}/PASSWORD: use one way of signing in"),
        )),
        (None, Some(_), None) => Err((password_name, format!("missing: {user_name} needs it"))),
        (None, None, Some(_)) => Err((user_name, format!("missing: {password_name} needs it"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(url: &str) -> RawPrometheus {
        RawPrometheus { url: Some(url.into()), ..RawPrometheus::default() }
    }

    #[test]
    fn a_prometheus_url_gets_the_documented_defaults_and_a_trailing_slash() {
        let config = validate(raw("http://prometheus.monitoring:9090")).unwrap().unwrap();
        assert_eq!(config.url, "http://prometheus.monitoring:9090/");
        assert_eq!(config.scrape_interval_secs, 30);
        assert_eq!(
            (config.handler_label.as_str(), config.status_label.as_str()),
            ("handler", "status")
        );
        assert_eq!(config.error_status, "5..");
        let behind_a_path = validate(raw("https://metrics.example.org/prometheus")).unwrap();
        assert_eq!(behind_a_path.unwrap().url, "https://metrics.example.org/prometheus/");
    }

    #[test]
    fn no_url_means_no_prometheus_unless_other_keys_say_otherwise() {
        assert_eq!(validate(RawPrometheus::default()), Ok(None));
        let orphan = RawPrometheus { handler_label: Some("endpoint".into()), ..Default::default() };
        assert_eq!(validate(orphan).unwrap_err().0, "handler_label");
    }

    #[test]
    fn bad_prometheus_values_are_refused_naming_the_key() {
        let cases: [(RawPrometheus, &str); 8] = [
            (raw("prometheus:9090"), "url"),
            (raw("ftp://prometheus"), "url"),
            (raw("http://admin:secret@prometheus:9090"), "url"),
            (raw("http://prometheus:9090/?x=1"), "url"),
            (
                RawPrometheus { scrape_interval_seconds: Some(0), ..raw("http://p") },
                "scrape_interval_seconds",
            ),
            (
                RawPrometheus { handler_label: Some("end-point".into()), ..raw("http://p") },
                "handler_label",
            ),
            (RawPrometheus { status_label: Some("1st".into()), ..raw("http://p") }, "status_label"),
            (
                RawPrometheus {
                    error_status: Some("5..\"}) or vector(1".into()),
                    ..raw("http://p")
                },
                "error_status",
            ),
        ];
        for (raw, key) in cases {
            assert_eq!(validate(raw).unwrap_err().0, key);
        }
        let unbalanced = RawPrometheus { error_status: Some("(5..".into()), ..raw("http://p") };
        assert_eq!(validate(unbalanced).unwrap_err().0, "error_status");
    }

    #[test]
    fn the_url_with_a_password_is_refused_without_repeating_it() {
        let (_, problem) = validate(raw("http://admin:hunter2@prometheus:9090")).unwrap_err();
        assert!(!problem.contains("hunter2"), "{problem}");
    }

    #[test]
    fn an_alertmanager_needs_a_prometheus_and_a_plain_url() {
        let raw = |url: &str| RawAlertmanager { url: Some(url.into()) };
        assert_eq!(
            validate_alertmanager(raw("http://am:9093"), true),
            Ok(Some("http://am:9093/".to_owned()))
        );
        assert_eq!(validate_alertmanager(RawAlertmanager::default(), false), Ok(None));
        let (key, problem) = validate_alertmanager(raw("http://am:9093"), false).unwrap_err();
        assert!(key == "url" && problem.contains("prometheus.url"), "{problem}");
        let (_, problem) = validate_alertmanager(raw("http://u:pw@am:9093"), true).unwrap_err();
        assert!(problem.contains("GANTRY_ALERTMANAGER_USER") && !problem.contains("pw"));
        assert!(validate_alertmanager(raw("am:9093"), true).is_err());
        let names = ALERTMANAGER_CREDENTIALS;
        assert_eq!(auth_from(names, None, Some("u"), None).unwrap_err().0, names[2]);
    }

    #[test]
    fn prometheus_credentials_come_as_a_token_or_a_user_and_password() {
        assert!(matches!(
            auth_from(PROMETHEUS_CREDENTIALS, None, None, None),
            Ok(PrometheusAuth::None)
        ));
        assert!(matches!(
            auth_from(PROMETHEUS_CREDENTIALS, Some("t"), None, None),
            Ok(PrometheusAuth::Bearer(_))
        ));
        assert!(matches!(
            auth_from(PROMETHEUS_CREDENTIALS, None, Some("u"), Some("p")),
            Ok(PrometheusAuth::Basic { .. })
        ));
        assert_eq!(
            auth_from(PROMETHEUS_CREDENTIALS, Some("t"), Some("u"), Some("p")).unwrap_err().0,
            "GANTRY_PROMETHEUS_TOKEN"
        );
        assert_eq!(
            auth_from(PROMETHEUS_CREDENTIALS, None, Some("u"), None).unwrap_err().0,
            "GANTRY_PROMETHEUS_PASSWORD"
        );
        assert_eq!(
            auth_from(PROMETHEUS_CREDENTIALS, None, None, Some("p")).unwrap_err().0,
            "GANTRY_PROMETHEUS_USER"
        );
        let shown = format!(
            "{:?}",
            auth_from(PROMETHEUS_CREDENTIALS, Some("s3cr3t"), None, None).expect("a token alone")
        );
        assert!(!shown.contains("s3cr3t"));
    }
}
