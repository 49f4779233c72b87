//! A bounded history: the last `cap` items (dead pointers, used-up marks), from which a driver
//! picks one to try again.

use crate::Rng;

#[derive(Clone, Debug)]
pub struct History<T> {
    items: Vec<T>,
    /// Where the next item goes once the history is full (it replaces the oldest).
    next: usize,
    cap: usize,
}

impl<T: Copy> History<T> {
    pub fn new(cap: usize) -> History<T> {
        History { items: Vec::with_capacity(cap), next: 0, cap }
    }

    pub fn push(&mut self, t: T) {
        if self.items.len() < self.cap {
            self.items.push(t);
        } else {
            self.items[self.next] = t;
            self.next = (self.next + 1) % self.cap;
        }
    }

    /// A random item, if there is one.
    pub fn pick(&self, rng: &mut Rng) -> Option<T> {
        (!self.items.is_empty()).then(|| self.items[rng.index(self.items.len())])
    }

    /// The `n`-th item counted back from the newest (mod the length), if there is one.
    pub fn back(&self, n: usize) -> Option<T> {
        let len = self.items.len();
        (len > 0).then(|| {
            let newest = if len < self.cap { len - 1 } else { (self.next + len - 1) % len };
            self.items[(newest + len - n % len) % len]
        })
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }
}
