//! Actions on environments and workloads: what the signed-in person is offered (buttons
//! shown only for what the server's access check allows) and each action's page, which
//! states the decision for them — allowed directly, after approvals, or not at all.

mod api;
#[cfg(feature = "ssr")]
pub mod offers;

pub use api::{get_action, ActionView, GetAction};

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn ActionPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = Memo::new(move |_| {
        let p = params.read();
        (
            p.get("env").unwrap_or_default(),
            p.get("action").unwrap_or_default(),
            query.read().get("workload"),
        )
    });
    let page = Resource::new(move || key.get(), |(env, action, workload)| get_action(env, action, workload));
    view! {
        <Title text=move || format!("{} on {}", key.read().1.replace('_', " "), key.read().0)/>
        <nav class="crumbs" aria-label="Breadcrumb">
            <a href="/">"Environments"</a>
            " / "
            <a href=move || format!("/environments/{}", key.read().0)>{move || key.get().0}</a>
        </nav>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                page.get()
                    .map(|result| match result {
                        Ok(view) => view! { <div class="detail" inner_html=view.html></div> }.into_any(),
                        Err(error) => view! {
                            <section class="panel error" role="alert" id="refused">
                                <h2>"Not allowed"</h2>
                                <p>{error.to_string()}</p>
                            </section>
                        }
                        .into_any(),
                    })
            }}
        </Transition>
    }
}
