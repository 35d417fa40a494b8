//! A firmware update pushed to the board that completed, in the firmware's words, and the
//! reboot it asks for: ESPHome (`OTA update successful!`, then `Performing OTA reboot now`),
//! ArduinoOTA's examples (`Progress: 100%`, `End`), the web updaters' `Update Success: 432112`
//! then `Rebooting...`, Tasmota's `Upgrade = Successful`. The image was received, written and
//! verified; the reboot into it is the update's last step, not a crash.

/// Whether a line shows an update being received (ArduinoOTA's `Progress: 42%`, `Start updating
/// sketch`): the examples' bare `End` only means the update's end after one.
pub(crate) fn progress(lower: &str) -> bool {
    let t = lower.trim();
    t.starts_with("start updating")
        || (t.starts_with("progress:") && t.ends_with('%'))
        || t.contains("ota in progress")
}

/// A completed update: what the firmware said, or `None`.
pub(crate) fn completed(text: &str, receiving: bool) -> Option<String> {
    let t = text.trim();
    // The web updaters' sketches print a dot per chunk before it: `....Update Success: 228624`.
    let body = t
        .rfind("]: ")
        .map_or(t, |i| &t[i + 3..])
        .trim()
        .trim_start_matches('.');
    let lower = body.to_ascii_lowercase();
    if lower.contains("fail") || lower.contains("not ") || lower.contains("error") {
        return None;
    }
    let said = lower.starts_with("ota update successful")
        || lower.starts_with("update success")
        || (lower.contains("upgrade") && lower.contains("successful"))
        || (receiving && lower == "end");
    said.then(|| format!("`{}`", body.chars().take(100).collect::<String>()))
}

/// The reboot the update asks for: `Performing OTA reboot now`, `Rebooting...`, `Restarting`.
pub(crate) fn reboot(lower: &str) -> bool {
    let t = lower.trim();
    let body = t.rfind("]: ").map_or(t, |i| &t[i + 3..]).trim();
    ["reboot", "restart"]
        .iter()
        .any(|w| body.starts_with(w) || body.starts_with(&format!("performing ota {w}")))
        || body.contains("successful. restarting")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_pushed_to_the_board_in_their_firmwares_words() {
        for (line, receiving) in [
            (
                "[22:45:57.805][I][web_server.ota:093]: OTA update successful!",
                false,
            ),
            ("[I][ota:126]: OTA update successful!", false),
            ("Update Success: 432112", false),
            (
                ".................................Update Success: 228624",
                false,
            ),
            ("00:01:12 RSLT: Upgrade = Successful. Restarting", false),
            ("End", true),
        ] {
            assert!(completed(line, receiving).is_some(), "{line}");
        }
        for (line, receiving) in [
            ("End", false),
            ("[E][ota:220]: OTA update failed", false),
            ("RSLT: Upgrade = Failed", false),
            (
                "[I][ota.esp8266:300]: OTA update staged: 0x0006B000 -> 0x00000",
                false,
            ),
        ] {
            assert!(completed(line, receiving).is_none(), "{line}");
        }
        assert!(progress("progress: 100%"));
        assert!(progress("start updating sketch"));
        assert!(!progress("progress: connecting"));
        assert!(reboot(
            "[22:45:57.891][i][web_server.ota:095]: performing ota reboot now"
        ));
        assert!(reboot("rebooting..."));
        assert!(reboot("[i][app:237]: rebooting saf"));
        assert!(!reboot("wifi connected, no reboot needed"));
    }
}
