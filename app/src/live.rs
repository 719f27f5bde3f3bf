//! Live updates in the browser: one server-sent-events stream per open page
//! (`/api/live`), filtered by environment on the server, and the connection state for the
//! "live" indicator. On the server (first render) nothing is opened: the page shows
//! "connecting" until it is hydrated and the stream is open.

use leptos::prelude::*;

use serde::de::DeserializeOwned;

/// Where the stream stands, as the indicator shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Live,
    /// The stream broke; the browser retries by itself and the page keeps the last state.
    Reconnecting,
}

impl Connection {
    pub fn css(self) -> &'static str {
        match self {
            Connection::Connecting => "connecting",
            Connection::Live => "live",
            Connection::Reconnecting => "reconnecting",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Connection::Connecting => "Connecting…",
            Connection::Live => "Live",
            Connection::Reconnecting => "Reconnecting…",
        }
    }
}

/// What a page wants from the stream (the server's `view=`): the event it listens to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The overview's cards.
    Card,
    /// The environment and workload pages' data.
    Detail,
}

impl View {
    pub fn name(self) -> &'static str {
        match self {
            View::Card => "card",
            View::Detail => "detail",
        }
    }
}

/// The stream's address for these environments (all of them when empty).
pub fn stream_path(view: View, environments: &[String]) -> String {
    let mut query = vec![format!("view={}", view.name())];
    query.extend(environments.iter().map(|e| format!("env={e}")));
    format!("/api/live?{}", query.join("&"))
}

/// Follows the environments (`environments` is re-read reactively: the stream reopens
/// when the page's environment changes); `on_update` gets every new card or detail. The
/// stream closes when the calling component is unmounted.
pub fn follow<T: DeserializeOwned + 'static>(
    view: View,
    environments: impl Fn() -> Vec<String> + 'static,
    on_update: impl Fn(T) + 'static,
) -> ReadSignal<Connection> {
    let (state, set_state) = signal(Connection::Connecting);
    #[cfg(feature = "hydrate")]
    {
        let on_update = std::rc::Rc::new(on_update);
        // Effects run in the browser only, after hydration.
        Effect::new(move |_| {
            let path = stream_path(view, &environments());
            let on_update = std::rc::Rc::clone(&on_update);
            browser::open(&path, view.name(), move |update| on_update(update), set_state);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (view, environments, on_update, set_state);
    state
}

/// The "live" dot and word, with the connection state as a data attribute for tests.
#[component]
pub fn LiveIndicator(state: ReadSignal<Connection>) -> impl IntoView {
    view! {
        <span
            class=move || format!("live-indicator {}", state.get().css())
            id="live"
            data-state=move || state.get().css()
            role="status"
            title="Updates arrive by themselves while this is live"
        >
            <span class="dot" aria-hidden="true"></span>
            {move || state.get().label()}
        </span>
    }
}

/// Keeps every `data-since` age on the page current: every few seconds, and each time
/// `changed` (a reactive read of the page's content) fires, i.e. right after new content
/// from the server has been swapped in.
pub fn keep_ages_current(changed: impl Fn() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(browser::refresh_ages, AGE_REFRESH);
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
        Effect::new(move |_| {
            changed();
            browser::refresh_ages();
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = changed;
}

/// How often ages are rewritten: they count in seconds up to two minutes.
#[cfg(feature = "hydrate")]
const AGE_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use send_wrapper::SendWrapper;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{EventSource, MessageEvent};

    use super::Connection;

    /// Rewrites each `[data-since]` element's text as the time since its value.
    pub fn refresh_ages() {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let Ok(nodes) = document.query_selector_all("[data-since]") else { return };
        let now = js_sys::Date::now() as i64;
        for i in 0..nodes.length() {
            let Some(element) = nodes.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            else {
                continue;
            };
            if let Some(since) = element.get_attribute("data-since").and_then(|s| s.parse().ok()) {
                element.set_text_content(Some(&crate::status::words::age(since, now)));
            }
        }
    }

    pub fn open<T: serde::de::DeserializeOwned + 'static>(
        path: &str,
        event: &str,
        on_update: impl Fn(T) + 'static,
        set_state: WriteSignal<Connection>,
    ) {
        let Ok(source) = EventSource::new(path) else {
            set_state.set(Connection::Reconnecting);
            return;
        };
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else { return };
            match serde_json::from_str::<T>(&text) {
                Ok(update) => on_update(update),
                Err(error) => leptos::logging::warn!("unreadable live update: {error}"),
            }
        });
        let on_open = Closure::<dyn FnMut()>::new(move || set_state.set(Connection::Live));
        let on_error = Closure::<dyn FnMut()>::new(move || set_state.set(Connection::Reconnecting));
        let _ = source.add_event_listener_with_callback(event, on_message.as_ref().unchecked_ref());
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // The closures must live as long as the stream; both go when the page does.
        let held = SendWrapper::new((source, on_message, on_open, on_error));
        on_cleanup(move || {
            held.0.close();
            drop(held);
        });
    }
}
