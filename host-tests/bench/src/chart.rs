//! chart.svg: three panels of grouped bars (a group per trace, a bar per allocator) drawn by hand:
//! time relative to the subject, allocator fuel per op, and memory per peak live byte.

use crate::results::{Clock, Results, TraceResult};
use std::fmt::Write;

const COLORS: [&str; 8] = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f", "#e377c2", "#bcbd22"];
/// The plot area of every panel: its left edge and width.
const LEFT: f64 = 70.0;
const WIDTH: f64 = 880.0;
/// Space between two groups of bars.
const GROUP_GAP: f64 = 14.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn color(series: usize) -> &'static str {
    COLORS[series % COLORS.len()]
}

pub fn svg(r: &Results) -> String {
    let names = r.names();
    let (w, h) = (980.0, 940.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#fff"/>"##);
    legend(&mut s, &names);
    let time_title =
        format!("Time per operation relative to {} (log scale; lower is faster; × = not measured)", names[0]);
    panel(r, &time_title, relative_time, Axis::Log(2.0), fraction_tick).draw(&mut s, 70.0);
    let fuel_title = "Allocator fuel (≈ wasm instructions) per operation, mean (log scale)";
    panel(r, fuel_title, |t, a| t.fuel_per_op(a), Axis::Log(10.0), |v| format!("{v}")).draw(&mut s, 370.0);
    let memory_title =
        "Peak memory ÷ peak live requested bytes (lower is leaner; bars past 2.5 are cut, with their value)";
    let memory_axis = Axis::Linear { lo: 1.0, hi: 2.5, step: 0.25 };
    panel(r, memory_title, |t, a| t.memory_per_live(a), memory_axis, |v| format!("{v:.2}")).draw(&mut s, 670.0);
    let _ = writeln!(s, "</svg>");
    s
}

/// A swatch and a name per allocator, in a row (names of any length: each takes the room its text
/// needs, about 7.5 px a character at 13 px).
fn legend(s: &mut String, names: &[&str]) {
    let mut x = LEFT;
    for (i, n) in names.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="14" width="14" height="14" fill="{}"/><text x="{}" y="26" font-size="13">{}</text>"#,
            color(i),
            x + 20.0,
            esc(n)
        );
        x += 20.0 + 7.5 * n.chars().count() as f64 + 22.0;
    }
}

/// An allocator's time on a trace ÷ the subject's (the subject's own bar is 1).
fn relative_time(t: &TraceResult, a: usize) -> Option<f64> {
    match a {
        0 => t.ratio(Clock::Wasmtime, 0).map(|_| 1.0),
        _ => t.ratio(Clock::Wasmtime, a).map(|x| 1.0 / x),
    }
}

/// `4×` above 1, `1/4` below.
fn fraction_tick(v: f64) -> String {
    if v >= 1.0 { format!("{v:.0}×") } else { format!("1/{:.0}", 1.0 / v) }
}

fn panel<'a>(
    r: &'a Results,
    title: &'a str,
    value: impl Fn(&TraceResult, usize) -> Option<f64>,
    axis: Axis,
    tick: fn(f64) -> String,
) -> Panel<'a> {
    let k = r.allocs.len();
    Panel {
        title,
        groups: r.traces.iter().map(|t| t.name).collect(),
        series: k,
        values: r.traces.iter().map(|t| (0..k).map(|a| value(t, a)).collect()).collect(),
        axis,
        tick,
    }
}

/// The value axis of a panel.
enum Axis {
    /// Logarithmic in `base`, spanning every value.
    Log(f64),
    /// Linear from `lo` to `hi` with a tick every `step`; a bar above `hi` is cut there and
    /// labelled with its value.
    Linear { lo: f64, hi: f64, step: f64 },
}

/// An axis fitted to the values: where a value sits (0 at the bottom, 1 at the top), the ticks,
/// and the largest value a bar may reach uncut.
struct Scale {
    position: Box<dyn Fn(f64) -> f64>,
    ticks: Vec<f64>,
    cap: f64,
}

impl Axis {
    fn fit(&self, values: &[f64]) -> Scale {
        match *self {
            Axis::Log(base) => log_scale(base, values),
            Axis::Linear { lo, hi, step } => Scale {
                position: Box::new(move |v: f64| (v.min(hi) - lo) / (hi - lo)),
                ticks: (0..=((hi - lo) / step).round() as i32).map(|i| lo + step * i as f64).collect(),
                cap: hi,
            },
        }
    }
}

/// Whole powers of `base` around every value, with a step of margin below the smallest bar when it
/// would be hard to see.
fn log_scale(base: f64, values: &[f64]) -> Scale {
    let lo_v = values.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi_v = values.iter().cloned().fold(0.0, f64::max);
    let mut lo_e = lo_v.log(base).floor().min(0.0);
    if lo_v.log(base) - lo_e < 0.3 {
        lo_e -= 1.0;
    }
    let hi_e = hi_v.log(base).ceil().max(lo_e + 1.0);
    Scale {
        position: Box::new(move |v: f64| (v.log(base) - lo_e) / (hi_e - lo_e)),
        ticks: (0..=(hi_e - lo_e).round() as i32).map(|i| base.powf(lo_e + i as f64)).collect(),
        cap: f64::INFINITY,
    }
}

/// One panel of grouped bars. `values[group][series]`; `None` is drawn as a ×.
struct Panel<'a> {
    title: &'a str,
    groups: Vec<&'a str>,
    series: usize,
    values: Vec<Vec<Option<f64>>>,
    axis: Axis,
    tick: fn(f64) -> String,
}

/// Where a panel is drawn: its top and height, and its fitted axis.
struct Frame {
    top: f64,
    height: f64,
    scale: Scale,
}

impl Frame {
    fn bottom(&self) -> f64 {
        self.top + self.height
    }
    fn y(&self, v: f64) -> f64 {
        self.bottom() - (self.scale.position)(v) * self.height
    }
}

impl Panel<'_> {
    /// Draws the panel with its plot area's top at `top`; nothing when no value is positive.
    fn draw(&self, out: &mut String, top: f64) {
        let all: Vec<f64> = self.values.iter().flatten().flatten().cloned().filter(|v| *v > 0.0).collect();
        if all.is_empty() {
            return;
        }
        let frame = Frame { top, height: 220.0, scale: self.axis.fit(&all) };
        let title = esc(self.title);
        let _ =
            writeln!(out, r#"<text x="{LEFT}" y="{}" font-size="14" font-weight="bold">{title}</text>"#, top - 12.0);
        self.ticks(out, &frame);
        for g in 0..self.groups.len() {
            self.group(out, &frame, g);
        }
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{0}" x2="{1}" y2="{0}" stroke="#000"/>"##,
            frame.bottom(),
            LEFT + WIDTH
        );
    }

    /// Group `g`: a bar (or a ×) per series, and the group's name under them.
    fn group(&self, out: &mut String, frame: &Frame, g: usize) {
        let group_width = WIDTH / self.groups.len() as f64;
        let bar_width = (group_width - GROUP_GAP) / self.series as f64;
        let name = self.groups[g];
        let gx = LEFT + g as f64 * group_width + GROUP_GAP / 2.0;
        for (series, v) in self.values[g].iter().enumerate() {
            let x = gx + series as f64 * bar_width;
            match v {
                Some(v) if *v > 0.0 => bar(out, frame, x, bar_width, series, name, *v),
                _ => not_measured(out, frame, x + bar_width / 2.0, series),
            }
        }
        let label_x = gx + (group_width - GROUP_GAP) / 2.0;
        // Narrow groups (many traces) take their labels on two staggered rows, so that long
        // names do not run into each other.
        let row = if group_width < 100.0 && g % 2 == 1 { 1.0 } else { 0.0 };
        let _ = writeln!(
            out,
            r#"<text x="{label_x:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"#,
            frame.bottom() + 16.0 + 13.0 * row,
            esc(name)
        );
    }

    /// The grid lines and their labels (the line at 1 darker).
    fn ticks(&self, out: &mut String, frame: &Frame) {
        for &v in &frame.scale.ticks {
            let yy = frame.y(v);
            let stroke = if (v - 1.0).abs() < 1e-9 { "#444" } else { "#ddd" };
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{}" y2="{yy:.1}" stroke="{stroke}" stroke-width="1"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
                LEFT + WIDTH,
                LEFT - 6.0,
                yy + 4.0,
                esc(&(self.tick)(v))
            );
        }
    }
}

/// A bar with its value as a tooltip; a bar cut at the axis' top is labelled with its value.
fn bar(out: &mut String, frame: &Frame, x: f64, width: f64, series: usize, group: &str, v: f64) {
    let top = frame.y(v);
    let _ = writeln!(
        out,
        r#"<rect x="{x:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}</title></rect>"#,
        width - 1.0,
        (frame.bottom() - top).max(0.5),
        color(series),
        esc(&format!("{group}: {v:.3}"))
    );
    if v > frame.scale.cap {
        let label = if v < 10.0 { format!("{v:.1}") } else { format!("{v:.0}") };
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle">{}</text>"#,
            x + width / 2.0,
            top - 3.0,
            esc(&label)
        );
    }
}

/// A × in the series' colour where a bar would stand.
fn not_measured(out: &mut String, frame: &Frame, center: f64, series: usize) {
    let _ = writeln!(
        out,
        r##"<text x="{center:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="{}">×</text>"##,
        frame.bottom() - 3.0,
        color(series)
    );
}
