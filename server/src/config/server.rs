//! `[server]`'s protections: which host names are served, where `/metrics` listens, and
//! how many connections, how slow a client and how long a request may be.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::file::RawServer;
use super::ConfigError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Host names served besides the one of the sign-in redirect URL (and loopback names
    /// in demo mode). Anything else is answered 421: a page on another name resolving to
    /// this server (DNS rebinding) gets nothing.
    pub public_hosts: Vec<String>,
    /// Where `/metrics` is served; not on the pages' listener, which an Ingress publishes.
    pub metrics_listen: Option<SocketAddr>,
    /// Connections open at once; past it new ones wait in the kernel's backlog.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// How long a request (other than a stream) may take in all.
    pub request_timeout: Duration,
    /// Proxies whose `X-Forwarded-For` is believed (the ingress controller).
    pub trusted_proxies: Vec<Cidr>,
    /// Log streams (and downloads) one person may have open at once, and this replica
    /// in all.
    pub log_streams_per_person: usize,
    pub log_streams_in_all: usize,
}

/// An address range such as `10.0.0.0/8` or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub network: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Self> {
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = address.trim().parse().ok()?;
        let most = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= most)?,
            None => most,
        };
        Some(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        let (net, ip, bits) = match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                (u128::from(u32::from(n)), u128::from(u32::from(i)), 32)
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        shift >= bits || (net >> shift) == (ip >> shift)
    }
}

pub fn validate(
    raw: &RawServer,
    fail: &impl Fn(&'static str, String) -> ConfigError,
) -> Result<ServerLimits, ConfigError> {
    let mut public_hosts = Vec::new();
    for host in raw.public_hosts.iter().flatten() {
        let name = host.trim().to_ascii_lowercase();
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !plain {
            return Err(fail(
                "server.public_hosts",
                format!("{host:?} is not a host name such as gantry.epfl.ch"),
            ));
        }
        public_hosts.push(name);
    }
    let metrics_listen = match raw.metrics_listen.as_deref().map(str::trim) {
        None => Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
        Some("" | "off") => None,
        Some(text) => Some(text.parse().map_err(|_| {
            fail(
                "server.metrics_listen",
                format!("{text:?} is not an address and port such as 0.0.0.0:9090, or \"off\""),
            )
        })?),
    };
    let max_connections = raw.max_connections.unwrap_or(1024);
    if !(16..=100_000).contains(&max_connections) {
        return Err(fail(
            "server.max_connections",
            format!("{max_connections} is out of range; use 16 to 100000"),
        ));
    }
    let header_timeout = raw.header_timeout_seconds.unwrap_or(10);
    if !(1..=120).contains(&header_timeout) {
        return Err(fail(
            "server.header_timeout_seconds",
            format!("{header_timeout} is out of range; use 1 to 120"),
        ));
    }
    let request_timeout = raw.request_timeout_seconds.unwrap_or(60);
    if !(1..=3600).contains(&request_timeout) {
        return Err(fail(
            "server.request_timeout_seconds",
            format!("{request_timeout} is out of range; use 1 to 3600"),
        ));
    }
    let mut trusted_proxies = Vec::new();
    for text in raw.trusted_proxies.iter().flatten() {
        let cidr = Cidr::parse(text).ok_or_else(|| {
            fail(
                "server.trusted_proxies",
                format!("{text:?} is not an address or range such as 10.0.0.0/8"),
            )
        })?;
        trusted_proxies.push(cidr);
    }
    let log_streams_per_person = raw.log_streams_per_person.unwrap_or(8);
    if !(1..=1000).contains(&log_streams_per_person) {
        return Err(fail(
            "server.log_streams_per_person",
            format!("{log_streams_per_person} is out of range; use 1 to 1000"),
        ));
    }
    let log_streams_in_all = raw.log_streams_in_all.unwrap_or(256);
    if !(1..=10_000).contains(&log_streams_in_all) {
        return Err(fail(
            "server.log_streams_in_all",
            format!("{log_streams_in_all} is out of range; use 1 to 10000"),
        ));
    }
    Ok(ServerLimits {
        log_streams_per_person,
        log_streams_in_all,
        public_hosts,
        metrics_listen,
        max_connections,
        header_timeout: Duration::from_secs(header_timeout),
        request_timeout: Duration::from_secs(request_timeout),
        trusted_proxies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hold_what_they_name_and_nothing_else() {
        let net = Cidr::parse("10.1.0.0/16").expect("a range");
        assert!(net.contains("10.1.200.3".parse().expect("ip")));
        assert!(!net.contains("10.2.0.1".parse().expect("ip")));
        assert!(net.contains("::ffff:10.1.0.9".parse().expect("ip")), "v4 mapped in v6");
        let one = Cidr::parse("192.0.2.7").expect("one address");
        assert!(one.contains("192.0.2.7".parse().expect("ip")));
        assert!(!one.contains("192.0.2.8".parse().expect("ip")));
        assert!(Cidr::parse("0.0.0.0/0")
            .expect("all")
            .contains("203.0.113.1".parse().expect("ip")));
        assert!(Cidr::parse("fd00::/8").expect("v6").contains("fd12::1".parse().expect("ip")));
        for bad in ["10.0.0.0/33", "ten", "10.0.0.0/x", ""] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }
}
