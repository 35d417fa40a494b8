//! TLS at the edge: live chain capture with rustls, and judging a chain against trust anchors.

pub mod capture;
pub mod hello;
pub mod probe;
pub mod profile;
pub mod source;
pub mod trust;

pub use crate::target::Target;
pub use capture::{Capture, capture};
pub use source::{Acquired, Input, acquire};
pub use trust::TrustStore;
