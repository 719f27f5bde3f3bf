//! The few pages of signing in and out. Plain server HTML with the panel's stylesheet: they
//! are shown before anyone is signed in, so they need no hydration and no WebAssembly.

use std::fmt::Write;

use crate::config::DemoPerson;

pub use gantry_app::escape::html as escape;

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><title>{title} · Gantry</title><link rel="icon" href="/pkg/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/pkg/gantry.css"></head><body><main class="auth-page"><p class="brand"><span class="brand-mark" aria-hidden="true">▤</span> Gantry</p>{body}</main></body></html>"#,
        title = escape(title),
    )
}

/// Demo mode: pick who to be. Each person is a form posting to `/auth/demo`.
pub fn demo_picker(people: &[DemoPerson], next: &str) -> String {
    let mut list = String::new();
    for person in people {
        let groups = if person.groups.is_empty() {
            "no groups".to_owned()
        } else {
            person.groups.join(", ")
        };
        let _ = write!(
            list,
            r#"<li><form method="post" action="/auth/demo"><input type="hidden" name="person" value="{id}"><input type="hidden" name="next" value="{next}"><button class="button demo-person" type="submit" data-person="{id}"><strong>{name}</strong><span class="muted">{about}</span><span class="muted demo-groups">{groups}</span></button></form></li>"#,
            id = escape(&person.id),
            next = escape(next),
            name = escape(&person.name),
            about = escape(&person.about),
            groups = escape(&groups),
        );
    }
    page(
        "Sign in",
        &format!(
            r#"<section class="panel"><h1>Sign in to the demo</h1><p>This Gantry runs in demo mode on a simulated cluster: pick who to be. In production, people sign in through the organisation's OpenID provider and their groups decide what they may do.</p><ul class="demo-people">{list}</ul></section>"#
        ),
    )
}

/// After signing out.
pub fn signed_out() -> String {
    page(
        "Signed out",
        r#"<section class="panel" id="signed-out"><h1>You are signed out</h1><p>Your session on this server has ended.</p><p><a class="button" href="/auth/login">Sign in again</a></p></section>"#,
    )
}

/// A sign-in that could not be completed, and why.
pub fn sign_in_failed(reason: &str) -> String {
    page(
        "Sign-in failed",
        &format!(
            r#"<section class="panel error" id="sign-in-failed"><h1>Sign-in failed</h1><p>{}</p><p><a class="button" href="/auth/login">Try again</a></p></section>"#,
            escape(reason)
        ),
    )
}

/// A request refused before reaching the panel (cross-site, or sessions unavailable).
pub fn refused(title: &str, reason: &str) -> String {
    page(
        title,
        &format!(
            r#"<section class="panel error"><h1>{}</h1><p>{}</p><p><a href="/">Back to Gantry</a></p></section>"#,
            escape(title),
            escape(reason)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_reasons_cannot_inject_markup() {
        assert_eq!(escape(r#"<b a="x">'&"#), "&lt;b a=&quot;x&quot;&gt;&#39;&amp;");
        let html = sign_in_failed("<script>alert(1)</script>");
        assert!(!html.contains("<script>alert"));
        let person = DemoPerson {
            id: "x".into(),
            name: "<i>Eve</i>".into(),
            email: None,
            groups: vec![],
            about: String::new(),
        };
        let html = demo_picker(&[person], "/\"><script>");
        assert!(html.contains("&lt;i&gt;Eve") && !html.contains("\"><script>"));
    }
}
