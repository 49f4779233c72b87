//! Random sequences of every operation, replayed against the shadow model in
//! `host_tests::model`. After every step: `check() == 0`, statistics equal to the model's,
//! every live block in place, aligned, of the right `size()` and with its contents intact.

use host_tests::model::{Bad, Model, Op};
use host_tests::{Heap, Rng};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Marks and floors are not nested deeper than this in random runs (255 has its own test).
const DEPTH_LIMIT: usize = 24;

fn size() -> impl Strategy<Value = u32> {
    prop_oneof![
        2 => Just(0u32),
        10 => 1u32..=64,
        6 => 65u32..=1024,
        3 => 1025u32..=16384,
        1 => 16385u32..=140_000,
    ]
}

fn align() -> impl Strategy<Value = u32> {
    prop_oneof![
        12 => (0u32..=16).prop_map(|k| 1 << k),
        1 => prop::sample::select(vec![0u32, 3, 6, 24, 65537, 131072, 0x8000_0000]),
    ]
}

fn bad() -> impl Strategy<Value = Bad> {
    prop_oneof![
        3 => any::<usize>().prop_map(Bad::Dead),
        2 => (any::<usize>(), prop::sample::select(vec![8u32, 16, 24])).prop_map(|(n, o)| Bad::Interior(n, o)),
        2 => (any::<usize>(), 0u32..7).prop_map(|(n, k)| Bad::Misaligned(n, k)),
        1 => any::<u32>().prop_map(Bad::Below),
        1 => any::<u32>().prop_map(Bad::Beyond),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    // `Nop` comes first so that shrinking can turn any operation into nothing.
    prop_oneof![
        1 => Just(Op::Nop),
        22 => size().prop_map(Op::Alloc),
        4 => (size(), align()).prop_map(|(s, a)| Op::AllocAligned(s, a)),
        13 => any::<usize>().prop_map(Op::Free),
        3 => bad().prop_map(Op::FreeBad),
        10 => (any::<usize>(), size()).prop_map(|(n, s)| Op::Realloc(n, s)),
        2 => size().prop_map(Op::ReallocNull),
        1 => (bad(), size()).prop_map(|(b, s)| Op::ReallocBad(b, s)),
        3 => Just(Op::GetMark),
        3 => any::<usize>().prop_map(Op::ToMark),
        1 => any::<usize>().prop_map(Op::ToMarkStale),
        1 => any::<u32>().prop_map(Op::ToMarkBogus),
        1 => Just(Op::AllMark),
        1 => Just(Op::FreeAll),
        1 => Just(Op::FreezeGrowth(true)),
        2 => Just(Op::FreezeGrowth(false)),
    ]
}

/// Replays `ops`, verifying after every step. `Err` names the step and what went wrong.
fn replay(ops: &[Op]) -> Result<(), String> {
    let mut h = Heap::new();
    let mut m = Model::new();
    m.verify(&mut h).map_err(|e| format!("fresh heap: {e}"))?;
    for (i, op) in ops.iter().enumerate() {
        if matches!(op, Op::GetMark | Op::AllMark) && m.depth() >= DEPTH_LIMIT {
            continue;
        }
        if let Err(e) = m.apply(&mut h, op).and_then(|()| m.verify(&mut h)) {
            let steps: Vec<String> =
                ops[..=i].iter().filter(|op| !matches!(op, Op::Nop)).map(|op| format!("{op:?}")).collect();
            return Err(format!("step {i}, {op:?}: {e}\nsteps to reproduce: [{}]", steps.join(", ")));
        }
    }
    Ok(())
}

/// 64 cases unless `PROPTEST_CASES` says otherwise; shrinking bounded to a minute.
fn config() -> ProptestConfig {
    let mut c = ProptestConfig {
        failure_persistence: None,
        max_shrink_iters: 4096,
        max_shrink_time: 60_000,
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 64;
    }
    c
}

proptest! {
    #![proptest_config(config())]

    #[test]
    // Lengths start at 1 so that shrinking can drop operations; the mean is about 1000.
    fn random_sequences_match_the_model(ops in prop::collection::vec(op(), 1..=2000)) {
        replay(&ops).map_err(TestCaseError::fail)?;
    }
}

/// Long fixed-seed runs (same operation mix, no shrinking): reproducible from the seed.
#[test]
fn long_fixed_seed_runs_match_the_model() {
    for seed in [1u64, 2, 3] {
        let mut rng = Rng::seeded(seed);
        let ops: Vec<Op> = (0..3000).map(|_| random_op(&mut rng)).collect();
        if let Err(e) = replay(&ops) {
            panic!("seed {seed}: {e}");
        }
    }
}

/// A crowded heap: no mass releases, so hundreds of blocks are live at once and free blocks of
/// every size sit between them.
#[test]
fn crowded_heap_matches_the_model() {
    let mut rng = Rng::seeded(42);
    let ops: Vec<Op> = (0..2000)
        .map(|_| match random_op(&mut rng) {
            Op::ToMark(_) | Op::FreeAll => Op::Alloc(rng.below32(200)),
            Op::Free(_) if rng.below32(2) == 0 => Op::Alloc(rng.below32(200)),
            op => op,
        })
        .collect();
    if let Err(e) = replay(&ops) {
        panic!("{e}");
    }
}

fn random_op(r: &mut Rng) -> Op {
    let size = |r: &mut Rng| match r.below32(22) {
        0..=1 => 0,
        2..=11 => 1 + r.below32(64),
        12..=17 => 65 + r.below32(960),
        18..=20 => 1025 + r.below32(15360),
        _ => 16385 + r.below32(123_616),
    };
    let n = r.u32() as usize;
    let bad = |r: &mut Rng| match r.below32(5) {
        0 => Bad::Dead(r.u32() as usize),
        1 => Bad::Interior(r.u32() as usize, 8 * (1 + r.below32(3))),
        2 => Bad::Misaligned(r.u32() as usize, r.below32(7)),
        3 => Bad::Below(r.u32()),
        _ => Bad::Beyond(r.u32()),
    };
    match r.below32(68) {
        0..=21 => Op::Alloc(size(r)),
        22..=25 => Op::AllocAligned(size(r), if r.below32(13) == 0 { 3 } else { 1 << r.below32(17) }),
        26..=38 => Op::Free(n),
        39..=41 => Op::FreeBad(bad(r)),
        42..=51 => Op::Realloc(n, size(r)),
        52..=53 => Op::ReallocNull(size(r)),
        54 => Op::ReallocBad(bad(r), size(r)),
        55..=57 => Op::GetMark,
        58..=60 => Op::ToMark(n),
        61 => Op::ToMarkStale(n),
        62 => Op::ToMarkBogus(r.u32()),
        63 => Op::AllMark,
        64 => Op::FreeAll,
        65 => Op::FreezeGrowth(true),
        _ => Op::FreezeGrowth(false),
    }
}
