//! Tells `src/lib.rs` about wasm32 builds with atomics (shared memory, threads): stable rustc
//! hides the unstable `atomics` target feature from `cfg(target_feature)`, so this script looks at
//! what cargo passes (the target's flags, its name) and sets `wasmheap_atomics`. Where nightly shows
//! the cfg, `WasmHeap` takes its lock; where it is hidden (stable), `src/lib.rs` stops with a
//! `compile_error!` that says nightly is needed.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    println!("cargo::rustc-check-cfg=cfg(wasmheap_atomics)");
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    if env("CARGO_CFG_TARGET_ARCH") != "wasm32" {
        return;
    }
    // Threaded targets (wasm32-wasip1-threads) have atomics unless the flags turn them off.
    let mut atomics =
        env("TARGET").ends_with("-threads") || env("CARGO_CFG_TARGET_FEATURE").split(',').any(|f| f == "atomics");
    // `-C target-feature=+a,-b` or `-Ctarget-feature=...`, in order: the last word on atomics wins.
    let flags = env("CARGO_ENCODED_RUSTFLAGS");
    let flags: Vec<&str> = flags.split('\x1f').collect();
    for (i, flag) in flags.iter().enumerate() {
        let value = match flag.strip_prefix("-C").map(str::trim_start) {
            Some("") => flags.get(i + 1).and_then(|next| next.strip_prefix("target-feature=")),
            Some(rest) => rest.strip_prefix("target-feature="),
            None => None,
        };
        for feature in value.unwrap_or("").split(',') {
            match feature {
                "+atomics" => atomics = true,
                "-atomics" => atomics = false,
                _ => {}
            }
        }
    }
    if atomics {
        println!("cargo::rustc-cfg=wasmheap_atomics");
    }
}
