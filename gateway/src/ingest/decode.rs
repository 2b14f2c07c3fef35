//! `Content-Encoding` on the ingest endpoints (or the beacon endpoint's `encoding` query
//! parameter): `identity` or `gzip`, inflated as a stream that stops at the decompressed-size
//! cap, so a zip bomb costs at most the cap in memory.

use std::io::Read;

use axum::http::{header, HeaderMap};
use bytes::Bytes;
use flate2::read::MultiGzDecoder;

use crate::rejection::Rejection;

/// The body as the handler should decode it: inflated when it came gzip-encoded. The
/// encoding may also be named outside the headers (the beacon endpoint's `encoding` query
/// parameter: `sendBeacon` cannot set `Content-Encoding`); named in both places, the two
/// must agree.
pub fn decode_body(
    headers: &HeaderMap,
    named: Option<&str>,
    body: Bytes,
    max_decompressed: u64,
) -> Result<Bytes, Rejection> {
    let header = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().map(|s| s.trim().to_ascii_lowercase()))
        .transpose()
        .map_err(|_| Rejection::UnsupportedEncoding("<not ASCII>".into()))?;
    let named = named.map(|s| s.trim().to_ascii_lowercase());
    let encoding = match (header, named) {
        (Some(h), Some(n)) if h != n => {
            return Err(Rejection::invalid(
                "encoding",
                "the encoding query parameter and Content-Encoding disagree",
            ))
        }
        (h, n) => h.or(n),
    };
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(body),
        Some("gzip") | Some("x-gzip") => gunzip(&body, max_decompressed),
        Some(other) => Err(Rejection::UnsupportedEncoding(other.to_string())),
    }
}

/// Inflates a gzip body (members concatenated, as `MultiGzDecoder` reads them) reading at
/// most `max + 1` bytes: one byte over proves the body is too large. Public for the fuzz
/// target and its corpus replay (`fuzz/`, through [`crate::decoders`]).
pub fn gunzip(body: &[u8], max: u64) -> Result<Bytes, Rejection> {
    let mut out = Vec::new();
    let mut reader = MultiGzDecoder::new(body).take(max.saturating_add(1));
    reader
        .read_to_end(&mut out)
        .map_err(|e| Rejection::Malformed(format!("gzip: {e}")))?;
    if out.len() as u64 > max {
        return Err(Rejection::DecompressedTooLarge(max));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use axum::http::HeaderValue;
    use flate2::write::GzEncoder;
    use flate2::Compression;

    use super::*;

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).expect("write");
        encoder.finish().expect("finish")
    }

    fn headers(encoding: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_str(encoding).expect("value"),
        );
        h
    }

    #[test]
    fn gzip_roundtrips_and_identity_passes() {
        let body = Bytes::from(gzip(b"{\"v\":1}"));
        assert_eq!(
            decode_body(&headers("gzip"), None, body, 100).expect("ok"),
            &b"{\"v\":1}"[..]
        );
        assert_eq!(
            decode_body(&HeaderMap::new(), None, Bytes::from_static(b"x"), 0).expect("ok"),
            &b"x"[..]
        );
    }

    #[test]
    fn a_bomb_stops_at_the_cap() {
        // 64 MiB of zeros compress to about 64 KiB.
        let bomb = gzip(&vec![0u8; 64 << 20]);
        assert!(bomb.len() < 100_000);
        let err =
            decode_body(&headers("gzip"), None, Bytes::from(bomb), 1 << 20).expect_err("too large");
        assert!(matches!(err, Rejection::DecompressedTooLarge(_)));
        // Exactly at the cap is fine.
        let at_cap = Bytes::from(gzip(&[7u8; 1000]));
        assert_eq!(
            decode_body(&headers("gzip"), None, at_cap, 1000)
                .expect("ok")
                .len(),
            1000
        );
    }

    #[test]
    fn unknown_encodings_and_corrupt_gzip_are_refused() {
        assert!(matches!(
            decode_body(&headers("br"), None, Bytes::new(), 10),
            Err(Rejection::UnsupportedEncoding(e)) if e == "br"
        ));
        assert!(matches!(
            decode_body(&headers("gzip"), None, Bytes::from_static(b"not gzip"), 10),
            Err(Rejection::Malformed(_))
        ));
    }

    #[test]
    fn the_encoding_can_be_named_outside_the_headers_but_not_twice_differently() {
        let gz = || Bytes::from(gzip(b"{\"v\":1}"));
        let max = 100;
        let plain = decode_body(&HeaderMap::new(), Some("gzip"), gz(), max).expect("query");
        assert_eq!(plain, &b"{\"v\":1}"[..]);
        let both = decode_body(&headers("gzip"), Some("GZIP"), gz(), max).expect("agree");
        assert_eq!(both, &b"{\"v\":1}"[..]);
        assert!(matches!(
            decode_body(&headers("identity"), Some("gzip"), gz(), max),
            Err(Rejection::Invalid { .. })
        ));
        assert!(matches!(
            decode_body(&HeaderMap::new(), Some("br"), gz(), max),
            Err(Rejection::UnsupportedEncoding(e)) if e == "br"
        ));
    }
}
