//! One environment in detail (`/environments/:env`) and one workload in it
//! (`/environments/:env/workloads/:workload`), both kept current by the live stream.

mod api;
pub mod model;
mod parts;
#[cfg(feature = "ssr")]
pub mod present;
mod table;
mod workload;

pub use api::{get_environment, EnvironmentView, GetEnvironment};
pub use workload::WorkloadPage;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::live::{self, Connection, LiveIndicator};
use model::EnvironmentDetail;
use parts::{Facts, StaleBanner};
use table::DataTable;

/// The page's data: loaded once, then replaced by what the stream pushes.
#[derive(Clone, Copy)]
pub(crate) struct Followed {
    pub view: Resource<Result<EnvironmentView, crate::error::AppError>>,
    pub pushed: RwSignal<Option<EnvironmentDetail>>,
    pub connection: ReadSignal<Connection>,
    pub clock: ReadSignal<i64>,
    pub env: Memo<String>,
}

impl Followed {
    /// Loads the environment named in the address and follows its changes.
    pub fn start() -> Self {
        let params = use_params_map();
        let env = Memo::new(move |_| params.with(|p| p.get("env").unwrap_or_default()));
        let view = Resource::new(move || env.get(), get_environment);
        let pushed: RwSignal<Option<EnvironmentDetail>> = RwSignal::new(None);
        let connection = live::follow(
            live::View::Detail,
            move || vec![env.get()],
            move |d| {
                pushed.set(Some(d));
            },
        );
        Self { view, pushed, connection, clock: live::clock(0), env }
    }

    /// The newest data (pushed if any, else loaded) and the time to measure ages from.
    pub fn current(self) -> Option<Result<Current, crate::error::AppError>> {
        let (pushed, clock, env) = (self.pushed, self.clock, self.env);
        self.view.get().map(|result| {
            result.map(|v| Current {
                detail: pushed.get().filter(|p| p.name == env.get()).unwrap_or(v.detail),
                now: clock.get().max(v.now_ms),
            })
        })
    }
}

/// What a page shows at one moment.
pub(crate) struct Current {
    pub detail: EnvironmentDetail,
    /// When to measure ages from (ms since the epoch).
    pub now: i64,
}

#[component]
pub fn EnvironmentPage() -> impl IntoView {
    let followed = Followed::start();
    let env = followed.env;
    let connection = followed.connection;
    view! {
        <Title text=move || format!("{} environment", env.get())/>
        <nav class="crumbs" aria-label="Breadcrumb">
            <a href="/">"Environments"</a>
            " / "
            <span>{move || env.get()}</span>
        </nav>
        <Loaded
            followed
            render=Callback::new(move |current| {
                Ok(view! { <EnvironmentSection current connection/> }.into_any())
            })
        />
    }
}

/// The loading and error frame both detail pages share (one compiled Transition).
#[component]
fn Loaded(
    followed: Followed,
    render: Callback<Current, Result<AnyView, crate::error::AppError>>,
) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            <ErrorBoundary fallback=parts::error_panel>
                {move || followed.current().map(|result| result.and_then(|c| render.run(c)))}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn EnvironmentSection(current: Current, connection: ReadSignal<Connection>) -> impl IntoView {
    let Current { detail, now } = current;
    let EnvironmentDetail {
        name,
        namespace,
        health,
        plain,
        stale_since,
        grafana_url,
        argo,
        workloads,
        pods,
        jobs,
        events,
        workload_pages: _,
    } = detail;
    let argo = match argo {
        Some(facts) => view! { <Facts facts id="argo"/> }.into_any(),
        None => view! {
            <p class="muted">"No Argo CD application is configured for this environment."</p>
        }
        .into_any(),
    };
    view! {
        <header class="page-header">
            <h1 class="env-title">{name}</h1>
            <span class=format!("badge health-{}", health.css()) id="env-health" data-health=health.css()>
                {health.label()}
            </span>
            {parts::grafana(grafana_url)}
            <LiveIndicator state=connection/>
        </header>
        <StaleBanner since=stale_since/>
        <p class="plain lead">{plain}</p>
        <p class="muted mono">"namespace " {namespace}</p>
        <section class="panel">
            <h2>"Workloads"</h2>
            <DataTable table=workloads now/>
        </section>
        <section class="panel">
            <h2>"Argo CD"</h2>
            {argo}
        </section>
        <section class="panel">
            <h2>"Pods"</h2>
            <DataTable table=pods now/>
        </section>
        <section class="panel">
            <h2>"Scheduled jobs"</h2>
            <DataTable table=jobs now/>
        </section>
        <section class="panel">
            <h2>"Recent warnings"</h2>
            <DataTable table=events now/>
        </section>
    }
    .into_any()
}
