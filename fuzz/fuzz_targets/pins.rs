//! The `check` pin extractor: any header, sketch, Rust module, PEM/DER file or IDF bundle a user
//! points `check` at.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(sets) = espcheck::check::read_pins(data) {
        assert!(!sets.is_empty(), "Ok means at least one pin set");
    }
});
