//! The ServerHello/Certificate parser of `probe`: any bytes a server can send, then the pure
//! judge every board profile runs on the parsed flight (which parses the certificates).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(flight) = espcheck::tls::hello::parse_flight(data) {
        let _ = flight.hello.as_ref().map(|h| h.mfln());
        let _ = flight.alert.map(|a| a.name());
        for profile in espcheck::tls::profile::PROFILES {
            let _ = espcheck::tls::probe::judge(profile, &flight, true, false, false);
            let _ = espcheck::tls::probe::judge(profile, &flight, false, true, true);
        }
    }
});
