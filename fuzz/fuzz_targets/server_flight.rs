//! The ServerHello/Certificate parser of `probe`: any bytes a server can send.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(flight) = espcheck::tls::hello::parse_flight(data) {
        let _ = flight.hello.as_ref().map(|h| h.mfln());
    }
});
