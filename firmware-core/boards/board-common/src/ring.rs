//! The receive ring between the UART interrupt (the only producer) and the main loop (the
//! only consumer). Lock-free with plain atomic loads and stores, which the Cortex-M0 has
//! (it lacks compare-and-swap), and no `unsafe`: every slot is an `AtomicU8`.

use core::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};

/// A single-producer single-consumer byte queue of `N` bytes (`N` a power of two).
///
/// Correct only with exactly one context calling [`RxRing::push`] (the UART interrupt
/// handler) and one calling [`RxRing::pop`] (the main loop).
#[derive(Debug)]
pub struct RxRing<const N: usize> {
    buf: [AtomicU8; N],
    /// Bytes ever pushed (wrapping); written by the producer only.
    head: AtomicUsize,
    /// Bytes ever popped (wrapping); written by the consumer only.
    tail: AtomicUsize,
    /// Bytes dropped because the ring was full; written by the producer only.
    dropped: AtomicU32,
}

impl<const N: usize> Default for RxRing<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RxRing<N> {
    const POWER_OF_TWO: () = assert!(N.is_power_of_two(), "RxRing size must be a power of two");

    /// An empty ring.
    pub const fn new() -> Self {
        let () = Self::POWER_OF_TWO;
        RxRing {
            buf: [const { AtomicU8::new(0) }; N],
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            dropped: AtomicU32::new(0),
        }
    }

    /// Producer side: queue `byte`; `false` (and the byte is counted as dropped) when full.
    pub fn push(&self, byte: u8) -> bool {
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Acquire);
        if head.wrapping_sub(tail) >= N {
            let d = self.dropped.load(Ordering::Relaxed);
            self.dropped.store(d.wrapping_add(1), Ordering::Relaxed);
            return false;
        }
        if let Some(slot) = self.buf.get(head % N) {
            slot.store(byte, Ordering::Relaxed);
        }
        self.head.store(head.wrapping_add(1), Ordering::Release);
        true
    }

    /// Consumer side: the oldest queued byte.
    pub fn pop(&self) -> Option<u8> {
        let tail = self.tail.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Acquire);
        if head == tail {
            return None;
        }
        let byte = self.buf.get(tail % N).map(|s| s.load(Ordering::Relaxed));
        self.tail.store(tail.wrapping_add(1), Ordering::Release);
        byte
    }

    /// Bytes dropped so far because the main loop fell behind.
    pub fn dropped(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }
}
