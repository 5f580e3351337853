//! Device memory of the emulated board: a first-fit allocator over DDR and
//! the host-side copies that `xrtBOMap` hands out.

use std::alloc::Layout;
use std::ptr::NonNull;

/// Buffers start on page boundaries, as XRT's do.
pub const PAGE: u64 = 4096;

/// Device memory starts this far into DDR, as a CMA region would.
pub const ALLOC_START: u64 = 0x0010_0000;

/// First-fit allocation of page-rounded blocks in `[start, end)`.
#[derive(Debug)]
pub struct Allocator {
    start: u64,
    end: u64,
    /// Live blocks (address, rounded size), sorted by address.
    used: Vec<(u64, u64)>,
}

impl Allocator {
    pub fn new(start: u64, end: u64) -> Self {
        Self {
            start,
            end,
            used: Vec::new(),
        }
    }

    /// A block of at least `size` bytes (rounded up to pages), or `None`.
    pub fn alloc(&mut self, size: u64) -> Option<u64> {
        let rounded = size.checked_next_multiple_of(PAGE)?;
        let mut at = self.start;
        for (i, &(addr, len)) in self.used.iter().enumerate() {
            if addr - at >= rounded {
                self.used.insert(i, (at, rounded));
                return Some(at);
            }
            at = addr + len;
        }
        if self.end.checked_sub(at)? >= rounded {
            self.used.push((at, rounded));
            return Some(at);
        }
        None
    }

    /// Releases the block at `addr`.
    pub fn free(&mut self, addr: u64) {
        self.used.retain(|&(a, _)| a != addr);
    }

    /// Bytes not allocated.
    pub fn available(&self) -> u64 {
        let used: u64 = self.used.iter().map(|&(_, len)| len).sum();
        (self.end - self.start).saturating_sub(used)
    }
}

/// A zeroed, page-aligned host allocation shared with C callers: the
/// pointer from [`HostBuffer::as_ptr`] is written and read by the caller
/// through `xrtBOMap`, so this side never forms references to the bytes
/// and copies through raw pointers only.
#[derive(Debug)]
pub struct HostBuffer {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl HostBuffer {
    /// `len` zero bytes; `None` if `len` is 0 or the allocation fails.
    pub fn zeroed(len: usize) -> Option<Self> {
        let layout = Layout::from_size_align(len, PAGE as usize).ok()?;
        if layout.size() == 0 {
            return None;
        }
        // SAFETY: the layout has a non-zero size.
        let ptr = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })?;
        Some(Self { ptr, layout })
    }

    pub fn len(&self) -> usize {
        self.layout.size()
    }

    /// The first byte, for `xrtBOMap`.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Copies `out.len()` bytes at `offset` out of the buffer.
    pub fn read(&self, offset: usize, out: &mut [u8]) {
        assert!(offset
            .checked_add(out.len())
            .is_some_and(|end| end <= self.len()));
        // SAFETY: the range was checked to lie in the allocation, and `out`
        // is a distinct Rust allocation.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.ptr.as_ptr().add(offset),
                out.as_mut_ptr(),
                out.len(),
            )
        }
    }

    /// Copies `data` into the buffer at `offset`.
    pub fn write(&self, offset: usize, data: &[u8]) {
        assert!(offset
            .checked_add(data.len())
            .is_some_and(|end| end <= self.len()));
        // SAFETY: the range was checked to lie in the allocation, and `data`
        // is a distinct Rust allocation.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.as_ptr().add(offset), data.len())
        }
    }
}

impl Drop for HostBuffer {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with this layout, freed only here.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_page_aligned_first_fit_and_reused() {
        let mut a = Allocator::new(0x1000, 0x1000 + 4 * PAGE);
        let x = a.alloc(1).unwrap();
        let y = a.alloc(PAGE + 1).unwrap();
        let z = a.alloc(PAGE).unwrap();
        assert_eq!((x, y, z), (0x1000, 0x2000, 0x4000));
        assert_eq!(a.alloc(1), None, "full");
        a.free(y);
        assert_eq!(a.available(), 2 * PAGE);
        assert_eq!(a.alloc(PAGE).unwrap(), 0x2000, "the first gap that fits");
        assert_eq!(a.alloc(PAGE).unwrap(), 0x3000);
        assert_eq!(a.alloc(u64::MAX), None);
    }

    #[test]
    fn host_buffers_are_zeroed_aligned_and_copy_in_range() {
        let b = HostBuffer::zeroed(100).unwrap();
        assert_eq!(b.as_ptr() as usize % PAGE as usize, 0);
        let mut out = [1u8; 4];
        b.read(96, &mut out);
        assert_eq!(out, [0; 4]);
        b.write(10, &[1, 2, 3]);
        b.read(9, &mut out);
        assert_eq!(out, [0, 1, 2, 3]);
        assert!(HostBuffer::zeroed(0).is_none());
    }
}
