//! OpenPAYGO Station back-end: everything the desktop app and the `paygo` CLI share.
//!
//! Plain Rust, no Tauri: the app's commands only unpack their arguments and call in here.
//! Token math lives in `firmware-core`; this crate adds host concerns (hex keys, fractional
//! days and dividers, token text for humans, JSON-friendly results).

pub mod device;
mod error;
#[cfg(feature = "flash")]
pub mod flash;
pub mod ledger;
pub mod link;
pub mod sim;
pub mod station;
pub mod time;
pub mod token;

pub use error::{Error, ErrorJson};
