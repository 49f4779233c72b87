//! A component whose allocator is wasmheap: the core module host-tests/clients/component (a no_std
//! Rust cdylib with `WasmHeap` and the crate's `cabi_realloc`, feature `cabi-realloc`), built by
//! scripts/test (stage "example clients") into `$WASMHEAP_EXAMPLES_DIR`, made a component here
//! with wit-component and its `world.wit`, then called through wasmtime's component API with
//! strings and byte lists up to megabytes long. The host lowers every argument into the guest
//! through `cabi_realloc`; the guest frees them, and its results in the post-return functions:
//! its heap's live blocks come back to what they were after every call.

use std::path::PathBuf;
use wasmtime::component::{Component, Instance, Linker, TypedFunc};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder};

const WIT: &str = include_str!("../clients/component/world.wit");

fn core_module() -> Vec<u8> {
    let dir = std::env::var_os("WASMHEAP_EXAMPLES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| host_tests::repo_path("target/examples"));
    let path = dir.join("wasm32-unknown-unknown/release/component_example.wasm");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nbuild it with scripts/test, or: cd host-tests/clients/component && \
             RUSTFLAGS= CARGO_TARGET_DIR=../../../target/examples cargo build --release --target wasm32-unknown-unknown",
            path.display()
        )
    })
}

/// The core module with the world embedded, encoded as a component.
fn component(engine: &Engine) -> Component {
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve.push_str("world.wit", WIT).expect("parse world.wit");
    let world = resolve.select_world(&[package], Some("strings")).expect("the world");
    let mut core = core_module();
    wit_component::embed_component_metadata(&mut core, &resolve, world, wit_component::StringEncoding::UTF8, false)
        .expect("embed the world");
    let bytes =
        wit_component::ComponentEncoder::default().module(&core).expect("the core module").validate(true).encode();
    Component::new(engine, bytes.expect("encode the component")).expect("compile the component")
}

struct Guest {
    store: Store<StoreLimits>,
    reverse: TypedFunc<(String,), (String,)>,
    double: TypedFunc<(Vec<u8>,), (Vec<u8>,)>,
    live_blocks: TypedFunc<(), (u32,)>,
    live_bytes: TypedFunc<(), (u32,)>,
}

impl Guest {
    fn new(engine: &Engine, component: &Component, max_memory: usize) -> Guest {
        let mut store = Store::new(engine, StoreLimitsBuilder::new().memory_size(max_memory).build());
        store.limiter(|limits| limits);
        let instance: Instance = Linker::new(engine).instantiate(&mut store, component).expect("instantiate");
        let reverse = instance.get_typed_func(&mut store, "reverse").unwrap();
        let double = instance.get_typed_func(&mut store, "double").unwrap();
        let live_blocks = instance.get_typed_func(&mut store, "live-blocks").unwrap();
        let live_bytes = instance.get_typed_func(&mut store, "live-bytes").unwrap();
        Guest { store, reverse, double, live_blocks, live_bytes }
    }

    fn live(&mut self) -> (u32, u32) {
        let (blocks,) = self.live_blocks.call(&mut self.store, ()).unwrap();
        let (bytes,) = self.live_bytes.call(&mut self.store, ()).unwrap();
        (blocks, bytes)
    }
}

/// A string of `chars` characters of 1 to 4 bytes in UTF-8.
fn text(chars: usize, seed: u32) -> String {
    let alphabet = ['a', 'Z', '7', 'é', 'ß', 'Ж', '中', '€', '🦀', '𝄞'];
    (0..chars).map(|i| alphabet[(i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) as usize % 10]).collect()
}

#[test]
fn strings_and_lists_go_through_cabi_realloc_and_every_block_is_freed() {
    let engine = Engine::default();
    let component = component(&engine);
    let mut g = Guest::new(&engine, &component, 512 << 20);
    let base = g.live();
    for (round, chars) in [0usize, 1, 100, 70_000, 1 << 20, 3 << 20, 5].into_iter().enumerate() {
        let s = text(chars, round as u32);
        let (r,) = g.reverse.call(&mut g.store, (s.clone(),)).unwrap();
        assert_eq!(r, s.chars().rev().collect::<String>(), "reverse of {chars} characters");
        assert_eq!(g.live(), base, "after reverse of {chars} characters: (live blocks, live bytes)");

        let bytes: Vec<u8> = s.bytes().collect();
        let (d,) = g.double.call(&mut g.store, (bytes.clone(),)).unwrap();
        assert_eq!(d.len(), 2 * bytes.len());
        assert!(d.chunks(2).zip(&bytes).all(|(pair, &b)| pair == [b, b]), "double of {} bytes", bytes.len());
        assert_eq!(g.live(), base, "after double of {} bytes: (live blocks, live bytes)", bytes.len());
    }
}

/// A list larger than the guest's memory may grow to: `cabi_realloc` cannot serve it and traps,
/// as the canonical ABI expects of a failed allocation; the call is an error, not a corruption.
#[test]
fn an_argument_the_heap_cannot_hold_traps() {
    let engine = Engine::default();
    let component = component(&engine);
    let mut g = Guest::new(&engine, &component, 16 << 20);
    let e = g.double.call(&mut g.store, (vec![7u8; 32 << 20],)).expect_err("a 32 MiB list in 16 MiB of memory");
    let trap = e.downcast_ref::<wasmtime::Trap>().copied();
    assert_eq!(trap, Some(wasmtime::Trap::UnreachableCodeReached), "{e:?}");
}
