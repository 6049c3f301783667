//! Keys at rest: passphrase → Argon2id → 32-byte key → XChaCha20-Poly1305 per device key.

use super::LedgerError;
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use firmware_core::token::Key;
use zeroize::Zeroizing;

/// A ledger passphrase. Its Debug form is redacted and it is wiped when dropped.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wrap a passphrase.
    pub fn new(text: impl Into<String>) -> Self {
        Passphrase(Zeroizing::new(text.into()))
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Whether two passphrases are the same text.
    pub fn matches(&self, other: &Passphrase) -> bool {
        self.bytes() == other.bytes()
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// A device key taken out of the ledger. Redacted Debug; wiped on drop. Use
/// [`DeviceKey::expose`] only to hand it to the token engine or the provisioning link.
pub struct DeviceKey(Zeroizing<Key>);

impl DeviceKey {
    /// The raw key bytes. Never print or log them.
    pub fn expose(&self) -> &Key {
        &self.0
    }
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(<redacted>)")
    }
}

/// Argon2id cost parameters, stored in the ledger's `meta` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// The default for real ledgers: 19 MiB, 2 passes, 1 lane (OWASP's Argon2id baseline).
    pub const DEFAULT: KdfParams = KdfParams {
        m_kib: 19 * 1024,
        t: 2,
        p: 1,
    };
    /// Cheap parameters for tests only.
    pub const INSECURE_FOR_TESTS: KdfParams = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };
}

/// The 32-byte sealing key derived from the passphrase. Redacted Debug; wiped on drop.
pub struct SealKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

/// Known plaintext sealed at creation, to tell a wrong passphrase from a damaged key blob.
const VERIFIER: &[u8] = b"openpaygo-station ledger key v1";
const VERIFIER_AAD: &[u8] = b"ledger-verifier";

/// Fill `buf` from the OS generator.
pub(crate) fn random(buf: &mut [u8]) -> Result<(), LedgerError> {
    getrandom::fill(buf).map_err(|e| LedgerError::Crypto(format!("no randomness: {e}")))
}

impl SealKey {
    /// Derive the key from a passphrase, salt and parameters (the slow step: see the bench).
    pub fn derive(pass: &Passphrase, salt: &[u8], params: KdfParams) -> Result<Self, LedgerError> {
        let params = Params::new(params.m_kib, params.t, params.p, Some(32))
            .map_err(|e| LedgerError::Crypto(format!("argon2 parameters: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(pass.bytes(), salt, out.as_mut())
            .map_err(|e| LedgerError::Crypto(format!("argon2: {e}")))?;
        Ok(SealKey(out))
    }

    /// The raw derived key (for the handover bundle's key check).
    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.as_ref()
    }

    /// Seal `plain` with a caller-chosen nonce (the bundle stores its nonce in its header).
    pub(crate) fn seal_with_nonce(
        &self,
        plain: &[u8],
        aad: &[u8],
        nonce: &[u8; 24],
    ) -> Result<Vec<u8>, LedgerError> {
        self.cipher()
            .encrypt(XNonce::from_slice(nonce), Payload { msg: plain, aad })
            .map_err(|_| LedgerError::Crypto("encryption failed".into()))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.as_ref().into())
    }

    /// Seal `plain` with a fresh random nonce: returns (ciphertext+tag, nonce).
    pub(crate) fn seal(
        &self,
        plain: &[u8],
        aad: &[u8],
    ) -> Result<(Vec<u8>, [u8; 24]), LedgerError> {
        let mut nonce = [0u8; 24];
        random(&mut nonce)?;
        let sealed = self
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| LedgerError::Crypto("encryption failed".into()))?;
        Ok((sealed, nonce))
    }

    /// Open a sealed blob; `None` when the key, nonce, data or AAD do not match.
    pub(crate) fn open(
        &self,
        sealed: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        if nonce.len() != 24 {
            return None;
        }
        self.cipher()
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad })
            .ok()
            .map(Zeroizing::new)
    }

    /// Seal the verifier for a new ledger.
    pub(crate) fn make_verifier(&self) -> Result<(Vec<u8>, [u8; 24]), LedgerError> {
        self.seal(VERIFIER, VERIFIER_AAD)
    }

    /// Whether this key opens the ledger's verifier.
    pub(crate) fn check_verifier(&self, sealed: &[u8], nonce: &[u8]) -> bool {
        self.open(sealed, nonce, VERIFIER_AAD)
            .is_some_and(|p| p.as_slice() == VERIFIER)
    }

    /// Seal a device key under its serial (the AAD binds the blob to the unit).
    pub(crate) fn seal_device_key(
        &self,
        serial: &str,
        key: &Key,
    ) -> Result<(Vec<u8>, [u8; 24]), LedgerError> {
        self.seal(key, serial.as_bytes())
    }

    /// Open a device key sealed for `serial`.
    pub(crate) fn open_device_key(
        &self,
        serial: &str,
        sealed: &[u8],
        nonce: &[u8],
    ) -> Result<DeviceKey, LedgerError> {
        let plain = self.open(sealed, nonce, serial.as_bytes()).ok_or_else(|| {
            LedgerError::Crypto(format!(
                "the sealed key of {serial} does not open (tampered or moved between units)"
            ))
        })?;
        let mut key = Zeroizing::new([0u8; 16]);
        if plain.len() != 16 {
            return Err(LedgerError::Crypto(format!(
                "the sealed key of {serial} has the wrong size"
            )));
        }
        key.copy_from_slice(&plain);
        Ok(DeviceKey(key))
    }
}

/// The passphrase from `PAYGO_PASSPHRASE`, or asked on the terminal (twice when `confirm`).
/// Without either: [`LedgerError::NoPassphrase`].
pub fn passphrase_from_env_or_prompt(confirm: bool) -> Result<Passphrase, LedgerError> {
    env_or_prompt(
        "PAYGO_PASSPHRASE",
        "Ledger passphrase: ",
        confirm,
        LedgerError::NoPassphrase,
    )
}

/// A handover bundle's passphrase from `PAYGO_BUNDLE_PASSPHRASE`, or asked on the terminal
/// (twice when `confirm`). It is not the ledger passphrase of either side.
pub fn bundle_passphrase_from_env_or_prompt(confirm: bool) -> Result<Passphrase, LedgerError> {
    env_or_prompt(
        "PAYGO_BUNDLE_PASSPHRASE",
        "Bundle passphrase: ",
        confirm,
        super::BundleError::NoPassphrase.into(),
    )
}

fn env_or_prompt(
    var: &str,
    prompt: &str,
    confirm: bool,
    missing: LedgerError,
) -> Result<Passphrase, LedgerError> {
    use std::io::IsTerminal;
    if let Ok(p) = std::env::var(var) {
        if !p.is_empty() {
            return Ok(Passphrase::new(p));
        }
    }
    if !std::io::stdin().is_terminal() {
        return Err(missing);
    }
    let io = |e: std::io::Error| LedgerError::Io {
        context: "reading the passphrase".into(),
        message: e.to_string(),
    };
    let first = Passphrase::new(rpassword::prompt_password(prompt).map_err(io)?);
    if confirm {
        let second = Passphrase::new(rpassword::prompt_password("Again: ").map_err(io)?);
        if first.bytes() != second.bytes() {
            return Err(LedgerError::PassphraseMismatch);
        }
    }
    if first.bytes().is_empty() {
        return Err(missing);
    }
    Ok(first)
}
