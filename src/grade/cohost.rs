//! A host chip whose Wi-Fi is a co-processor's (ESP-Hosted: an ESP32-P4 or another host over
//! SPI or SDIO to an ESP32-C6 or similar slave) and whose link to it did not come up. The host
//! has no network of its own, so nothing networked can work after it: a fault, unless a later
//! line shows the network up after all (the link came up on a retry).

/// Why the co-processor link failed, when the line says it did.
pub(crate) fn link_failed(text: &str, hosted_seen: bool) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let said = text.trim();
    let said = super::idf::log_body(said).unwrap_or(said);
    if lower.contains("not able to connect with esp-hosted slave")
        || lower.contains("failed to get esp_hosted slave transport up")
    {
        return Some(format!(
            "the host could not reach its ESP-Hosted Wi-Fi co-processor (`{said}`): the SPI or \
             SDIO link to the slave did not come up, so the host has no network; check the \
             wiring and the GPIOs set in menuconfig on both sides, that host and slave use the \
             same transport, and that the slave runs an ESP-Hosted build matching the host's"
        ));
    }
    // The SDIO bring-up of the slave timed out (0x107 is ESP_ERR_TIMEOUT). The same line on a
    // board with an SD card is the card's: only an ESP-Hosted log makes it the slave's.
    if hosted_seen && lower.contains("sdmmc_init_ocr") && lower.contains("returned 0x107") {
        return Some(format!(
            "the host's SDIO bring-up of the ESP-Hosted co-processor timed out (`{said}`, \
             ESP_ERR_TIMEOUT): the slave did not answer on SDIO, so the host has no network; \
             check that the slave is flashed with an SDIO ESP-Hosted build, its power and reset \
             line, and the SDIO wiring"
        ));
    }
    None
}

/// A line of ESP-Hosted's host driver (`H_SDIO_DRV`, `H_SPI_DRV`, `transport: …`, its banner).
pub(crate) fn hosted_line(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("esp-hosted")
        || lower.contains("esp_hosted")
        || lower.contains("h_sdio_drv")
        || lower.contains("h_spi_drv")
}

#[cfg(test)]
mod tests {
    use super::super::{GradeConfig, Profile, Verdict, grade_bytes};
    use super::*;

    #[test]
    fn the_host_that_cannot_reach_its_wifi_coprocessor_is_a_fault() {
        let r = grade_bytes(
            GradeConfig::new(Profile::Auto),
            b"E (226409) transport: Not able to connect with ESP-Hosted slave device\n",
        );
        assert_eq!(
            (r.verdict, r.exit_code),
            (Verdict::Fault, 5),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("co-processor"), "{}", r.reason);
        // The link came up on a retry and the board got on the network: not the verdict.
        let r = grade_bytes(
            GradeConfig::new(Profile::Auto),
            b"I (13590) transport: Not able to connect with ESP-Hosted slave device\n\
              I (15001) transport: Base transport is set-up\n\
              I (18000) esp_netif_handlers: sta ip: 192.168.1.7, mask: 255.255.255.0, gw: 192.168.1.1\n",
        );
        assert_ne!(r.verdict, Verdict::Fault, "{}", r.reason);
    }

    #[test]
    fn an_sdio_timeout_is_the_slaves_only_in_an_esp_hosted_log() {
        let line = "E (1735) sdmmc_common: sdmmc_init_ocr: send_op_cond (1) returned 0x107";
        assert!(link_failed(line, true).is_some_and(|w| w.contains("ESP_ERR_TIMEOUT")));
        assert_eq!(link_failed(line, false), None);
        assert_eq!(
            link_failed("I (3820) H_SDIO_DRV: Open data path at slave", true),
            None
        );
    }
}
