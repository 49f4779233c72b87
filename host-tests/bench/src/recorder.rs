//! The `recorded` trace: the allocator calls of a real Rust program (host-tests/bench/recorder,
//! built to wasm with the peers), which logs each `GlobalAlloc` call to the host through an
//! imported `env.record`.

use crate::session::Engines;
use crate::trace::{Builder, Trace};
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::Path;
use wasmtime::{Linker, Module, Store};

/// Runs the recorder module (`run(rounds)`) and turns its log into a trace.
pub fn record(engines: &Engines, recorder: &Path, rounds: u32) -> Result<Trace> {
    let bytes = std::fs::read(recorder).with_context(|| format!("read {}", recorder.display()))?;
    let module = Module::new(&engines.time, bytes)?;
    let mut linker: Linker<Vec<[u32; 5]>> = Linker::new(&engines.time);
    linker.func_wrap(
        "env",
        "record",
        |mut caller: wasmtime::Caller<'_, Vec<[u32; 5]>>,
         op: u32,
         ptr: u32,
         size: u32,
         old: u32,
         align: u32| {
            caller.data_mut().push([op, ptr, size, old, align]);
        },
    )?;
    let mut store = Store::new(&engines.time, Vec::new());
    let inst = linker.instantiate(&mut store, &module)?;
    let run = inst.get_typed_func::<u32, u32>(&mut store, "run")?;
    run.call(&mut store, rounds)
        .map_err(anyhow::Error::from)
        .context("recorder program trapped")?;
    let log = std::mem::take(store.data_mut());
    from_recording(&log, rounds)
}

/// Converts a recorded log of `(op, ptr, size, old_ptr, align)` (op 0 alloc, 1 free, 2 realloc)
/// into a trace. Returns the trace and how many requests asked for an alignment above 8.
pub fn from_recording(log: &[[u32; 5]], rounds: u32) -> Result<Trace> {
    let mut b = Builder::new();
    let mut slot_of: HashMap<u32, u32> = HashMap::new();
    let mut over_aligned = 0;
    for &[op, ptr, size, old, align] in log {
        if align > 8 {
            over_aligned += 1;
        }
        match op {
            0 => {
                let slot = b.alloc(size as u64);
                if slot_of.insert(ptr, slot).is_some() {
                    bail!("recorded pointer {ptr:#x} allocated twice");
                }
            }
            1 => {
                let slot = slot_of
                    .remove(&ptr)
                    .context("recorded free of an unknown pointer")?;
                b.free(slot);
            }
            2 => {
                let slot = slot_of
                    .remove(&old)
                    .context("recorded realloc of an unknown pointer")?;
                b.realloc(slot, size as u64);
                slot_of.insert(ptr, slot);
            }
            _ => bail!("bad recorded op {op}"),
        }
    }
    b.free_all();
    let align_note = if over_aligned > 0 {
        format!("; {over_aligned} requests asked for alignment > 8 and are replayed 8-aligned")
    } else {
        String::new()
    };
    Ok(b.finish(
        "recorded",
        format!(
            "the GlobalAlloc calls of a Rust program compiled to wasm (host-tests/bench/recorder, {rounds} rounds: write JSON, parse into String/Vec/BTreeMap, index, serialize, re-parse){align_note}"
        ),
    ))
}
