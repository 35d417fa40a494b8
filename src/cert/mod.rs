//! Certificates: the chain model, parsing of dumps/PEM/DER/source literals, fingerprints and pin
//! advice. Pure: bytes and `now` in, values out.

pub mod advice;
pub mod chain;
pub mod extract;
pub mod fingerprint;
pub mod model;
pub mod report;

pub use chain::{Chain, Entry, Role};
pub use extract::{ExtractError, Extracted, InputKind, extract};
pub use fingerprint::Fingerprint;
pub use model::{Certificate, KeyKind};
