//! Signing in and out, and who each request comes from.
//!
//! - `/auth/login` starts a sign-in: the OpenID provider (authorization code + PKCE, state,
//!   nonce), or in demo mode a page to pick a demo person.
//! - `/auth/callback` finishes it: code exchange, ID token verification, a fresh session id.
//! - `/auth/logout` (POST) ends the session here, and at the provider when it offers that.
//! - Every other request passes [`layer::identify`]: the session (PostgreSQL, shared by
//!   replicas) gives the person, whose groups give their roles; pages without a sign-in
//!   send the browser to sign in and come back, API calls get 401.
//! - [`layer::same_origin`] refuses state-changing requests from other sites.

mod cache;
mod handlers;
pub mod identity;
pub mod layer;
pub mod next;
pub mod oidc;
mod pages;
pub mod throttle;

pub use pages::refused as refused_page;

use std::sync::Arc;

use gantry_app::access::principal::{roles_for, Principal};
use gantry_app::access::GroupRoles;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

pub use cache::FRESH_FOR as SESSION_MEMORY;
pub use handlers::router;
use identity::SignedIn;

use crate::config::{AuthSettings, Settings, SignInSettings};

/// What signing in needs, shared by every request.
#[derive(Clone)]
pub struct Auth(Arc<AuthInner>);

pub struct AuthInner {
    pub settings: AuthSettings,
    pub openid: Option<oidc::OpenId>,
    /// This server's origin as browsers see it (from the redirect URL), when known.
    pub public_origin: Option<String>,
    environments: Vec<String>,
    role_mapping: Arc<Vec<GroupRoles>>,
    /// Sessions read recently by this replica.
    pub recent: cache::SessionCache,
    /// What callers without a session may ask, per address.
    pub throttle: throttle::Throttle,
    /// The session store itself, for checks outside a request (open streams).
    store: std::sync::OnceLock<PostgresStore>,
}

impl std::ops::Deref for Auth {
    type Target = AuthInner;
    fn deref(&self) -> &AuthInner {
        &self.0
    }
}

impl Auth {
    pub fn new(settings: &Settings) -> Result<Self, oidc::OidcError> {
        let openid = match &settings.auth.method {
            SignInSettings::OpenId(openid) => Some(oidc::OpenId::new(openid.clone())?),
            SignInSettings::Demo(_) => None,
        };
        let public_origin = match &settings.auth.method {
            SignInSettings::OpenId(openid) => {
                Some(openid.redirect_url.origin().ascii_serialization())
            }
            SignInSettings::Demo(_) => None,
        };
        Ok(Self(Arc::new(AuthInner {
            settings: settings.auth.clone(),
            openid,
            public_origin,
            environments: settings.environments.iter().map(|e| e.name.clone()).collect(),
            role_mapping: Arc::new(settings.role_mapping.clone()),
            recent: cache::SessionCache::default(),
            store: std::sync::OnceLock::new(),
            throttle: throttle::Throttle::default(),
        })))
    }

    pub fn role_mapping(&self) -> Arc<Vec<GroupRoles>> {
        Arc::clone(&self.role_mapping)
    }

    /// The person of a session, with the roles their groups give today.
    pub fn principal(&self, signed_in: &SignedIn) -> Principal {
        let names: Vec<&str> = self.environments.iter().map(String::as_str).collect();
        Principal {
            user_id: signed_in.user_id.clone(),
            name: signed_in.name.clone(),
            email: signed_in.email.clone(),
            groups: signed_in.groups.clone(),
            roles: roles_for(&signed_in.groups, &self.role_mapping, &names),
            method: signed_in.method.clone(),
            account_html: std::sync::OnceLock::new(),
        }
    }

    /// The session cookie and store: HttpOnly, SameSite=Lax, Secure unless serving plain
    /// http on loopback; records in PostgreSQL so every replica sees every session.
    pub fn session_layer(
        &self,
        db: sqlx::PgPool,
    ) -> Result<SessionManagerLayer<PostgresStore>, String> {
        let store = session_store(db)?;
        let _ = self.store.set(store.clone());
        let session = &self.settings.session;
        Ok(SessionManagerLayer::new(store)
            .with_name(cookie_name(&session.cookie_name, session.secure_cookie))
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(session.secure_cookie)
            .with_path("/"))
    }

    /// The person of session `id` now, if it is still signed in: from this replica's
    /// memory when read in the last seconds, else from the store. An open stream asks this
    /// every few seconds, so a sign-out (here or on another replica), an expiry or a
    /// changed role ends it.
    pub async fn still_signed_in(
        &self,
        id: &tower_sessions::session::Id,
    ) -> Option<Arc<Principal>> {
        use tower_sessions::SessionStore;
        let now = now();
        if let Some((signed_in, principal)) = self.recent.get(id) {
            return (!self.expired(&signed_in, now)).then_some(principal);
        }
        let record = self.store.get()?.load(id).await.ok()??;
        let value = record.data.get(identity::SIGNED_IN)?.clone();
        let signed_in: SignedIn = serde_json::from_value(value).ok()?;
        if self.expired(&signed_in, now) {
            return None;
        }
        let principal = Arc::new(self.principal(&signed_in));
        self.recent.put(*id, Arc::new(signed_in), Arc::clone(&principal));
        Some(principal)
    }

    /// When a session ends: after the idle time since it was last seen, and never later
    /// than the absolute limit after signing in.
    pub fn expiry(&self, signed_in: &SignedIn) -> Expiry {
        let session = &self.settings.session;
        let idle_end = signed_in.last_seen + seconds(session.idle);
        let absolute_end = signed_in.signed_in_at + seconds(session.absolute);
        let end = OffsetDateTime::from_unix_timestamp(idle_end.min(absolute_end))
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        Expiry::AtDateTime(end)
    }

    /// Whether the session is over by either limit at `now` (Unix seconds).
    pub fn expired(&self, signed_in: &SignedIn, now: i64) -> bool {
        let session = &self.settings.session;
        now - signed_in.last_seen >= seconds(session.idle)
            || now - signed_in.signed_in_at >= seconds(session.absolute)
    }
}

/// Where sessions are kept: the `user_session` table (migration 2).
pub fn session_store(db: sqlx::PgPool) -> Result<PostgresStore, String> {
    PostgresStore::new(db).with_schema_name("public")?.with_table_name("user_session")
}

/// The session cookie's name: with the `__Host-` prefix when the cookie is secure, so the
/// browser refuses it unless it is Secure, for this host only (no Domain) and Path=/ —
/// another site under the same parent domain cannot plant or overwrite it.
pub fn cookie_name(configured: &str, secure: bool) -> String {
    if secure && !configured.starts_with("__Host-") {
        format!("__Host-{configured}")
    } else {
        configured.to_owned()
    }
}

fn seconds(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX / 2)
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Deletes sessions past their expiry every few minutes (the store never reads them, but
/// they would pile up).
pub fn spawn_session_cleanup(db: sqlx::PgPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            let result = sqlx::query!("delete from user_session where expiry_date < now()")
                .execute(&db)
                .await;
            match result {
                Ok(done) if done.rows_affected() > 0 => {
                    tracing::debug!(deleted = done.rows_affected(), "expired sessions deleted");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "cannot delete expired sessions"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use gantry_app::access::principal::SignInMethod;

    fn auth(idle_minutes: u64, max_hours: u64) -> Auth {
        let mut settings = Settings::from_sources([
            ("GANTRY_DATABASE_URL", "postgres://x@127.0.0.1/x"),
            ("GANTRY_AUTH_MODE", "demo"),
            ("GANTRY_CONFIG", ""),
        ])
        .expect("demo settings");
        settings.auth.session.idle = std::time::Duration::from_secs(idle_minutes * 60);
        settings.auth.session.absolute = std::time::Duration::from_secs(max_hours * 3600);
        Auth::new(&settings).expect("demo sign-in needs no provider")
    }

    fn session(signed_in_at: i64, last_seen: i64) -> SignedIn {
        SignedIn {
            user_id: "1".into(),
            name: "A".into(),
            email: None,
            groups: vec!["co2-calculator-stakeholders".into()],
            method: SignInMethod::Demo,
            signed_in_at,
            last_seen,
            id_token: None,
        }
    }

    #[test]
    fn a_session_ends_when_idle_too_long_or_too_old_whichever_comes_first() {
        let auth = auth(60, 12);
        let start = 1_700_000_000;
        assert!(!auth.expired(&session(start, start), start + 59 * 60));
        assert!(auth.expired(&session(start, start), start + 60 * 60), "idle for an hour");
        // Active all along, but past the absolute limit.
        let busy = session(start, start + 12 * 3600 - 10);
        assert!(!auth.expired(&busy, start + 12 * 3600 - 5));
        assert!(auth.expired(&busy, start + 12 * 3600));
        // The stored expiry is the earlier of the two ends.
        let Expiry::AtDateTime(end) = auth.expiry(&session(start, start)) else { panic!("a date") };
        assert_eq!(end.unix_timestamp(), start + 3600);
        let Expiry::AtDateTime(end) = auth.expiry(&busy) else { panic!("a date") };
        assert_eq!(end.unix_timestamp(), start + 12 * 3600);
    }

    #[test]
    fn a_secure_session_cookie_is_a_host_cookie() {
        assert_eq!(cookie_name("gantry_session", true), "__Host-gantry_session");
        assert_eq!(cookie_name("__Host-gantry", true), "__Host-gantry");
        assert_eq!(cookie_name("gantry_session", false), "gantry_session");
    }

    #[test]
    fn roles_are_worked_out_from_the_groups_at_each_request() {
        let auth = auth(60, 12);
        let principal = auth.principal(&session(0, 0));
        let roles: Vec<(&str, &str)> =
            principal.roles.iter().map(|(e, r)| (e.as_str(), r.as_str())).collect();
        assert_eq!(roles, [("dev", "viewer"), ("prod", "viewer"), ("staging", "viewer")]);
    }
}
