//! The fuel of every call an [`Instance`](crate::Instance) makes, per export: how many calls, the
//! total, and the costliest with its arguments (the soak reports them).

/// The exports whose fuel is recorded, in the order of [`Export::NAMES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Export {
    Allocate,
    AllocateAligned,
    Deallocate,
    Reallocate,
    Size,
    FreeAll,
    FreeAllMark,
    FreeGetMark,
    FreeToMark,
    Check,
    Stats,
    Init,
}

impl Export {
    pub const COUNT: usize = 12;

    pub const NAMES: [&'static str; Export::COUNT] = [
        "allocate",
        "allocate_aligned",
        "deallocate",
        "reallocate",
        "size",
        "free_all",
        "free_all_mark",
        "free_get_mark",
        "free_to_mark",
        "check",
        "stats",
        "init",
    ];

    pub fn name(self) -> &'static str {
        Export::NAMES[self as usize]
    }
}

/// Fuel of one export over a run.
#[derive(Clone, Debug, Default)]
pub struct Fuel {
    pub calls: u64,
    pub total: u64,
    pub max: u64,
    /// Step and arguments of the call that burnt `max`.
    pub max_step: u64,
    pub max_args: [u32; 2],
}

impl Fuel {
    pub fn add(&mut self, fuel: u64, step: u64, args: [u32; 2]) {
        self.calls += 1;
        self.total += fuel;
        if fuel > self.max {
            self.max = fuel;
            self.max_step = step;
            self.max_args = args;
        }
    }

    pub fn merge(&mut self, other: &Fuel) {
        self.calls += other.calls;
        self.total += other.total;
        if other.max > self.max {
            self.max = other.max;
            self.max_step = other.max_step;
            self.max_args = other.max_args;
        }
    }

    pub fn mean(&self) -> f64 {
        self.total as f64 / self.calls.max(1) as f64
    }
}
