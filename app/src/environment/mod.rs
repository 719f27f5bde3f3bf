//! One environment in detail (`/environments/:env`) and one workload in it
//! (`/environments/:env/workloads/:workload`), both kept current by the live stream.

mod api;
mod parts;
mod workload;

pub use api::{get_environment, EnvironmentView, GetEnvironment};
pub use workload::WorkloadPage;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::context::EnvironmentConfig;
use crate::live::{self, Connection, LiveIndicator};
use crate::status::model::EnvironmentStatus;
use crate::status::words;
use parts::{ArgoPanel, EventsTable, JobsTable, PodsTable, StaleBanner, WorkloadsTable};

/// The page's data: loaded once, then replaced by what the stream pushes.
#[derive(Clone, Copy)]
pub(crate) struct Followed {
    pub view: Resource<Result<EnvironmentView, crate::error::AppError>>,
    pub pushed: RwSignal<Option<EnvironmentStatus>>,
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
        let pushed: RwSignal<Option<EnvironmentStatus>> = RwSignal::new(None);
        let connection =
            live::follow(move || vec![env.get()], move |status| pushed.set(Some(status)));
        Self { view, pushed, connection, clock: live::clock(0), env }
    }

    /// The newest status (pushed if any, else loaded) and the time to measure ages from.
    pub fn current(self) -> Option<Result<Current, crate::error::AppError>> {
        let (pushed, clock, env) = (self.pushed, self.clock, self.env);
        self.view.get().map(|result| {
            result.map(|v| Current {
                status: pushed.get().filter(|p| p.name == env.get()).unwrap_or(v.status),
                config: v.config,
                now: clock.get().max(v.now_ms),
            })
        })
    }
}

/// What a page shows at one moment.
pub(crate) struct Current {
    pub status: EnvironmentStatus,
    pub config: EnvironmentConfig,
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
        <Transition fallback=|| view! { <p class="muted">"Loading the environment…"</p> }>
            <ErrorBoundary fallback=parts::error_panel>
                {move || {
                    followed
                        .current()
                        .map(|result| {
                            result
                                .map(|current| {
                                    view! { <EnvironmentDetail current connection/> }
                                })
                        })
                }}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn EnvironmentDetail(current: Current, connection: ReadSignal<Connection>) -> impl IntoView {
    let Current { status, config, now } = current;
    let grafana = config.grafana_url.clone().map(|url| {
        view! { <a class="button" href=url target="_blank" rel="noopener">"Grafana"</a> }
    });
    let EnvironmentStatus {
        name,
        namespace,
        verdict,
        workloads,
        argo,
        stale_since,
        pods,
        revisions: _,
        jobs,
        events,
    } = status;
    let health = verdict.health;
    view! {
        <header class="page-header">
            <h1 class="env-title">{name.clone()}</h1>
            <span class=format!("badge health-{}", health.css()) id="env-health" data-health=health.css()>
                {health.label()}
            </span>
            {grafana}
            <LiveIndicator state=connection/>
        </header>
        <StaleBanner since=stale_since/>
        <p class="plain lead">{words::health_plain(health)} ". " {words::sentence(&verdict.reason)} "."</p>
        <p class="muted mono">"namespace " {namespace}</p>
        <section class="panel">
            <h2>"Workloads"</h2>
            <WorkloadsTable env=name workloads config/>
        </section>
        <ArgoPanel argo/>
        <section class="panel">
            <h2>"Pods"</h2>
            <PodsTable pods now show_workload=true/>
        </section>
        <section class="panel">
            <h2>"Scheduled jobs"</h2>
            <JobsTable jobs now/>
        </section>
        <section class="panel">
            <h2>"Recent warnings"</h2>
            <EventsTable events now/>
        </section>
    }
}
