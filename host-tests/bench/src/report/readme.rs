//! The README's numbers: the block between [`BEGIN`] and [`END`] in README.md ("Numbers"), written
//! by the run that writes BENCHMARKS.md, so that the README holds no benchmark figure typed by
//! hand. `scripts/bench` gives the README to a full run (`--readme README.md`) and a copy under
//! target/ to a quick one.

use super::format::{header, num, ratio, row};
use crate::options::Options;
use crate::results::{Clock, Results, TraceResult};
use std::fmt::{self, Write};

/// Where the block begins and ends in the README (HTML comments: Markdown shows nothing of them).
pub const BEGIN: &str = "<!-- bench:numbers -->";
pub const END: &str = "<!-- /bench:numbers -->";

/// The general-purpose allocators the README compares wasmheap with.
const PEERS: [&str; 3] = ["talc", "rlsf", "dlmalloc"];

/// The block's Markdown, from the results (without the markers).
pub fn numbers(opts: &Options, r: &Results) -> String {
    let mut w = String::new();
    write_numbers(&mut w, opts, r).expect("writing to a String cannot fail");
    w
}

fn write_numbers(w: &mut String, opts: &Options, r: &Results) -> fmt::Result {
    let subject = r.allocs[0].label.as_str();
    let peers: Vec<usize> = (1..r.allocs.len()).filter(|&a| PEERS.contains(&r.allocs[a].name.as_str())).collect();
    let names = r.names();
    let name = |a: usize| names[a];
    let commit = opts.meta.iter().find_map(|m| m.strip_prefix("wasmheap commit: ")).unwrap_or("an unknown commit");
    writeln!(
        w,
        "Written by `scripts/bench{}` at {commit}; do not edit, run it again. The best peer is the best of {} in the same run.\n",
        if opts.quick { " --quick" } else { "" },
        PEERS.join(", ")
    )?;
    let v8 = r.v8.is_some();
    let mut cols = vec!["fuel/op", "best peer", "time ÷ fastest peer (wasmtime)"];
    if v8 {
        cols.push("(V8)");
    }
    cols.extend(["memory ÷ peak live", "best peer"]);
    header(w, "trace", &cols)?;
    for tr in &r.traces {
        let mut cells = vec![
            tr.fuel_per_op(0).map_or("—".into(), num),
            best(&peers, |a| tr.fuel_per_op(a)).map_or("—".into(), |(a, x)| format!("{} ({})", num(x), name(a))),
            time_ratio(tr, &peers, Clock::Wasmtime, &names),
        ];
        if v8 {
            cells.push(time_ratio(tr, &peers, Clock::V8, &names));
        }
        cells.push(tr.memory_per_live(0).map_or("—".into(), ratio));
        cells.push(
            best(&peers, |a| tr.memory_per_live(a))
                .map_or("—".into(), |(a, x)| format!("{} ({})", ratio(x), name(a))),
        );
        row(w, tr.name, &cells)?;
    }
    writeln!(w)?;
    if !r.efficiency.is_empty() {
        let mean = |a: usize| {
            let e = &r.efficiency[a];
            (e.error.is_none() && !e.shares.is_empty()).then(|| e.shares.iter().sum::<f64>() / e.shares.len() as f64)
        };
        let figures: Vec<String> = std::iter::once(0)
            .chain(peers.iter().copied())
            .filter_map(|a| mean(a).map(|m| format!("{} {:.1} %", name(a), m * 100.0)))
            .collect();
        writeln!(w, "- Heap efficiency (talc's measure, higher is better): {}.", figures.join(", "))?;
    }
    if let Some(cells) = r.scaling.first() {
        let worst: Vec<String> = cells
            .iter()
            .filter_map(|c| {
                c.result.as_ref().ok().map(|(pc, _)| format!("{} / {} at {} MiB", pc.max[0], pc.max[1], c.heap >> 20))
            })
            .collect();
        // The peers' most expensive allocate at the smallest and the largest heap.
        let others: Vec<String> = (1..r.scaling.len())
            .filter(|&a| PEERS.contains(&r.allocs[a].name.as_str()) || r.allocs[a].name == "lol_alloc")
            .filter_map(|a| {
                let max = |c: Option<&crate::results::ScalingCell>| c?.result.as_ref().ok().map(|(pc, _)| pc.max[0]);
                Some(format!("{} {} → {}", name(a), max(r.scaling[a].first())?, max(r.scaling[a].last())?))
            })
            .collect();
        writeln!(
            w,
            "- Worst case: the most fuel of a single {subject} allocate / free as the heap grows: {} (the peers' allocate, from the smallest heap to the largest: {}).",
            worst.join(", "),
            others.join(", ")
        )?;
    }
    Ok(())
}

/// The allocator of `among` with the lowest figure, and the figure.
fn best(among: &[usize], figure: impl Fn(usize) -> Option<f64>) -> Option<(usize, f64)> {
    among.iter().filter_map(|&a| figure(a).map(|x| (a, x))).min_by(|x, y| x.1.total_cmp(&y.1))
}

/// The subject's time ÷ the fastest peer's (median of paired ratios), naming that peer.
fn time_ratio(tr: &TraceResult, peers: &[usize], c: Clock, names: &[&str]) -> String {
    match best(peers, |a| tr.ns_per_op(c, a)).and_then(|(a, _)| tr.ratio(c, a).map(|x| (a, x))) {
        Some((a, x)) => format!("{} ({})", ratio(x), names[a]),
        None => "—".into(),
    }
}

/// `readme` with the text between [`BEGIN`] and [`END`] replaced by `block`; an error when the
/// markers are missing, repeated or out of order (nothing is written then).
pub fn splice(readme: &str, block: &str) -> Result<String, String> {
    let (Some(begin), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        return Err(format!("the README has no {BEGIN} ... {END} block"));
    };
    if end < begin || readme.matches(BEGIN).count() != 1 || readme.matches(END).count() != 1 {
        return Err(format!("the README must hold one {BEGIN} before one {END}"));
    }
    let inner = begin + BEGIN.len();
    Ok(format!("{}\n{}{}", &readme[..inner], block.trim_end_matches('\n').to_owned() + "\n", &readme[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_the_block() {
        let readme = format!("# t\n\nbefore\n{BEGIN}\nold 1\nold 2\n{END}\nafter\n");
        let out = splice(&readme, "new\n\n").unwrap();
        assert_eq!(out, format!("# t\n\nbefore\n{BEGIN}\nnew\n{END}\nafter\n"));
        // Writing again gives the same file: the block is all that changes.
        assert_eq!(splice(&out, "new").unwrap(), out);
    }

    #[test]
    fn splice_refuses_a_readme_without_one_block() {
        assert!(splice("no markers\n", "x").is_err());
        assert!(splice(&format!("{END}\n{BEGIN}\n"), "x").is_err());
        assert!(splice(&format!("{BEGIN}\n{END}\n{BEGIN}\n{END}\n"), "x").is_err());
    }

    #[test]
    fn the_readme_has_the_block() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
        splice(&readme, "x").expect("README.md's Numbers section must hold the bench:numbers block");
    }
}
