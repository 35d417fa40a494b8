//! The ESP8266 core's updater refusing an update: `Updater`'s own `ERROR[1]: Flash Write Failed`
//! (its `printError`), ESPhttpUpdate's `HTTP_UPDATE_FAILD Error (1): Update error: …` for the
//! same codes, and ArduinoOTA's `Update Begin Error` and its examples' `Error[4]: End Failed`.
//! Arduino-ESP32's `Update` prints the same errors bare (`Flash Write Failed`), and ESP-IDF apps
//! report their `esp_ota_ops` calls failing (`esp_ota_write failed`, `OTA update failed in OTA
//! Write`). The update did not happen because the device refused or could not store the image:
//! the answer is no (exit 1), not a connection fault, as with an ESP-IDF OTA image that fails
//! verification.

/// What `Updater`'s error message (as its `printError` words it, on every core since 2.0) says
/// went wrong on the device. `None` for the ones that are the network's (a stream that stopped
/// arriving) or not an error.
fn device_error(msg: &str) -> Option<&'static str> {
    let m = msg.trim().trim_end_matches(['.', '!']).to_ascii_lowercase();
    Some(match m.as_str() {
        "flash write failed" => "the image could not be written to flash",
        "flash erase failed" => "the flash sector for the image could not be erased",
        "flash read failed" => "the image could not be read back from flash",
        "not enough space" => "the image is larger than the free flash space for it",
        "bad size given" => "the image size is not one the updater takes",
        "md5 failed" | "md5 check failed" => {
            "the image's MD5 is not the one announced (a corrupted or cut download)"
        }
        "magic byte is wrong, not 0xe9" => "the file is not a firmware image",
        "signature verification failed" => "the image's signature did not verify",
        "no data supplied" => "the update ended with no image data",
        "wrong magic byte" => "the file is not a firmware image",
        "could not activate the firmware" => {
            "the new image could not be made the one to boot (its partition did not validate)"
        }
        "partition could not be found" => "the partition table has no OTA partition for the image",
        m if m.starts_with("flash config wrong") || m.starts_with("new flash config wrong") => {
            "the image was built for another flash size or mode than this board's"
        }
        m if m.starts_with("invalid bootstrapping state") => {
            "the board was not reset after being flashed over serial (reset it once by hand \
             before updating over the air)"
        }
        _ => return None,
    })
}

/// ArduinoOTA's errors, as its examples (`Error[%u]: `, or a sketch's `Update Error[%u]: `) and
/// its own debug line (`Update Begin Error`) print them: the ones where the device refused.
/// `Connect Failed` and `Receive Failed` are the network's and left to the connection rules.
/// Why, and what the reason quotes.
fn arduino_ota(t: &str) -> Option<(&'static str, &str)> {
    if t.eq_ignore_ascii_case("update begin error") {
        return Some((
            "ArduinoOTA could not begin the update: the image does not fit the free flash space \
             (or the flash size the sketch was built for is wrong)",
            t,
        ));
    }
    let (msg, said) = ota_error(t)?;
    let why = match msg.as_str() {
        "begin failed" => {
            "the updater could not begin: the image does not fit the free flash space (or the \
             flash size the sketch was built for is wrong)"
        }
        "end failed" => {
            "the updater could not finish: the image did not verify at the end (a cut or \
             corrupted upload, or a file that is not an image for this board)"
        }
        "auth failed" => "the OTA password was refused",
        _ => return None,
    };
    Some((why, said))
}

/// An ArduinoOTA error line (`Error[2]: Connect Failed`, a sketch's `Update Error[4]: End
/// Failed`) when the code is a number: its message in lower case, and what the reason quotes.
/// A line whose breaks a paste lost may carry it inside (`…sleep disable Error[1]: Begin Failed
/// 0;255;3;0;9;read: …`, a MySensors gateway's log run together): then the message is one of
/// ArduinoOTA's own, its two words, and the quote is that error alone.
fn ota_error(t: &str) -> Option<(String, &str)> {
    let lower = t.to_ascii_lowercase();
    let at_start = lower
        .strip_prefix("update error[")
        .or_else(|| lower.strip_prefix("error["));
    let (rest, inside_at) = match at_start {
        Some(rest) => (rest, None),
        None => {
            let at = lower.find(" error[")?;
            (&lower[at + 7..], Some(at + 1))
        }
    };
    let (code, after) = rest.split_once("]:")?;
    code.trim().parse::<u8>().ok()?;
    let msg = after.trim();
    let Some(at) = inside_at else {
        return Some((msg.to_owned(), t));
    };
    const OWN: [&str; 5] = [
        "auth failed",
        "begin failed",
        "connect failed",
        "receive failed",
        "end failed",
    ];
    let own = OWN.iter().find(|m| msg.starts_with(**m))?;
    // `after` ends the line, and ASCII lower case keeps every byte where it was: the offsets
    // hold in `t`.
    let msg_at = lower.len() - after.trim_start().len();
    Some(((*own).to_owned(), t.get(at..msg_at + own.len())?))
}

/// ArduinoOTA's network errors, as its examples print them: `Error[2]: Connect Failed` (the
/// board could not open the TCP connection back to the uploader, which listens on the host
/// for it) and `Error[3]: Receive Failed` (the image stopped arriving). A connection fault:
/// the `End Failed` that follows is its consequence, not a refusal by the updater.
pub(crate) fn ota_network(text: &str) -> Option<String> {
    let (msg, said) = ota_error(text.trim())?;
    let why = match msg.as_str() {
        "connect failed" => {
            "ArduinoOTA could not open the TCP connection back to the uploader: the board \
             connects to a port that espota (or the IDE) listens on, on the host; a firewall on \
             the host, or a host address the board cannot route to, stops it"
        }
        "receive failed" => {
            "the image stopped arriving during the ArduinoOTA upload (the Wi-Fi link or the \
             uploader dropped the connection)"
        }
        _ => return None,
    };
    Some(format!("the update did not happen: `{said}`: {why}"))
}

/// An app's report that one of ESP-IDF's OTA writer calls (`esp_ota_ops`) failed: the device
/// could not take the image. Not `esp_https_ota_*`, whose failures are mostly the download's,
/// nor a line that blames the network.
fn ota_ops(lower: &str) -> Option<&'static str> {
    const NETWORK: [&str; 9] = [
        "https_ota",
        "connect",
        "http",
        "download",
        "read",
        "recv",
        "timeout",
        "socket",
        "dns",
    ];
    let failed = lower.contains("fail") || lower.contains("error") || lower.contains("err=");
    if !failed || NETWORK.iter().any(|w| lower.contains(w)) {
        return None;
    }
    const CALLS: [(&[&str], &str); 4] = [
        (
            &["esp_ota_begin", "ota begin"],
            "the OTA partition could not be opened for the image (no OTA partition in the \
             table, or the image is larger than it)",
        ),
        (
            &["esp_ota_write", "ota write"],
            "the image could not be written to the OTA partition",
        ),
        (
            &["esp_ota_end", "ota end"],
            "the written image did not validate",
        ),
        (
            &["esp_ota_set_boot_partition", "set boot partition"],
            "the new image could not be made the boot partition",
        ),
    ];
    CALLS
        .iter()
        .find(|(names, _)| names.iter().any(|n| lower.contains(n)))
        .map(|(_, why)| *why)
}

/// A library's or sketch's report that `Update.write` failed on a chunk it was given (ThingsBoard's
/// `[TB] Error during Update.write`, a sketch's `Update.write failed!`, `Update.write() error`):
/// the updater wrote less than the chunk, so the image could not be stored. Not HTTPUpdate's
/// `Update.writeStream failed!`, whose cause (often a stream that stopped) its own error names.
fn write_failed(lower: &str) -> bool {
    let Some(at) = lower.find("update.write") else {
        return false;
    };
    let after = &lower[at + "update.write".len()..];
    if after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return false;
    }
    let words = |w: &str| lower.contains(w);
    (words("fail") || words("error")) && !words("no error") && !words("timeout")
}

/// The updater refused the update this line reports: why, in words, quoting the line.
pub(crate) fn refused(text: &str) -> Option<String> {
    let t = text.trim();
    if t.len() < 200 && write_failed(&t.to_ascii_lowercase()) {
        return Some(format!(
            "the update did not happen: `{t}`: `Update.write` could not store a chunk of the \
             image in flash (the image is larger than the OTA partition, the flash failed, or \
             `Update.begin` was not called with room for it)"
        ));
    }
    if let Some((why, said)) = arduino_ota(t) {
        return Some(format!("the update did not happen: `{said}`: {why}"));
    }
    // Arduino-ESP32's `Update.printError` prints the error's words alone on a line.
    if let Some(why) = device_error(t) {
        return Some(format!(
            "the update did not happen: the updater said `{t}`: {why}"
        ));
    }
    // ESPhttpUpdate's own check before it writes: `[httpUpdate] FreeSketchSpace to low
    // (172032) needed: 265920` (its spelling).
    if t.len() < 200 && t.to_ascii_lowercase().contains("freesketchspace to low") {
        return Some(format!(
            "the update did not happen: `{t}`: the new image is larger than the free sketch \
             space, so HTTPUpdate refused it before writing (a smaller build, or a flash layout \
             with a larger OTA area)"
        ));
    }
    if let Some(why) = ota_ops(&t.to_ascii_lowercase()) {
        return Some(format!("the OTA update did not happen: `{t}`: {why}"));
    }
    // Updater's `printError`: `ERROR[1]: Flash Write Failed`; ESPhttpUpdate repeats it as
    // `[httpUpdate] Update.writeStream failed! (ERROR[1]: Flash Write Failed)`.
    let lower = t.to_ascii_lowercase();
    if let Some(at) = lower.find("error[") {
        let rest = &t[at + 6..];
        let (code, msg) = rest.split_once("]:")?;
        code.trim().parse::<u8>().ok()?;
        let msg = msg.trim().trim_end_matches(')').trim();
        let why = device_error(msg)?;
        return Some(format!(
            "the update did not happen: the updater refused the image with `ERROR[{}]: {msg}`: \
             {why}",
            code.trim()
        ));
    }
    // ESPhttpUpdate's result for the updater's own (positive) codes: `HTTP_UPDATE_FAILD Error
    // (1): Update error: Flash Write Failed`.
    let (code, _) = super::httpclient::update_error(&lower).filter(|(c, _)| *c > 0)?;
    // ASCII lower case keeps every byte where it was: the offset holds in `t`.
    let at = lower.find("update error:")? + "update error:".len();
    let msg = t.get(at..)?.trim();
    let why = device_error(msg)?;
    Some(format!(
        "the update did not happen: HTTPUpdate error {code}, `{msg}`: {why}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_updaters_refusals_name_its_error() {
        for (line, word) in [
            ("Update Begin Error", "Update Begin Error"),
            ("Update Error[4]: End Failed", "End Failed"),
            ("Error[1]: Begin Failed", "Begin Failed"),
            (
                "[httpUpdate] FreeSketchSpace to low (172032) needed: 265920",
                "FreeSketchSpace to low",
            ),
            ("Error[0]: Auth Failed", "password"),
            (
                "0;255;3;0;9;read: 1-1-0 s=1,c=1,t=1 sleep disable Error[1]: Begin Failed \
                 0;255;3;0;9;read: 1-1-0 s=2",
                "`Error[1]: Begin Failed`: the updater could not begin",
            ),
            (
                "ERROR[1]: Flash Write Failed",
                "ERROR[1]: Flash Write Failed",
            ),
            (
                "[httpUpdate] Update.writeStream failed! (ERROR[4]: Not Enough Space)",
                "ERROR[4]: Not Enough Space",
            ),
            (
                "HTTP_UPDATE_FAILD Error (10): Update error: Magic byte is wrong, not 0xE9",
                "Magic byte",
            ),
            // Arduino-ESP32's Update.printError, and ESP-IDF apps' esp_ota_ops reports.
            ("Flash Write Failed", "Flash Write Failed"),
            ("Could Not Activate The Firmware", "boot"),
            (
                "E (9931230) FW_CMD: OTA update failed in OTA Write",
                "written to the OTA partition",
            ),
            (
                "E (4523) ota: esp_ota_write failed! err=0x104",
                "esp_ota_write",
            ),
            (
                "E (812) native_ota_example: esp_ota_begin failed (ESP_ERR_OTA_PARTITION_CONFLICT)",
                "OTA partition",
            ),
            (
                "E (77012) app: esp_ota_set_boot_partition failed (ESP_ERR_OTA_VALIDATE_FAILED)!",
                "boot partition",
            ),
            // A library's or sketch's own word that a chunk could not be written.
            ("[TB] Error during Update.write", "Update.write"),
            ("Update.write failed!", "Update.write"),
            (
                "[OTA] Update.write() error, written 0 of 4096",
                "Update.write",
            ),
            ("> 12:01:02.345 -> Update.write FAILED", "Update.write"),
        ] {
            let why = refused(line).unwrap_or_else(|| panic!("not read: {line}"));
            assert!(why.contains(word), "{line}: {why}");
            assert!(why.contains("did not happen"), "{line}: {why}");
        }
    }

    #[test]
    fn arduino_otas_network_errors_are_the_connections() {
        for (line, word) in [
            (
                "Error[2]: Connect Failed",
                "could not open the TCP connection",
            ),
            ("Update Error[3]: Receive Failed", "stopped arriving"),
        ] {
            let why = ota_network(line).unwrap_or_else(|| panic!("not read: {line}"));
            assert!(
                why.contains(word) && why.contains(line.trim()),
                "{line}: {why}"
            );
        }
        for line in [
            "Error[4]: End Failed",
            "Error[x]: Connect Failed",
            "Connect Failed",
            "the log says Error[2]: Connected fine",
        ] {
            assert_eq!(ota_network(line), None, "{line}");
        }
    }

    #[test]
    fn network_errors_of_an_update_are_not_refusals() {
        for line in [
            "Error[2]: Connect Failed",
            "Error[3]: Receive Failed",
            "ERROR[6]: Stream Read Timeout",
            "HTTP_UPDATE_FAILED Error (6): Update error: Stream Read Timeout",
            "HTTP_UPDATE_FAILD Error (-1): HTTP error: connection refused",
            "[httpUpdate] Update failed",
            "Error[x]: End Failed",
            "E (5123) esp_https_ota: esp_https_ota_begin failed",
            "E (9000) ota: esp_ota_write failed: data read error",
            "I (10029207) FW_cMD: ESP OTA begin start",
            "Stream Read Timeout",
            // Not a failed write: a success, the stream's own failure, another call's name.
            "[TB] Update.write ok (4096 bytes)",
            "[httpUpdate] Update.writeStream failed! (ERROR[6]: Stream Read Timeout)",
            "Update.writeAsync error",
            "Update.write: no error",
        ] {
            assert_eq!(refused(line), None, "{line}");
        }
    }
}
