//! The byte channel between JS and wasm: one static buffer, `IN`, whose address JS reads
//! once (`bindings::io`). Cheaper than wasm-bindgen's string and array passing, which cost
//! 0.7–0.9 KB of glue each on first use (`../shared/design/sdk-split.md`).
//!
//! Layout of a call's input: [`NUMBERS`] f64 slots first (little-endian, as a
//! `Float64Array` view writes them), then strings, each written by `TextEncoder.encodeInto`
//! and followed by a `0xFF` byte, which never occurs in UTF-8. A string that did not fit
//! has no terminator and is dropped, so a field is either whole or absent.

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

/// Writes `numbers` into the channel's f64 slots, for JS to read when the call returns
/// (vital reports); slots beyond them keep what they held.
pub fn output(at: usize, numbers: &[f64]) {
    // SAFETY: single-threaded, within an export call; JS reads only after it returns.
    let channel = unsafe { &mut *IN.0.get() };
    for (slot, n) in channel.numbers.iter_mut().skip(at).zip(numbers) {
        *slot = *n;
    }
}

/// A static byte buffer the wasm owns (zeroed memory: nothing in the download).
struct Bytes<const N: usize>(UnsafeCell<[u8; N]>);
// SAFETY: as for `Buffer`: one thread.
unsafe impl<const N: usize> Sync for Bytes<N> {}

/// Where a beacon is written for JS to read: the beacon size cap.
static OUT: Bytes<{ crate::batch::MAX_BYTES }> =
    Bytes(UnsafeCell::new([0; crate::batch::MAX_BYTES]));
/// The batch's arena.
static QUEUE: Bytes<{ crate::batch::QUEUE_BYTES }> =
    Bytes(UnsafeCell::new([0; crate::batch::QUEUE_BYTES]));

/// The beacon buffer's address, for JS.
pub fn out_address() -> usize {
    OUT.0.get() as usize
}

/// The beacon buffer.
///
/// # Safety
/// No other reference to it may be live: take it within one export call and let it go.
pub unsafe fn out() -> &'static mut [u8] {
    // SAFETY: the caller holds no other reference (above); one thread.
    unsafe { &mut *OUT.0.get() }
}

/// The batch's arena.
///
/// # Safety
/// Once per recorder: the recorder it is given to must be the only holder.
pub unsafe fn queue() -> &'static mut [u8] {
    // SAFETY: the caller gives it to one recorder (above); one thread.
    unsafe { &mut *QUEUE.0.get() }
}

/// What JS wrote for the current call: the numbers and `len` bytes of strings.
pub fn input(len: usize) -> Input<'static> {
    // SAFETY: single-threaded; JS writes only between calls, and callers use the input
    // within the call that read it (what must outlive it is copied).
    let channel = unsafe { &*IN.0.get() };
    Input::new(channel.numbers, channel.strings.get(..len).unwrap_or(&[]))
}

/// One call's input, read in the order JS wrote it. Strings are borrowed bytes: UTF-8 as
/// `encodeInto` writes it, made valid where it is not by [`crate::json::Json::text`].
pub struct Input<'a> {
    pub numbers: [f64; NUMBERS],
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(numbers: [f64; NUMBERS], strings: &'a [u8]) -> Input<'a> {
        Input {
            numbers,
            rest: strings,
        }
    }

    /// The next string, at most `max` bytes; empty when JS wrote fewer or this one has no
    /// terminator (it did not fit).
    pub fn string(&mut self, max: usize) -> &'a [u8] {
        let Some(end) = self.rest.iter().position(|&b| b == 0xFF) else {
            self.rest = &[];
            return &[];
        };
        let s = self.rest.get(..end).unwrap_or_default();
        self.rest = self.rest.get(end + 1..).unwrap_or_default();
        // At most `max` bytes, cut at a character boundary: a character cut in two would be
        // written as replacement characters, longer than `max`, which the gateway refuses with
        // the whole beacon.
        let mut cut = max.min(s.len());
        while s.get(cut).is_some_and(|&b| b & 0xC0 == 0x80) {
            cut -= 1;
        }
        s.get(..cut).unwrap_or(s)
    }

    /// The next string whole if it is at most `max` bytes, else empty: JSON (attributes) that
    /// a cut would make invalid, and with it the beacon, is left out instead.
    pub fn whole(&mut self, max: usize) -> &'a [u8] {
        let s = self.string(usize::MAX);
        if s.len() <= max {
            s
        } else {
            &[]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_read_in_order_and_an_unterminated_one_is_dropped() {
        let mut input = Input::new([0.0; NUMBERS], b"GET\xffhttps://a/\xff\xffcut");
        assert_eq!(input.string(64), b"GET");
        assert_eq!(input.string(64), b"https://a/");
        assert_eq!(input.string(64), b"");
        assert_eq!(input.string(64), b"", "`cut` had no terminator");
        assert_eq!(input.string(64), b"", "beyond what was written");
        let mut input = Input::new([0.0; NUMBERS], b"abcdef\xffgh\xff");
        assert_eq!(input.string(3), b"abc", "capped");
        assert_eq!(input.string(3), b"gh");
    }

    #[test]
    fn a_capped_string_is_cut_at_a_character_boundary_and_json_is_whole_or_left_out() {
        // "aé€": 1 + 2 + 3 bytes.
        let bytes = "aé€".as_bytes();
        let mut text = [0u8; 64];
        let mut n = 0;
        for part in [
            bytes,
            b"\xff",
            bytes,
            b"\xff",
            b"{\"k\":1}",
            b"\xff",
            b"{\"k\":1}",
            b"\xff",
        ] {
            text[n..n + part.len()].copy_from_slice(part);
            n += part.len();
        }
        let mut input = Input::new([0.0; NUMBERS], &text[..n]);
        assert_eq!(
            input.string(5),
            "aé".as_bytes(),
            "not the first two bytes of €"
        );
        assert_eq!(input.string(2), b"a", "not half of é");
        assert_eq!(input.whole(7), b"{\"k\":1}");
        assert_eq!(input.whole(6), b"", "cut JSON is left out");
    }
}
