//! The client's address: the TCP peer, or the forwarding header's hop chain when (and only
//! when) the peer is one of the configured trusted proxies.
//!
//! Proxies append the address they received a request from, so the chain is walked from the
//! right: each trusted hop is skipped, and the first untrusted hop is the client. Anything to
//! its left was written by the client itself and is never believed.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;
use serde::Deserialize;

/// Most hops read from a forwarding header; a longer chain stops at the last one read.
const MAX_HOPS: usize = 32;

/// Which header trusted proxies use to pass the client's address on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for=proxy1`.
    Forwarded,
}

/// The networks whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    /// Parses CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses (`192.0.2.7`).
    pub fn parse(entries: &[String], header: ForwardedHeader) -> Result<Self, String> {
        let networks = entries
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| format!("{entry:?} is neither a CIDR network nor an IP address"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies { networks, header })
    }

    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.networks.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` carrying `headers`.
    pub fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.ip().to_canonical();
        if !self.is_trusted(client) {
            return client;
        }
        for hop in hops(headers, self.header).into_iter().rev().take(MAX_HOPS) {
            // An unreadable hop (`unknown`, an obfuscated name, garbage) ends the walk: the
            // last trusted proxy is the best known address.
            let Some(ip) = hop else { break };
            client = ip;
            if !self.is_trusted(ip) {
                break;
            }
        }
        client
    }
}

/// Every hop of the chosen header, left to right across all its lines; `None` for a hop that
/// is not an IP address.
fn hops(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let name = match header {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => "forwarded",
    };
    let mut hops = Vec::new();
    for value in headers.get_all(name) {
        // A line that is not visible ASCII cannot be trusted to split correctly.
        let Ok(value) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for element in value.split(',') {
            let hop = match header {
                ForwardedHeader::XForwardedFor => parse_node(element),
                ForwardedHeader::Forwarded => forwarded_for(element),
            };
            hops.push(hop);
        }
    }
    hops
}

/// The `for=` parameter of one RFC 7239 forwarded-element; an element without one is a hop
/// whose address is unknown.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_node(value))
            .flatten()
    })
}

/// A node as proxies write it: `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`,
/// `[2001:db8::1]:8080`, optionally in double quotes (RFC 7239).
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr.ip().to_canonical());
    }
    // `[v6]` without a port.
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    inner.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(entries: &[&str], header: ForwardedHeader) -> TrustedProxies {
        let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        TrustedProxies::parse(&entries, header).expect("valid")
    }

    fn headers(name: &str, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        map
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().expect("ip"), 40000)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["81.2.69.142"]);
        assert_eq!(
            trusted.client_ip(peer("203.0.113.9"), &h),
            ip("203.0.113.9")
        );
        // No trusted proxies at all (the default): headers are never read.
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(peer("10.1.2.3"), &h), ip("10.1.2.3"));
    }

    #[test]
    fn a_trusted_peer_passes_on_the_rightmost_untrusted_hop() {
        let trusted = proxies(&["10.0.0.0/8", "192.0.2.7"], ForwardedHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["81.2.69.142, 192.0.2.7"]);
        assert_eq!(trusted.client_ip(peer("10.0.0.1"), &h), ip("81.2.69.142"));
    }

    #[test]
    fn a_spoofed_left_entry_is_ignored() {
        // The client sent `X-Forwarded-For: 1.2.3.4`; the proxy appended the real address.
        let trusted = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["1.2.3.4, 89.160.20.128"]);
        assert_eq!(trusted.client_ip(peer("10.0.0.1"), &h), ip("89.160.20.128"));
        // Split over two header lines, the order is the same.
        let h = headers("x-forwarded-for", &["1.2.3.4", "89.160.20.128"]);
        assert_eq!(trusted.client_ip(peer("10.0.0.1"), &h), ip("89.160.20.128"));
        // A forged address inside the trusted range is skipped, not believed as a proxy hop
        // beyond the client: the walk already stopped at the untrusted real address.
        let h = headers("x-forwarded-for", &["10.9.9.9, 89.160.20.128"]);
        assert_eq!(trusted.client_ip(peer("10.0.0.1"), &h), ip("89.160.20.128"));
    }

    #[test]
    fn garbage_stops_at_the_last_trusted_hop() {
        let trusted = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["81.2.69.142, not-an-ip, 10.0.0.2"]);
        assert_eq!(trusted.client_ip(peer("10.0.0.1"), &h), ip("10.0.0.2"));
        let h = headers("x-forwarded-for", &["unknown"]);
        assert_eq!(trusted.client_ip(peer("10.0.0.1"), &h), ip("10.0.0.1"));
        // No header at all: the proxy itself.
        assert_eq!(
            trusted.client_ip(peer("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn all_hops_trusted_gives_the_leftmost() {
        let trusted = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["10.0.0.5, 10.0.0.4"]);
        assert_eq!(trusted.client_ip(peer("10.0.0.1"), &h), ip("10.0.0.5"));
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_read() {
        let trusted = proxies(&["::1/128", "127.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["[2001:db8::1]:443"]);
        assert_eq!(trusted.client_ip(peer("::1"), &h), ip("2001:db8::1"));
        let h = headers("x-forwarded-for", &["81.2.69.142:5555"]);
        assert_eq!(trusted.client_ip(peer("127.0.0.1"), &h), ip("81.2.69.142"));
        // An IPv4-mapped IPv6 peer is matched against IPv4 networks.
        let h = headers("x-forwarded-for", &["::ffff:81.2.69.142"]);
        assert_eq!(
            trusted.client_ip(peer("::ffff:127.0.0.1"), &h),
            ip("81.2.69.142")
        );
    }

    #[test]
    fn rfc7239_forwarded_is_read_only_when_configured() {
        let trusted = proxies(&["10.0.0.0/8"], ForwardedHeader::Forwarded);
        let mut h = headers(
            "forwarded",
            &["for=1.2.3.4, for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.3"],
        );
        assert_eq!(
            trusted.client_ip(peer("10.0.0.1"), &h),
            ip("2001:db8:cafe::17")
        );
        // X-Forwarded-For is not the configured header: a client-sent one is ignored.
        h.insert("x-forwarded-for", HeaderValue::from_static("81.2.69.142"));
        h.remove("forwarded");
        assert_eq!(trusted.client_ip(peer("10.0.0.1"), &h), ip("10.0.0.1"));
        let h = headers("forwarded", &["for=_hidden, for=10.0.0.3"]);
        assert_eq!(trusted.client_ip(peer("10.0.0.1"), &h), ip("10.0.0.3"));
        let h = headers("forwarded", &["proto=https;FOR=81.2.69.142"]);
        assert_eq!(trusted.client_ip(peer("10.0.0.1"), &h), ip("81.2.69.142"));
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(
            TrustedProxies::parse(&["10.0.0.0/33".into()], ForwardedHeader::default()).is_err()
        );
        assert!(
            TrustedProxies::parse(&["proxy.local".into()], ForwardedHeader::default()).is_err()
        );
        let t = proxies(&["10.1.2.3/8"], ForwardedHeader::default());
        assert!(t.is_trusted(ip("10.200.0.1")), "host bits are dropped");
    }
}
