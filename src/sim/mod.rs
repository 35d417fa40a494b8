//! Placeholder; filled in by its issue.
pub mod device;
pub mod image;
