//! Memory-mapped I/O: the narrow seam between the devmem transport and the
//! machine.
//!
//! [`Mmio`] is a window of device registers or DMA memory with
//! bounds-checked word and byte access. [`MappedFile`] implements it over
//! `mmap` of a device file (/dev/mem, /dev/uioN, /dev/udmabufN), and is the
//! only code in kiln that dereferences raw pointers into hardware: every
//! access is a volatile read or write through a pointer, never a reference,
//! so the compiler neither adds, merges nor drops an access.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;

use super::TransportError;

/// A window of memory-mapped I/O. Offsets are bytes from the window's start;
/// an access outside the window is an error, never a fault.
pub trait Mmio {
    /// Size of the window in bytes.
    fn size(&self) -> u64;
    /// Reads the 32-bit word at `offset` (4-byte aligned).
    fn read32(&mut self, offset: u64) -> Result<u32, TransportError>;
    /// Writes the 32-bit word at `offset` (4-byte aligned).
    fn write32(&mut self, offset: u64, value: u32) -> Result<(), TransportError>;
    /// Copies `out.len()` bytes from `offset` into `out`.
    fn read_bytes(&mut self, offset: u64, out: &mut [u8]) -> Result<(), TransportError>;
    /// Copies `data` to `offset`.
    fn write_bytes(&mut self, offset: u64, data: &[u8]) -> Result<(), TransportError>;
}

/// Checks that `len` bytes at `offset` lie in a window of `size` bytes
/// named `what`, for every [`Mmio`] implementation to share.
pub fn check_window(what: &str, size: u64, offset: u64, len: u64) -> Result<(), TransportError> {
    if offset.checked_add(len).is_some_and(|end| end <= size) {
        Ok(())
    } else {
        Err(TransportError::OutOfMapping {
            what: what.to_string(),
            offset,
            len,
            size,
        })
    }
}

/// Checks a word access: inside the window and 4-byte aligned.
pub fn check_word(what: &str, size: u64, offset: u64) -> Result<(), TransportError> {
    if !offset.is_multiple_of(4) {
        return Err(TransportError::UnalignedMapping {
            what: what.to_string(),
            offset,
        });
    }
    check_window(what, size, offset, 4)
}

/// A shared mapping of part of a file: `len` bytes from byte `offset`.
#[derive(Debug)]
pub struct MappedFile {
    /// Start of the whole mapping (page aligned).
    map: NonNull<u8>,
    /// Bytes mapped, from `map`.
    map_len: usize,
    /// Bytes from `map` to the window's first byte (the window need not
    /// start on a page boundary; the mapping must).
    skip: usize,
    /// Bytes in the window.
    len: u64,
    /// What is mapped, for errors: "/dev/mem at 0x43c00000".
    what: String,
}

// SAFETY: the mapping is owned by this value alone and is only touched
// through `&mut self`; moving it to another thread moves that ownership.
unsafe impl Send for MappedFile {}

fn page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(page).ok().filter(|p| *p > 0).unwrap_or(4096)
}

impl MappedFile {
    /// Maps `len` bytes of `file` from byte `offset`, readable and writable,
    /// shared with the device. `what` names the mapping in errors.
    pub fn map(file: &File, offset: u64, len: u64, what: &str) -> Result<Self, TransportError> {
        let page = page_size();
        let start = offset - offset % page;
        let skip = offset - start;
        let too_big = || TransportError::Io(format!("cannot map {len} bytes of {what}: too large"));
        let map_len = usize::try_from(skip + len).map_err(|_| too_big())?;
        if len == 0 {
            return Err(TransportError::Io(format!(
                "cannot map {what}: the window is empty"
            )));
        }
        let file_offset = libc::off_t::try_from(start).map_err(|_| {
            TransportError::Io(format!(
                "cannot map {what}: offset {start:#x} does not fit this platform's off_t"
            ))
        })?;
        // SAFETY: a fresh mapping chosen by the kernel (no fixed address), of
        // a file descriptor that is open for the duration of the call; the
        // result is checked before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                file_offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            let err = std::io::Error::last_os_error();
            return Err(TransportError::Io(format!(
                "cannot map {len} bytes of {what}: {err}"
            )));
        }
        let map = NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| TransportError::Io(format!("cannot map {what}: mmap returned null")))?;
        Ok(Self {
            map,
            map_len,
            skip: skip as usize,
            len,
            what: what.to_string(),
        })
    }

    /// What is mapped, as given to [`MappedFile::map`].
    pub fn what(&self) -> &str {
        &self.what
    }

    /// The address of byte `offset` of the window; the caller has checked
    /// that the access lies inside it.
    fn at(&self, offset: u64) -> *mut u8 {
        // SAFETY: the caller checked `offset` against `len`, and
        // `skip + len == map_len`, so the result stays inside the mapping.
        unsafe { self.map.as_ptr().add(self.skip + offset as usize) }
    }
}

impl Mmio for MappedFile {
    fn size(&self) -> u64 {
        self.len
    }

    fn read32(&mut self, offset: u64) -> Result<u32, TransportError> {
        check_word(&self.what, self.len, offset)?;
        // A window that starts off a word boundary has unaligned words.
        let p = self.at(offset).cast::<u32>();
        if !p.is_aligned() {
            return Err(TransportError::UnalignedMapping {
                what: self.what.clone(),
                offset,
            });
        }
        // SAFETY: see above; volatile so the access reaches the device.
        Ok(unsafe { p.read_volatile() })
    }

    fn write32(&mut self, offset: u64, value: u32) -> Result<(), TransportError> {
        check_word(&self.what, self.len, offset)?;
        let p = self.at(offset).cast::<u32>();
        if !p.is_aligned() {
            return Err(TransportError::UnalignedMapping {
                what: self.what.clone(),
                offset,
            });
        }
        // SAFETY: in bounds and aligned (checked above); volatile.
        unsafe { p.write_volatile(value) };
        Ok(())
    }

    fn read_bytes(&mut self, offset: u64, out: &mut [u8]) -> Result<(), TransportError> {
        check_window(&self.what, self.len, offset, out.len() as u64)?;
        let mut i = 0;
        // Byte accesses up to an 8-byte boundary, then 8-byte words, then
        // bytes: wide volatile accesses keep bulk copies fast without ever
        // issuing an unaligned access to device memory.
        while i < out.len() && !self.at(offset + i as u64).cast::<u64>().is_aligned() {
            // SAFETY: inside the checked range.
            out[i] = unsafe { self.at(offset + i as u64).read_volatile() };
            i += 1;
        }
        while i + 8 <= out.len() {
            // SAFETY: inside the checked range and 8-byte aligned.
            let word = unsafe { self.at(offset + i as u64).cast::<u64>().read_volatile() };
            out[i..i + 8].copy_from_slice(&word.to_ne_bytes());
            i += 8;
        }
        while i < out.len() {
            // SAFETY: inside the checked range.
            out[i] = unsafe { self.at(offset + i as u64).read_volatile() };
            i += 1;
        }
        Ok(())
    }

    fn write_bytes(&mut self, offset: u64, data: &[u8]) -> Result<(), TransportError> {
        check_window(&self.what, self.len, offset, data.len() as u64)?;
        let mut i = 0;
        while i < data.len() && !self.at(offset + i as u64).cast::<u64>().is_aligned() {
            // SAFETY: inside the checked range.
            unsafe { self.at(offset + i as u64).write_volatile(data[i]) };
            i += 1;
        }
        while i + 8 <= data.len() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&data[i..i + 8]);
            // SAFETY: inside the checked range and 8-byte aligned.
            unsafe {
                self.at(offset + i as u64)
                    .cast::<u64>()
                    .write_volatile(u64::from_ne_bytes(word));
            }
            i += 8;
        }
        while i < data.len() {
            // SAFETY: inside the checked range.
            unsafe { self.at(offset + i as u64).write_volatile(data[i]) };
            i += 1;
        }
        Ok(())
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`, once; nothing
        // refers to it afterwards.
        unsafe {
            libc::munmap(self.map.as_ptr().cast(), self.map_len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom};

    /// An anonymous in-memory file of `len` bytes (memfd).
    fn memfd(len: u64) -> File {
        use std::os::fd::FromRawFd;
        // SAFETY: a NUL-terminated name; the returned descriptor is checked.
        let fd = unsafe { libc::memfd_create(c"kiln-mmio-test".as_ptr(), 0) };
        assert!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
        // SAFETY: `fd` is a fresh descriptor nothing else owns.
        let file = unsafe { File::from_raw_fd(fd) };
        file.set_len(len).unwrap();
        file
    }

    fn file_bytes(file: &mut File, offset: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        file.seek(SeekFrom::Start(offset)).unwrap();
        file.read_exact(&mut out).unwrap();
        out
    }

    #[test]
    fn words_land_in_the_file_at_the_window_offset() {
        let mut file = memfd(3 * 4096);
        let mut win = MappedFile::map(&file, 4096 + 0x40, 0x100, "memfd").unwrap();
        assert_eq!(win.size(), 0x100);
        win.write32(0x0, 0x4B49_4C4E).unwrap();
        win.write32(0xFC, 0xDEAD_BEEF).unwrap();
        assert_eq!(win.read32(0x0).unwrap(), 0x4B49_4C4E);
        assert_eq!(
            file_bytes(&mut file, 4096 + 0x40, 4),
            0x4B49_4C4Eu32.to_ne_bytes()
        );
        assert_eq!(
            file_bytes(&mut file, 4096 + 0x13C, 4),
            0xDEAD_BEEFu32.to_ne_bytes()
        );
        // Nothing outside the window was touched.
        assert_eq!(file_bytes(&mut file, 4096 + 0x3C, 4), [0; 4]);
        assert_eq!(file_bytes(&mut file, 4096 + 0x140, 4), [0; 4]);
    }

    #[test]
    fn out_of_window_and_unaligned_accesses_are_refused() {
        let file = memfd(4096);
        let mut win = MappedFile::map(&file, 0, 64, "memfd").unwrap();
        assert!(matches!(
            win.read32(64),
            Err(TransportError::OutOfMapping { .. })
        ));
        assert!(matches!(
            win.write32(62, 1),
            Err(TransportError::UnalignedMapping { .. })
        ));
        assert!(matches!(
            win.write_bytes(60, &[0; 5]),
            Err(TransportError::OutOfMapping { .. })
        ));
        assert!(matches!(
            win.read_bytes(u64::MAX, &mut [0; 2]),
            Err(TransportError::OutOfMapping { .. })
        ));
        let msg = win.read32(64).unwrap_err().to_string();
        assert!(msg.contains("memfd") && msg.contains("0x40"), "{msg}");
    }

    #[test]
    fn byte_copies_of_any_alignment_round_trip() {
        let mut file = memfd(8192);
        let mut win = MappedFile::map(&file, 0, 8192, "memfd").unwrap();
        let data: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
        for start in [0u64, 1, 3, 7, 8, 4093] {
            for len in [0usize, 1, 7, 8, 9, 63, 200] {
                win.write_bytes(start, &data[..len]).unwrap();
                let mut back = vec![0; len];
                win.read_bytes(start, &mut back).unwrap();
                assert_eq!(back, data[..len], "start {start} len {len}");
                assert_eq!(file_bytes(&mut file, start, len), data[..len]);
            }
        }
    }

    #[test]
    fn a_window_beyond_a_device_file_is_an_error_not_a_crash() {
        let file = memfd(4096);
        // Mapping past the end of a memfd succeeds in mmap but faults on
        // access, so the window must be sized from the file; an empty
        // window is refused outright.
        assert!(MappedFile::map(&file, 0, 0, "memfd").is_err());
        let dir = std::env::temp_dir().join(format!("kiln-mmio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dir_file = File::open(&dir).unwrap();
        let err = MappedFile::map(&dir_file, 0, 4096, "a directory").unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
