//! The verifier entry's heap: power-of-two size classes, each with its own free list.
//!
//! Rust's default wasm allocator (dlmalloc) is about 8 KB of the verifier's wasm, more than
//! half of what the `batchhook/webhook` entry may weigh. The verifier's allocations are few and
//! short-lived (a header string, a body, a signature) plus its secrets, so a far simpler
//! heap does: a request is rounded up to a power of two of at least [`MIN_BLOCK`] bytes, a
//! freed block goes onto its class's free list and is handed out again by the next request of
//! that class, and fresh blocks are carved from memory grown a page at a time. Blocks never
//! merge or split, so at most half of a block is slack and memory stays at the peak each class
//! reached; in exchange allocation and release are a few instructions.
//!
//! The heap is generic over where fresh memory comes from ([`Grow`]) so that the host tests
//! run the same code over an arena; the wasm build registers it over `memory.grow` as the
//! global allocator. It assumes one thread: wasm32-unknown-unknown without the `atomics`
//! feature, where the atomics below compile to plain loads and stores.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The smallest block, and the largest alignment served: every block starts on a multiple of
/// it (regions start page-aligned and every block size is a multiple of it).
pub const MIN_BLOCK: usize = 16;

/// The wasm page, the unit memory grows by.
const PAGE: usize = 64 * 1024;

/// A source of fresh memory for the heap.
pub trait Grow {
    /// Makes at least `bytes` more bytes available and returns the address where they start
    /// (aligned to [`MIN_BLOCK`]) and how many there are, or `None` when memory is exhausted.
    fn grow(&self, bytes: usize) -> Option<(usize, usize)>;
}

/// A size-class heap over `G`; see the module docs.
pub struct SizeClassHeap<G> {
    /// Per class `c` (blocks of `1 << c` bytes) the address of the first free block, 0 for
    /// none; a free block's first word holds the address of the next.
    free: [AtomicUsize; usize::BITS as usize],
    /// The unused part of the current region: `top..end`.
    top: AtomicUsize,
    end: AtomicUsize,
    source: G,
}

impl<G> SizeClassHeap<G> {
    /// An empty heap that takes fresh memory from `source`.
    pub const fn new(source: G) -> Self {
        SizeClassHeap {
            free: [const { AtomicUsize::new(0) }; usize::BITS as usize],
            top: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
            source,
        }
    }
}

/// The class serving `layout`: `log2` of its block size; `None` when the alignment is above
/// [`MIN_BLOCK`] or the size has no power of two.
fn class_of(layout: Layout) -> Option<usize> {
    if layout.align() > MIN_BLOCK {
        return None;
    }
    let block = layout.size().max(MIN_BLOCK).checked_next_power_of_two()?;
    Some(block.trailing_zeros() as usize)
}

impl<G: Grow> SizeClassHeap<G> {
    /// A fresh block of `size` bytes from the current region, growing it when it is short.
    #[inline(never)]
    fn carve(&self, size: usize) -> *mut u8 {
        let (mut top, mut end) = (self.top.load(Relaxed), self.end.load(Relaxed));
        if end - top < size {
            let Some((start, len)) = self.source.grow(size - (end - top)) else {
                return null_mut();
            };
            // Contiguous growth extends the region; otherwise the rest of the old one is
            // dropped (at most one block's worth, never reused) and the new one starts.
            if start != end {
                top = start;
            }
            end = start + len;
            if end - top < size {
                return null_mut();
            }
        }
        self.top.store(top + size, Relaxed);
        self.end.store(end, Relaxed);
        top as *mut u8
    }
}

// SAFETY: every block handed out is `1 << class` bytes of memory no other live block
// overlaps (carved once from a region, or popped from the free list it was pushed onto when
// released), aligned to MIN_BLOCK, which is at least any alignment served. A free block is
// only written through its first word, which fits in every block (MIN_BLOCK >= a usize).
// Not inlined: the heap is one small copy rather than a copy in every allocating caller.
unsafe impl<G: Grow> GlobalAlloc for SizeClassHeap<G> {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(layout) else {
            return null_mut();
        };
        let head = self.free[class].load(Relaxed);
        if head == 0 {
            return self.carve(1 << class);
        }
        // SAFETY: `head` is a released block of this class; its first word holds the next.
        let next = unsafe { (head as *const usize).read() };
        self.free[class].store(next, Relaxed);
        head as *mut u8
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // The caller passes the layout the block was allocated with, so its class exists.
        let Some(class) = class_of(layout) else {
            return;
        };
        // SAFETY: the block is the caller's to give back and at least a word long.
        unsafe { (ptr as *mut usize).write(self.free[class].load(Relaxed)) };
        self.free[class].store(ptr as usize, Relaxed);
    }
}

/// Fresh memory from the wasm `memory.grow` instruction, a page at a time.
#[cfg(target_arch = "wasm32")]
pub struct WasmPages;

#[cfg(target_arch = "wasm32")]
impl Grow for WasmPages {
    fn grow(&self, bytes: usize) -> Option<(usize, usize)> {
        let pages = bytes.div_ceil(PAGE);
        let previous = core::arch::wasm32::memory_grow(0, pages);
        (previous != usize::MAX).then(|| (previous * PAGE, pages * PAGE))
    }
}

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static HEAP: SizeClassHeap<WasmPages> = SizeClassHeap::new(WasmPages);

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;

    /// Pages handed out from a fixed, leaked buffer; `split` makes every other growth skip a
    /// page so that regions are not contiguous.
    struct Arena {
        base: usize,
        next: Cell<usize>,
        limit: usize,
        split: bool,
    }

    impl Arena {
        fn new(pages: usize, split: bool) -> Arena {
            let buffer = vec![0u8; (pages + 1) * PAGE].leak();
            let base = (buffer.as_ptr() as usize).next_multiple_of(PAGE);
            Arena {
                base,
                next: Cell::new(0),
                limit: pages * PAGE,
                split,
            }
        }
    }

    impl Grow for Arena {
        fn grow(&self, bytes: usize) -> Option<(usize, usize)> {
            let mut at = self.next.get();
            if self.split && at != 0 {
                at += PAGE;
            }
            let len = bytes.div_ceil(PAGE) * PAGE;
            if at + len > self.limit {
                return None;
            }
            self.next.set(at + len);
            Some((self.base + at, len))
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Alloc { size: usize, align_log2: u32 },
        Free(usize),
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        let op = prop_oneof![
            3 => (1usize..5000, 0u32..5).prop_map(|(size, align_log2)| Op::Alloc { size, align_log2 }),
            1 => (1usize..200_000, 0u32..3).prop_map(|(size, align_log2)| Op::Alloc { size, align_log2 }),
            3 => any::<usize>().prop_map(Op::Free),
        ];
        prop::collection::vec(op, 1..300)
    }

    proptest! {
        /// Live blocks are aligned, never overlap, and keep what was written into them while
        /// other blocks come and go, over contiguous and split regions alike.
        #[test]
        fn live_blocks_are_aligned_disjoint_and_keep_their_contents(ops in ops(), split: bool) {
            let heap = SizeClassHeap::new(Arena::new(512, split));
            let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
            for (n, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Alloc { size, align_log2 } => {
                        let layout = Layout::from_size_align(size, 1 << align_log2).unwrap();
                        // SAFETY: the layout has a non-zero size.
                        let ptr = unsafe { heap.alloc(layout) };
                        prop_assert!(!ptr.is_null());
                        prop_assert_eq!(ptr as usize % layout.align(), 0);
                        let (start, end) = (ptr as usize, ptr as usize + size);
                        for (other, l, _) in &live {
                            let (s, e) = (*other as usize, *other as usize + l.size());
                            prop_assert!(end <= s || e <= start, "blocks overlap");
                        }
                        let fill = n as u8;
                        // SAFETY: the block is `size` bytes and ours.
                        unsafe { ptr.write_bytes(fill, size) };
                        live.push((ptr, layout, fill));
                    }
                    Op::Free(pick) if !live.is_empty() => {
                        let (ptr, layout, fill) = live.swap_remove(pick % live.len());
                        // SAFETY: the block is live and `size` bytes long.
                        let bytes = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
                        prop_assert!(bytes.iter().all(|&b| b == fill), "a block lost its contents");
                        // SAFETY: allocated from this heap with this layout, freed once.
                        unsafe { heap.dealloc(ptr, layout) };
                    }
                    Op::Free(_) => {}
                }
            }
        }
    }

    #[test]
    fn reuses_a_released_block_of_the_same_class() {
        let heap = SizeClassHeap::new(Arena::new(4, false));
        let layout = Layout::from_size_align(100, 8).unwrap();
        // SAFETY: non-zero layouts; each block is released once, with its layout.
        unsafe {
            let first = heap.alloc(layout);
            heap.dealloc(first, layout);
            let within_class = Layout::from_size_align(128, 4).unwrap();
            assert_eq!(heap.alloc(within_class), first);
            assert_ne!(heap.alloc(layout), first);
        }
    }

    #[test]
    fn refuses_alignment_above_the_minimum_block_and_exhausted_memory() {
        let heap = SizeClassHeap::new(Arena::new(2, false));
        // SAFETY: non-zero layouts.
        unsafe {
            assert!(heap
                .alloc(Layout::from_size_align(8, 32).unwrap())
                .is_null());
            assert!(heap
                .alloc(Layout::from_size_align(3 * PAGE, 1).unwrap())
                .is_null());
            assert!(!heap
                .alloc(Layout::from_size_align(PAGE, 1).unwrap())
                .is_null());
        }
    }
}
