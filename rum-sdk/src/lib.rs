//! The RUM browser SDK's measurement core, compiled to WebAssembly.
//!
//! * [`vitals`]: FCP, LCP, CLS, INP and TTFB, one file each, and [`vitals::page`], which
//!   applies web-vitals' page-level rules (first hidden time, prerender activation, CLS after
//!   FCP, final reports on hide, back/forward-cache restores). Pure logic over plain numbers,
//!   tested on the host with `cargo test`.
//! * [`bindings`]: the module's exports; [`ffi`]: its one import (where reports go).
//!
//! The browser edges (observers, listeners, the beacon queue, sending, the fetch wrapper)
//! live in `js/src/`: each object or string crossing between JS and wasm costs glue code in
//! both files, so only numbers cross.
//!
//! On wasm the crate is `no_std`: std's panic machinery would pull number formatting into a
//! download every user pays for. A panic aborts (`unreachable`), and the code avoids any.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod bindings;
pub mod ffi;
pub mod global;
pub mod vitals;

#[cfg(all(target_arch = "wasm32", not(test)))]
mod wasm_runtime {
    #[global_allocator]
    static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
        // SAFETY: wasm32 without atomics has one thread.
        unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        core::arch::wasm32::unreachable()
    }
}
