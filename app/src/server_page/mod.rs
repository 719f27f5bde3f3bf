//! Pages whose content the server renders whole (the "me" page, the action pages), and the
//! sidebar's account box. The pages share one server function and one answer type, so each
//! new page of this kind adds next to nothing to the browser's WebAssembly (every distinct
//! server function and resource type costs kilobytes there; the first-load budget is
//! 250 KB). The browser only places the HTML; links in it are ordinary links.

mod api;
#[cfg(feature = "ssr")]
pub(crate) mod dispatch;
pub mod model;
#[cfg(feature = "ssr")]
pub mod placed;

pub use api::{get_page, GetPage};
pub use model::ServerHtml;

use leptos::prelude::*;
use leptos_router::hooks::use_url;

/// Shows whatever the server renders for the current address.
#[component]
pub fn ServerPage() -> impl IntoView {
    // The address as this route sees it: the router moves it only while this route is the
    // one shown. (The location moves first when a link leads to another route, such as the
    // overview: this page then asked the server for that address, a 404.)
    let url = use_url();
    let path = Memo::new(move |_| {
        url.with(|url| {
            let search = url.search().trim_start_matches('?');
            if search.is_empty() {
                url.path().to_owned()
            } else {
                format!("{}?{search}", url.path())
            }
        })
    });
    // On the server, the HTML goes into the response beside Leptos' output (`placed`).
    #[cfg(feature = "ssr")]
    let placed = use_context::<placed::Placed>();
    let page = Resource::new(
        move || path.get(),
        move |path| {
            #[cfg(feature = "ssr")]
            let placed = placed.clone();
            async move {
                let page = get_page(path).await?;
                #[cfg(feature = "ssr")]
                if let Some(placed) = placed {
                    return Ok(Shown { html: placed.hold(page.html), title: page.title });
                }
                Ok::<_, crate::error::AppError>(Shown::from(page))
            }
        },
    );
    // A page with a log panel (a pod, a workload's logs) streams into it once placed;
    // the stream closes when another page replaces it.
    #[cfg(feature = "hydrate")]
    {
        let stream = StoredValue::new_local(None::<crate::logs::Stream>);
        Effect::new(move |_| {
            let placed = matches!(page.get(), Some(Ok(_)));
            stream.update_value(|s| *s = if placed { crate::logs::Stream::attach() } else { None });
        });
        on_cleanup(move || stream.update_value(|s| drop(s.take())));
    }
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                page.get()
                    .map(|result| match result {
                        Ok(page) => view! {
                            <leptos_meta::Title text=page.title/>
                            <div class="detail" inner_html=page.html></div>
                        }
                        .into_any(),
                        Err(error) => view! {
                            <section class="panel error" role="alert" id="refused">
                                <h2>"Cannot show this page"</h2>
                                <p>{error.to_string()}</p>
                                <p><a href="/">"Back to the environments"</a></p>
                            </section>
                        }
                        .into_any(),
                    })
            }}
        </Transition>
    }
}

/// What the page's resource holds. It travels to the browser for hydration without its
/// HTML: the server has already written that HTML into the page, and hydration leaves
/// `inner_html` as the server wrote it (as for the account box below), so carrying it again
/// would send every server-rendered page twice. Fetched in the browser (a link followed),
/// it holds the HTML, which is then placed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Shown {
    title: String,
    html: String,
}

impl From<ServerHtml> for Shown {
    fn from(page: ServerHtml) -> Self {
        Shown { title: page.title, html: page.html }
    }
}

impl serde::Serialize for Shown {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.title)
    }
}

impl<'de> serde::Deserialize<'de> for Shown {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let title = String::deserialize(deserializer)?;
        Ok(Shown { title, html: String::new() })
    }
}

/// The sidebar's account box (who is signed in, their roles, signing out). The server
/// writes it into every page it renders; hydration leaves `inner_html` as the server wrote
/// it, so the browser needs neither a request nor code for it. The sidebar is outside the
/// routes, and signing in or out always loads a whole page, so it never goes stale.
#[component]
pub fn AccountBox() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let html = dispatch::account().map(|a| a.html).unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    let html = String::new();
    view! { <div class="account-slot" inner_html=html></div> }
}
