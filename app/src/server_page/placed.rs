//! A server-rendered page's HTML placed into the response beside Leptos' output, not
//! through it. Leptos copies what a view writes several times before it is a response
//! (into the view's buffer, the collected document, the document with its head tags):
//! for the Metrics page's hundreds of KiB that copying was most of a view's cost. So on
//! the server the page writes a marker where its HTML goes and leaves the HTML here; the
//! server's `place` layer puts it in place of the marker as one more piece of the body.
//! The marker carries a token made for each request, so nothing a page shows can name it.

use std::sync::{Arc, Mutex};

/// One request's slot for its page's HTML, and the marker that stands in for it.
#[derive(Clone, Debug)]
pub struct Placed {
    marker: Arc<str>,
    html: Arc<Mutex<Option<String>>>,
}

impl Placed {
    /// A slot whose marker names `token` (unguessable: made afresh for each request).
    pub fn new(token: &str) -> Placed {
        Placed { marker: format!("<!--gantry-page {token}-->").into(), html: Arc::default() }
    }

    /// What the rendering writes where the page's HTML goes.
    pub fn marker(&self) -> &str {
        &self.marker
    }

    /// Keeps `html` for the response; the rendering writes the returned marker instead.
    pub fn hold(&self, html: String) -> String {
        *self.slot() = Some(html);
        self.marker.to_string()
    }

    /// The HTML the rendering left, if it rendered a page.
    pub fn take(&self) -> Option<String> {
        self.slot().take()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // A poisoned slot still holds whole HTML or none: it is only ever replaced whole.
        self.html.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_is_held_once_and_the_marker_names_the_token() {
        let placed = Placed::new("f00d");
        // The resource holds through one clone, the middleware takes through another.
        let held_by = placed.clone();
        assert_eq!(held_by.hold("<p>page</p>".to_owned()), "<!--gantry-page f00d-->");
        assert_eq!(placed.take().as_deref(), Some("<p>page</p>"), "shared by clones");
        assert_eq!(held_by.take(), None, "taken once");
    }
}
