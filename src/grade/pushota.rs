//! A firmware update pushed to the board that completed, in the firmware's words, and the
//! reboot it asks for: ESPHome (`OTA update successful!`, then `Performing OTA reboot now`),
//! ArduinoOTA's examples (`Progress: 100%`, `End`), the web updaters' `Update Success: 432112`
//! then `Rebooting...`, Tasmota's `Upgrade = Successful`. The image was received, written and
//! verified; the reboot into it is the update's last step, not a crash.
//!
//! The same updaters' end-of-update failure, once an upload was seen starting: ElegantOTA's
//! example `onEnd` callback (`There was an error during OTA update!`, or a sketch's own `Update
//! failed.`), a web updater's `Update Failed`. The board received the upload and did not take it:
//! the update's answer is no (exit 1).

/// Whether a line shows an update being received (ArduinoOTA's `Progress: 42%`, `Start updating
/// sketch`): the examples' bare `End` only means the update's end after one.
pub(crate) fn progress(lower: &str) -> bool {
    let t = lower.trim();
    t.starts_with("start updating")
        || (t.starts_with("progress:") && t.ends_with('%'))
        || t.contains("ota in progress")
        // ElegantOTA's and its examples' start of an upload; Arduino-ESP32's `Update.begin`.
        || t.starts_with("[elegantota]")
        || t.starts_with("[asyncelegantota]")
        || t.starts_with("ota update started")
        || t.contains("begin(): ota partition")
}

/// An upload that was received (see [`progress`]) and then failed at its end: why, quoting the
/// line, or `None`. Not HTTPUpdate's `Update failed` (a pulled update, whose next line says why).
pub(crate) fn failed(text: &str, receiving: bool) -> Option<String> {
    let t = text.trim();
    if !receiving || t.len() > 200 {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    if lower.contains("httpupdate") {
        return None;
    }
    // Past an Arduino-ESP32 log tag's `func(): `, or a library's own `[ElegantOTA] `.
    let tag_end = ["]: ", "(): "]
        .iter()
        .filter_map(|p| lower.rfind(p).map(|i| i + p.len()))
        .max();
    let body = match tag_end {
        Some(i) => &lower[i..],
        None if lower.starts_with('[') => lower.split_once(']').map_or("", |(_, m)| m),
        None => lower.as_str(),
    }
    .trim();
    let said = [
        "update failed",
        "ota update failed",
        "ota failed",
        "update error",
        "ota error",
        "there was an error during ota update",
        "failed to end update",
    ]
    .iter()
    .any(|w| body.starts_with(w));
    said.then(|| {
        format!(
            "the update uploaded to the board did not happen: `{t}`: the updater did not take \
             the image at its end (a cut upload, an image for another board, or one larger \
             than the OTA partition)"
        )
    })
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
        assert!(progress("[elegantota]  ota mode: firmware"));
        assert!(progress(
            "[ 28616][d][updater.cpp:133] begin(): ota partition: app0"
        ));
        assert!(progress("start updating sketch"));
        assert!(!progress("progress: connecting"));
        assert!(reboot(
            "[22:45:57.891][i][web_server.ota:095]: performing ota reboot now"
        ));
        assert!(reboot("rebooting..."));
        assert!(reboot("[i][app:237]: rebooting saf"));
        assert!(!reboot("wifi connected, no reboot needed"));
    }

    #[test]
    fn an_uploads_failure_at_its_end_is_the_updates_no() {
        for line in [
            "Update failed. <-- callback function onEnd",
            "There was an error during OTA update!",
            "[ElegantOTA] Update Failed",
            "[ 30211][E][main.cpp:88] onOTAEnd(): OTA update failed",
            "OTA Error",
        ] {
            let why = failed(line, true).unwrap_or_else(|| panic!("not read: {line}"));
            assert!(
                why.contains(line.trim()) && why.contains("did not happen"),
                "{why}"
            );
        }
        for (line, receiving) in [
            // No upload seen: a bare `Update failed` may be anything's.
            ("Update failed.", false),
            // A pulled update's own line, and words that are not the update's end.
            ("[httpUpdate] Update failed", true),
            ("OTA update finished successfully!", true),
            ("Display update failed", true),
            ("[ElegantOTA] Update Successful", true),
        ] {
            assert_eq!(failed(line, receiving), None, "{line}");
        }
    }
}
