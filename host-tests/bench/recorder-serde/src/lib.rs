//! A real Rust program whose heap traffic becomes the `recorded-serde` benchmark trace: what a
//! wasm front end or API client does with serde.
//!
//! Each round, with a fixed seed: build a batch of typed orders (structs with `String`s, `Vec`s,
//! an `Option` and a `BTreeMap` each), serialize it with `serde_json::to_string`, deserialize the
//! text back into the structs (`serde_json::from_str`) and compare; parse it again into an untyped
//! `serde_json::Value`, edit that tree (a status field on every order, a per-city summary object),
//! pretty-print it, turn the edited tree back into typed structs with `serde_json::from_value`,
//! and keep the last few pretty-printed responses (so that some blocks outlive a round).
//!
//! Its `GlobalAlloc` calls are logged to the host by the `recording` crate.
#![no_std]

extern crate alloc;
extern crate recording;

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::arch::wasm32;
use recording::{Rng, WORDS};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Address {
    street: String,
    city: String,
    zip: String,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Customer {
    id: u64,
    name: String,
    email: String,
    address: Address,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Item {
    sku: String,
    title: String,
    quantity: u32,
    price_cents: u64,
    /// Multiples of 1/4: exact in binary, so the round trip compares equal.
    rating: f64,
    attributes: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Order {
    id: u64,
    customer: Customer,
    items: Vec<Item>,
    tags: Vec<String>,
    note: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

fn word(rng: &mut Rng) -> &'static str {
    WORDS[rng.below(WORDS.len() as u64) as usize]
}

fn words(rng: &mut Rng, lo: u64, hi: u64) -> String {
    let n = lo + rng.below(hi - lo + 1);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(word(rng));
    }
    s
}

fn order(rng: &mut Rng, id: u64) -> Order {
    let city = word(rng).to_string();
    let items = (0..1 + rng.below(8))
        .map(|_| Item {
            sku: format!("{}-{:05}", word(rng), rng.below(100_000)),
            title: words(rng, 1, 6),
            quantity: 1 + rng.below(20) as u32,
            price_cents: 50 + rng.below(50_000),
            rating: rng.below(21) as f64 / 4.0,
            attributes: (0..rng.below(5)).map(|_| (word(rng).to_string(), words(rng, 1, 3))).collect(),
        })
        .collect();
    Order {
        id,
        customer: Customer {
            id: rng.below(10_000),
            name: words(rng, 2, 3),
            email: format!("{}.{}@example.org", word(rng), rng.below(1000)),
            address: Address {
                street: format!("{} {} street", 1 + rng.below(999), word(rng)),
                city,
                zip: format!("{:05}", rng.below(100_000)),
            },
        },
        items,
        tags: (0..rng.below(6)).map(|_| word(rng).to_string()).collect(),
        note: (rng.below(3) == 0).then(|| words(rng, 3, 30)),
        status: None,
    }
}

/// Edits the untyped tree: a status on every order, and a summary of the totals per city.
fn annotate(v: &mut Value) -> Value {
    let mut per_city: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let orders = v.as_array_mut().unwrap_or_else(|| wasm32::unreachable());
    for o in orders.iter_mut() {
        let mut total = 0;
        for item in o["items"].as_array().into_iter().flatten() {
            total += item["quantity"].as_u64().unwrap_or(0) * item["price_cents"].as_u64().unwrap_or(0);
        }
        let city = o["customer"]["address"]["city"].as_str().unwrap_or("").to_string();
        let e = per_city.entry(city).or_default();
        e.0 += 1;
        e.1 += total;
        let status = if total > 200_000 { "review" } else { "accepted" };
        o["status"] = Value::String(format!("{status}: {total}"));
    }
    let cities: Vec<Value> = per_city
        .into_iter()
        .map(|(city, (n, total))| json!({ "city": city, "orders": n, "total_cents": total }))
        .collect();
    json!({ "cities": cities, "count": orders.len() })
}

/// Runs the workload `rounds` times; returns a checksum (so that nothing is optimized away).
#[unsafe(no_mangle)]
pub extern "C" fn run(rounds: u32) -> u32 {
    let mut rng = Rng(0x5E5D_E5E5_0000_0001);
    let mut kept: VecDeque<String> = VecDeque::new();
    let mut sum = 0u32;
    let mut next_id = 0;
    for _ in 0..rounds {
        let n = 5 + rng.below(20);
        let batch: Vec<Order> = (0..n).map(|i| order(&mut rng, next_id + i)).collect();
        next_id += n;
        let text = serde_json::to_string(&batch).unwrap_or_else(|_| wasm32::unreachable());
        let back: Vec<Order> = serde_json::from_str(&text).unwrap_or_else(|_| wasm32::unreachable());
        if back != batch {
            wasm32::unreachable();
        }
        drop(back);
        let mut tree: Value = serde_json::from_str(&text).unwrap_or_else(|_| wasm32::unreachable());
        drop(text);
        let summary = annotate(&mut tree);
        let response = json!({ "orders": tree, "summary": summary });
        let pretty = serde_json::to_string_pretty(&response).unwrap_or_else(|_| wasm32::unreachable());
        let Value::Object(mut top) = response else { wasm32::unreachable() };
        let orders: Vec<Order> = serde_json::from_value(top.remove("orders").unwrap_or(Value::Null))
            .unwrap_or_else(|_| wasm32::unreachable());
        if orders.len() != batch.len() || orders.iter().any(|o| o.status.is_none()) {
            wasm32::unreachable();
        }
        sum = sum.wrapping_mul(31).wrapping_add(pretty.len() as u32);
        kept.push_back(pretty);
        if kept.len() > 3 {
            kept.pop_front();
        }
    }
    sum
}
