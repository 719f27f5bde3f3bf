use std::fmt;

/// A W3C trace id (32 lowercase hex digits). Taken from an incoming `traceparent` header
/// when a proxy or caller started the trace, otherwise made up here.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(u128);

impl TraceId {
    pub fn random() -> Self {
        // Zero is the W3C "invalid" id.
        Self(rand::random::<u128>().max(1))
    }

    /// `traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
    pub fn from_traceparent(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let version = parts.next()?;
        let id = parts.next()?;
        let parent = parts.next()?;
        parts.next()?;
        if version.len() != 2 || version == "ff" || id.len() != 32 || parent.len() != 16 {
            return None;
        }
        if !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return None;
        }
        let value = u128::from_str_radix(id, 16).ok()?;
        (value != 0).then_some(Self(value))
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::TraceId;

    #[test]
    fn a_valid_traceparent_keeps_the_callers_trace_id() {
        let id =
            TraceId::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assert_eq!(id.map(|i| i.to_string()).as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    }

    #[test]
    fn malformed_or_all_zero_traceparents_are_ignored() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
        ] {
            assert!(TraceId::from_traceparent(bad).is_none(), "{bad:?} accepted");
        }
    }

    #[test]
    fn random_ids_print_as_32_hex_digits() {
        let text = TraceId::random().to_string();
        assert_eq!(text.len(), 32);
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
