//! The RUM browser SDK's measurement core, compiled to WebAssembly.
//!
//! * [`vitals`]: FCP, LCP, CLS, INP and TTFB, one file each, and [`vitals::page`], which
//!   applies web-vitals' page-level rules (first hidden time, prerender activation, CLS after
//!   FCP, final reports on hide, back/forward-cache restores). Pure logic over plain numbers,
//!   tested on the host with `cargo test`.
//! * [`trace`]: spans: fetch and XHR calls ([`trace::http`]) and the page load
//!   ([`trace::document_load`]), with their W3C ids.
//! * [`session`]: the session's head-sampling rule (mirrored in `js/src/session.js`).
//! * [`errors`]: the page's errors, de-duplicated per view.
//! * [`journey`]: views (the page load and SPA routes), route changes, user actions with
//!   their frustration signals, and events.
//! * [`recorder`]: what one page records; [`batch`]: when beacons leave and how large
//!   they are; [`beacon`]: the wire format v1, written with [`json`] (no float formatting).
//! * [`bindings`]: the module's exports (it has no imports); [`io`]: the byte channel
//!   strings and reports cross by.
//!
//! The browser edges (observers, listeners, the fetch and XHR wrappers, sending) live in
//! `js/src/` and hand the wasm facts: numbers, and strings through [`io`]'s buffer, since
//! each kind of object crossing between JS and wasm costs glue code in both files.
//!
//! On wasm the crate is `no_std` and allocates nothing: std's panic machinery, and alloc's
//! out-of-memory handler, would pull number formatting into a download every user pays
//! for. A panic aborts (`unreachable`), and the code avoids any: no indexing or slicing the
//! compiler cannot prove, no division by a variable (`docs/architecture.md`).

#![cfg_attr(target_arch = "wasm32", no_std)]

// Host tests use `alloc`; the wasm allocates nothing.
#[cfg(not(target_arch = "wasm32"))]
extern crate alloc;

pub mod batch;
pub mod beacon;
pub mod errors;
// The exports: wasm only, so their unmangled names never meet a native link.
#[cfg(target_arch = "wasm32")]
pub mod bindings;
pub mod global;
pub mod io;
pub mod journey;
pub mod json;
pub mod recorder;
pub mod session;
pub mod text;
pub mod trace;
pub mod vitals;

#[cfg(all(target_arch = "wasm32", not(test)))]
mod wasm_runtime {
    // No global allocator: the wasm allocates nothing (records go into fixed buffers).

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        core::arch::wasm32::unreachable()
    }
}
