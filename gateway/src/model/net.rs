//! Client addresses cut to their network: the rate limiter keys IPv6 clients by /64, the
//! scrubber's `truncate` rule keeps a /24 or /48.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The first `v4_bits` of an IPv4 address or the first `v6_bits` of an IPv6 one, the rest
/// zero. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) counts as the IPv4 address it maps.
pub fn network(ip: IpAddr, v4_bits: u8, v6_bits: u8) -> IpAddr {
    let v4 = |a: Ipv4Addr| {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(v4_bits.min(32)))
            .unwrap_or(0);
        IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
    };
    match ip {
        IpAddr::V4(a) => v4(a),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(mapped) => v4(mapped),
            None => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(v6_bits.min(128)))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn networks_of_both_families_and_mapped_addresses() {
        assert_eq!(network(ip("203.0.113.9"), 24, 48), ip("203.0.113.0"));
        assert_eq!(network(ip("203.0.113.9"), 32, 64), ip("203.0.113.9"));
        assert_eq!(network(ip("2001:db8:1:2:3::9"), 24, 48), ip("2001:db8:1::"));
        assert_eq!(
            network(ip("2001:db8:1:2:3::9"), 32, 64),
            ip("2001:db8:1:2::")
        );
        assert_eq!(network(ip("::ffff:203.0.113.9"), 24, 48), ip("203.0.113.0"));
        assert_eq!(network(ip("2001:db8::1"), 0, 0), ip("::"));
    }
}
