//! The HTTP surface: pages and server functions (Leptos), static assets, and the
//! operational endpoints, with request tracing and metrics around all of them.

mod actions;
mod audit;
mod history;
mod live;
mod metrics;
mod ops;
pub mod page_cache;
mod trace;

use std::sync::Arc;

use axum::extract::FromRef;
use axum::Router;
use gantry_app::context::ServerContext;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

pub use metrics::{Metrics, MetricsError};

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub context: ServerContext,
    pub metrics: Arc<Metrics>,
    pub auth: crate::auth::Auth,
    /// The session cookie and its PostgreSQL store.
    pub sessions: tower_sessions::SessionManagerLayer<tower_sessions_sqlx_store::PostgresStore>,
    /// The overview as last rendered per person.
    pub pages: Arc<page_cache::PageCache>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Builds the whole application. Tests call this and serve it on a port of their own.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(gantry_app::App);
    let context = state.context.clone();
    let provide = move || provide_context(context.clone());
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
        // Innermost first: the overview's renderings (per person), who is asking (needs the
        // session), the session itself, then the cross-site check, which needs neither and
        // so refuses before any database work.
        .layer(axum::middleware::from_fn_with_state(state.clone(), page_cache::overview))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::layer::identify))
        .layer(state.sessions.clone())
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::layer::same_origin))
        // Pages and JSON are compressed on the fly; assets already carry their encoding
        // and pass through untouched.
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .layer(axum::middleware::from_fn_with_state(state.clone(), trace::observe))
        .with_state(state)
}
