//! TLS at the edge: live chain capture with rustls.
