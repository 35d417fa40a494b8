//! The dump/PEM/DER/source-literal extractor: any bytes a user can paste.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(found) = espcheck::cert::extract(data) {
        let chain = espcheck::cert::Chain::from_file(found.certs);
        let _ = espcheck::cert::advice::advise(&chain, 1_767_225_600);
    }
});
