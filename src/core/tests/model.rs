//! Random operations against the shadow model of host-tests/model.

use super::*;

/// Random operations against the shadow model of host-tests/model (the one the wasmtime suite,
/// the soak and the fuzz harness check against): counters, marks, overlap, `size()` and contents
/// after every step. A block's tag is the byte it is filled with.
#[test]
fn random_operations_match_the_model() {
    for seed in 1..=if MIRI { 1 } else { 12u64 } {
        let t = TestHeap::new(65536, 4 << 20);
        let mut rng = Rng::seeded(seed);
        let mut model: Model<u8> = Model::new();
        for step in 0..if MIRI { 150 } else { 3000u32 } {
            let fill = (step % 251) as u8 + 1;
            random_step(&t, &mut model, &mut rng, fill).unwrap_or_else(|e| panic!("seed {seed} step {step}: {e}"));
            if MIRI && step % 20 != 19 {
                continue; // the checks below read every live byte: under Miri, now and then
            }
            t.matches(&model).unwrap_or_else(|e| panic!("seed {seed} step {step}: {e}"));
        }
    }
}

/// One random call on the heap, handed to the model (new blocks are filled with `fill`).
pub(super) fn random_step(t: &TestHeap, model: &mut Model<u8>, rng: &mut Rng, fill: u8) -> Check {
    let live = |rng: &mut Rng, model: &Model<u8>| {
        let pick = rng.index(model.blocks.len() + 1); // one chance in len + 1 of none
        model.nth(pick).filter(|_| pick < model.blocks.len())
    };
    match rng.below32(20) {
        0..=7 => {
            let size = [rng.below32(16), rng.below32(200), rng.below32(200), rng.below32(20000)][rng.index(4)];
            // C's 16 (`allocate16`) often, in a heap that mixes it with 8-aligned blocks
            let align = match rng.below32(10) {
                0 | 1 => 16,
                2 => 1 << rng.below32(13),
                _ => 8,
            };
            let p = if align == 8 { t.heap.allocate(size) } else { t.heap.allocate_aligned(size, align) };
            t.allocated(model, p, size, align, fill)?;
        }
        8..=12 => {
            if let Some((p, _)) = live(rng, model) {
                t.heap.deallocate(p);
                model.deallocated(p);
            }
        }
        13..=15 => {
            if let Some((p, old)) = live(rng, model) {
                let size = rng.below32(3000);
                // (an 8-aligned block always moves: `reallocate16`'s result must be 16-aligned)
                let c = p % 16 == 0 && rng.chance(1, 3);
                let q = if c { t.heap.reallocate16(p, size) } else { t.heap.reallocate(p, size) };
                ensure!(!c || q % 16 == 0, "reallocate16({p:#x}, {size}) -> {q:#x}, not 16-aligned");
                t.reallocated(model, p, q, size, old, fill)?;
            }
        }
        16 if model.depth() < 20 => model.mark_taken(t.heap.free_get_mark())?,
        17 if model.depth() > 0 => {
            let marks: Vec<u32> = model.segments.marks().map(|(_, m)| m).collect();
            let m = marks[rng.index(marks.len())];
            t.heap.free_to_mark(m);
            model.to_mark(m);
        }
        18 => {
            let p = rng.u32() & !7; // almost always not a live block
            t.heap.deallocate(p);
            model.deallocated(p);
        }
        _ => {}
    }
    Ok(())
}

impl TestHeap {
    /// An allocation returned `p`: a failure (the model cannot tell whether memory ran out), or
    /// a new block, filled.
    fn allocated(&self, model: &mut Model<u8>, p: u32, size: u32, align: u32, fill: u8) -> Check {
        if p == 0 {
            model.failed();
            return Ok(());
        }
        model.allocated(p, size, align, fill)?;
        self.bytes(p, size).fill(fill);
        Ok(())
    }

    /// `reallocate(p, size)` of live block `old` returned `q`: the kept bytes arrived intact.
    fn reallocated(&self, model: &mut Model<u8>, p: u32, q: u32, size: u32, old: Block<u8>, fill: u8) -> Check {
        if q == 0 {
            return model.realloc_failed(p, size);
        }
        let kept = self.bytes(q, old.size.min(size)).iter().all(|&x| x == old.tag);
        ensure!(kept, "reallocate({p:#x}, {size}) -> {q:#x} did not keep the contents");
        model.reallocated(p, q, size, fill)?;
        self.bytes(q, size).fill(fill);
        Ok(())
    }

    /// The heap is sound and agrees with the model: counters, depth, spans, sizes and contents.
    pub(super) fn matches(&self, model: &Model<u8>) -> Check {
        let s = self.sound();
        // Safety: Stats is #[repr(C)] with sixteen u32 fields (src/core/stats.rs asserts it): it has
        // the layout and validity of [u32; 16], in the order the model's Stats reads them.
        let words = unsafe { std::mem::transmute::<Stats, [u32; 16]>(s) };
        model.check_stats(&wasmheap_model::Stats::from_words(words))?;
        model.check_spans(&[])?;
        for (&p, b) in &model.blocks {
            ensure!(self.heap.size(p) == b.size, "size({p:#x}) = {}, model says {}", self.heap.size(p), b.size);
            ensure!(self.bytes(p, b.size).iter().all(|&x| x == b.tag), "block {p:#x} was overwritten");
        }
        Ok(())
    }
}
