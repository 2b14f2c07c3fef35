//! The browser session and its head-sampling decision.
//!
//! A session is kept or dropped whole: the decision is a pure function of the session id,
//! in the spirit of OpenTelemetry's `TraceIdRatioBased` sampler, over the id's first 32 bits
//! so that `js/src/session.js` computes exactly the same bit without BigInt. JS must decide
//! before the wasm exists (the fetch wrapper puts the sampled flag into the page's first
//! `traceparent` headers, and an unsampled session never downloads the wasm), so it carries a
//! one-line mirror of [`is_sampled`]; both are pinned to the vectors in
//! `rum-sdk/tests/fixtures/sampling.json`.
//!
//! Storage holds `{id}.{1|0}` (32 hex digits, then the decision), so a session keeps the
//! decision it started with even if the page's sample rate changes.

/// Whether a session with this id (32 lowercase hex digits) is recorded at `rate` (0 to 1).
pub fn is_sampled(id: &str, rate: f64) -> bool {
    let Some(head) = id.get(..8) else {
        return false;
    };
    let mut bits = 0u32;
    for d in head.bytes() {
        let n = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => return false,
        };
        bits = bits << 4 | u32::from(n);
    }
    f64::from(bits) < rate * 4_294_967_296.0
}

/// A session as storage held it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session<'a> {
    pub id: &'a str,
    pub sampled: bool,
}

impl<'a> Session<'a> {
    /// The stored value, if it is one this SDK wrote.
    pub fn parse(stored: &'a str) -> Option<Session<'a>> {
        let (id, bit) = stored.split_once('.')?;
        let hex = id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        match bit {
            "1" | "0" if hex => Some(Session {
                id,
                sampled: bit == "1",
            }),
            _ => None,
        }
    }

    /// The stored session if there is one, else a new session with `fresh_id` and the
    /// decision [`is_sampled`] makes for it.
    pub fn resume_or_start(stored: Option<&'a str>, fresh_id: &'a str, rate: f64) -> Session<'a> {
        stored.and_then(Session::parse).unwrap_or_else(|| Session {
            id: fresh_id,
            sampled: is_sampled(fresh_id, rate),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors JS is tested against too (`playwright/session.spec.mjs`).
    #[test]
    fn the_rule_matches_the_shared_vectors() {
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../tests/fixtures/sampling.json")).expect("JSON");
        let cases = vectors["cases"].as_array().expect("cases");
        assert!(cases.len() >= 10);
        for c in cases {
            let id = c["id"].as_str().expect("id");
            let rate = c["rate"].as_f64().expect("rate");
            assert_eq!(
                is_sampled(id, rate),
                c["sampled"].as_bool().expect("sampled"),
                "{id} at {rate}"
            );
        }
    }

    #[test]
    fn rates_keep_their_share_of_sessions() {
        let mut kept = 0;
        for i in 0..10_000u32 {
            let id = alloc::format!("{:08x}{:024x}", i.wrapping_mul(2_654_435_761), i);
            kept += u32::from(is_sampled(&id, 0.25));
        }
        assert!((2400..=2600).contains(&kept), "{kept} of 10000 at 0.25");
        assert!(is_sampled("ffffffff000000000000000000000000", 1.0));
        assert!(!is_sampled("00000000000000000000000000000001", 0.0));
        assert!(!is_sampled("zz", 1.0));
    }

    #[test]
    fn a_stored_session_keeps_its_decision() {
        let stored = "0123456789abcdef0123456789abcdef.0";
        let s = Session::resume_or_start(Some(stored), "ffffffffffffffffffffffffffffffff", 1.0);
        assert_eq!(
            s,
            Session {
                id: "0123456789abcdef0123456789abcdef",
                sampled: false
            }
        );
        for bad in [
            "",
            "0123.1",
            "0123456789ABCDEF0123456789abcdef.1",
            "0123456789abcdef0123456789abcdef.2",
        ] {
            let s = Session::resume_or_start(Some(bad), "00000000ffffffffffffffffffffffff", 0.5);
            assert_eq!(
                s.id, "00000000ffffffffffffffffffffffff",
                "{bad:?} is not a stored session"
            );
            assert!(s.sampled);
        }
    }
}
