//! Where to go after signing in: only a path on this server, never another site (an
//! attacker's link to `/auth/login?next=https://evil.example` must not send people there).

/// `next` if it is a path on this server, else `/`; characters a URL cannot carry as
/// they are (quotes, `<`, `>`, non-ASCII…) percent-encoded, so the value is inert wherever
/// it lands (a `Location` header, a hidden form field).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if is_local_path(path) => encode_unsafe(path),
        _ => "/".to_owned(),
    }
}

fn encode_unsafe(path: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_graphic()
            && !matches!(byte, b'"' | b'\'' | b'<' | b'>' | b'`' | b'{' | b'}' | b'|' | b'^')
        {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn is_local_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    // "//host" and "/\host" are taken by browsers as another host; control characters
    // and spaces can smuggle either past a naive check.
    bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && path.len() <= 2048
        && !path.bytes().any(|b| b.is_ascii_control() || b == b' ' || b == b'\\')
        && !path.starts_with("/auth/")
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_paths_on_this_server_are_followed() {
        for good in ["/", "/environments/prod", "/environments/prod?tab=pods#events", "/me"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "\\\\evil.example",
            "evil.example",
            "/%0a/evil",
            "/\t/evil.example",
            "/\n/evil.example",
            " /x",
            "javascript:alert(1)",
            "",
            "/auth/logout",
        ] {
            let got = safe_next(Some(bad));
            if bad == "/%0a/evil" {
                // Percent-encoded text stays text: a path on this server.
                assert_eq!(got, bad);
            } else {
                assert_eq!(got, "/", "{bad:?}");
            }
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(
            safe_next(Some("/environments/\"'><x>é")),
            "/environments/%22%27%3E%3Cx%3E%C3%A9"
        );
    }
}
