//! How the report writes numbers and table rows.

use crate::results::{Clock, Status, TraceResult};
use std::fmt::{self, Write};

/// A byte count in B, KiB or MiB, with at least two significant digits.
pub fn bytes(n: u64) -> String {
    if n >= 10 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else if n >= 10 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// A figure: whole from 100 up, else one decimal.
pub fn num(x: f64) -> String {
    if x >= 100.0 { format!("{x:.0}") } else { format!("{x:.1}") }
}

/// A ratio with two significant digits at least.
pub fn ratio(x: f64) -> String {
    if x >= 0.1 {
        format!("{x:.2}")
    } else if x >= 0.001 {
        format!("{x:.3}")
    } else {
        format!("{x:.1e}")
    }
}

/// A status in a table cell, where there is no room for the reason.
pub fn short_status(s: &Status) -> String {
    match s {
        Status::Ok => "—".into(),
        Status::Failed(_) => "OOM".into(),
        Status::OverBudget(b) => format!("> {:.0e} fuel", *b as f64),
        Status::Error(_) => "error".into(),
    }
}

/// What a time cell shows when there is no time: why.
pub fn no_time(tr: &TraceResult, c: Clock, a: usize) -> String {
    let cell = &tr.cells[a];
    match (&cell.status, c, &cell.v8_error) {
        (Status::Ok, Clock::V8, Some(_)) => "error".into(),
        (Status::Ok, _, _) => "—".into(),
        (s, _, _) => short_status(s),
    }
}

/// A table's header row and alignment row: a text column, then right-aligned figures.
pub fn header(w: &mut String, first: &str, cols: &[&str]) -> fmt::Result {
    writeln!(w, "| {first} | {} |", cols.join(" | "))?;
    writeln!(w, "| --- |{}", " ---: |".repeat(cols.len()))
}

/// One table row.
pub fn row(w: &mut String, first: &str, cells: &[String]) -> fmt::Result {
    writeln!(w, "| {first} | {} |", cells.join(" | "))
}
