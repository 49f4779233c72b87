//! The recorder's workload: JSON documents of random records written piece by piece, parsed into
//! a tree of `String`, `Vec` and `BTreeMap`, indexed, summarized and serialized (see lib.rs for
//! the round). Written as a plain program would be, so that its heap traffic is a real one.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::arch::wasm32;
use core::fmt::Write;

pub use recording::Rng;

const WORDS: [&str; 48] = [
    "alpha",
    "bravo",
    "Charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliett",
    "kilo",
    "Lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
    "memory",
    "page",
    "heap",
    "block",
    "free",
    "list",
    "segment",
    "mark",
    "WebAssembly",
    "linear",
    "allocator",
    "bitmap",
    "class",
    "coalesce",
    "split",
    "header",
    "footer",
    "boundary",
    "tag",
    "grow",
    "shrink",
    "stack",
];

#[derive(Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Arr(Vec<Value>),
    Obj(BTreeMap<String, Value>),
}

fn write_escaped(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn sentence(rng: &mut Rng) -> String {
    let n = 3 + rng.below(18);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(if rng.below(12) == 0 { '\n' } else { ' ' });
        }
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        if rng.below(20) == 0 {
            s.push('"');
        }
    }
    s
}

/// A JSON array of `n` records, written piece by piece.
pub fn gen_doc(rng: &mut Rng, n: u64, first_id: u64) -> String {
    let mut s = String::new();
    s.push('[');
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let name = alloc::format!("{}-{}", WORDS[rng.below(48) as usize], rng.below(1000));
        let _ = write!(s, "{{\"id\":{},\"name\":", first_id + i);
        write_escaped(&mut s, &name);
        s.push_str(",\"tags\":[");
        for t in 0..rng.below(7) {
            if t > 0 {
                s.push(',');
            }
            write_escaped(&mut s, WORDS[rng.below(24) as usize]);
        }
        let _ =
            write!(s, "],\"score\":{},\"active\":{},\"note\":", rng.below(100_000) as i64 - 50_000, rng.below(2) == 0);
        write_escaped(&mut s, &sentence(rng));
        let _ = write!(s, ",\"meta\":{{\"a\":{},\"b\":[", rng.below(1 << 20));
        for k in 0..rng.below(10) {
            if k > 0 {
                s.push(',');
            }
            let _ = write!(s, "{}", rng.below(1000));
        }
        s.push_str("],\"c\":null}}");
    }
    s.push(']');
    s
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\n' | b'\t' | b'\r') {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        if self.b.get(self.i) != Some(&c) {
            wasm32::unreachable();
        }
        self.i += 1;
    }
    fn string(&mut self) -> String {
        self.eat(b'"');
        // Built char by char, as a naive parser does: many small reallocations.
        let mut s = String::new();
        loop {
            let c = self.b[self.i];
            self.i += 1;
            match c {
                b'"' => return s,
                b'\\' => {
                    let e = self.b[self.i];
                    self.i += 1;
                    match e {
                        b'n' => s.push('\n'),
                        b'u' => {
                            let hex = core::str::from_utf8(&self.b[self.i..self.i + 4]).unwrap();
                            self.i += 4;
                            s.push(char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap());
                        }
                        other => s.push(other as char),
                    }
                }
                c => s.push(c as char),
            }
        }
    }
    /// `open item (, item)* close`, the opening bracket at `i`; `item` reads each item.
    fn items(&mut self, close: u8, mut item: impl FnMut(&mut Self)) {
        self.i += 1;
        self.ws();
        if self.b[self.i] == close {
            self.i += 1;
            return;
        }
        loop {
            item(self);
            self.ws();
            self.i += 1;
            if self.b[self.i - 1] == close {
                return;
            }
        }
    }

    fn value(&mut self) -> Value {
        self.ws();
        match self.b[self.i] {
            b'n' => {
                self.i += 4;
                Value::Null
            }
            b't' => {
                self.i += 4;
                Value::Bool(true)
            }
            b'f' => {
                self.i += 5;
                Value::Bool(false)
            }
            b'"' => Value::Str(self.string()),
            b'[' => {
                let mut v = Vec::new();
                self.items(b']', |p| v.push(p.value()));
                Value::Arr(v)
            }
            b'{' => {
                let mut m = BTreeMap::new();
                self.items(b'}', |p| {
                    let k = p.string();
                    p.eat(b':');
                    let v = p.value();
                    m.insert(k, v);
                });
                Value::Obj(m)
            }
            _ => {
                let start = self.i;
                self.i += 1;
                while self.i < self.b.len() && self.b[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                let text = core::str::from_utf8(&self.b[start..self.i]).unwrap();
                Value::Int(text.parse().unwrap())
            }
        }
    }
}

pub fn parse(s: &str) -> Value {
    let mut p = Parser { b: s.as_bytes(), i: 0 };
    p.value()
}

pub fn serialize(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Str(s) => write_escaped(out, s),
        Value::Arr(a) => {
            out.push('[');
            for (k, x) in a.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                serialize(x, out);
            }
            out.push(']');
        }
        Value::Obj(m) => {
            out.push('{');
            for (k, (key, x)) in m.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                write_escaped(out, key);
                out.push(':');
                serialize(x, out);
            }
            out.push('}');
        }
    }
}

pub fn summarize(doc: &Value) -> Value {
    let mut by_tag: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut words: BTreeMap<String, i64> = BTreeMap::new();
    let mut total = 0i64;
    let Value::Arr(records) = doc else { wasm32::unreachable() };
    for r in records {
        let Value::Obj(r) = r else { wasm32::unreachable() };
        let Some(Value::Int(id)) = r.get("id") else { wasm32::unreachable() };
        if let Some(Value::Arr(tags)) = r.get("tags") {
            for t in tags {
                if let Value::Str(t) = t {
                    by_tag.entry(t.clone()).or_default().push(Value::Int(*id));
                }
            }
        }
        if let Some(Value::Int(score)) = r.get("score") {
            total += score;
        }
        if let Some(Value::Str(note)) = r.get("note") {
            for w in note.split_whitespace() {
                *words.entry(w.trim_matches('"').to_lowercase()).or_insert(0) += 1;
            }
        }
    }
    let mut ranked: Vec<(String, i64)> = words.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(16);
    let mut out = BTreeMap::new();
    out.insert(String::from("tags"), Value::Obj(by_tag.into_iter().map(|(k, v)| (k, Value::Arr(v))).collect()));
    out.insert(
        String::from("top_words"),
        Value::Arr(ranked.into_iter().map(|(w, n)| Value::Arr(alloc::vec![Value::Str(w), Value::Int(n)])).collect()),
    );
    out.insert(String::from("total"), Value::Int(total));
    out.insert(String::from("records"), Value::Int(records.len() as i64));
    Value::Obj(out)
}
