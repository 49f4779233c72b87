//! The statistics struct that `stats(out_ptr)` writes: 16 `u32`, in the order of the fields.
//!
//! It mirrors `wasmheap::Stats` (src/core/stats.rs) without depending on the crate (a test in
//! host-tests/tests/stats.rs checks that the two agree). The fields are listed once, below; the
//! struct, their names and the conversions to and from the words are made from that list.

macro_rules! stats_struct {
    ($($field:ident),* $(,)?) => {
        /// The statistics as the heap reports them (src/CONTRACT.md, "Statistics").
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct Stats {
            $(pub $field: u32,)*
        }

        impl Stats {
            /// The fields' names, in the order `stats` writes them.
            pub const NAMES: [&'static str; 16] = [$(stringify!($field)),*];

            /// Decodes the 16 words `stats` wrote.
            pub fn from_words(words: [u32; 16]) -> Stats {
                let mut w = words.into_iter();
                Stats { $($field: w.next().unwrap(),)* }
            }

            /// The 16 words, in the order `stats` writes them.
            pub fn to_words(&self) -> [u32; 16] {
                [$(self.$field),*]
            }
        }
    };
}

stats_struct!(
    live_blocks,
    live_bytes,
    peak_bytes,
    heap_bytes,
    free_bytes,
    largest_free,
    allocations,
    frees,
    reallocations,
    failures,
    rejected_frees,
    rejected_marks,
    mark_depth,
    memory_grows,
    heap_start,
    heap_top,
);

impl Stats {
    /// Decodes the 64 bytes `stats` wrote at the start of `bytes` (little-endian words).
    pub fn from_bytes(bytes: &[u8]) -> Stats {
        let word = |i: usize| u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap());
        Stats::from_words(std::array::from_fn(word))
    }

    /// A two-column table, one field a line.
    pub fn table(&self) -> String {
        let lines = Self::NAMES.iter().zip(self.to_words());
        lines.map(|(name, v)| format!("  {name:<16} {v:>12}\n")).collect()
    }
}
