//! The wasmtime side of a replay: the two engines (one with fuel metering for instruction counts,
//! one without for timing), each module compiled for both, and a [`Session`]: an allocator
//! instance, with the driver linked to it when the trace is replayed inside wasm, a cap on its
//! memory, and fuel readings around calls.

use crate::driver::{Abi, op_bytes};
use crate::trace::Op;
use anyhow::{Context, Result};
use wasmtime::{Config, Engine, Extern, Instance, Memory, Module, ResourceLimiter, Store, Trap, TypedFunc};

const PAGE: usize = 65536;

/// Store data: a cap on `memory.grow` (growth beyond `cap` bytes is refused while `capped`).
pub struct MemoryCap {
    pub cap: usize,
    pub capped: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _cur: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        Ok(!self.capped || desired <= self.cap)
    }
    fn table_growing(&mut self, _cur: usize, _desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

pub struct Engines {
    pub fuel: Engine,
    pub time: Engine,
}

impl Engines {
    pub fn new() -> Result<Self> {
        let mut config = Config::new();
        config.wasm_multi_memory(true);
        let time = Engine::new(&config)?;
        config.consume_fuel(true);
        let fuel = Engine::new(&config)?;
        Ok(Engines { fuel, time })
    }
}

/// One allocator module (and the driver) compiled for both engines.
pub struct Compiled {
    pub fuel: Module,
    pub time: Module,
}

impl Compiled {
    pub fn new(engines: &Engines, bytes: &[u8]) -> Result<Self> {
        Ok(Compiled { fuel: Module::new(&engines.fuel, bytes)?, time: Module::new(&engines.time, bytes)? })
    }
    fn get(&self, fuel: bool) -> &Module {
        if fuel { &self.fuel } else { &self.time }
    }
}

/// The driver's `run(ops_ptr, n, slots_ptr) -> done`.
type RunFunc = TypedFunc<(u32, u32, u32), u32>;

/// An allocator instance, optionally with the driver linked to it.
pub struct Session {
    pub store: Store<MemoryCap>,
    pub memory: Memory,
    /// Which functions `allocate`, `deallocate` and `reallocate` are (the raw ABI's, or C's
    /// `malloc`, `free` and `realloc`); the driver, if any, must be the one built for it.
    pub abi: Abi,
    pub allocate: TypedFunc<u32, u32>,
    pub deallocate: TypedFunc<u32, ()>,
    pub reallocate: TypedFunc<(u32, u32), u32>,
    driver: Option<(RunFunc, Memory)>,
    fuel: bool,
}

/// Fuel given to a store for host calls (never runs out in practice).
const HOST_FUEL: u64 = 1 << 62;

impl Session {
    /// A session over the raw ABI.
    pub fn new(engines: &Engines, alloc: &Compiled, driver: Option<&Compiled>, fuel: bool) -> Result<Self> {
        Self::with_abi(engines, alloc, driver, fuel, Abi::Raw)
    }

    /// A session that calls the allocator's functions of `abi`; `driver` must be built for it.
    pub fn with_abi(
        engines: &Engines,
        alloc: &Compiled,
        driver: Option<&Compiled>,
        fuel: bool,
        abi: Abi,
    ) -> Result<Self> {
        let engine = if fuel { &engines.fuel } else { &engines.time };
        let mut store = Store::new(engine, MemoryCap { cap: usize::MAX, capped: false });
        store.limiter(|l| l);
        if fuel {
            store.set_fuel(HOST_FUEL)?;
        }
        let inst = Instance::new(&mut store, alloc.get(fuel), &[])?;
        let memory = inst.get_memory(&mut store, "memory").context("no memory export")?;
        let [alloc_name, free_name, realloc_name] = abi.exports();
        let allocate = inst
            .get_typed_func::<u32, u32>(&mut store, alloc_name)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("export {alloc_name}"))?;
        let deallocate = inst
            .get_typed_func::<u32, ()>(&mut store, free_name)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("export {free_name}"))?;
        let reallocate = inst
            .get_typed_func::<(u32, u32), u32>(&mut store, realloc_name)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("export {realloc_name}"))?;
        let mut session = Session { store, memory, abi, allocate, deallocate, reallocate, driver: None, fuel };
        if let Some(d) = driver {
            session.driver = Some(session.link_driver(d.get(fuel))?);
        }
        Ok(session)
    }

    /// Instantiates the driver with the allocator's exports as its imports.
    fn link_driver(&mut self, driver: &Module) -> Result<(RunFunc, Memory)> {
        let imports: [Extern; 4] = [
            (*self.allocate.func()).into(),
            (*self.deallocate.func()).into(),
            (*self.reallocate.func()).into(),
            self.memory.into(),
        ];
        let instance = Instance::new(&mut self.store, driver, &imports)?;
        let run = instance.get_typed_func::<(u32, u32, u32), u32>(&mut self.store, "run")?;
        let dmem = instance.get_memory(&mut self.store, "dmem").context("no dmem")?;
        Ok((run, dmem))
    }

    /// Refuses memory growth beyond `bytes` from now on.
    pub fn cap_memory(&mut self, bytes: usize) {
        let l = self.store.data_mut();
        l.cap = bytes;
        l.capped = true;
    }

    pub fn memory_bytes(&self) -> usize {
        self.memory.data_size(&self.store)
    }

    /// Writes the slot table (zeroed) and ops into the driver's memory; returns
    /// `(ops_ptr, slots_ptr)`.
    pub fn load_ops(&mut self, ops: &[Op], slots: u32) -> Result<(u32, u32)> {
        let (_, dmem) = self.driver.as_ref().context("no driver")?.clone();
        let slots_bytes = slots as usize * 8;
        let need = slots_bytes + ops.len() * 8;
        let have = dmem.data_size(&self.store);
        if need > have {
            dmem.grow(&mut self.store, (need - have).div_ceil(PAGE) as u64)?;
        }
        let data = dmem.data_mut(&mut self.store);
        data[..slots_bytes].fill(0);
        let out = &mut data[slots_bytes..slots_bytes + ops.len() * 8];
        for (chunk, op) in out.chunks_exact_mut(8).zip(ops) {
            chunk.copy_from_slice(&op_bytes(op));
        }
        Ok((slots_bytes as u32, 0))
    }

    /// Replays ops (already loaded) inside wasm. Returns how many succeeded (`n` when all did).
    pub fn run(&mut self, ops_ptr: u32, n: u32, slots_ptr: u32) -> wasmtime::Result<u32> {
        let (run, _) = self.driver.as_ref().expect("a session with the driver").clone();
        run.call(&mut self.store, (ops_ptr, n, slots_ptr))
    }

    /// Pointer and size of a slot in the driver's table.
    pub fn slot(&self, slots_ptr: u32, slot: u32) -> (u32, u32) {
        let (_, dmem) = self.driver.as_ref().expect("driver");
        let data = dmem.data(&self.store);
        let a = slots_ptr as usize + slot as usize * 8;
        let w = |o: usize| u32::from_le_bytes(data[a + o..a + o + 4].try_into().unwrap());
        (w(0), w(4))
    }

    /// Sets the fuel budget; returns a reading to pass to [`Session::fuel_since`].
    pub fn fuel_start(&mut self, budget: u64) -> Result<u64> {
        self.store.set_fuel(budget)?;
        Ok(budget)
    }

    pub fn fuel_since(&self, start: u64) -> Result<u64> {
        Ok(start - self.store.get_fuel()?)
    }

    /// Runs one call with fuel measured around it; `Ok((result, fuel))`.
    pub fn metered<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<(T, u64)> {
        debug_assert!(self.fuel);
        self.store.set_fuel(HOST_FUEL)?;
        let r = f(self)?;
        Ok((r, HOST_FUEL - self.store.get_fuel()?))
    }
}

/// Whether an error is wasmtime's out-of-fuel trap.
pub fn is_out_of_fuel(e: &wasmtime::Error) -> bool {
    e.downcast_ref::<Trap>() == Some(&Trap::OutOfFuel)
}
