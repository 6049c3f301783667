//! OpenPAYGO Token engine and PAYG device logic shared by the device firmware and the desktop.
//!
//! `no_std`, no allocation, no panics on any input. Time, storage and randomness come in
//! through arguments or traits; nothing here performs I/O.
//!
//! * [`token`]: the token math (SipHash chains), generation, parsing/formatting of token text
//!   and the device-side decoder with its used-count mask and chain checkpoints.
//! * [`app`]: the device application: the three below wired to a UART and a store.
//! * [`payg`]: the PAYG device state machine (activation time, lockout, keypad, tamper
//!   policy) and its persisted state.
//! * [`storage`]: power-loss-safe, CRC-checked record store for the device state over a
//!   small EEPROM-like [`storage::Store`] trait.
//! * [`protocol`]: the service line protocol over the UART (framing, requests, replies,
//!   key proofs), both the device side and the host side.
#![cfg_attr(not(any(test, feature = "std")), no_std)]

pub mod app;
mod error;
mod le;
pub mod payg;
pub mod protocol;
pub mod storage;
pub mod token;

pub use error::Error;
