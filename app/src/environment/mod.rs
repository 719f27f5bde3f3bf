//! One environment in detail (`/environments/:env`) and one workload in it
//! (`/environments/:env/workloads/:workload`), both kept current by the live stream.
//!
//! The server builds the pages' content (`present`: tables, facts, sentences; `html`:
//! rendered), the browser shows it and swaps in each new version from the stream.

mod api;
pub mod model;
#[cfg(feature = "ssr")]
mod page;
#[cfg(feature = "ssr")]
mod parts;
#[cfg(feature = "ssr")]
pub mod present;
#[cfg(feature = "ssr")]
mod table;
mod workload;

pub use api::{get_environment, ActionBars, EnvironmentView, GetEnvironment};
#[cfg(feature = "ssr")]
pub use page::{page, pages, restamp};
pub use workload::WorkloadPage;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::error::AppError;
use crate::live::{self, Connection, LiveIndicator};
use model::PageHtml;

/// The page's content: loaded once, then replaced by what the stream pushes.
#[derive(Clone, Copy)]
pub(crate) struct Followed {
    pub view: Resource<Result<Held, AppError>>,
    pub pushed: RwSignal<Option<PageHtml>>,
    pub connection: ReadSignal<Connection>,
    pub env: Memo<String>,
}

impl Followed {
    /// Loads the page of the environment named in the address (or of its `workload`) and
    /// follows the environment's changes.
    pub fn start(workload: Option<Memo<String>>) -> Self {
        let params = use_params_map();
        let env = Memo::new(move |_| params.with(|p| p.get("env").unwrap_or_default()));
        let view = Resource::new(
            move || (env.get(), workload.map(|w| w.get())),
            |(env, workload)| async move { get_environment(env, workload).await.map(Held) },
        );
        let pushed: RwSignal<Option<PageHtml>> = RwSignal::new(None);
        let connection = live::follow(
            live::View::Detail,
            move || vec![env.get()],
            move |p| {
                pushed.set(Some(p));
            },
        );
        live::keep_ages_current(move || pushed.track());
        Self { view, pushed, connection, env }
    }

    /// The newest content (pushed if any, else loaded) and the caller's action buttons
    /// (as loaded: they depend on who is looking, not on the cluster).
    pub fn current(self) -> Option<Result<(PageHtml, ActionBars), AppError>> {
        let (pushed, env) = (self.pushed, self.env);
        self.view.get().map(|result| {
            result.map(|Held(v)| {
                let pages = pushed.get().filter(|p| p.name == env.get()).unwrap_or(v.pages);
                (pages, v.actions)
            })
        })
    }
}

/// What the page's resource holds. It travels to the browser for hydration without the
/// pages' HTML: the server has already written that HTML into the page, and hydration
/// leaves `inner_html` as the server wrote it (see `server_page::Shown`); carrying it
/// again, escaped twice, was three quarters of the environment page's bytes and a quarter
/// of its time. Fetched in the browser (a link followed), it holds the HTML, then placed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct Held(pub EnvironmentView);

impl serde::Serialize for Held {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let EnvironmentView { pages, actions } = &self.0;
        let unwritten = PageHtml {
            name: pages.name.clone(),
            environment: String::new(),
            workloads: pages.workloads.iter().map(|(w, _)| (w.clone(), String::new())).collect(),
        };
        EnvironmentView { pages: unwritten, actions: actions.clone() }.serialize(serializer)
    }
}

/// A detail page's title, made from its address. On the server it is written as the page
/// renders: leptos_meta reads the titles only after the body, and by then, under load, the
/// router may have disposed the address's reactive values — reading them panicked and
/// dropped the connection (0.3 % of environment and workload views at 64 connections,
/// found by the bench). The address does not change while one response is made. In the
/// browser it follows the address from one environment or workload to the next.
pub(crate) fn address_title(title: impl Fn() -> String + Send + Sync + 'static) -> TextProp {
    #[cfg(feature = "ssr")]
    let title = title();
    TextProp::from(title)
}

#[component]
pub fn EnvironmentPage() -> impl IntoView {
    let followed = Followed::start(None);
    let env = followed.env;
    view! {
        <Title text=address_title(move || format!("{} environment", env.get()))/>
        <Crumbs env workload=None connection=followed.connection/>
        <Loaded
            followed
            render=Callback::new(|(pages, actions): (PageHtml, ActionBars)| {
                Ok((actions.environment, pages.environment))
            })
        />
    }
}

/// Where the page is, and whether it is live.
#[component]
fn Crumbs(
    env: Memo<String>,
    workload: Option<Memo<String>>,
    connection: ReadSignal<Connection>,
) -> impl IntoView {
    let tail = move || match workload {
        Some(w) => view! {
            <a href=format!("/environments/{}", env.get())>{env.get()}</a>
            " / "
            <span>{w.get()}</span>
        }
        .into_any(),
        None => view! { <span>{env.get()}</span> }.into_any(),
    };
    view! {
        <nav class="crumbs" aria-label="Breadcrumb">
            <a href="/">"Environments"</a>
            " / "
            {tail}
            <LiveIndicator state=connection/>
        </nav>
    }
}

/// The loading and error frame both detail pages share; `render` picks the HTML of the
/// action buttons and of the page.
#[component]
fn Loaded(
    followed: Followed,
    render: Callback<(PageHtml, ActionBars), Result<(String, String), AppError>>,
) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            <ErrorBoundary fallback=error_panel>
                {move || {
                    followed
                        .current()
                        .map(|result| {
                            result
                                .and_then(|loaded| render.run(loaded))
                                .map(|(bar, html)| {
                                    view! {
                                        <div class="actions-slot" inner_html=bar></div>
                                        <div class="detail" inner_html=html></div>
                                    }
                                })
                        })
                }}
            </ErrorBoundary>
        </Transition>
    }
}

/// The error boundary's panel: what went wrong, in words.
fn error_panel(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <section class="panel error" role="alert">
            <h2>"Cannot show this page"</h2>
            <ul>
                {move || {
                    errors.get().into_iter().map(|(_, e)| view! { <li>{e.to_string()}</li> }).collect_view()
                }}
            </ul>
            <p><a href="/">"Back to the environments"</a></p>
        </section>
    }
}
