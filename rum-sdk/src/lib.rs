//! The RUM browser SDK, compiled to WebAssembly and driven by the JS layer in `js/`.
//!
//! * [`vitals`]: FCP, LCP, CLS, INP and TTFB, one file each, pure logic.
//! * [`observe`] and [`lifecycle`]: the browser events that feed them.
//! * [`instrument`]: fetch records (from `js/src/fetch.js`) → client spans.
//! * [`batch`], [`encode`], [`transport`]: the queue, beacon v1, and sending.
//! * [`bindings`]: the module's exports; [`ffi`]: its imports.
//!
//! On wasm the crate is `no_std`: std's panic machinery would pull number formatting into a
//! download every user pays for. A panic aborts (`unreachable`), and the code avoids any.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod batch;
pub mod bindings;
pub mod config;
pub mod encode;
pub mod ffi;
pub mod global;
pub mod instrument;
pub mod lifecycle;
pub mod observe;
pub mod sdk;
pub mod transport;
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
