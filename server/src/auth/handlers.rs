//! `/auth/*`: sign in (provider or demo), the provider's callback, sign out.

use std::collections::HashMap;

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use gantry_app::access::principal::SignInMethod;
use gantry_app::access::server::{record, AccessEvent, Caller};
use serde::Deserialize;
use tower_sessions::{Expiry, Session};

use super::identity::{from_claims, SignedIn, SIGNED_IN};
use super::next::safe_next;
use super::oidc::{Pending, PENDING_FOR_SECONDS};
use super::{now, pages};
use crate::config::SignInSettings;
use crate::http::AppState;

/// Session key of the sign-ins started in this browser and not finished (a few tabs may
/// each start one).
const PENDING: &str = "pending_sign_ins";
const MOST_PENDING: usize = 5;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/demo", post(demo_sign_in))
        .route("/auth/logout", post(logout))
        .route("/auth/signed-out", get(signed_out))
        .route("/api/me", get(me))
}

/// The caller as JSON: identity, groups, and the role on each environment (scripts and
/// support ask "who does the panel think I am").
async fn me(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    let Some(principal) = caller.principal() else {
        // The sign-in layer answers 401 first; kept so this handler is safe on its own.
        return gantry_app::error::AppError::SignInRequired("Sign in first.".into())
            .into_response();
    };
    let method = match &principal.method {
        SignInMethod::OpenId { issuer } => serde_json::json!({ "openid": issuer }),
        SignInMethod::Demo => serde_json::json!("demo"),
    };
    axum::Json(serde_json::json!({
        "user_id": principal.user_id,
        "name": principal.name,
        "email": principal.email,
        "groups": principal.groups,
        "signed_in_with": method,
        "roles": principal.roles,
        "summary": gantry_app::me::summary(principal, &state.context.environments),
    }))
    .into_response()
}

/// Why a sign-in did not happen; each variant is a status and a sentence.
#[derive(Debug, thiserror::Error)]
enum SignInError {
    #[error("The sign-in provider answered with an error: {0}.")]
    Provider(String),
    #[error("This sign-in was not started in this browser, was already used, or took more than ten minutes. Start again.")]
    NotStarted,
    #[error("The answer names another provider ({0}) than the one Gantry trusts.")]
    OtherIssuer(String),
    #[error("The answer from the sign-in provider has no code.")]
    NoCode,
    #[error("Sign-in failed: {0}.")]
    OpenId(#[from] super::oidc::OidcError),
    #[error("Sign-in failed: {0}.")]
    Claims(#[from] super::identity::ClaimsError),
    #[error("There is no demo person {0:?}.")]
    UnknownPerson(String),
    #[error("Gantry cannot reach its database to record the sign-in; nobody is signed in. Try again in a moment.")]
    Unrecorded,
    #[error("Demo sign-in is not enabled on this server.")]
    NotDemo,
}

impl SignInError {
    fn status(&self) -> StatusCode {
        match self {
            SignInError::OpenId(super::oidc::OidcError::Discovery(_)) => StatusCode::BAD_GATEWAY,
            SignInError::Unrecorded => StatusCode::SERVICE_UNAVAILABLE,
            SignInError::NotDemo => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// Records the failure, then shows it.
async fn refused(state: &AppState, caller: &Caller, error: &SignInError) -> Response {
    let reason = error.to_string();
    tracing::warn!(request = %caller.request, %reason, "sign-in refused");
    let event = AccessEvent {
        kind: "sign_in_refused",
        user_id: None,
        display_name: None,
        environment: None,
        action: None,
        reason: Some(&reason),
    };
    let _ = record(&state.context, caller, event).await;
    (error.status(), Html(pages::sign_in_failed(&reason))).into_response()
}

fn session_failed(error: &tower_sessions::session::Error) -> Response {
    tracing::error!(%error, "session store failed during sign-in");
    let reason = "Gantry cannot reach its database to keep your session. Try again in a moment.";
    (StatusCode::SERVICE_UNAVAILABLE, Html(pages::refused("Sign-in unavailable", reason)))
        .into_response()
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    session: Session,
    Query(query): Query<LoginQuery>,
) -> Response {
    let next = safe_next(query.next.as_deref());
    match session.get::<SignedIn>(SIGNED_IN).await {
        Ok(Some(signed_in)) if !state.auth.expired(&signed_in, now()) => {
            return Redirect::to(&next).into_response()
        }
        Ok(_) => {}
        Err(error) => return session_failed(&error),
    }
    if let SignInSettings::Demo(people) = &state.auth.settings.method {
        return Html(pages::demo_picker(people, &next)).into_response();
    }
    let Some(openid) = &state.auth.openid else {
        return refused(&state, &caller, &SignInError::NotDemo).await;
    };
    let (url, pending) = match openid.begin(next, now()).await {
        Ok(started) => started,
        Err(error) => return refused(&state, &caller, &error.into()).await,
    };
    let mut started: Vec<Pending> = match session.get(PENDING).await {
        Ok(list) => list.unwrap_or_default(),
        Err(error) => return session_failed(&error),
    };
    started.retain(|p| now() - p.started_at < PENDING_FOR_SECONDS);
    started.push(pending);
    if started.len() > MOST_PENDING {
        started.drain(..started.len() - MOST_PENDING);
    }
    if let Err(error) = session.insert(PENDING, &started).await {
        return session_failed(&error);
    }
    // A browser that never comes back leaves a short-lived session, not a two-week one.
    session.set_expiry(Some(Expiry::OnInactivity(
        tower_sessions::cookie::time::Duration::seconds(PENDING_FOR_SECONDS),
    )));
    Redirect::to(url.as_str()).into_response()
}

async fn callback(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    session: Session,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match finish_open_id(&state, &session, &query).await {
        Ok((signed_in, next)) => complete(&state, &session, &caller, signed_in, &next).await,
        Err(error) => refused(&state, &caller, &error).await,
    }
}

async fn finish_open_id(
    state: &AppState,
    session: &Session,
    query: &HashMap<String, String>,
) -> Result<(SignedIn, String), SignInError> {
    let openid = state.auth.openid.as_ref().ok_or(SignInError::NotDemo)?;
    // The matching sign-in is taken out whatever happens next: a state is used once.
    let mut started: Vec<Pending> = session.get(PENDING).await.ok().flatten().unwrap_or_default();
    let state_param = query.get("state").map(String::as_str).unwrap_or_default();
    let position = started.iter().position(|p| p.state == state_param && !state_param.is_empty());
    let pending = position.map(|i| started.remove(i));
    let _ = session.insert(PENDING, &started).await;
    if let Some(error) = query.get("error") {
        let description = query.get("error_description").map(|d| format!("{error}: {d}"));
        return Err(SignInError::Provider(description.unwrap_or_else(|| error.clone())));
    }
    let pending = pending
        .filter(|p| now() - p.started_at < PENDING_FOR_SECONDS)
        .ok_or(SignInError::NotStarted)?;
    // RFC 9207: a provider that names itself must be ours (mix-up attacks).
    if let Some(iss) = query.get("iss").filter(|iss| iss.as_str() != openid.issuer()) {
        return Err(SignInError::OtherIssuer(iss.clone()));
    }
    let code = query.get("code").filter(|c| !c.is_empty()).ok_or(SignInError::NoCode)?;
    let (claims, id_token) = openid.finish(&pending, code.clone()).await?;
    let (user_id, name, email, groups) = from_claims(&claims, &state.auth.settings.claims)?;
    let at = now();
    let signed_in = SignedIn {
        user_id,
        name,
        email,
        groups,
        method: SignInMethod::OpenId { issuer: openid.issuer().to_owned() },
        signed_in_at: at,
        last_seen: at,
        id_token: Some(id_token),
    };
    Ok((signed_in, pending.next))
}

/// The end of every sign-in: a new session id (a session id planted before sign-in is
/// worth nothing after it), the person stored, the sign-in recorded.
async fn complete(
    state: &AppState,
    session: &Session,
    caller: &Caller,
    signed_in: SignedIn,
    next: &str,
) -> Response {
    // Signing in again in the same browser: the id it had is worthless from now on, on
    // this replica at once (its memory of the session would otherwise keep it usable for
    // a few seconds).
    if let Some(previous) = session.id() {
        state.auth.recent.remove(&previous);
    }
    if let Err(error) = session.cycle_id().await {
        return session_failed(&error);
    }
    let _ = session.remove_value(PENDING).await;
    if let Err(error) = session.insert(SIGNED_IN, &signed_in).await {
        return session_failed(&error);
    }
    session.set_expiry(Some(state.auth.expiry(&signed_in)));
    let groups = signed_in.groups.join(", ");
    let reason = format!("groups: {}", if groups.is_empty() { "none" } else { &groups });
    let event = AccessEvent {
        kind: "sign_in",
        user_id: Some(&signed_in.user_id),
        display_name: Some(&signed_in.name),
        environment: None,
        action: None,
        reason: Some(&reason),
    };
    if record(&state.context, caller, event).await.is_err() {
        let _ = session.flush().await;
        return refused(state, caller, &SignInError::Unrecorded).await;
    }
    tracing::info!(user_id = %signed_in.user_id, "signed in");
    Redirect::to(next).into_response()
}

#[derive(Deserialize)]
struct DemoForm {
    person: String,
    next: Option<String>,
}

async fn demo_sign_in(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    session: Session,
    Form(form): Form<DemoForm>,
) -> Response {
    let SignInSettings::Demo(people) = &state.auth.settings.method else {
        return refused(&state, &caller, &SignInError::NotDemo).await;
    };
    let Some(person) = people.iter().find(|p| p.id == form.person) else {
        return refused(&state, &caller, &SignInError::UnknownPerson(form.person)).await;
    };
    let at = now();
    let groups = gantry_app::access::principal::normalize_groups(person.groups.clone(), None);
    let signed_in = SignedIn {
        user_id: person.id.clone(),
        name: person.name.clone(),
        email: person.email.clone(),
        groups,
        method: SignInMethod::Demo,
        signed_in_at: at,
        last_seen: at,
        id_token: None,
    };
    let next = safe_next(form.next.as_deref());
    complete(&state, &session, &caller, signed_in, &next).await
}

async fn logout(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    session: Session,
) -> Response {
    let signed_in = match session.get::<SignedIn>(SIGNED_IN).await {
        Ok(signed_in) => signed_in,
        Err(error) => return session_failed(&error),
    };
    if let Some(id) = session.id() {
        state.auth.recent.remove(&id);
    }
    if let Err(error) = session.flush().await {
        return session_failed(&error);
    }
    let Some(signed_in) = signed_in else {
        return Redirect::to("/auth/signed-out").into_response();
    };
    let event = AccessEvent {
        kind: "sign_out",
        user_id: Some(&signed_in.user_id),
        display_name: Some(&signed_in.name),
        environment: None,
        action: None,
        reason: None,
    };
    // The session is gone either way; a lost record is logged where it failed.
    let _ = record(&state.context, &caller, event).await;
    tracing::info!(user_id = %signed_in.user_id, "signed out");
    let at_provider = state.auth.openid.as_ref().and_then(|openid| {
        let mut after = match &state.auth.settings.method {
            SignInSettings::OpenId(settings) => settings.redirect_url.clone(),
            SignInSettings::Demo(_) => return None,
        };
        after.set_path("/auth/signed-out");
        after.set_query(None);
        openid.sign_out_url(signed_in.id_token.as_deref(), after)
    });
    match at_provider {
        Some(url) => Redirect::to(url.as_str()).into_response(),
        None => Redirect::to("/auth/signed-out").into_response(),
    }
}

async fn signed_out() -> Response {
    Html(pages::signed_out()).into_response()
}
