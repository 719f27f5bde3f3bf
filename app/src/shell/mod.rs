//! The application frame every page lives in: HTML document, navigation, theme and routes.

mod nav;
mod theme;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::environment::{EnvironmentPage, WorkloadPage};
use crate::overview::OverviewPage;
use crate::pages::NotFound;
use crate::server_page::ServerPage;

/// The name the wasm-bindgen output and the stylesheet are published under (`/pkg/gantry.*`).
pub const OUTPUT_NAME: &str = "gantry";

/// The full HTML document rendered on the server for every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/pkg/favicon.svg" type="image/svg+xml"/>
                // Applied before first paint so a chosen theme never flashes the other one.
                <script nonce=leptos::nonce::use_nonce()>{theme::EARLY_SCRIPT}</script>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="gantry" href="/pkg/gantry.css"/>
        <Title formatter=|page: String| crate::escape::document_title(&page)/>
        <Router>
            <div class="frame">
                <nav::Sidebar/>
                <main class="content" id="content">
                    <Routes fallback=NotFound>
                        // The data of these pages is in the server's memory: rendering them
                        // whole is cheaper than streaming a fallback and patching it in.
                        <Route path=path!("") view=OverviewPage ssr=SsrMode::Async/>
                        <Route
                            path=path!("environments/:env")
                            view=EnvironmentPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("environments/:env/workloads/:workload")
                            view=WorkloadPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("environments/:env/workloads/:workload/logs")
                            view=ServerPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("environments/:env/pods/:pod")
                            view=ServerPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("environments/:env/actions/:action")
                            view=ServerPage
                            ssr=SsrMode::Async
                        />
                        <Route path=path!("me") view=ServerPage ssr=SsrMode::Async/>
                        <Route path=path!("audit") view=ServerPage ssr=SsrMode::Async/>
                        <Route path=path!("approvals") view=ServerPage ssr=SsrMode::Async/>
                        <Route path=path!("history") view=ServerPage ssr=SsrMode::Async/>
                        <Route path=path!("history/diff") view=ServerPage ssr=SsrMode::Async/>
                        <Route path=path!("history/compare") view=ServerPage ssr=SsrMode::Async/>
                        <Route path=path!("requests/:id") view=ServerPage ssr=SsrMode::Async/>
                        <Route path=path!("monitoring") view=ServerPage ssr=SsrMode::Async/>
                        <Route path=path!("backups") view=ServerPage ssr=SsrMode::Async/>
                    </Routes>
                </main>
            </div>
        </Router>
    }
}
