//! The report: BENCHMARKS.md (also printed), section by section. The chart beside it is
//! `chart.rs`.

mod format;
mod prose;
pub mod readme;
mod tables;
mod threads;

use crate::options::Options;
use crate::results::{Clock, Results};
use std::fmt;

pub fn markdown(opts: &Options, r: &Results) -> String {
    let mut w = String::new();
    sections(&mut w, opts, r).expect("writing to a String cannot fail");
    w
}

fn sections(w: &mut String, opts: &Options, r: &Results) -> fmt::Result {
    prose::title_and_facts(w, opts, r)?;
    prose::method(w, opts, r)?;
    tables::allocators(w, r)?;
    tables::traces(w, r)?;
    tables::recorded(w, r)?;
    tables::time(w, r, Clock::Wasmtime, " in wasmtime")?;
    if r.v8.is_some() {
        tables::time(w, r, Clock::V8, " in V8")?;
    }
    tables::fuel(w, r)?;
    tables::memory(w, r)?;
    if r.c_measured() {
        tables::c_alignment(w, r)?;
    }
    tables::per_trace(w, r)?;
    if !r.efficiency.is_empty() {
        tables::efficiency(w, opts, r)?;
    }
    if !r.scaling.is_empty() {
        tables::scaling(w, opts, r)?;
    }
    if !r.shared.is_empty() || r.threads.is_some() {
        threads::section(w, opts, r)?;
    }
    prose::gaps(w, opts, r)
}
