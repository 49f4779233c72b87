//! One instance of a wasmheap module in wasmtime, for the soak: typed exports, a memory limiter
//! that refuses `memory.grow` at random moments, and the fuel of every call.
//!
//! Two layouts are supported:
//! - own memory (`wasm/wasmheap.wasm`): no imports, exports `memory`; the heap sets itself up on
//!   first use;
//! - imported memory (`wasm/wasmheap-import-memory.wasm`): imports `env.memory` and exports
//!   `init(start, end) -> ok`; the host keeps `[0, start)` for itself (the soak fills it with a
//!   sentinel pattern and checks that it never changes, apart from the 64 bytes that `stats`
//!   writes) and calls `init(start, 0)`: the heap runs to the end of memory and may grow it.

use super::rng::Rng;
use host_tests::ABI;
use wasmtime::{
    Config, Engine, ExternType, Func, Linker, Memory, Module, ResourceLimiter, Store, TypedFunc, Val, ValType,
    WasmParams, WasmResults,
};

/// Fuel each call may burn: a call caught in a loop traps instead of hanging the soak.
pub const CALL_FUEL: u64 = 1 << 32;

/// The exports whose fuel is recorded, in the order of [`NAMES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ex {
    Allocate,
    AllocateAligned,
    Deallocate,
    Reallocate,
    Size,
    FreeAll,
    FreeAllMark,
    FreeGetMark,
    FreeToMark,
    Check,
    Stats,
    Init,
}

pub const NAMES: [&str; 12] = [
    "allocate",
    "allocate_aligned",
    "deallocate",
    "reallocate",
    "size",
    "free_all",
    "free_all_mark",
    "free_get_mark",
    "free_to_mark",
    "check",
    "stats",
    "init",
];


/// Fuel of one export over the run.
#[derive(Clone, Debug, Default)]
pub struct Fuel {
    pub calls: u64,
    pub total: u64,
    pub max: u64,
    /// Step and arguments of the call that burnt `max`.
    pub max_step: u64,
    pub max_args: [u32; 2],
}

impl Fuel {
    pub fn add(&mut self, fuel: u64, step: u64, args: [u32; 2]) {
        self.calls += 1;
        self.total += fuel;
        if fuel > self.max {
            self.max = fuel;
            self.max_step = step;
            self.max_args = args;
        }
    }

    pub fn merge(&mut self, other: &Fuel) {
        self.calls += other.calls;
        self.total += other.total;
        if other.max > self.max {
            self.max = other.max;
            self.max_step = other.max_step;
            self.max_args = other.max_args;
        }
    }

    pub fn mean(&self) -> f64 {
        self.total as f64 / self.calls.max(1) as f64
    }
}

/// What the limiter does with a `memory.grow` that stays under the cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weather {
    /// Every growth under the cap is granted.
    Clear,
    /// Each growth is refused with probability 1/2.
    Flaky,
    /// Every growth is refused.
    Frozen,
}

/// Refuses `memory.grow` past `cap`, and at random moments (see [`Weather`]).
pub struct Limiter {
    pub cap: usize,
    pub weather: Weather,
    rng: Rng,
    /// Growths granted and refused since the instance was created (instantiation excluded).
    pub granted: u64,
    pub refused: u64,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired <= current {
            return Ok(true);
        }
        let refuse = desired > self.cap
            || maximum.is_some_and(|m| desired > m)
            || match self.weather {
                Weather::Clear => false,
                Weather::Flaky => self.rng.chance(1, 2),
                Weather::Frozen => true,
            };
        if refuse {
            self.refused += 1;
        } else {
            self.granted += 1;
        }
        Ok(!refuse)
    }

    fn table_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// How the module gets its memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Exports its own memory.
    Own,
    /// Imports `env.memory`; the host owns `[0, start)` and passes `start` to `init`.
    Imported { start: u32 },
}

/// A module that passed [`probe`].
pub struct Probed {
    pub module: Module,
    pub layout: Layout,
}

/// The engine of the soak: fuel metering on.
pub fn engine() -> Engine {
    let mut config = Config::new();
    config.consume_fuel(true);
    Engine::new(&config).expect("create wasmtime engine")
}

/// Bytes of the imported memory the host keeps for itself below the heap's region.
pub const HOST_BYTES: u32 = 4096;

/// Compiles the module at `path` and checks that it exports the raw ABI; `Err` says why it is
/// skipped.
pub fn probe(engine: &Engine, path: &str) -> Result<Probed, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let module = Module::new(engine, &bytes).map_err(|e| format!("does not compile: {e}"))?;
    let func_shape = |name: &str| {
        module.get_export(name).and_then(|t| match t {
            ExternType::Func(f) => Some((
                f.params().map(|p| matches!(p, ValType::I32)).collect::<Vec<_>>(),
                f.results().map(|r| matches!(r, ValType::I32)).collect::<Vec<_>>(),
            )),
            _ => None,
        })
    };
    for (name, params, results) in ABI {
        match func_shape(name) {
            Some((p, r)) if p.len() == params && r.len() == results && p.iter().chain(&r).all(|&x| x) => {}
            Some(_) => return Err(format!("export `{name}` has the wrong type")),
            None => return Err(format!("does not export `{name}`: not the raw ABI")),
        }
    }
    let imports: Vec<(String, String, bool)> = module
        .imports()
        .map(|i| {
            (
                i.module().to_string(),
                i.name().to_string(),
                matches!(i.ty(), ExternType::Memory(_)),
            )
        })
        .collect();
    let exports_memory = matches!(module.get_export("memory"), Some(ExternType::Memory(_)));
    let layout = match imports.as_slice() {
        [] if exports_memory => Layout::Own,
        [] => return Err("exports no `memory`".into()),
        [(m, n, true)] if m == "env" && n == "memory" => {
            match func_shape("init") {
                Some((p, _)) if p.len() == 2 => {}
                _ => return Err("imports env.memory but exports no init(start, end)".into()),
            }
            Layout::Imported { start: HOST_BYTES }
        }
        _ => {
            let names: Vec<String> = imports.iter().map(|(m, n, _)| format!("{m}.{n}")).collect();
            return Err(format!("imports {}: only env.memory is supported", names.join(", ")));
        }
    };
    Ok(Probed { module, layout })
}

/// A running instance of the module.
pub struct Wasm {
    pub store: Store<Limiter>,
    pub memory: Memory,
    pub layout: Layout,
    f_allocate: TypedFunc<u32, u32>,
    f_allocate_aligned: TypedFunc<(u32, u32), u32>,
    f_deallocate: TypedFunc<u32, ()>,
    f_reallocate: TypedFunc<(u32, u32), u32>,
    f_size: TypedFunc<u32, u32>,
    f_free_all: TypedFunc<(), ()>,
    f_free_all_mark: TypedFunc<(), ()>,
    f_free_get_mark: TypedFunc<(), u32>,
    f_free_to_mark: TypedFunc<u32, ()>,
    f_check: TypedFunc<(), u32>,
    f_stats: TypedFunc<u32, ()>,
    /// Fuel per export, indexed by [`Ex`].
    pub fuel: [Fuel; 12],
    /// Fuel of the last call.
    pub last_fuel: u64,
    /// The soak's step, recorded with each new maximum of fuel.
    pub step: u64,
    /// Growth refusals when the last call started: see [`Wasm::refused_in_call`].
    refused_before: u64,
    pub calls: u64,
}

fn typed<P: WasmParams, R: WasmResults>(
    store: &mut Store<Limiter>,
    instance: &wasmtime::Instance,
    name: &str,
) -> TypedFunc<P, R> {
    instance
        .get_typed_func::<P, R>(&mut *store, name)
        .unwrap_or_else(|e| panic!("export `{name}`: {e}"))
}

/// The imported `env.memory`, at least 64 KiB above `start` (the host's part), defined in
/// `linker`.
fn host_memory(
    store: &mut Store<Limiter>,
    linker: &mut Linker<Limiter>,
    probed: &Probed,
    start: u32,
) -> Result<Memory, String> {
    let ty = probed
        .module
        .imports()
        .find_map(|i| match i.ty() {
            ExternType::Memory(m) => Some(m),
            _ => None,
        })
        .expect("probe found env.memory");
    let memory = Memory::new(&mut *store, ty).map_err(|e| format!("create env.memory: {e}"))?;
    if (memory.data_size(&*store) as u64) < start as u64 + 65536 {
        let pages = (start as u64 + 65536 - memory.data_size(&*store) as u64).div_ceil(65536);
        memory
            .grow(&mut *store, pages)
            .map_err(|e| format!("grow env.memory: {e}"))?;
    }
    linker
        .define(&*store, "env", "memory", memory)
        .map_err(|e| e.to_string())?;
    Ok(memory)
}

impl Wasm {
    /// Instantiates `probed` with memory growth capped at `cap` bytes and a limiter whose random
    /// refusals come from `rng`. For an imported memory, calls `init(start, 0)`.
    pub fn new(engine: &Engine, probed: &Probed, cap: usize, rng: Rng) -> Result<Wasm, String> {
        let limiter = Limiter {
            cap,
            weather: Weather::Clear,
            rng,
            granted: 0,
            refused: 0,
        };
        let mut store = Store::new(engine, limiter);
        store.limiter(|l| l);
        store.set_fuel(CALL_FUEL).expect("fuel is on");
        let mut linker = Linker::new(engine);
        let mut imported = None;
        if let Layout::Imported { start } = probed.layout {
            imported = Some(host_memory(&mut store, &mut linker, probed, start)?);
        }
        let instance = linker
            .instantiate(&mut store, &probed.module)
            .map_err(|e| format!("instantiate: {e}"))?;
        // Creating memory went through the limiter: count only what the module does from now on.
        store.data_mut().granted = 0;
        store.data_mut().refused = 0;
        let memory = match imported {
            Some(m) => m,
            None => instance.get_memory(&mut store, "memory").ok_or("no memory export")?,
        };
        let s = &mut store;
        let i = &instance;
        let mut w = Wasm {
            f_allocate: typed(s, i, "allocate"),
            f_allocate_aligned: typed(s, i, "allocate_aligned"),
            f_deallocate: typed(s, i, "deallocate"),
            f_reallocate: typed(s, i, "reallocate"),
            f_size: typed(s, i, "size"),
            f_free_all: typed(s, i, "free_all"),
            f_free_all_mark: typed(s, i, "free_all_mark"),
            f_free_get_mark: typed(s, i, "free_get_mark"),
            f_free_to_mark: typed(s, i, "free_to_mark"),
            f_check: typed(s, i, "check"),
            f_stats: typed(s, i, "stats"),
            store,
            memory,
            layout: probed.layout,
            fuel: Default::default(),
            last_fuel: 0,
            step: 0,
            refused_before: 0,
            calls: 0,
        };
        if let Layout::Imported { start } = probed.layout {
            w.init(&instance, start)?;
        }
        Ok(w)
    }

    /// `init(start, 0)`: the heap's region from `start` to the end of the imported memory.
    fn init(&mut self, instance: &wasmtime::Instance, start: u32) -> Result<(), String> {
        let init: Func = instance.get_func(&mut self.store, "init").ok_or("no init export")?;
        let mut results = vec![Val::I32(0); init.ty(&self.store).results().len()];
        self.begin();
        let r = init.call(&mut self.store, &[Val::I32(start as i32), Val::I32(0)], &mut results);
        self.end(Ex::Init, [start, 0]);
        r.map_err(|e| format!("init({start:#x}, 0) trapped: {e}"))?;
        if let Some(Val::I32(0)) = results.first() {
            return Err(format!("init({start:#x}, 0) returned 0"));
        }
        Ok(())
    }

    fn begin(&mut self) {
        self.store.set_fuel(CALL_FUEL).expect("fuel is on");
        self.refused_before = self.store.data().refused;
    }

    fn end(&mut self, ex: Ex, args: [u32; 2]) {
        let used = CALL_FUEL - self.store.get_fuel().expect("fuel is on");
        self.last_fuel = used;
        self.calls += 1;
        self.fuel[ex as usize].add(used, self.step, args);
    }

    fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        ex: Ex,
        f: TypedFunc<P, R>,
        params: P,
        args: [u32; 2],
    ) -> Result<R, String> {
        self.begin();
        let r = f.call(&mut self.store, params);
        self.end(ex, args);
        r.map_err(|e| {
            let n = ABI.iter().find(|a| a.0 == NAMES[ex as usize]).map_or(0, |a| a.1);
            let shown: Vec<String> = args[..n].iter().map(|a| format!("{a:#x}")).collect();
            format!("{}({}) trapped: {e:?}", NAMES[ex as usize], shown.join(", "))
        })
    }

    /// `memory.grow` refusals during the last call.
    pub fn refused_in_call(&self) -> u64 {
        self.store.data().refused - self.refused_before
    }

    pub fn limiter(&mut self) -> &mut Limiter {
        self.store.data_mut()
    }

    // ---- the raw ABI ------------------------------------------------------------------------

    pub fn allocate(&mut self, size: u32) -> Result<u32, String> {
        self.call(Ex::Allocate, self.f_allocate.clone(), size, [size, 0])
    }

    pub fn allocate_aligned(&mut self, size: u32, align: u32) -> Result<u32, String> {
        self.call(
            Ex::AllocateAligned,
            self.f_allocate_aligned.clone(),
            (size, align),
            [size, align],
        )
    }

    pub fn deallocate(&mut self, ptr: u32) -> Result<(), String> {
        self.call(Ex::Deallocate, self.f_deallocate.clone(), ptr, [ptr, 0])
    }

    pub fn reallocate(&mut self, ptr: u32, size: u32) -> Result<u32, String> {
        self.call(Ex::Reallocate, self.f_reallocate.clone(), (ptr, size), [ptr, size])
    }

    pub fn size(&mut self, ptr: u32) -> Result<u32, String> {
        self.call(Ex::Size, self.f_size.clone(), ptr, [ptr, 0])
    }

    pub fn free_all(&mut self) -> Result<(), String> {
        self.call(Ex::FreeAll, self.f_free_all.clone(), (), [0, 0])
    }

    pub fn free_all_mark(&mut self) -> Result<(), String> {
        self.call(Ex::FreeAllMark, self.f_free_all_mark.clone(), (), [0, 0])
    }

    pub fn free_get_mark(&mut self) -> Result<u32, String> {
        self.call(Ex::FreeGetMark, self.f_free_get_mark.clone(), (), [0, 0])
    }

    pub fn free_to_mark(&mut self, mark: u32) -> Result<(), String> {
        self.call(Ex::FreeToMark, self.f_free_to_mark.clone(), mark, [mark, 0])
    }

    pub fn check(&mut self) -> Result<u32, String> {
        self.call(Ex::Check, self.f_check.clone(), (), [0, 0])
    }

    /// `stats(out)`, decoded from the 64 bytes at `out`.
    pub fn stats(&mut self, out: u32) -> Result<host_tests::Stats, String> {
        self.call(Ex::Stats, self.f_stats.clone(), out, [out, 0])?;
        let mem = self.mem();
        let mut w = [0u32; 16];
        for (i, w) in w.iter_mut().enumerate() {
            let at = out as usize + 4 * i;
            *w = u32::from_le_bytes(mem[at..at + 4].try_into().unwrap());
        }
        Ok(host_tests::Stats::from_words(w))
    }

    // ---- memory -----------------------------------------------------------------------------

    pub fn mem(&self) -> &[u8] {
        self.memory.data(&self.store)
    }

    pub fn mem_mut(&mut self) -> &mut [u8] {
        self.memory.data_mut(&mut self.store)
    }

    pub fn mem_size(&self) -> u32 {
        u32::try_from(self.memory.data_size(&self.store)).unwrap_or(u32::MAX)
    }
}
