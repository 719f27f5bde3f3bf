//! `[auth]`: how people sign in (an OpenID provider, or demo people on loopback), how their
//! claims are read, and how long their sessions last.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

/// The OpenID provider's cookies on the same host (`oidc-provider` and others use these):
/// the panel's cookie must not share a name with them, since cookies ignore ports.
const PROVIDER_COOKIES: [&str; 4] = ["_session", "_interaction", "_interaction_resume", "_state"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    pub mode: Option<String>,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    /// Only read to refuse it with a clear message: the secret comes from the environment.
    pub client_secret: Option<toml::Value>,
    pub redirect_url: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub user_id_claim: Option<String>,
    pub name_claim: Option<String>,
    pub email_claim: Option<String>,
    pub groups_claim: Option<String>,
    pub group_suffix: Option<String>,
    pub cookie_name: Option<String>,
    pub session_idle_minutes: Option<u64>,
    pub session_max_hours: Option<u64>,
    pub demo_people: Option<Vec<RawDemoPerson>>,
    /// Set from `GANTRY_OIDC_CLIENT_SECRET` only.
    #[serde(skip)]
    pub secret_from_env: Option<SecretString>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDemoPerson {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    /// One line saying who this is, on the demo sign-in page.
    pub about: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub method: SignInSettings,
    pub claims: ClaimMapping,
    pub session: SessionSettings,
}

#[derive(Debug, Clone)]
pub enum SignInSettings {
    OpenId(OpenIdSettings),
    /// Anyone may pick any of these people: loopback only.
    Demo(Vec<DemoPerson>),
}

#[derive(Debug, Clone)]
pub struct OpenIdSettings {
    /// Exactly as the provider writes it in its discovery document.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// This server's callback (`https://…/auth/callback`), registered at the provider.
    pub redirect_url: url::Url,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoPerson {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub groups: Vec<String>,
    pub about: String,
}

/// Which claims of the ID token say who someone is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub groups: String,
    /// Removed from the end of group names (EPFL: `_AppGrpU`).
    pub group_suffix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    pub cookie_name: String,
    /// Without `Secure` only when serving plain http on loopback.
    pub secure_cookie: bool,
    /// Signed out after this long without a request.
    pub idle: Duration,
    /// Signed out this long after signing in, however active.
    pub absolute: Duration,
}

/// A problem: the key under `auth` and what is wrong.
type Problem = (&'static str, String);

pub fn validate(raw: RawAuth, listen: SocketAddr) -> Result<AuthSettings, Problem> {
    if raw.client_secret.is_some() {
        return Err((
            "client_secret",
            "secrets do not belong in the file: set GANTRY_OIDC_CLIENT_SECRET instead".to_owned(),
        ));
    }
    let claims = ClaimMapping {
        user_id: claim_name("user_id_claim", raw.user_id_claim, "sub")?,
        name: claim_name("name_claim", raw.name_claim, "name")?,
        email: claim_name("email_claim", raw.email_claim, "email")?,
        groups: claim_name("groups_claim", raw.groups_claim, "groups")?,
        group_suffix: Some(raw.group_suffix.unwrap_or_else(|| "_AppGrpU".to_owned()))
            .filter(|s| !s.is_empty()),
    };
    let idle_minutes = raw.session_idle_minutes.unwrap_or(60);
    if !(1..=7 * 24 * 60).contains(&idle_minutes) {
        return Err((
            "session_idle_minutes",
            format!("{idle_minutes} is out of range; use 1 to 10080 (a week)"),
        ));
    }
    let max_hours = raw.session_max_hours.unwrap_or(12);
    if !(1..=30 * 24).contains(&max_hours) {
        return Err(("session_max_hours", format!("{max_hours} is out of range; use 1 to 720")));
    }
    if idle_minutes > max_hours * 60 {
        return Err((
            "session_idle_minutes",
            format!("{idle_minutes} minutes is longer than session_max_hours ({max_hours} h)"),
        ));
    }
    let cookie_name = raw.cookie_name.unwrap_or_else(|| "gantry_session".to_owned());
    check_cookie_name(&cookie_name).map_err(|p| ("cookie_name", p))?;

    let mode = raw.mode.as_deref().unwrap_or("oidc");
    let (method, secure_cookie) = match mode {
        "demo" => {
            if !listen.ip().is_loopback() {
                return Err((
                    "mode",
                    format!(
                        "\"demo\" lets anyone sign in as anyone, so it only serves a loopback address; server.listen is {listen}"
                    ),
                ));
            }
            let people = match raw.demo_people {
                Some(list) => demo_people(list)?,
                None => default_demo_people(),
            };
            // Plain http on loopback, as demo mode always is.
            (SignInSettings::Demo(people), false)
        }
        "oidc" => {
            if raw.demo_people.is_some() {
                return Err((
                    "demo_people",
                    "only means something with auth.mode = \"demo\"".to_owned(),
                ));
            }
            let openid = open_id(
                raw.issuer,
                raw.client_id,
                raw.secret_from_env,
                raw.redirect_url,
                raw.scopes,
            )?;
            let secure =
                !(openid.redirect_url.scheme() == "http" && is_loopback_host(&openid.redirect_url));
            (SignInSettings::OpenId(openid), secure)
        }
        other => return Err(("mode", format!("{other:?} is not one of \"oidc\", \"demo\""))),
    };
    Ok(AuthSettings {
        method,
        claims,
        session: SessionSettings {
            cookie_name,
            secure_cookie,
            idle: Duration::from_secs(idle_minutes * 60),
            absolute: Duration::from_secs(max_hours * 3600),
        },
    })
}

fn open_id(
    issuer: Option<String>,
    client_id: Option<String>,
    secret: Option<SecretString>,
    redirect_url: Option<String>,
    scopes: Option<Vec<String>>,
) -> Result<OpenIdSettings, Problem> {
    let hint = "(or auth.mode = \"demo\" to try Gantry without a provider)";
    let issuer = issuer.ok_or_else(|| {
        ("issuer", format!("missing: set GANTRY_OIDC_ISSUER to the provider's issuer URL {hint}"))
    })?;
    let parsed = url::Url::parse(&issuer)
        .map_err(|e| ("issuer", format!("{issuer:?} is not a URL: {e}")))?;
    if parsed.scheme() != "https" && !(parsed.scheme() == "http" && is_loopback_host(&parsed)) {
        return Err(("issuer", format!("{issuer:?} must be https:// (http:// only on loopback)")));
    }
    let client_id = client_id
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ("client_id", format!("missing: set GANTRY_OIDC_CLIENT_ID {hint}")))?;
    let client_secret = secret.ok_or_else(|| {
        (
            "client_secret",
            "missing: set GANTRY_OIDC_CLIENT_SECRET (from a Kubernetes Secret)".to_owned(),
        )
    })?;
    let redirect = redirect_url.ok_or_else(|| {
        ("redirect_url", format!("missing: set GANTRY_OIDC_REDIRECT_URL to https://<this server>/auth/callback {hint}"))
    })?;
    let redirect_url = url::Url::parse(&redirect)
        .map_err(|e| ("redirect_url", format!("{redirect:?} is not a URL: {e}")))?;
    if redirect_url.path() != "/auth/callback" {
        return Err(("redirect_url", format!("{redirect:?} must end in /auth/callback, where Gantry receives the provider's answer")));
    }
    if redirect_url.scheme() != "https"
        && !(redirect_url.scheme() == "http" && is_loopback_host(&redirect_url))
    {
        return Err((
            "redirect_url",
            format!("{redirect:?} must be https:// (http:// only on loopback)"),
        ));
    }
    let scopes = scopes.unwrap_or_else(|| vec!["openid".into(), "profile".into(), "email".into()]);
    if !scopes.iter().any(|s| s == "openid") {
        return Err(("scopes", "must include \"openid\"".to_owned()));
    }
    if let Some(bad) = scopes.iter().find(|s| s.is_empty() || s.contains(char::is_whitespace)) {
        return Err(("scopes", format!("{bad:?} is not a scope name")));
    }
    Ok(OpenIdSettings { issuer, client_id, client_secret, redirect_url, scopes })
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

fn claim_name(key: &'static str, value: Option<String>, default: &str) -> Result<String, Problem> {
    let name = value.unwrap_or_else(|| default.to_owned());
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-:.".contains(&b)) {
        return Err((key, format!("{name:?} is not a claim name")));
    }
    Ok(name)
}

fn check_cookie_name(name: &str) -> Result<(), String> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(format!("{name:?} is not a cookie name (letters, digits, '_' and '-')"));
    }
    if PROVIDER_COOKIES.iter().any(|c| name == *c || name.starts_with(&format!("{c}."))) {
        return Err(format!(
            "{name:?} is what OpenID providers name their own cookies; on one host the two would overwrite each other"
        ));
    }
    Ok(())
}

fn demo_people(list: Vec<RawDemoPerson>) -> Result<Vec<DemoPerson>, Problem> {
    if list.is_empty() {
        return Err((
            "demo_people",
            "lists nobody; leave it out for the built-in demo people".to_owned(),
        ));
    }
    let mut people: Vec<DemoPerson> = Vec::with_capacity(list.len());
    for (i, p) in list.into_iter().enumerate() {
        if p.id.is_empty() || !p.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err((
                "demo_people",
                format!("[{i}].id {:?} must be letters, digits and '-'", p.id),
            ));
        }
        if people.iter().any(|o| o.id == p.id) {
            return Err(("demo_people", format!("[{i}].id {:?} is used twice", p.id)));
        }
        if p.name.trim().is_empty() {
            return Err(("demo_people", format!("[{i}].name is empty")));
        }
        people.push(DemoPerson {
            id: p.id,
            name: p.name,
            email: p.email,
            groups: p.groups,
            about: p.about.unwrap_or_default(),
        });
    }
    Ok(people)
}

/// The people of the demo: one per kind of user the panel serves, plus someone whose
/// groups give no role (to see the "no access" page).
pub fn default_demo_people() -> Vec<DemoPerson> {
    let person = |id: &str, name: &str, group: &str, about: &str| DemoPerson {
        id: id.to_owned(),
        name: name.to_owned(),
        email: Some(format!("{}@example.org", name.to_lowercase().replace(' ', "."))),
        groups: vec![group.to_owned()],
        about: about.to_owned(),
    };
    vec![
        person(
            "admin",
            "Alice Admin",
            "co2-calculator-admins",
            "admin everywhere: everything, break-glass included",
        ),
        person(
            "approver",
            "Bob Approver",
            "co2-calculator-approvers",
            "tech lead: approves what operators request",
        ),
        person(
            "operator",
            "Oscar Operator",
            "co2-calculator-operators",
            "operator everywhere: syncs, scales, restarts, rolls back",
        ),
        person(
            "developer",
            "Dana Developer",
            "co2-calculator-developers",
            "operator on dev, viewer on staging and prod",
        ),
        person(
            "stakeholder",
            "Carol Viewer",
            "co2-calculator-stakeholders",
            "project lead: sees everything, changes nothing",
        ),
        person("newcomer", "Nico Newcomer", "epfl-staff", "signed in, but no group with a role"),
    ]
}
