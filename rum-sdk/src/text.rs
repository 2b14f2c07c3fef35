//! A string kept past the call that brought it (the wasm allocates nothing): up to `N`
//! bytes in place. Longer input is cut; the JSON writer turns a character cut in half into
//! U+FFFD.

#[derive(Clone, Copy)]
pub struct Text<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Default for Text<N> {
    fn default() -> Self {
        Text {
            bytes: [0; N],
            len: 0,
        }
    }
}

impl<const N: usize> Text<N> {
    pub fn new(s: &[u8]) -> Self {
        let mut t = Self::default();
        t.push(s);
        t
    }

    /// Appends what fits of `s`.
    pub fn push(&mut self, s: &[u8]) {
        for b in s {
            if let Some(slot) = self.bytes.get_mut(self.len) {
                *slot = *b;
                self.len += 1;
            }
        }
    }

    pub fn get(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}
