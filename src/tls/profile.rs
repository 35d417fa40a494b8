//! Board TLS profiles: the exact ClientHello each board sends (TLS 1.2, its cipher suites, groups
//! and signature algorithms), and the limits its TLS library puts on certificates.

use super::hello::ClientHello;

/// IANA code and name of every suite the profiles use.
const SUITE_NAMES: &[(u16, &str)] = &[
    (0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"),
    (0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"),
    (0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"),
    (0xC0AF, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"),
    (0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"),
    (0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
    (0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xC02D, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xC031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"),
    (0xC02E, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xC032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384"),
    (0xC025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xC029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256"),
    (0xC026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384"),
    (0xC02A, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384"),
    (0xC004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xC00E, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"),
    (0xC005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xC00F, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA"),
    (0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    (0xC09C, "TLS_RSA_WITH_AES_128_CCM"),
    (0xC09D, "TLS_RSA_WITH_AES_256_CCM"),
    (0xC0A0, "TLS_RSA_WITH_AES_128_CCM_8"),
    (0xC0A1, "TLS_RSA_WITH_AES_256_CCM_8"),
    (0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    (0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"),
    (0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"),
    (0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xC003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA"),
    (0xC00D, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
];

/// The IANA name of a suite, or its hex code.
pub fn suite_name(code: u16) -> String {
    SUITE_NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| (*n).to_owned())
        .unwrap_or_else(|| format!("0x{code:04X}"))
}

/// BearSSL's default list, `suites_P` in the esp8266 core's `WiFiClientSecureBearSSL.cpp`, copied
/// from BearSSL `ssl_client_full.c` (45 suites).
const ESP8266_SUITES: &[u16] = &[
    0xCCA9, 0xCCA8, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xC0AC, 0xC0AD, 0xC0AE, 0xC0AF, 0xC023, 0xC027,
    0xC024, 0xC028, 0xC009, 0xC013, 0xC00A, 0xC014, 0xC02D, 0xC031, 0xC02E, 0xC032, 0xC025, 0xC029,
    0xC026, 0xC02A, 0xC004, 0xC00E, 0xC005, 0xC00F, 0x009C, 0x009D, 0xC09C, 0xC09D, 0xC0A0, 0xC0A1,
    0x003C, 0x003D, 0x002F, 0x0035, 0xC008, 0xC012, 0xC003, 0xC00D, 0x000A,
];

/// `setCiphersLessSecure()` and the "Basic SSL ciphers" build: static-RSA AES-CBC only, so the
/// server needs an RSA leaf (esp8266 core `WiFiClientSecureBearSSL.cpp`, `faster_suites_P`).
const ESP8266_LESS_SECURE_SUITES: &[u16] = &[0x003D, 0x003C, 0x0035, 0x002F];

/// arduino-esp32's mbedTLS defaults: mbedTLS `ciphersuite_preference[]` (ssl_ciphersuites.c) with
/// what arduino-esp32's sdkconfig leaves out removed: no ChaCha20, no DHE, no Camellia/ARIA, no PSK
/// (mbedTLS as arduino-esp32 configures it).
const ESP32_SUITES: &[u16] = &[
    0xC02C, 0xC030, 0xC0AD, 0xC024, 0xC028, 0xC00A, 0xC014, 0xC0AF, 0xC02B, 0xC02F, 0xC0AC, 0xC023,
    0xC027, 0xC009, 0xC013, 0xC0AE, 0x009D, 0xC09D, 0x003D, 0x0035, 0xC0A1, 0xC032, 0xC02A, 0xC00F,
    0xC02E, 0xC026, 0xC005, 0x009C, 0xC09C, 0x003C, 0x002F, 0xC0A0, 0xC031, 0xC029, 0xC00E, 0xC02D,
    0xC025, 0xC004,
];

/// BearSSL: x25519 first, then P-256, P-384, P-521.
const BEARSSL_GROUPS: &[u16] = &[29, 23, 24, 25];
/// BearSSL: SHA-256/224/384/512/1 × {ECDSA, RSA}; no PSS, no Ed25519.
const BEARSSL_SIG_ALGS: &[u16] = &[
    0x0403, 0x0401, 0x0303, 0x0301, 0x0503, 0x0501, 0x0603, 0x0601, 0x0203, 0x0201,
];
/// mbedTLS 3 defaults for TLS 1.2.
const MBEDTLS_GROUPS: &[u16] = &[29, 23, 24, 25];
const MBEDTLS_SIG_ALGS: &[u16] = &[0x0603, 0x0601, 0x0503, 0x0501, 0x0403, 0x0401];

/// A board's TLS client, as a probe imitates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardProfile {
    /// `esp8266`, `esp8266-less-secure`, `esp32`.
    pub name: &'static str,
    /// Cipher suites in the board's order.
    pub suites: &'static [u16],
    groups: &'static [u16],
    sig_algs: &'static [u16],
    /// Largest RSA key the board verifies.
    pub max_rsa_bits: u32,
    /// mbedTLS rejects SHA-1-signed and sub-2048 RSA non-anchor certificates.
    pub strict_chain: bool,
    /// BearSSL asks for MFLN 512 on every default connection.
    pub requests_mfln: bool,
}

/// Every profile.
pub const PROFILES: &[BoardProfile] = &[
    BoardProfile {
        name: "esp8266",
        suites: ESP8266_SUITES,
        groups: BEARSSL_GROUPS,
        sig_algs: BEARSSL_SIG_ALGS,
        max_rsa_bits: 4096,
        strict_chain: false,
        requests_mfln: true,
    },
    BoardProfile {
        name: "esp8266-less-secure",
        suites: ESP8266_LESS_SECURE_SUITES,
        groups: BEARSSL_GROUPS,
        sig_algs: BEARSSL_SIG_ALGS,
        max_rsa_bits: 4096,
        strict_chain: false,
        requests_mfln: true,
    },
    BoardProfile {
        name: "esp32",
        suites: ESP32_SUITES,
        groups: MBEDTLS_GROUPS,
        sig_algs: MBEDTLS_SIG_ALGS,
        max_rsa_bits: 4096,
        strict_chain: true,
        requests_mfln: false,
    },
];

/// Look a profile up by name.
pub fn by_name(name: &str) -> Option<&'static BoardProfile> {
    PROFILES.iter().find(|p| p.name == name)
}

impl BoardProfile {
    /// The board's ClientHello to `sni`, optionally asking for a max fragment length code.
    pub fn hello<'a>(
        &self,
        sni: Option<&'a str>,
        mfln: Option<u8>,
        random: [u8; 32],
    ) -> ClientHello<'a>
    where
        Self: 'a,
    {
        ClientHello {
            suites: self.suites,
            sni,
            groups: self.groups,
            sig_algs: self.sig_algs,
            mfln,
            random,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_match_their_sources() {
        assert_eq!(
            ESP8266_SUITES.len(),
            45,
            "BearSSL's suites_P has 45 entries"
        );
        assert!(
            ESP8266_SUITES
                .iter()
                .all(|s| !suite_name(*s).starts_with("0x"))
        );
        assert!(
            ESP32_SUITES
                .iter()
                .all(|s| !suite_name(*s).contains("CHACHA"))
        );
        let mut sorted = ESP8266_SUITES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 45, "no duplicates");
        assert_eq!(by_name("esp32").map(|p| p.name), Some("esp32"));
    }
}
