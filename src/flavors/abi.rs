//! The raw ABI of `wasm/wasmheap.wasm` (its contract: `src/CONTRACT.md`, "The raw ABI"), made
//! from the one table in `exports.rs`. Every value is an i32.
//! In the debug flavor the same exports go through the debug layer (`debug/mod.rs`).

#[cfg(feature = "debug")]
use crate::flavors::debug::{heap, ready_heap};
#[cfg(not(feature = "debug"))]
use crate::flavors::wasm::{heap, ready_heap};

/// Each entry of the table an export of the same name.
macro_rules! module_exports {
    ($($(#[$doc:meta])* fn $name:ident($($arg:ident: u32),*) $(-> $ret:ty)?
        { $way:ident |$h:ident| $body:expr } else { $default:expr })*) => {
        $(
            $(#[$doc])*
            #[unsafe(no_mangle)]
            pub extern "C" fn $name($($arg: u32),*) $(-> $ret)? {
                module_exports!(@reach $way, $h, $body, $default)
            }
        )*
    };
    (@reach hot, $h:ident, $body:expr, $default:expr) => {{
        let $h = heap();
        $body
    }};
    (@reach ready, $h:ident, $body:expr, $default:expr) => {
        match ready_heap() {
            Some($h) => $body,
            None => $default,
        }
    };
}

crate::flavors::exports::raw_abi!(module_exports);

// ---- the C names (feature `c-api`; wasm/FLAVORS.md, section 5) ---------------------------------

#[cfg(feature = "c-api")]
mod c_names {
    use crate::flavors::wasm::heap;

    crate::flavors::exports::c_names!(module_exports);

    /// C `free`: [`deallocate`](super::deallocate).
    #[unsafe(no_mangle)]
    pub extern "C" fn free(ptr: u32) {
        super::deallocate(ptr)
    }

    /// C `aligned_alloc`: [`allocate_aligned`](super::allocate_aligned), the alignment first.
    #[unsafe(no_mangle)]
    pub extern "C" fn aligned_alloc(align: u32, size: u32) -> u32 {
        super::allocate_aligned(size, align)
    }
}
