//! Who am I: the signed-in person in the sidebar, and the "me" page with their identity,
//! groups and effective roles per environment.

mod api;
#[cfg(feature = "ssr")]
mod html;

pub use api::{get_me, who_am_i, GetMe, Identity, MeView, WhoAmI};

use leptos::prelude::*;
use leptos_meta::Title;

/// The sidebar's account box: who is signed in, a link to the "me" page, and signing out
/// (a form: signing out changes state, so it is a POST, refused from other sites).
#[component]
pub fn AccountBox() -> impl IntoView {
    let identity = Resource::new(|| (), |()| who_am_i());
    view! {
        <Suspense fallback=|| ()>
            {move || {
                identity
                    .get()
                    .and_then(Result::ok)
                    .map(|who| {
                        view! {
                            <div class="account" id="account" data-user=who.user_id.clone()>
                                <a class="account-name" href="/me">{who.name}</a>
                                <span class="muted small account-roles">{who.summary}</span>
                                <form method="post" action="/auth/logout">
                                    <button class="button small" type="submit" id="sign-out">
                                        "Sign out"
                                    </button>
                                </form>
                            </div>
                        }
                    })
            }}
        </Suspense>
    }
}

#[component]
pub fn MePage() -> impl IntoView {
    let me = Resource::new(|| (), |()| get_me());
    view! {
        <Title text="Me"/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                me.get()
                    .map(|result| match result {
                        Ok(view) => view! { <div class="detail" inner_html=view.html></div> }.into_any(),
                        Err(error) => view! {
                            <section class="panel error" role="alert">
                                <p>{error.to_string()}</p>
                            </section>
                        }
                        .into_any(),
                    })
            }}
        </Suspense>
    }
}
