//! The memory limiter of every instance: `memory.grow` is refused past a cap that tests change at
//! run time, and, for the soak, at random moments ([`Weather`]). It counts what it granted and
//! refused.

use wasmheap_model::Rng;
use wasmtime::{ResourceLimiter, Result};

/// What the limiter does with a `memory.grow` that stays under the cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weather {
    /// Every growth under the cap is granted.
    Clear,
    /// Each growth is refused with probability 1/2.
    Flaky,
    /// Every growth is refused.
    Frozen,
}

#[derive(Debug)]
pub struct Limiter {
    /// Growth past this many bytes is refused.
    pub max_bytes: usize,
    pub weather: Weather,
    /// Draws the refusals of [`Weather::Flaky`].
    pub rng: Rng,
    /// Growths granted and refused since the instance was created (instantiation excluded).
    pub granted: u32,
    pub refused: u32,
}

impl Limiter {
    /// Clear weather under `max_bytes`; `rng` for flaky weather later.
    pub fn new(max_bytes: usize, rng: Rng) -> Limiter {
        Limiter { max_bytes, weather: Weather::Clear, rng, granted: 0, refused: 0 }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> Result<bool> {
        if desired <= current {
            return Ok(true);
        }
        let refuse = desired > self.max_bytes
            || maximum.is_some_and(|m| desired > m)
            || match self.weather {
                Weather::Clear => false,
                Weather::Flaky => self.rng.chance(1, 2),
                Weather::Frozen => true,
            };
        if refuse {
            self.refused += 1;
        } else {
            self.granted += 1;
        }
        Ok(!refuse)
    }

    fn table_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> Result<bool> {
        Ok(true)
    }
}

/// Data kept in each `Store`.
#[derive(Debug)]
pub struct State {
    pub limiter: Limiter,
}
