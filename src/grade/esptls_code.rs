//! esp-tls's lines that name the `esp_err_t` a setup step returned, code and name both:
//! `esp-tls-mbedtls: Failed to set client configurations, returned [0x8017]
//! (ESP_ERR_MBEDTLS_SSL_SETUP_FAILED)` (and `server configurations`, on the board's own TLS
//! server). The numbers move between ESP-IDF versions (0x8017 is SSL_SETUP_FAILED in one and
//! X509_CRT_PARSE_FAILED is 0x8015 in another), so the name the line prints is what is read;
//! the code is kept, since it is what users search for.

/// The code (`0x8017`), the name, and what the name means, from a lowercased line.
pub(crate) fn returned(lower: &str) -> Option<(String, String, String)> {
    if !lower.contains("esp-tls") {
        return None;
    }
    let at = lower.find("returned [0x")?;
    let rest = &lower[at + "returned [".len()..];
    let (code, rest) = rest.split_once(']')?;
    let hex = code.get(2..)?;
    if hex.is_empty() || hex.len() > 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let name = rest
        .trim_start()
        .strip_prefix('(')?
        .split(')')
        .next()?
        .trim();
    if !name.starts_with("esp_err_")
        || name.len() <= "esp_err_".len()
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return None;
    }
    let name = name.to_ascii_uppercase();
    let meaning = match name.trim_start_matches("ESP_ERR_MBEDTLS_") {
        "SSL_SETUP_FAILED" => {
            "mbedTLS could not set up the TLS session (mbedtls_ssl_setup or the configuration \
             before it: no way to verify the server was given, or no heap for the TLS buffers)"
        }
        "X509_CRT_PARSE_FAILED" => {
            "the CA certificate esp-tls was given could not be parsed (a PEM without its \
             terminating NUL, a DER passed as PEM, or a cut-off file)"
        }
        "PK_PARSE_KEY_FAILED" => "the client's private key could not be parsed",
        "SSL_CONF_OWN_CERT_FAILED" => "the client's own certificate and key were refused",
        "SSL_SET_HOSTNAME_FAILED" => "the server's host name (SNI) could not be set",
        "SSL_CONFIG_DEFAULTS_FAILED" => "mbedTLS's default configuration could not be loaded",
        "CTR_DRBG_SEED_FAILED" => "the random number generator could not be seeded",
        _ => "a TLS setup step failed",
    };
    Some((code.to_owned(), name, meaning.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_and_the_name_as_printed() {
        for (line, code, word) in [
            (
                "E (1097) esp-tls-mbedtls: Failed to set client configurations, returned [0x8017] (ESP_ERR_MBEDTLS_SSL_SETUP_FAILED)",
                "0x8017",
                "could not set up",
            ),
            (
                "E (1486613) esp-tls-mbedtls: Failed to set client configurations, returned [0x8015] (ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED)",
                "0x8015",
                "CA certificate",
            ),
            (
                "2024-09-03 12:39:08.243717 (10.42.1.248): E (1224112) esp-tls-mbedtls: Failed to set server configurations, returned [0x801C] (ESP_ERR_MBEDTLS_SOMETHING_NEW)",
                "0x801C",
                "setup step",
            ),
        ] {
            let (c, _, why) =
                returned(&line.to_ascii_lowercase()).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(c, code.to_ascii_lowercase());
            assert!(why.contains(word), "{line}: {why}");
        }
        for line in [
            "E (1224122) esp-tls: create_ssl_handle failed",
            "E (100) app: returned [0x8017] (ESP_ERR_MBEDTLS_SSL_SETUP_FAILED)",
            "E (100) esp-tls-mbedtls: returned [0xZZ] (ESP_ERR_X)",
            "E (100) esp-tls-mbedtls: returned [0x8017] (not a name)",
            "E (100) esp-tls-mbedtls: mbedtls_ssl_setup returned -0x7f00",
        ] {
            assert!(returned(&line.to_ascii_lowercase()).is_none(), "{line}");
        }
    }
}
