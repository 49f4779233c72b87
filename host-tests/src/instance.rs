//! One instance of a wasmheap module in a store of its own: the one wasmtime wrapper of the suite,
//! the soak and the demo. Either [`Layout`]: for an imported memory it makes `env.memory` (at
//! least 64 KiB above the host's part) and calls `init(start, 0)`.
//!
//! Every call of the raw ABI starts with a fresh budget of [`CALL_FUEL`], so that an allocator
//! caught in a loop traps instead of hanging; what it burnt is recorded per export ([`Fuel`]). A
//! trap is an `Err` with the call and its arguments; the test harness [`Heap`](crate::Heap) turns
//! it into a panic.

use crate::{Export, Fuel, Layout, Limiter, PAGE, State, engine};
use wasmtime::{ExternType, Func, Linker, Memory, Module, Store, TypedFunc, Val, WasmParams, WasmResults};

/// Fuel each call may burn (about one unit per wasm instruction).
pub const CALL_FUEL: u64 = 1 << 32;

/// The arguments of a call, as the fuel record and the trap message show them.
pub trait Args: WasmParams + Copy {
    fn words(self) -> Vec<u32>;
}

/// `Args` for a tuple of `u32`s, given a name for each element.
macro_rules! args_tuple {
    ($($x:ident),*) => {
        impl Args for ($(args_tuple!(@u32 $x),)*) {
            fn words(self) -> Vec<u32> {
                let ($($x,)*) = self;
                vec![$($x),*]
            }
        }
    };
    (@u32 $x:ident) => { u32 };
}

impl Args for u32 {
    fn words(self) -> Vec<u32> {
        vec![self]
    }
}

args_tuple!();
args_tuple!(a);
args_tuple!(a, b);
args_tuple!(a, b, c);
args_tuple!(a, b, c, d);

/// `H`: what a harness keeps beside the instance (the test harness's scratch block: see
/// [`Heap`](crate::Heap)); the soak needs nothing.
pub struct Instance<H = ()> {
    pub store: Store<State>,
    pub instance: wasmtime::Instance,
    pub memory: Memory,
    pub layout: Layout,
    /// The exports of [`Export::NAMES`], looked up once (`None`: the module lacks it).
    funcs: [Option<Func>; Export::COUNT],
    /// Fuel per export, indexed by [`Export`].
    pub fuel: [Fuel; Export::COUNT],
    /// Fuel of the last call, and of every call so far.
    pub last_fuel: u64,
    pub fuel_used: u64,
    pub calls: u64,
    /// The caller's step, recorded with each new maximum of fuel.
    pub step: u64,
    /// Growth refusals when the last call started: see [`Instance::refused_in_call`].
    refused_before: u32,
    pub harness: H,
}

impl Instance {
    /// Instantiates `module` with `layout` and `limiter`; for an imported memory, calls
    /// `init(start, 0)`.
    pub fn instantiate(module: &Module, layout: Layout, limiter: Limiter) -> Result<Instance, String> {
        let mut store = Instance::store(limiter);
        let mut linker = Linker::new(engine());
        let imported = match layout {
            Layout::Imported { start } => Some(host_memory(&mut store, &mut linker, module, start)?),
            Layout::Own => None,
        };
        let instance = linker.instantiate(&mut store, module).map_err(|e| format!("instantiate: {e}"))?;
        // Creating memory went through the limiter: count only what the module does from now on.
        (store.data_mut().limiter.granted, store.data_mut().limiter.refused) = (0, 0);
        let memory = match imported {
            Some(m) => m,
            None => instance.get_memory(&mut store, "memory").ok_or("export `memory` missing")?,
        };
        let mut i = Instance::from_parts(store, instance, memory, layout);
        if let Layout::Imported { start } = layout {
            i.init(start)?;
        }
        Ok(i)
    }

    /// A store for an instance, its memory limited by `limiter`, fuel metering on.
    pub fn store(limiter: Limiter) -> Store<State> {
        let mut store = Store::new(engine(), State { limiter });
        store.limiter(|s| &mut s.limiter);
        store.set_fuel(CALL_FUEL).expect("fuel is on");
        store
    }

    /// An instance made by the caller in `store` (made by [`Instance::store`]), for a set-up of
    /// its own: other instances linked to it, a memory it prepared.
    pub fn from_parts(
        mut store: Store<State>,
        instance: wasmtime::Instance,
        memory: Memory,
        layout: Layout,
    ) -> Instance {
        let funcs = Export::NAMES.map(|name| instance.get_func(&mut store, name));
        let fuel = Default::default();
        Instance {
            store,
            instance,
            memory,
            layout,
            funcs,
            fuel,
            last_fuel: 0,
            fuel_used: 0,
            calls: 0,
            step: 0,
            refused_before: 0,
            harness: (),
        }
    }

    /// The same instance, with `harness` kept beside it.
    pub fn with_harness<H>(self, harness: H) -> Instance<H> {
        let Instance {
            store,
            instance,
            memory,
            layout,
            funcs,
            fuel,
            last_fuel,
            fuel_used,
            calls,
            step,
            refused_before,
            ..
        } = self;
        Instance {
            store,
            instance,
            memory,
            layout,
            funcs,
            fuel,
            last_fuel,
            fuel_used,
            calls,
            step,
            refused_before,
            harness,
        }
    }
}

impl<H> Instance<H> {
    /// `init(start, 0)`: the heap's region from `start` to the end of the imported memory.
    fn init(&mut self, start: u32) -> Result<(), String> {
        let init = self.funcs[Export::Init as usize].ok_or("no init export")?;
        let mut results = vec![Val::I32(0); init.ty(&self.store).results().len()];
        self.begin();
        let r = init.call(&mut self.store, &[Val::I32(start as i32), Val::I32(0)], &mut results);
        self.end(Export::Init, &[start, 0]);
        r.map_err(|e| format!("init({start:#x}, 0) trapped: {e}"))?;
        match results.first() {
            Some(Val::I32(0)) => Err(format!("init({start:#x}, 0) returned 0")),
            _ => Ok(()),
        }
    }

    fn begin(&mut self) {
        self.store.set_fuel(CALL_FUEL).expect("fuel is on");
        self.refused_before = self.store.data().limiter.refused;
    }

    fn end(&mut self, export: Export, args: &[u32]) {
        let used = CALL_FUEL - self.store.get_fuel().expect("fuel is on");
        (self.last_fuel, self.fuel_used, self.calls) = (used, self.fuel_used + used, self.calls + 1);
        let words = [args.first().copied().unwrap_or(0), args.get(1).copied().unwrap_or(0)];
        self.fuel[export as usize].add(used, self.step, words);
    }

    /// Calls `export` with `args`, with a fresh fuel budget; a trap is an `Err` naming the call.
    pub fn call_export<P: Args, R: WasmResults>(&mut self, export: Export, args: P) -> Result<R, String> {
        let name = export.name();
        let f: TypedFunc<P, R> = (self.funcs[export as usize].ok_or_else(|| format!("export `{name}` missing")))?
            .typed(&self.store)
            .map_err(|e| format!("export `{name}` of the wrong type: {e}"))?;
        self.begin();
        let r = f.call(&mut self.store, args);
        self.end(export, &args.words());
        r.map_err(|e| {
            let shown: Vec<String> = args.words().iter().map(|a| format!("{a:#x}")).collect();
            format!("{name}({}) trapped: {e:?}", shown.join(", "))
        })
    }

    /// Calls any export by name (a flavor's own: `debug_*`, the C names), with a fresh fuel
    /// budget counted in `fuel_used`; a trap is an `Err` naming the call.
    pub fn call_named<P: Args, R: WasmResults>(&mut self, name: &str, args: P) -> Result<R, String> {
        let f: TypedFunc<P, R> = self
            .instance
            .get_typed_func(&mut self.store, name)
            .map_err(|e| format!("export `{name}` missing or of the wrong type: {e}"))?;
        self.store.set_fuel(CALL_FUEL).expect("fuel is on");
        let r = f.call(&mut self.store, args);
        self.fuel_used += CALL_FUEL - self.store.get_fuel().expect("fuel is on");
        r.map_err(|e| format!("{name}{:x?} trapped: {e:?}", args.words()))
    }

    /// `memory.grow` refusals during the last call.
    /// The value of an exported `i32` global (`__heap_base`, `__data_end`).
    pub fn global(&mut self, name: &str) -> u32 {
        let global = self.instance.get_global(&mut self.store, name).unwrap_or_else(|| panic!("no global `{name}`"));
        global.get(&mut self.store).unwrap_i32() as u32
    }

    pub fn refused_in_call(&self) -> u32 {
        self.store.data().limiter.refused - self.refused_before
    }

    // ---- the raw ABI ------------------------------------------------------------------------

    pub fn try_allocate(&mut self, size: u32) -> Result<u32, String> {
        self.call_export(Export::Allocate, size)
    }

    pub fn try_allocate_aligned(&mut self, size: u32, align: u32) -> Result<u32, String> {
        self.call_export(Export::AllocateAligned, (size, align))
    }

    pub fn try_deallocate(&mut self, ptr: u32) -> Result<(), String> {
        self.call_export(Export::Deallocate, ptr)
    }

    pub fn try_reallocate(&mut self, ptr: u32, size: u32) -> Result<u32, String> {
        self.call_export(Export::Reallocate, (ptr, size))
    }

    pub fn try_size(&mut self, ptr: u32) -> Result<u32, String> {
        self.call_export(Export::Size, ptr)
    }

    pub fn try_free_all(&mut self) -> Result<(), String> {
        self.call_export(Export::FreeAll, ())
    }

    pub fn try_free_all_mark(&mut self) -> Result<(), String> {
        self.call_export(Export::FreeAllMark, ())
    }

    pub fn try_free_get_mark(&mut self) -> Result<u32, String> {
        self.call_export(Export::FreeGetMark, ())
    }

    pub fn try_free_to_mark(&mut self, mark: u32) -> Result<(), String> {
        self.call_export(Export::FreeToMark, mark)
    }

    pub fn try_check(&mut self) -> Result<u32, String> {
        self.call_export(Export::Check, ())
    }

    /// `stats(out)`, decoded from the 64 bytes at `out`.
    pub fn try_stats(&mut self, out: u32) -> Result<crate::Stats, String> {
        self.call_export::<_, ()>(Export::Stats, out)?;
        Ok(crate::Stats::from_bytes(self.read(out, 64)))
    }
}

/// The imported `env.memory` of `module`, at least 64 KiB above `start` (the host's part),
/// defined in `linker`.
fn host_memory(
    store: &mut Store<State>,
    linker: &mut Linker<State>,
    module: &Module,
    start: u32,
) -> Result<Memory, String> {
    let ty = module
        .imports()
        .find_map(|i| match i.ty() {
            ExternType::Memory(m) => Some(m),
            _ => None,
        })
        .ok_or("the module imports no memory")?;
    let memory = Memory::new(&mut *store, ty).map_err(|e| format!("create env.memory: {e}"))?;
    let want = start as u64 + PAGE as u64;
    let have = memory.data_size(&*store) as u64;
    if have < want {
        let pages = (want - have).div_ceil(PAGE as u64);
        memory.grow(&mut *store, pages).map_err(|e| format!("grow env.memory: {e}"))?;
    }
    linker.define(&*store, "env", "memory", memory).map_err(|e| e.to_string())?;
    Ok(memory)
}
