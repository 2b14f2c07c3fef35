//! The byte channel between JS and wasm: one static buffer, `IN`, whose address JS reads
//! once (`bindings::io`). Cheaper than wasm-bindgen's string and array passing, which cost
//! 0.7–0.9 KB of glue each on first use (`../shared/design/sdk-split.md`).
//!
//! Layout of a call's input: [`NUMBERS`] f64 slots first (little-endian, as a
//! `Float64Array` view writes them), then strings, each written by `TextEncoder.encodeInto`
//! and followed by a `0xFF` byte, which never occurs in UTF-8. A string that did not fit
//! has no terminator and is dropped, so a field is either whole or absent.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::UnsafeCell;

/// f64 slots at the start of the buffer.
pub const NUMBERS: usize = 32;
/// Room for the strings of one call: a vital's attribution (at most
/// [`crate::beacon::MAX_ATTRIBUTION_BYTES`]) with room to spare.
pub const STRING_BYTES: usize = 24 * 1024;

/// f64 slots then string bytes, as JS's views expect them (`#[repr(C)]`: in this order,
/// the f64s 8-byte aligned).
#[repr(C)]
struct Channel {
    numbers: [f64; NUMBERS],
    strings: [u8; STRING_BYTES],
}

struct Buffer(UnsafeCell<Channel>);
// SAFETY: wasm32 without atomics runs one thread; JS writes the buffer only between calls.
unsafe impl Sync for Buffer {}

static IN: Buffer = Buffer(UnsafeCell::new(Channel {
    numbers: [0.0; NUMBERS],
    strings: [0; STRING_BYTES],
}));

/// The buffer's address in wasm memory, for JS's views.
pub fn address() -> usize {
    IN.0.get() as usize
}

/// What JS wrote for the current call: the numbers and `len` bytes of strings.
pub fn input(len: usize) -> Input {
    // SAFETY: single-threaded; JS does not write while wasm runs, and nothing here keeps a
    // reference past the call that reads it.
    let channel = unsafe { &*IN.0.get() };
    Input::new(channel.numbers, channel.strings.get(..len).unwrap_or(&[]))
}

/// One call's input, read in the order JS wrote it.
pub struct Input {
    pub numbers: [f64; NUMBERS],
    strings: alloc::vec::IntoIter<String>,
}

impl Input {
    /// `strings`: the bytes after the numbers. Only terminated strings count.
    pub fn new(numbers: [f64; NUMBERS], strings: &[u8]) -> Input {
        let mut parts: Vec<String> = strings.split(|&b| b == 0xFF).map(utf8).collect();
        // The part after the last terminator is unterminated: cut off, or empty.
        parts.pop();
        Input {
            numbers,
            strings: parts.into_iter(),
        }
    }

    /// The next string, empty when JS wrote fewer.
    pub fn string(&mut self) -> String {
        self.strings.next().unwrap_or_default()
    }
}

/// `bytes` as UTF-8, each invalid sequence (a lone surrogate's WTF-8, a cut character)
/// replaced by U+FFFD, so everything encoded later is valid UTF-8.
pub fn utf8(mut bytes: &[u8]) -> String {
    let mut out = String::new();
    loop {
        match core::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let good = bytes.get(..e.valid_up_to()).unwrap_or_default();
                // SAFETY: `from_utf8` validated exactly this prefix.
                out.push_str(unsafe { core::str::from_utf8_unchecked(good) });
                out.push('\u{FFFD}');
                let skip = e.valid_up_to() + e.error_len().unwrap_or(bytes.len());
                bytes = bytes.get(skip..).unwrap_or_default();
            }
        }
    }
}

/// `s` cut to at most `max` bytes, at a character boundary.
pub fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_read_in_order_and_an_unterminated_one_is_dropped() {
        let mut input = Input::new([0.0; NUMBERS], b"GET\xffhttps://a/\xff\xffcut");
        assert_eq!(input.string(), "GET");
        assert_eq!(input.string(), "https://a/");
        assert_eq!(input.string(), "");
        assert_eq!(input.string(), "", "`cut` had no terminator");
        assert_eq!(input.string(), "", "beyond what was written");
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        // A lone surrogate (U+D800) as WTF-8, a stray continuation byte, a cut 3-byte char.
        assert_eq!(utf8(b"a\xed\xa0\x80b"), "a\u{FFFD}\u{FFFD}\u{FFFD}b");
        assert_eq!(utf8(b"\x80x"), "\u{FFFD}x");
        assert_eq!(utf8(b"x\xe2\x82"), "x\u{FFFD}");
        assert_eq!(utf8("ok é".as_bytes()), "ok é");
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate(String::from("aé"), 2), "a");
        assert_eq!(truncate(String::from("abc"), 5), "abc");
    }
}
