//! A RAM "EEPROM": state lives until reset. For builds without semihosting.

use firmware_core::storage::Store;
use firmware_core::Error;

/// `N` bytes of RAM, erased (0xFF) at start.
#[derive(Debug)]
pub struct RamStore<const N: usize> {
    bytes: [u8; N],
}

impl<const N: usize> Default for RamStore<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RamStore<N> {
    /// Erased.
    pub const fn new() -> Self {
        RamStore { bytes: [0xFF; N] }
    }
}

impl<const N: usize> Store for RamStore<N> {
    fn capacity(&self) -> usize {
        N
    }

    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
        let end = offset.checked_add(buf.len()).ok_or(Error::StorageIo)?;
        let src = self.bytes.get(offset..end).ok_or(Error::StorageIo)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Error> {
        let end = offset.checked_add(data.len()).ok_or(Error::StorageIo)?;
        let dst = self.bytes.get_mut(offset..end).ok_or(Error::StorageIo)?;
        dst.copy_from_slice(data);
        Ok(())
    }
}
