//! ARM semihosting file I/O (the `bkpt 0xAB` calls a debugger or QEMU serves) and an
//! EEPROM [`Store`] kept in a host file, so device state survives killing QEMU.
//!
//! Only for emulators and debug probes: on a board running without a debugger the
//! breakpoint instruction faults (HardFault).

use core::ffi::CStr;
use firmware_core::storage::Store;
use firmware_core::Error;

const SYS_OPEN: u32 = 0x01;
const SYS_WRITE: u32 = 0x05;
const SYS_READ: u32 = 0x06;
const SYS_SEEK: u32 = 0x0A;
const SYS_FLEN: u32 = 0x0C;
const SYS_TIME: u32 = 0x11;

/// `fopen` modes as numbered by the semihosting specification.
const MODE_READ_WRITE: usize = 3; // "r+b": must exist
const MODE_CREATE: usize = 7; // "w+b": create or truncate

/// One semihosting call: operation `op`, parameter `arg` (usually a pointer to a block of
/// words), result in r0.
///
/// # Safety
/// `arg` must be what operation `op` expects; any memory it points to must be valid for the
/// host to read (and, for SYS_READ, to write) for the lengths given in the block.
unsafe fn call(op: u32, arg: usize) -> usize {
    let ret: u32;
    // SAFETY: the caller vouches for `arg`. `bkpt 0xAB` traps to the debugger/QEMU, which
    // performs the operation and resumes after the instruction; it may access the memory
    // `arg` describes, so the asm is not marked `nomem`.
    unsafe {
        core::arch::asm!(
            "bkpt #0xab",
            inout("r0") op => ret,
            in("r1") arg,
            options(nostack, preserves_flags),
        );
    }
    ret as usize
}

/// An open host file.
#[derive(Debug, Clone, Copy)]
struct Handle(usize);

fn open(name: &CStr, mode: usize) -> Option<Handle> {
    let block = [name.as_ptr() as usize, mode, name.count_bytes()];
    // SAFETY: SYS_OPEN reads the three-word block and `len` bytes of the NUL-terminated name,
    // both alive for the call.
    let h = unsafe { call(SYS_OPEN, block.as_ptr() as usize) };
    (h != usize::MAX).then_some(Handle(h))
}

fn seek(h: Handle, pos: usize) -> bool {
    let block = [h.0, pos];
    // SAFETY: SYS_SEEK reads the two-word block only.
    unsafe { call(SYS_SEEK, block.as_ptr() as usize) == 0 }
}

fn flen(h: Handle) -> Option<usize> {
    let block = [h.0];
    // SAFETY: SYS_FLEN reads the one-word block only.
    let n = unsafe { call(SYS_FLEN, block.as_ptr() as usize) };
    (n != usize::MAX).then_some(n)
}

/// Write all of `data`; `true` when the host took every byte.
fn write(h: Handle, data: &[u8]) -> bool {
    let block = [h.0, data.as_ptr() as usize, data.len()];
    // SAFETY: SYS_WRITE reads the block and `data.len()` bytes of `data`; returns the number
    // of bytes *not* written.
    unsafe { call(SYS_WRITE, block.as_ptr() as usize) == 0 }
}

/// Fill `buf`; the number of bytes read (less at end of file).
fn read(h: Handle, buf: &mut [u8]) -> usize {
    let block = [h.0, buf.as_mut_ptr() as usize, buf.len()];
    // SAFETY: SYS_READ writes at most `buf.len()` bytes into `buf`, which we borrow mutably;
    // returns the number of bytes *not* read.
    let missing = unsafe { call(SYS_READ, block.as_ptr() as usize) };
    buf.len().saturating_sub(missing)
}

/// The host's wall-clock time in seconds since 1970 (a seed, not a trusted clock).
pub fn host_time() -> u32 {
    // SAFETY: SYS_TIME takes no parameter block (r1 must be 0).
    unsafe { call(SYS_TIME, 0) as u32 }
}

/// A fixed-size "EEPROM" backed by a file on the semihosting host. A new file is created
/// filled with 0xFF (erased), like a fresh EEPROM; a short file is extended the same way.
#[derive(Debug)]
pub struct SemihostingStore {
    file: Handle,
    capacity: usize,
}

impl SemihostingStore {
    /// Open (or create) the file `name` in the host's working directory.
    pub fn open(name: &CStr, capacity: usize) -> Result<Self, Error> {
        let file = match open(name, MODE_READ_WRITE) {
            Some(h) => h,
            None => open(name, MODE_CREATE).ok_or(Error::StorageIo)?,
        };
        let len = flen(file).ok_or(Error::StorageIo)?;
        if len < capacity {
            if !seek(file, len) {
                return Err(Error::StorageIo);
            }
            let blank = [0xFF_u8; 16];
            let mut at = len;
            while at < capacity {
                let n = (capacity - at).min(blank.len());
                if !write(file, blank.get(..n).unwrap_or_default()) {
                    return Err(Error::StorageIo);
                }
                at += n;
            }
        }
        Ok(SemihostingStore { file, capacity })
    }

    fn check(&self, offset: usize, len: usize) -> Result<(), Error> {
        match offset.checked_add(len) {
            Some(end) if end <= self.capacity => Ok(()),
            _ => Err(Error::StorageIo),
        }
    }
}

impl Store for SemihostingStore {
    fn capacity(&self) -> usize {
        self.capacity
    }

    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
        self.check(offset, buf.len())?;
        if !seek(self.file, offset) {
            return Err(Error::StorageIo);
        }
        let n = read(self.file, buf);
        // Past the end of a file that someone truncated behind our back: erased bytes.
        for b in buf.iter_mut().skip(n) {
            *b = 0xFF;
        }
        Ok(())
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Error> {
        self.check(offset, data.len())?;
        if seek(self.file, offset) && write(self.file, data) {
            Ok(())
        } else {
            Err(Error::StorageIo)
        }
    }
}

const SYS_WRITE0: u32 = 0x04;
const SYS_EXIT: u32 = 0x18;
/// `ADP_Stopped_ApplicationExit`: the reason code for a normal exit.
const ADP_STOPPED_APPLICATION_EXIT: usize = 0x2_0026;

/// Print a NUL-terminated text on the debug host's console (QEMU's stdout).
pub fn write0(text: &CStr) {
    // SAFETY: SYS_WRITE0 reads the NUL-terminated string, alive for the call.
    unsafe {
        call(SYS_WRITE0, text.as_ptr() as usize);
    }
}

/// End the emulation (QEMU exits; a debugger stops the target).
pub fn exit() -> ! {
    // SAFETY: SYS_EXIT on 32-bit ARM takes the reason code itself in r1.
    unsafe {
        call(SYS_EXIT, ADP_STOPPED_APPLICATION_EXIT);
    }
    loop {
        cortex_m::asm::wfi();
    }
}
