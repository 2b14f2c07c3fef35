//! The SDK's one piece of global state, reachable from exported functions and browser
//! callbacks alike.

use core::cell::RefCell;

/// A cell for state shared between the SDK's entry points. wasm32-unknown-unknown (without
/// the `atomics` feature) runs on one thread, so a `RefCell` in a static is sound there.
pub struct Global<T>(RefCell<Option<T>>);

// SAFETY: the SDK is built for single-threaded wasm only (see above); there is no second
// thread to share the cell with.
unsafe impl<T> Sync for Global<T> {}

impl<T> Default for Global<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Global<T> {
    pub const fn new() -> Self {
        Global(RefCell::new(None))
    }

    pub fn set(&self, value: T) {
        if let Ok(mut slot) = self.0.try_borrow_mut() {
            *slot = Some(value);
        }
    }

    /// Runs `f` on the value. A call re-entered from inside `f` (the browser calling back
    /// synchronously) is skipped rather than panicking into the page.
    #[inline(always)]
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let mut slot = self.0.try_borrow_mut().ok()?;
        slot.as_mut().map(f)
    }
}
