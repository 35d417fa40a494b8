//! Certificates: the chain model, parsing of dumps/PEM/DER/source literals, fingerprints and pin
//! advice. Pure: bytes and `now` in, values out.
