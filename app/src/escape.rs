//! Text made safe inside HTML. Leptos escapes what its views render, but not everything
//! that reaches a page goes through a view: the document's `<title>` (leptos_meta writes
//! it into the head as given) and the plain pages of signing in.

/// `text` safe as HTML text and inside quoted attribute values.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The document title of a page: "<page> · Gantry". Every page's `<Title>` passes through
/// this (it is the root formatter), and page titles carry values from the address
/// (`/environments/<name>`), so on the server it is escaped: leptos_meta writes the
/// formatted title into `<title>` verbatim. In the browser it sets `document.title`,
/// which is text, and must not be escaped again.
pub fn document_title(page: &str) -> String {
    let title = format!("{page} · Gantry");
    if cfg!(feature = "ssr") {
        html(&title)
    } else {
        title
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_text_comes_out_inert() {
        assert_eq!(
            html(r#"</title><script>alert("x")</script>&'"#),
            "&lt;/title&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
        assert_eq!(html("prod · 1.8.2"), "prod · 1.8.2");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_title_from_the_address_cannot_close_the_title_element() {
        let title = document_title("</title><script>alert(1)</script> environment");
        assert!(!title.contains('<'), "{title}");
        assert!(title.ends_with(" environment · Gantry"));
    }
}
