//! Where to go after signing in: only a path on this server, never another site (an
//! attacker's link to `/auth/login?next=https://evil.example` must not send people there).

/// `next` if it is a path on this server, else `/`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if is_local_path(path) => path.to_owned(),
        _ => "/".to_owned(),
    }
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
    }
}
