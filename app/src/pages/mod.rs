//! Small pages that belong to no feature: the 404 page and the frame of sections whose
//! feature has not landed yet.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        // A wrong address must not look like a page to crawlers, monitors or scripts.
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Page not found"/>
        <section class="panel not-found">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. It may have moved, or the link may be mistyped."</p>
            <p>
                <a href="/">"Back to the environments"</a>
            </p>
        </section>
    }
}

/// Sections of the panel whose feature has not landed: path, title, what it will show.
const UPCOMING: [(&str, &str, &str); 1] = [(
    "backups",
    "Backups",
    "Database backups per environment, the last good one, and restores behind approval.",
)];

/// A section whose feature is still being built: says what it will show rather than
/// pretending to show it. Any other address is not found.
#[component]
pub fn Upcoming() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    move || {
        let section = params.read().get("section").unwrap_or_default();
        match UPCOMING.iter().find(|(path, _, _)| *path == section) {
            Some((_, title, what)) => view! {
                <Title text=*title/>
                <header class="page-header">
                    <h1>{*title}</h1>
                </header>
                <section class="panel upcoming">
                    <p class="upcoming-what">{*what}</p>
                    <p class="muted">"This section is not available in this version of Gantry yet."</p>
                </section>
            }
            .into_any(),
            None => view! { <NotFound/> }.into_any(),
        }
    }
}
