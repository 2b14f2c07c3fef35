//! W3C trace context identifiers: 16-byte trace ids, 8-byte span ids, never all zero
//! (<https://www.w3.org/TR/trace-context/#trace-id>), and the `traceparent` value that
//! carries them.

/// A trace id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceId(pub [u8; 16]);

/// A span id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanId(pub [u8; 8]);

impl TraceId {
    /// From 32 lowercase hex digits, as the fetch wrapper mints them; `None` if malformed or
    /// all zero.
    pub fn from_hex(hex: &str) -> Option<TraceId> {
        from_hex(hex.as_bytes()).map(TraceId)
    }
}

impl SpanId {
    pub fn from_hex(hex: &str) -> Option<SpanId> {
        from_hex(hex.as_bytes()).map(SpanId)
    }
}

// Works on bytes, never slicing a `str`: a str slice's panic path alone pulls about 5 KB of
// formatting code into the wasm.
fn from_hex<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = byte_at(pair, 0)?;
    }
    (out != [0; N]).then_some(out)
}

/// The byte written as two hex digits at `at`.
fn byte_at(digits: &[u8], at: usize) -> Option<u8> {
    Some(nibble(*digits.get(at)?)? << 4 | nibble(*digits.get(at + 1)?)?)
}

fn nibble(d: u8) -> Option<u8> {
    match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'f' => Some(d - b'a' + 10),
        _ => None,
    }
}

/// The parent named by a `traceparent` value, `{version}-{trace-id}-{parent-id}-{flags}`:
/// version `00` exactly as specified; a later version is read by its first four fields as the
/// spec asks (<https://www.w3.org/TR/trace-context/#versioning-of-traceparent>); `ff` and
/// anything malformed give `None`.
pub fn parse_traceparent(value: &str) -> Option<(TraceId, SpanId)> {
    let v = value.trim_ascii().as_bytes();
    let dash = |i: usize| v.get(i) == Some(&b'-');
    let version = byte_at(v, 0)?;
    if !(dash(2) && dash(35) && dash(52)) || byte_at(v, 53).is_none() || version == 0xff {
        return None;
    }
    // Version 00 is exactly 55 characters; a later one may append `-` and more.
    if (version == 0 && v.len() != 55) || (v.len() > 55 && !dash(55)) {
        return None;
    }
    let trace = from_hex(v.get(3..35)?).map(TraceId)?;
    let span = from_hex(v.get(36..52)?).map(SpanId)?;
    Some((trace, span))
}

/// Ids the wasm mints itself (document-load spans): wyrand, seeded by JS from
/// `crypto.getRandomValues`. Unique, not secret, which is all span ids need.
pub struct IdGenerator(u64);

impl IdGenerator {
    pub fn new(seed: u64) -> Self {
        IdGenerator(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        (t >> 64) as u64 ^ t as u64
    }

    pub fn span_id(&mut self) -> SpanId {
        loop {
            let id = self.next().to_le_bytes();
            if id != [0; 8] {
                return SpanId(id);
            }
        }
    }

    pub fn trace_id(&mut self) -> TraceId {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.span_id().0);
        id[8..].copy_from_slice(&self.next().to_le_bytes());
        TraceId(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_ids_are_lowercase_of_the_right_length_and_not_zero() {
        assert_eq!(
            SpanId::from_hex("00f067aa0ba902b7"),
            Some(SpanId([0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]))
        );
        assert_eq!(SpanId::from_hex("00F067AA0BA902B7"), None);
        assert_eq!(SpanId::from_hex("00f067aa0ba902b"), None);
        assert_eq!(SpanId::from_hex("0000000000000000"), None);
        assert!(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").is_some());
        assert_eq!(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e473g"), None);
    }

    #[test]
    fn traceparent_follows_the_w3c_rules() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let (trace, span) = parse_traceparent(ok).expect("valid");
        assert_eq!(
            trace,
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("hex")
        );
        assert_eq!(span, SpanId::from_hex("00f067aa0ba902b7").expect("hex"));
        assert!(
            parse_traceparent(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00 ")
                .is_some()
        );
        // A future version may append fields after a dash.
        assert!(
            parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")
                .is_some()
        );
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad}");
        }
    }

    #[test]
    fn generated_ids_differ_and_are_never_zero() {
        let mut ids = IdGenerator::new(0);
        let a = ids.span_id();
        let b = ids.span_id();
        assert_ne!(a, b);
        assert_ne!(a.0, [0; 8]);
        assert_ne!(ids.trace_id().0, [0; 16]);
    }
}
