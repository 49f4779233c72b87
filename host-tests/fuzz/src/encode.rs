//! The inverse of the `arbitrary` decoding of [`Input`], to write seed inputs by hand.
//!
//! `arbitrary` 1.x (derive) reads integers little-endian, a `bool` as a byte's low bit, an enum
//! variant as a `u32` scaled to the variant count (`(x * count) >> 32`), and the trailing
//! `Vec<Op>` as a sequence of (keep-going `bool`, element) until the data runs out. The tests
//! check that every seed decodes back to the operations it was written from.

use crate::{Align, Input, Limit, MarkRef, Op, Ptr, Size};

pub fn encode(input: &Input) -> Vec<u8> {
    let mut out = Vec::new();
    input.buffer.put(&mut out);
    input.initial_end.put(&mut out);
    for op in &input.ops {
        true.put(&mut out);
        op.put(&mut out);
    }
    out
}

trait Put {
    fn put(&self, out: &mut Vec<u8>);
}

/// The first `u32` that `arbitrary` maps to variant `index` of `count`.
fn variant(out: &mut Vec<u8>, index: u64, count: u64) {
    let x = (index << 32).div_ceil(count);
    out.extend_from_slice(&(x as u32).to_le_bytes());
}

macro_rules! put_int {
    ($($t:ty)*) => {$(
        impl Put for $t {
            fn put(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
put_int!(u8 u16 u32 i8 i16);

impl Put for bool {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(*self as u8);
    }
}

macro_rules! put_all {
    ($out:expr; $($field:expr),*) => {{ $( $field.put($out); )* }};
}

impl Put for Op {
    fn put(&self, out: &mut Vec<u8>) {
        const N: u64 = 14;
        match self {
            Op::Alloc { size, write } => {
                variant(out, 0, N);
                put_all!(out; size, write)
            }
            Op::AllocAligned { size, align, write } => {
                variant(out, 1, N);
                put_all!(out; size, align, write)
            }
            Op::AllocMany { count, size, write } => {
                variant(out, 2, N);
                put_all!(out; count, size, write)
            }
            Op::Dealloc(ptr) => {
                variant(out, 3, N);
                ptr.put(out)
            }
            Op::Realloc { ptr, size, write } => {
                variant(out, 4, N);
                put_all!(out; ptr, size, write)
            }
            Op::Size(ptr) => {
                variant(out, 5, N);
                ptr.put(out)
            }
            Op::Write { block, seed } => {
                variant(out, 6, N);
                put_all!(out; block, seed)
            }
            Op::GetMark => variant(out, 7, N),
            Op::GetMarks(n) => {
                variant(out, 8, N);
                n.put(out)
            }
            Op::ToMark(mark) => {
                variant(out, 9, N);
                mark.put(out)
            }
            Op::FreeAllMark => variant(out, 10, N),
            Op::FreeAll => variant(out, 11, N),
            Op::Limit(limit) => {
                variant(out, 12, N);
                limit.put(out)
            }
            Op::Reinit(end) => {
                variant(out, 13, N);
                end.put(out)
            }
        }
    }
}

impl Put for Size {
    fn put(&self, out: &mut Vec<u8>) {
        const N: u64 = 8;
        match self {
            Size::Tiny(n) => {
                variant(out, 0, N);
                n.put(out)
            }
            Size::Small(n) => {
                variant(out, 1, N);
                n.put(out)
            }
            Size::Medium(n) => {
                variant(out, 2, N);
                n.put(out)
            }
            Size::Large(n) => {
                variant(out, 3, N);
                n.put(out)
            }
            Size::NearMax(n) => {
                variant(out, 4, N);
                n.put(out)
            }
            Size::AroundMaxRequest(d) => {
                variant(out, 5, N);
                d.put(out)
            }
            Size::Pow2 { shift, delta } => {
                variant(out, 6, N);
                put_all!(out; shift, delta)
            }
            Size::Raw(n) => {
                variant(out, 7, N);
                n.put(out)
            }
        }
    }
}

impl Put for Align {
    fn put(&self, out: &mut Vec<u8>) {
        const N: u64 = 4;
        match self {
            Align::Valid(n) => {
                variant(out, 0, N);
                n.put(out)
            }
            Align::TooLarge(n) => {
                variant(out, 1, N);
                n.put(out)
            }
            Align::Raw(n) => {
                variant(out, 2, N);
                n.put(out)
            }
            Align::Zero => variant(out, 3, N),
        }
    }
}

impl Put for Ptr {
    fn put(&self, out: &mut Vec<u8>) {
        const N: u64 = 11;
        match self {
            Ptr::Live(i) => {
                variant(out, 0, N);
                i.put(out)
            }
            Ptr::Dead(i) => {
                variant(out, 1, N);
                i.put(out)
            }
            Ptr::Interior { block, offset } => {
                variant(out, 2, N);
                put_all!(out; block, offset)
            }
            Ptr::InteriorAligned { block, words } => {
                variant(out, 3, N);
                put_all!(out; block, words)
            }
            Ptr::Misaligned { block, by } => {
                variant(out, 4, N);
                put_all!(out; block, by)
            }
            Ptr::Header { block, words } => {
                variant(out, 5, N);
                put_all!(out; block, words)
            }
            Ptr::PastEnd(i) => {
                variant(out, 6, N);
                i.put(out)
            }
            Ptr::Control(d) => {
                variant(out, 7, N);
                d.put(out)
            }
            Ptr::Special(k) => {
                variant(out, 8, N);
                k.put(out)
            }
            Ptr::Foreign(x) => {
                variant(out, 9, N);
                x.put(out)
            }
            Ptr::Null => variant(out, 10, N),
        }
    }
}

impl Put for MarkRef {
    fn put(&self, out: &mut Vec<u8>) {
        const N: u64 = 5;
        match self {
            MarkRef::Issued(i) => {
                variant(out, 0, N);
                i.put(out)
            }
            MarkRef::Newest => variant(out, 1, N),
            MarkRef::Tweak { mark, xor } => {
                variant(out, 2, N);
                put_all!(out; mark, xor)
            }
            MarkRef::AtDepth { depth, id } => {
                variant(out, 3, N);
                put_all!(out; depth, id)
            }
            MarkRef::Bogus(x) => {
                variant(out, 4, N);
                x.put(out)
            }
        }
    }
}

impl Put for Limit {
    fn put(&self, out: &mut Vec<u8>) {
        const N: u64 = 4;
        match self {
            Limit::Freeze => variant(out, 0, N),
            Limit::Pages(n) => {
                variant(out, 1, N);
                n.put(out)
            }
            Limit::Bytes(n) => {
                variant(out, 2, N);
                n.put(out)
            }
            Limit::Restore => variant(out, 3, N),
        }
    }
}
