//! The bad pointers room: `deallocate` and `reallocate` of pointers that are not live blocks —
//! double frees, pointers released by marks or moved by `reallocate`, interior, misaligned,
//! below the heap, into the heap's own records, random in the heap, beyond memory — must be
//! rejected and counted. Before a bad pointer is passed on, `size(p)` must say 0: a pointer that
//! `size` takes for a live block is a false accept of the check bits (src/CONTRACT.md,
//! "Guarantees": at most 2^-19 per stray pointer) and is counted, not freed — unless it is a dead block whose old
//! tag is still in front of it, which the allocator would accept as a double free.
//!
//! (Bad marks and bad alignments are in `marks.rs` and `operations.rs`, where their calls are.)

use super::runner::{Dead, R, Runner, Why, ensure, note};

/// Kinds of bad pointer, for the report.
pub const BAD_KINDS: [&str; 9] = [
    "double free",
    "released by a mark or free_all",
    "moved by reallocate",
    "interior",
    "misaligned",
    "below the heap",
    "into the heap's records",
    "random in the heap",
    "beyond memory",
];

impl Runner {
    /// A pointer that is not a live block, with its kind (index into [`BAD_KINDS`]).
    fn bad_pointer(&mut self) -> Option<(u32, usize)> {
        let mem = self.w.mem_size();
        let hs = self.heap_start;
        for _ in 0..8 {
            let kind = self.rng.below(BAD_KINDS.len() as u64) as usize;
            let p = match kind {
                0..=2 => {
                    let want = [Why::Freed, Why::Released, Why::Moved][kind];
                    let Some(d) = self.dead.pick(&mut self.rng) else {
                        continue;
                    };
                    if d.why != want {
                        continue;
                    }
                    d.was.ptr
                }
                3 => {
                    if self.live.is_empty() {
                        continue;
                    }
                    let b = self.live[self.rng.below(self.live.len() as u64) as usize];
                    if b.size <= 8 {
                        continue;
                    }
                    b.ptr + 8 * self.rng.range(1, (b.size - 1) / 8)
                }
                4 => {
                    if self.live.is_empty() {
                        continue;
                    }
                    let b = self.live[self.rng.below(self.live.len() as u64) as usize];
                    b.ptr + 8 * self.rng.below32(b.size / 8 + 1) + self.rng.range(1, 7)
                }
                5 => {
                    let p = self.rng.range(1, hs - 1);
                    if self.rng.chance(3, 4) { p & !7 } else { p }
                }
                6 => hs + 8 * self.rng.below32(400),
                7 => hs + 8 * self.rng.below32((mem - hs) / 8),
                _ => match self.rng.below(4) {
                    0 => mem.saturating_add(8 * self.rng.below32(1 << 20)),
                    1 => u32::MAX - self.rng.below32(64),
                    2 => mem + 8 * self.rng.below32(4),
                    _ => self.rng.range(mem, u32::MAX) & !7,
                },
            };
            if p == 0 || self.index.contains_key(&p) || (self.own() && p == self.out) {
                continue;
            }
            return Some((p, kind));
        }
        None
    }

    /// `deallocate` (or `reallocate`, with `realloc`) of a bad pointer: rejected, counted in
    /// `rejected_frees`, and nothing else changes.
    pub(super) fn op_bad(&mut self, realloc: bool) -> R<Option<bool>> {
        let Some((p, kind)) = self.bad_pointer() else {
            return Ok(None);
        };
        self.bad_count += 1;
        self.t.bad_tried[kind] += 1;
        // `size` must not take it for a live block; if it does, the check bits accepted a stray
        // pointer by chance (src/CONTRACT.md: at most 2^-19): count it and leave the pointer alone.
        let n = self.w.try_size(p)?;
        self.watch(p, || format!("bad pointer ({}): size() = {n}", BAD_KINDS[kind]));
        if n != 0 {
            return self.false_accept(p, kind, n);
        }
        if realloc {
            let size = self.request();
            let q = self.w.try_reallocate(p, size)?;
            note!(self, "reallocate({p:#x}, {size:#x}) [{}] -> {q:#x}", BAD_KINDS[kind]);
            ensure!(q == 0, "reallocate({p:#x}, {size:#x}) of a {} pointer returned {q:#x}", BAD_KINDS[kind]);
        } else {
            note!(self, "deallocate({p:#x}) [{}]", BAD_KINDS[kind]);
            self.w.try_deallocate(p)?;
        }
        self.c.rejected_frees += 1;
        Ok(Some(true))
    }

    /// `size(p)` took bad pointer `p` (of `kind`) for a live block of `n` bytes: a failure if
    /// `p` is a dead block whose old tag is still in front of it, else a false accept of the
    /// check bits, counted and noted (and failing if far more frequent than they allow).
    fn false_accept(&mut self, p: u32, kind: usize, n: u32) -> R<Option<bool>> {
        if let Some(d) = self.stale_death(p) {
            let header = self.word_before(p - 4);
            return Err(format!(
                "size({p:#x}) = {n}: a {} pointer ({:?} in a segment that still exists) is taken for a live \
                 block. Its old tag {:#010x} is still in front of it and the word before ({header:#010x}) \
                 passes for a used header: the allocator would accept this double free (rerun with \
                 --watch {p:#x} for its history)",
                BAD_KINDS[kind], d.why, d.was.tag
            ));
        }
        self.t.false_accepts += 1;
        let limit = 2 + self.bad_count / (1 << 17);
        ensure!(
            self.t.false_accepts <= limit,
            "{} stray pointers taken for live blocks in {} tries: far more than the check bits allow (2^-19 each)",
            self.t.false_accepts,
            self.bad_count
        );
        let mem = self.w.mem();
        let word =
            |at: u32| mem.get(at as usize..at as usize + 4).map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()));
        let (header, tag) = (word(p.wrapping_sub(8)), word(p.wrapping_sub(4)));
        let note = format!(
            "step {}: size({p:#x}) = {n} for a {} pointer (header {header:#010x}, tag {tag:#010x}, depth {})",
            self.step,
            BAD_KINDS[kind],
            self.depth()
        );
        note!(self, "{note}");
        if self.t.false_accept_notes.len() < 16 {
            self.t.false_accept_notes.push(note);
        }
        Ok(Some(false))
    }

    /// A death of `p` in a segment instance that still exists, in front of which the tag it had
    /// then is still in memory: the check bits cannot help (same place, same epoch), only the
    /// header word can. Every recorded death of the pointer counts (it may have been reused
    /// since `dead`).
    fn stale_death(&self, p: u32) -> Option<Dead> {
        let now = self.word_before(p);
        self.dead
            .iter()
            .find(|d| {
                d.was.ptr == p && self.generations.get(d.was.seg as usize) == Some(&d.generation) && d.was.tag == now
            })
            .copied()
    }
}
