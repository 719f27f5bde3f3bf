//! The overview: every environment side by side, the screen an operator keeps open.

mod api;
pub mod model;
#[cfg(feature = "ssr")]
pub mod tile;

pub use api::{get_overview, GetOverview};
pub use model::{EnvironmentCard, Health, Overview};
#[cfg(feature = "ssr")]
pub use tile::card;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::live::{self, LiveIndicator};

#[component]
pub fn OverviewPage() -> impl IntoView {
    // Bumped by the refresh button; the resource re-runs the server function.
    let refreshes = RwSignal::new(0_u32);
    let overview =
        Resource::new(move || refreshes.get(), |_| async { get_overview().await.map(Shown::from) });
    // Cards pushed by the server since the page loaded (name, HTML): each replaces the
    // loaded one in its place.
    let pushed: RwSignal<Vec<(String, String)>> = RwSignal::new(Vec::new());
    let connection = live::follow(live::View::Card, Vec::new, move |fresh: Pushed| {
        pushed.update(|cards| match cards.iter_mut().find(|(name, _)| *name == fresh.name) {
            Some(slot) => slot.1 = fresh.html,
            None => cards.push((fresh.name, fresh.html)),
        });
    });

    view! {
        <Title text="Environments"/>
        <header class="page-header">
            <h1>"Environments"</h1>
            <LiveIndicator state=connection/>
            <button
                type="button"
                class="button"
                id="refresh"
                on:click=move |_| refreshes.update(|n| *n += 1)
            >
                "Refresh"
            </button>
        </header>
        <Transition fallback=|| view! { <p class="muted">"Loading environments…"</p> }>
            <ErrorBoundary fallback=|errors| {
                view! {
                    <section class="panel error" role="alert">
                        <h2>"Could not load the environments"</h2>
                        <ul>
                            {move || {
                                errors
                                    .get()
                                    .into_iter()
                                    .map(|(_, e)| view! { <li>{e.to_string()}</li> })
                                    .collect_view()
                            }}
                        </ul>
                    </section>
                }
            }>
                {move || {
                    overview
                        .get()
                        .map(|result| result.map(|shown| view! { <OverviewGrid shown pushed/> }))
                }}
            </ErrorBoundary>
        </Transition>
    }
}

/// A card as the live stream brings it: only what the page uses of it.
#[derive(Clone, Debug, serde::Deserialize)]
struct Pushed {
    name: String,
    html: String,
}

/// What the overview's resource holds: each card's name and HTML, in order, and when the
/// server answered. It travels to the browser for hydration without the cards' HTML: the
/// server has already written it into the page, and hydration leaves `inner_html` as the
/// server wrote it (as the environment page's `Held`). Fetched in the browser (the refresh
/// button), it holds the HTML, then placed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
struct Shown {
    cards: Vec<(String, String)>,
    generated_at: String,
    refresh_count: u64,
}

impl From<Overview> for Shown {
    fn from(overview: Overview) -> Self {
        let Overview { environments, generated_at, refresh_count } = overview;
        let cards = environments.into_iter().map(|c| (c.name, c.html)).collect();
        Shown { cards, generated_at, refresh_count }
    }
}

impl serde::Serialize for Shown {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let unwritten: Vec<(&str, &str)> =
            self.cards.iter().map(|(name, _)| (name.as_str(), "")).collect();
        let mut out = serializer.serialize_struct("Shown", 3)?;
        out.serialize_field("cards", &unwritten)?;
        out.serialize_field("generated_at", &self.generated_at)?;
        out.serialize_field("refresh_count", &self.refresh_count)?;
        out.end()
    }
}

#[component]
fn OverviewGrid(shown: Shown, pushed: RwSignal<Vec<(String, String)>>) -> impl IntoView {
    let Shown { cards, generated_at, refresh_count } = shown;
    let slots = cards
        .into_iter()
        .map(|(name, loaded)| {
            // The pushed card if there is one, else the loaded one. While hydrating, the
            // loaded HTML is empty and the server's is kept; a push then replaces this
            // card alone (an unchanged value is not written again).
            let html = move || {
                pushed
                    .with(|cards| cards.iter().find(|(n, _)| *n == name).map(|(_, h)| h.clone()))
                    .unwrap_or_else(|| loaded.clone())
            };
            view! { <div class="env-slot" inner_html=html></div> }
        })
        .collect_view();
    view! {
        <p class="muted as-of" id="as-of" data-refresh=refresh_count>
            "Loaded " {generated_at} "; cards update by themselves while live."
        </p>
        <div class="env-grid">{slots}</div>
    }
}
