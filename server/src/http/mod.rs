//! The HTTP surface: pages and server functions (Leptos), static assets, and the
//! operational endpoints, with request tracing and metrics around all of them.

mod actions;
mod audit;
mod history;
pub mod listen;
pub mod live;
mod logs;
mod metrics;
mod ops;
pub mod page_cache;
mod placed;
pub mod protect;
pub mod streams;
mod trace;

use std::sync::{Arc, OnceLock};

use axum::extract::FromRef;
use axum::Router;
use gantry_app::context::ServerContext;
use gantry_app::server_page::placed::Placed;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

pub use metrics::{Metrics, MetricsError};

/// Shared by every handler: a handle, cloned by every middleware for every request (the
/// whole state was once cloned there, field by field: 8 % of an overview request's CPU in
/// a profile).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub context: ServerContext,
    pub metrics: Arc<Metrics>,
    pub auth: crate::auth::Auth,
    /// The session cookie and its PostgreSQL store.
    pub sessions: tower_sessions::SessionManagerLayer<tower_sessions_sqlx_store::PostgresStore>,
    /// The overview as last rendered per person.
    pub pages: Arc<page_cache::PageCache>,
    /// The browser protections every response carries.
    pub protection: Arc<protect::Protection>,
    /// Live streams open, per session.
    pub streams: Arc<streams::Streams>,
    /// Log streams and downloads open, per person.
    pub log_streams: Arc<streams::Streams>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<crate::config::Cidr>>,
    /// Set when a stop was asked: `/ready` fails from then on (see `server.shutdown_delay`).
    pub stopping: Arc<std::sync::atomic::AtomicBool>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The metrics listener's routes: `/metrics` for Prometheus, `/health` for its probe.
pub fn metrics_router(state: AppState) -> Router {
    ops::metrics_router().with_state(state)
}

/// The panel's page routes, worked out once per process.
///
/// Working them out renders the whole app once with resource loading switched off, and
/// leptos keeps that switch for the process, not for the rendering: a page whose data
/// starts loading while any router is being built waits for it forever (the "took too
/// long" 503s the test suite used to see, which serves many apps in one process). Built
/// once, before the first router can serve, that moment never comes.
pub fn routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(gantry_app::App)).clone()
}

/// Builds the whole application. Tests call this and serve it on a port of their own.
pub fn router(state: AppState) -> Router {
    let routes = routes();
    let context = state.context.clone();
    let protection = Arc::clone(&state.protection);
    // Pages get a policy naming the nonce their inline scripts carry (leptos makes one per
    // rendering); every other response gets the layer's policy without one.
    let provide = move || {
        provide_context(context.clone());
        // The slot a server-rendered page leaves its HTML in (`placed`).
        if let Some(parts) = use_context::<http::request::Parts>() {
            if let Some(placed) = parts.extensions.get::<Placed>() {
                provide_context(placed.clone());
            }
        }
        let nonce = leptos::nonce::use_nonce();
        let options = use_context::<leptos_axum::ResponseOptions>();
        if let (Some(nonce), Some(options)) = (nonce, options) {
            if let Ok(policy) = http::HeaderValue::from_str(&protection.policy(Some(&nonce))) {
                options.insert_header(http::header::CONTENT_SECURITY_POLICY, policy);
            }
        }
    };
    let options = state.leptos_options.clone();

    let pkg_dir =
        std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    // Asset names are stable across builds, so browsers must revalidate them; the
    // gzip files written at build time are served when the browser accepts gzip.
    let assets = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-cache"),
        ))
        .service(ServeDir::new(pkg_dir).precompressed_gzip());

    Router::new()
        .merge(ops::router())
        .merge(live::router())
        .merge(logs::router())
        .merge(audit::router())
        .merge(actions::router())
        .merge(history::router())
        .merge(crate::auth::router())
        .nest_service("/pkg", assets)
        .leptos_routes_with_context(&state, routes, provide.clone(), move || {
            gantry_app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            provide,
            gantry_app::shell,
        ))
        // Innermost first: a page's HTML put in place, the overview's renderings (per
        // person), who is asking (needs the session), the session itself, then the
        // cross-site check, which needs neither and so refuses before any database work.
        .layer(axum::middleware::from_fn(placed::place))
        .layer(axum::middleware::from_fn_with_state(state.clone(), page_cache::overview))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::layer::identify))
        .layer(state.sessions.clone())
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::layer::same_origin))
        // Pages and JSON are compressed on the fly; assets already carry their encoding
        // and pass through untouched.
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        // Outside the compression and the sign-in: refusals get the headers too.
        .layer(axum::middleware::from_fn_with_state(state.clone(), protect::protect))
        .layer(axum::middleware::from_fn_with_state(state.clone(), trace::observe))
        .with_state(state)
}
