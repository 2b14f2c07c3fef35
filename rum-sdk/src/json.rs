//! A JSON text writer small enough for the download: no `core::fmt` (formatting one float
//! costs about 10 KB of wasm), numbers written by hand, strings escaped so that the output is
//! valid UTF-8 JSON whatever the input held. It writes into a fixed buffer: no allocation,
//! so no allocator, growth code or out-of-memory formatting in the wasm. What does not fit
//! sets [`Json::full`], and the caller drops the record.
//!
//! Commas are placed by looking at the last byte written: after `{`, `[` or `:` a value needs
//! none, after anything else (a closed value) it does.

/// JSON being written into `buf`.
pub struct Json<'a> {
    buf: &'a mut [u8],
    len: usize,
    /// Something did not fit: the text is cut and must not be used.
    pub full: bool,
}

impl<'a> Json<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Json {
            buf,
            len: 0,
            full: false,
        }
    }

    /// What was written.
    pub fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(never)]
    fn push(&mut self, b: u8) {
        match self.buf.get_mut(self.len) {
            Some(slot) => {
                *slot = b;
                self.len += 1;
            }
            None => self.full = true,
        }
    }

    fn extend(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }

    fn sep(&mut self) {
        if !matches!(self.bytes().last(), None | Some(b'{' | b'[' | b':')) {
            self.push(b',');
        }
    }

    /// Starts an object or array as the next value.
    pub fn open(&mut self, bracket: u8) -> &mut Self {
        self.sep();
        self.push(bracket);
        self
    }

    pub fn close(&mut self, bracket: u8) -> &mut Self {
        self.push(bracket);
        self
    }

    /// An object key; the value follows.
    #[inline(never)]
    pub fn key(&mut self, key: &str) -> &mut Self {
        self.str(key);
        self.push(b':');
        self
    }

    /// Already-encoded JSON as the next value.
    pub fn raw(&mut self, json: &[u8]) -> &mut Self {
        self.sep();
        self.extend(json);
        self
    }

    /// A string value.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.text(s.as_bytes())
    }

    /// A string value from bytes that should be UTF-8 (what JS wrote into the byte channel):
    /// `"`, `\` and the control characters are escaped, and each invalid sequence (a lone
    /// surrogate's WTF-8, a character cut by a length cap) becomes U+FFFD, so the output is
    /// valid UTF-8 JSON whatever the input held.
    pub fn text(&mut self, s: &[u8]) -> &mut Self {
        self.sep();
        self.push(b'"');
        let mut i = 0;
        while let Some(&b) = s.get(i) {
            let n = char_len(s.get(i..).unwrap_or_default());
            match n {
                0 => self.extend("\u{FFFD}".as_bytes()),
                1 => self.escaped(b),
                _ => self.extend(s.get(i..i + n).unwrap_or_default()),
            }
            i += n.max(1);
        }
        self.push(b'"');
        self
    }

    /// `b` as it goes in a JSON string: `"` and `\\` escaped, control characters as
    /// `\\u00XX` (longer than `\\n` for the few that have a short form, but one rule).
    fn escaped(&mut self, b: u8) {
        match b {
            b'"' | b'\\' => self.extend(&[b'\\', b]),
            0..=0x1f => self.extend(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]),
            _ => self.push(b),
        }
    }

    /// A string value made of `parts` and then the decimal digits of `number` (a vital's id,
    /// a status code as `error.type`).
    pub fn text_number(&mut self, parts: &[&[u8]], number: u64) -> &mut Self {
        self.sep();
        self.push(b'"');
        for part in parts {
            for &b in *part {
                self.escaped(b);
            }
        }
        self.digits(number, 1);
        self.push(b'"');
        self
    }

    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.raw(if value { b"true" } else { b"false" })
    }

    pub fn uint(&mut self, value: u64) -> &mut Self {
        self.sep();
        self.digits(value, 1);
        self
    }

    /// `value` rounded to `decimals` places, trailing zeros dropped: times in milliseconds
    /// get 3 (browsers give them to 5 µs at best), layout-shift scores 9. Not a number or
    /// beyond ±1.8e19 / 10^decimals is written as 0, which no caller produces.
    pub fn fixed(&mut self, value: f64, decimals: u32) -> &mut Self {
        self.sep();
        let negative = value < 0.0;
        let scale = 10u64.pow(decimals) as f64;
        // `as` saturates and maps NaN to 0; +0.5 then truncation rounds half up.
        let scaled = ((if negative { -value } else { value }) * scale + 0.5) as u64;
        let scaled = if scaled == u64::MAX { 0 } else { scaled };
        if negative && scaled != 0 {
            self.push(b'-');
        }
        let mut buf = [b'0'; 20];
        let digits = decimal_digits(scaled, decimals as usize + 1, &mut buf);
        let (whole, fraction) = digits
            .split_at_checked(digits.len() - decimals as usize)
            .unwrap_or((digits, &[]));
        self.extend(whole);
        let kept = fraction
            .iter()
            .rposition(|&d| d != b'0')
            .map_or(0, |last| last + 1);
        if kept > 0 {
            self.push(b'.');
            self.extend(fraction.get(..kept).unwrap_or_default());
        }
        self
    }

    /// Milliseconds to the microsecond.
    pub fn ms(&mut self, value: f64) -> &mut Self {
        self.fixed(value, 3)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The length of the UTF-8 character `s` starts with, 0 if it starts with none (a byte
/// that cannot begin one, a cut or overlong sequence, a surrogate's encoding), by the table
/// of well-formed sequences in Unicode §3.9 (core's validator is 700 bytes of wasm).
fn char_len(s: &[u8]) -> usize {
    let Some(&lead) = s.first() else { return 0 };
    let (n, second) = match lead {
        0..=0x7f => return 1,
        0xc2..=0xdf => (2, 0x80..=0xbf),
        0xe0 => (3, 0xa0..=0xbf),
        0xed => (3, 0x80..=0x9f),
        0xe1..=0xef => (3, 0x80..=0xbf),
        0xf0 => (4, 0x90..=0xbf),
        0xf1..=0xf3 => (4, 0x80..=0xbf),
        0xf4 => (4, 0x80..=0x8f),
        _ => return 0,
    };
    let continued = s.get(1).is_some_and(|b| second.contains(b))
        && (2..n).all(|i| s.get(i).is_some_and(|b| (0x80..=0xbf).contains(b)));
    if continued {
        n
    } else {
        0
    }
}

impl Json<'_> {
    /// Decimal digits of `value`, zero-padded to at least `width`.
    fn digits(&mut self, value: u64, width: usize) {
        let mut buf = [b'0'; 20];
        let digits = decimal_digits(value, width, &mut buf);
        self.extend(digits);
    }
}

/// The decimal digits of `value` at the end of `buf`, zero-padded to at least `width` (at
/// most 20). Divisions by constants only, and no indexing: a division by a variable or an
/// index the compiler cannot prove brings panic code (and with it formatting) into the wasm.
fn decimal_digits(mut value: u64, width: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = 0;
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
        n += 1;
        if value == 0 {
            break;
        }
    }
    let n = n.max(width).min(20);
    buf.get(20 - n..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Json)) -> alloc::string::String {
        let mut buf = [0u8; 4096];
        let mut j = Json::new(&mut buf);
        f(&mut j);
        assert!(!j.full);
        alloc::string::String::from_utf8(j.bytes().to_vec()).expect("valid UTF-8")
    }

    #[test]
    fn numbers_are_written_without_float_formatting() {
        assert_eq!(
            text(|j| {
                j.ms(0.0);
            }),
            "0"
        );
        assert_eq!(
            text(|j| {
                j.ms(29.800000000745058);
            }),
            "29.8"
        );
        assert_eq!(
            text(|j| {
                j.ms(1732460000100.25);
            }),
            "1732460000100.25"
        );
        assert_eq!(
            text(|j| {
                j.ms(1732460000100.0002);
            }),
            "1732460000100"
        );
        assert_eq!(
            text(|j| {
                j.ms(0.0005);
            }),
            "0.001"
        );
        assert_eq!(
            text(|j| {
                j.ms(-12.5);
            }),
            "-12.5"
        );
        assert_eq!(
            text(|j| {
                j.ms(-0.0001);
            }),
            "0"
        );
        assert_eq!(
            text(|j| {
                j.ms(f64::NAN);
            }),
            "0"
        );
        assert_eq!(
            text(|j| {
                j.ms(f64::INFINITY);
            }),
            "0"
        );
        assert_eq!(
            text(|j| {
                j.fixed(0.123456789012, 9);
            }),
            "0.123456789"
        );
        assert_eq!(
            text(|j| {
                j.fixed(0.05, 9);
            }),
            "0.05"
        );
        assert_eq!(
            text(|j| {
                j.fixed(1.000000001, 9);
            }),
            "1.000000001"
        );
        assert_eq!(
            text(|j| {
                j.uint(0);
            }),
            "0"
        );
        assert_eq!(
            text(|j| {
                j.uint(u64::MAX);
            }),
            "18446744073709551615"
        );
        // Every written number reads back as the value to within half a unit of the last place.
        for i in 0..2000u32 {
            let v = f64::from(i) * 1_234.567_891 / 7.0;
            let s = text(|j| {
                j.ms(v);
            });
            let back: f64 = s.parse().expect("a JSON number");
            assert!((back - v).abs() <= 0.0005 + 1e-9, "{v} written as {s}");
        }
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_every_control_character() {
        assert_eq!(
            text(|j| {
                j.str("a\"b\\c");
            }),
            r#""a\"b\\c""#
        );
        assert_eq!(
            text(|j| {
                j.str("\n\r\t\u{0}\u{1f}\u{7f}");
            }),
            "\"\\u000a\\u000d\\u0009\\u0000\\u001f\u{7f}\""
        );
        assert_eq!(
            text(|j| {
                j.str("é \u{2028} 😀");
            }),
            "\"é \u{2028} 😀\""
        );
        for c in 0u8..0x20 {
            let s = alloc::string::String::from(c as char);
            let json = text(|j| {
                j.str(&s);
            });
            let back: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
            assert_eq!(back.as_str(), Some(s.as_str()));
        }
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        // A lone surrogate (U+D800) as WTF-8, a stray continuation byte, a cut 3-byte
        // character, and a control character beside them.
        assert_eq!(
            text(|j| {
                j.text(b"a\xed\xa0\x80b");
            }),
            "\"a\u{FFFD}\u{FFFD}\u{FFFD}b\""
        );
        assert_eq!(
            text(|j| {
                j.text(b"\x80x\x01");
            }),
            "\"\u{FFFD}x\\u0001\""
        );
        // Each byte that starts no character is one U+FFFD.
        assert_eq!(
            text(|j| {
                j.text(b"x\xe2\x82");
            }),
            "\"x\u{FFFD}\u{FFFD}\""
        );
        assert_eq!(
            text(|j| {
                j.text(b"\xc0\xaf \xf4\x90\x80\x80");
            }),
            "\"\u{FFFD}\u{FFFD} \u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\"",
            "overlong, beyond U+10FFFF"
        );
        assert_eq!(
            text(|j| {
                j.text("\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}".as_bytes());
            }),
            "\"\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}\""
        );
        assert_eq!(
            text(|j| {
                j.text("ok é \"".as_bytes());
            }),
            "\"ok é \\\"\""
        );
        // Whatever the bytes, the output is JSON that reads back as a string, and valid
        // UTF-8 passes unchanged (checked against core's validator).
        for seed in 0u32..5000 {
            let bytes: Vec<u8> = (0..24)
                .map(|i| (seed.wrapping_mul(2_654_435_761).rotate_left(i) >> 3) as u8)
                .collect();
            let json = text(|j| {
                j.text(&bytes);
            });
            let back: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
            assert!(back.is_string());
            if let Ok(valid) = core::str::from_utf8(&bytes) {
                assert_eq!(back.as_str(), Some(valid));
            } else {
                assert!(back.as_str().is_some_and(|s| s.contains('\u{FFFD}')));
            }
        }
    }

    #[test]
    fn what_does_not_fit_marks_the_writer_full() {
        let mut buf = [0u8; 8];
        let mut j = Json::new(&mut buf);
        j.str("1234567");
        assert!(j.full);
        assert_eq!(j.bytes(), b"\"1234567");
        assert_eq!(
            text(|j| {
                j.text_number(&[b"v1-", b"ab"], 12);
            }),
            "\"v1-ab12\""
        );
    }

    #[test]
    fn commas_follow_the_structure() {
        let s = text(|j| {
            j.open(b'{').key("a").uint(1).key("b").open(b'[');
            j.str("x").bool(true).open(b'{').close(b'}').close(b']');
            j.key("c").str("00ab").close(b'}');
        });
        assert_eq!(s, r#"{"a":1,"b":["x",true,{}],"c":"00ab"}"#);
    }
}
