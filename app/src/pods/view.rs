use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::live::{self, LiveIndicator};
use crate::logs::LogPanel;
use crate::server_page::ServerHtmlAt;

/// The pod page: its state (asked again at each change the live stream reports for its
/// environment) and, below, its logs.
#[component]
pub fn PodPage() -> impl IntoView {
    let params = use_params_map();
    let env = Memo::new(move |_| params.with(|p| p.get("env").unwrap_or_default()));
    let pod = Memo::new(move |_| params.with(|p| p.get("pod").unwrap_or_default()));
    let version = RwSignal::new(0_u64);
    // Only that something changed matters here: the page is rendered on the server.
    let connection = live::follow::<serde::de::IgnoredAny>(
        live::View::Detail,
        move || vec![env.get()],
        move |_| version.update(|v| *v += 1),
    );
    let path = Signal::derive(move || format!("/environments/{}/pods/{}", env.get(), pod.get()));
    view! {
        <nav class="crumbs" aria-label="Breadcrumb">
            <a href="/">"Environments"</a>
            " / "
            <a href=move || format!("/environments/{}", env.get())>{move || env.get()}</a>
            " / "
            <span>{move || pod.get()}</span>
            <LiveIndicator state=connection/>
        </nav>
        <ServerHtmlAt path version=Signal::from(version)/>
        <LogPanel path=Signal::derive(move || format!("{}/logs", path.get()))/>
    }
}
