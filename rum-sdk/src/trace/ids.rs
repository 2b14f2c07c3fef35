//! W3C trace context identifiers: 16-byte trace ids, 8-byte span ids, never all zero
//! (<https://www.w3.org/TR/trace-context/#trace-id>), and the `traceparent` value that
//! carries them. Ids are kept as the lowercase hex they travel as: JS mints them as hex for
//! its `traceparent` headers, and the beacon sends hex.

/// A trace id: 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceId(pub [u8; 32]);

/// A span id: 16 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanId(pub [u8; 16]);

impl TraceId {
    /// `None` unless 32 lowercase hex digits, not all zero.
    pub fn from_hex(hex: &[u8]) -> Option<TraceId> {
        valid(hex).map(TraceId)
    }
}

impl SpanId {
    pub fn from_hex(hex: &[u8]) -> Option<SpanId> {
        valid(hex).map(SpanId)
    }
}

fn valid<const N: usize>(hex: &[u8]) -> Option<[u8; N]> {
    let digits: [u8; N] = hex.try_into().ok()?;
    let ok = digits
        .iter()
        .all(|d| d.is_ascii_digit() || (b'a'..=b'f').contains(d));
    (ok && digits.iter().any(|&d| d != b'0')).then_some(digits)
}

/// The parent named by a `traceparent` value, `{version}-{trace-id}-{parent-id}-{flags}`:
/// version `00` exactly as specified; a later version is read by its first four fields as the
/// spec asks (<https://www.w3.org/TR/trace-context/#versioning-of-traceparent>); `ff` and
/// anything malformed give `None`. (Bytes, never `str` slicing: a str slice's panic path
/// alone pulls about 5 KB of formatting code into the wasm.)
pub fn parse_traceparent(value: &[u8]) -> Option<(TraceId, SpanId)> {
    let v = value.trim_ascii();
    let version = v.get(..2)?;
    let flags = v.get(53..55)?;
    let hex = |d: &[u8]| d.iter().all(u8::is_ascii_hexdigit);
    // Version 00 is exactly 55 characters; a later one may append `-` and more.
    let length_ok = if version == b"00" {
        v.len() == 55
    } else {
        v.len() == 55 || v.get(55) == Some(&b'-')
    };
    let dashes = [2, 35, 52].iter().all(|&i| v.get(i) == Some(&b'-'));
    if !(hex(version) && hex(flags) && version != b"ff" && length_ok && dashes) {
        return None;
    }
    Some((
        TraceId::from_hex(v.get(3..35)?)?,
        SpanId::from_hex(v.get(36..52)?)?,
    ))
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

    /// 16 hex digits of a non-zero random number.
    fn hex16(&mut self) -> [u8; 16] {
        let mut n = 0;
        while n == 0 {
            n = self.next();
        }
        let mut out = [0u8; 16];
        for (i, d) in out.iter_mut().enumerate() {
            *d = b"0123456789abcdef"[(n >> (60 - 4 * i)) as usize & 15];
        }
        out
    }

    pub fn span_id(&mut self) -> SpanId {
        SpanId(self.hex16())
    }

    pub fn trace_id(&mut self) -> TraceId {
        let mut id = [0u8; 32];
        id[..16].copy_from_slice(&self.hex16());
        id[16..].copy_from_slice(&self.hex16());
        TraceId(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_ids_are_lowercase_of_the_right_length_and_not_zero() {
        assert!(SpanId::from_hex(b"00f067aa0ba902b7").is_some());
        assert_eq!(SpanId::from_hex(b"00F067AA0BA902B7"), None);
        assert_eq!(SpanId::from_hex(b"00f067aa0ba902b"), None);
        assert_eq!(SpanId::from_hex(b"0000000000000000"), None);
        assert!(TraceId::from_hex(b"4bf92f3577b34da6a3ce929d0e0e4736").is_some());
        assert_eq!(TraceId::from_hex(b"4bf92f3577b34da6a3ce929d0e0e473g"), None);
    }

    #[test]
    fn traceparent_follows_the_w3c_rules() {
        let ok = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let (trace, span) = parse_traceparent(ok).expect("valid");
        assert_eq!(&trace.0, b"4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(&span.0, b"00f067aa0ba902b7");
        assert!(
            parse_traceparent(b" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00 ")
                .is_some()
        );
        // A future version may append fields after a dash.
        assert!(parse_traceparent(
            b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"
        )
        .is_some());
        for bad in [
            &b""[..],
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
            b"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(
                parse_traceparent(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn generated_ids_differ_are_hex_and_never_zero() {
        let mut ids = IdGenerator::new(0);
        let a = ids.span_id();
        let b = ids.span_id();
        assert_ne!(a, b);
        assert!(SpanId::from_hex(&a.0).is_some());
        assert!(TraceId::from_hex(&ids.trace_id().0).is_some());
    }
}
