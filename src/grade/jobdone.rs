//! A sketch's own word that the data it sends reached where it went: HTTPSRedirect's Google
//! Sheets example (`Successfully wrote: Hello` / `into spreadsheet.`), and the same sentence in
//! other sketches' words (`Successfully sent data to server`, `Data posted successfully`,
//! `Successfully uploaded 3 readings`). The sketch says so only after the server took the
//! data, so it is a pass (a later failure or crash still outranks it). A connection, a join or
//! a setup step that went well (`Successfully connected`, `Successfully initialised`) is not
//! the job, and any line that also says it failed is not read here.

/// A board's own word that data came to it over the network, or that its cloud client is
/// connected: a UDP listener's `Received packet! Size: 36` (the WiFiUdp examples' `Received 36
/// bytes from 192.168.1.5, port 4210`), the Azure IoT SDK for C's `>>>Connection status:
/// connected` and `>>>Received Message [0]`. Why, or `None`.
pub(crate) fn arrived(text: &str) -> Option<String> {
    let t = text.trim().trim_start_matches("Info: ").trim();
    let lower = t.to_ascii_lowercase();
    if t.len() > 160 || lower.contains("fail") || lower.contains("error") {
        return None;
    }
    let size = super::libdiag::number_after(&lower, "size:")
        .or_else(|| super::libdiag::number_after(&lower, "received "));
    let packet = lower.starts_with("received packet")
        || (lower.starts_with("received ") && lower.contains(" bytes from "));
    if packet && size.is_some_and(|n| n > 0) {
        return Some(format!(
            "the board received data over the network (`{t}`): the link works"
        ));
    }
    let azure = lower.starts_with(">>>connection status: connected")
        || lower.starts_with(">>>received message");
    azure
        .then(|| format!("the Azure IoT SDK says the hub is reached (`{t}`): the connection works"))
}

/// What a line says toward a weak outcome: one read only at the log's end when nothing else
/// decided, since it is often a step before the job (a time sync, a join) or a state that may
/// not hold (a client of the board's API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Weak {
    /// It worked, and why.
    Up(String),
    /// What worked before no longer holds.
    Down,
}

/// The weak outcome `text` says, if any: an NTP time, ESP-IDF's Wi-Fi station example's last
/// line (`wifi station: connected to ap SSID:myssid password:…`, its whole job), ESPHome's
/// native API taking Home Assistant (`Home Assistant 2024.6.3 (192.168.1.10): Connected
/// successfully`) and that connection closing.
pub(crate) fn weak(text: &str) -> Option<Weak> {
    let t = text.trim();
    if t.len() > 200 {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    if lower.contains("[api.connection") {
        if lower.trim_end().ends_with("connected successfully") {
            return Some(Weak::Up(format!(
                "ESPHome's native API took Home Assistant's connection (`{t}`): the device is on \
                 the network and serving"
            )));
        }
        if lower.contains("connection closed") || lower.contains("disconnected") {
            return Some(Weak::Down);
        }
    }
    // esp_http_client's event handler in the examples: the response read to its end; an
    // error event after it takes it back.
    if t.contains("HTTP_EVENT_ON_FINISH") {
        return Some(Weak::Up(format!(
            "esp_http_client read the server's whole response (`{t}`): the server answered; the \
             app prints no status, so a 2xx is not proven"
        )));
    }
    if t.contains("HTTP_EVENT_ERROR") {
        return Some(Weak::Down);
    }
    // A soft AP's client: ESP-IDF's `esp_netif_lwip: DHCP server assigned IP to a client, IP
    // is: 192.168.4.2` (5.x; 4.x's `dhcps: … assigned`), the softAP example's `wifi softAP:
    // station 11:22:33:44:55:66 join, AID=1`; its `… leave, AID=1` takes it back.
    if lower.contains("assigned ip to a client")
        || (lower.contains("wifi softap: station ") && lower.contains(" join, aid="))
    {
        return Some(Weak::Up(format!(
            "a client joined the board's soft access point (`{t}`): its AP is up and serving"
        )));
    }
    if lower.contains("wifi softap: station ") && lower.contains(" leave, aid=") {
        return Some(Weak::Down);
    }
    if let Some(at) = lower.find("wifi station: connected to ap ssid:") {
        let quoted = t[..at + "wifi station: connected to ap ssid:".len()].to_owned();
        return Some(Weak::Up(format!(
            "ESP-IDF's Wi-Fi station example joined its access point (`{quoted}…`): that is its \
             whole job"
        )));
    }
    // An app built on the example, going on under its tag to a job of its own.
    if lower.contains("wifi station: ") {
        return Some(Weak::Down);
    }
    time_synced(t).map(Weak::Up)
}

/// A line that says the board got the time from an NTP server, and why.
fn time_synced(t: &str) -> Option<String> {
    if t.len() > 160 {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    if ntp_synced(&lower) {
        return Some(format!(
            "the board got the time from an NTP server (`{t}`): UDP to the time server works"
        ));
    }
    let when = ntp_epoch(&lower)?;
    Some(format!(
        "the board got the time from an NTP server (`{t}`: {when} UTC): UDP to the time server \
         works"
    ))
}

/// A firmware's own word that an NTP sync finished: OSW's `[NTP] Update finished (time of
/// 1657578106)!`, `NTP time synced`, `SNTP synchronized`. Not a sync started or waited for.
fn ntp_synced(lower: &str) -> bool {
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let ntp = words.iter().any(|w| matches!(*w, "ntp" | "sntp"));
    let done = words.iter().any(|w| {
        matches!(
            *w,
            "finished" | "synced" | "synchronized" | "synchronised" | "successful" | "successfully"
        )
    });
    let denied = [
        "fail",
        "error",
        "not ",
        "timeout",
        "timed out",
        "waiting",
        "retry",
    ];
    ntp && done && !denied.iter().any(|d| lower.contains(d))
}

/// NTPClient's examples' `Epoch Time: 1622834371` (`getEpochTime()`): before its first answer
/// the library counts from 0, so an epoch past 2001 came from a server. An epoch from
/// 2036-02-07 06:28:16 on is the 32-bit subtraction of 1900's offset from a reply whose seconds
/// were about 0 (an empty or garbled packet), not a time. The date it gives.
fn ntp_epoch(lower: &str) -> Option<String> {
    const WRAPPED: i64 = (1 << 32) - 2_208_988_800;
    let rest = lower.strip_prefix("epoch time:")?.trim();
    let n: i64 = rest.parse().ok()?;
    if !(1_000_000_000..WRAPPED).contains(&n) {
        return None;
    }
    let at = time::OffsetDateTime::from_unix_timestamp(n).ok()?;
    Some(format!("{} {:02}:{:02}", at.date(), at.hour(), at.minute()))
}

/// The verbs that say the data went out and was taken.
const DELIVERED: [&str; 10] = [
    "wrote",
    "written",
    "sent",
    "posted",
    "uploaded",
    "published",
    "logged",
    "pushed",
    "inserted",
    "appended",
];

/// Why `text` says the sketch's data reached its server, or `None`.
pub(crate) fn delivered(text: &str) -> Option<String> {
    let t = text.trim();
    if t.len() > 160 {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    // A host tool's own report of flashing the board (ESPHome's `INFO Successfully uploaded
    // program.`) is not the board's job.
    if lower.starts_with("info ") || lower.contains("uploaded program") {
        return None;
    }
    let denied = [
        "fail",
        "error",
        "not ",
        "unsuccess",
        "n't",
        "0 bytes",
        "nothing",
    ];
    if denied.iter().any(|w| lower.contains(w)) {
        return None;
    }
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    // `successfully` right before or (past one noun) after the verb, near the line's start.
    let said = words.iter().take(8).enumerate().any(|(i, w)| {
        DELIVERED.contains(w)
            && (i.checked_sub(1).and_then(|j| words.get(j)) == Some(&"successfully")
                || words.get(i + 1) == Some(&"successfully"))
    });
    said.then(|| format!("the sketch says its data was delivered (`{t}`): the job worked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_that_arrived_over_the_network() {
        for l in [
            "Received packet! Size: 36",
            "Received 12 bytes from 192.168.1.5, port 4210",
            "Info: >>>Connection status: connected",
            "Info: >>>Received Message [0], Size=25 Message {\"hello\":1}",
        ] {
            assert!(arrived(l).is_some(), "{l}");
        }
        for l in [
            "Received packet! Size: 0",
            "Received 0 bytes from 192.168.1.5",
            "Info: >>>Connection status: disconnected",
            "Received packet failed, size: 4",
        ] {
            assert_eq!(arrived(l), None, "{l}");
        }
    }

    #[test]
    fn a_time_from_an_ntp_server() {
        for l in [
            "Epoch Time: 1622834371",
            "src/services/OswServiceTaskWiFi.cpp: [NTP] Update finished (time of 1657578106)!",
            "NTP time synced",
        ] {
            assert!(time_synced(l).is_some(), "{l}");
        }
        assert!(
            time_synced("Epoch Time: 1622834371").is_some_and(|w| w.contains("2021-06-04 19:19"))
        );
        for l in [
            "Epoch Time: 3600",
            // The 32-bit wrap of a reply whose seconds were about 0.
            "Epoch Time: 2085985755",
            "Epoch Time: soon",
            "[NTP] Started update...",
            "NTP sync failed, retrying",
            "Waiting for NTP to be synchronized",
        ] {
            assert_eq!(time_synced(l), None, "{l}");
        }
    }

    #[test]
    fn weak_outcomes_and_what_takes_them_back() {
        let up = |l: &str| matches!(weak(l), Some(Weak::Up(_)));
        assert!(up(
            "[14:00:10][D][api.connection:917]: Home Assistant 2022.10.2 (::FFFF:10.0.50.13): Connected successfully"
        ));
        assert!(up(
            "I (3422) wifi station: connected to ap SSID:myssid password:mypassword"
        ));
        assert!(
            matches!(weak("I (3422) wifi station: connected to ap SSID:myssid password:secret"), Some(Weak::Up(w)) if !w.contains("secret"))
        );
        assert!(up("NTP time synced"));
        assert!(up("I (4600) HTTP_CLIENT: HTTP_EVENT_ON_FINISH"));
        assert_eq!(weak("I (4600) example: HTTP_EVENT_ERROR"), Some(Weak::Down));
        assert!(up(
            "I (9100) esp_netif_lwip: DHCP server assigned IP to a client, IP is: 192.168.4.2"
        ));
        assert!(up(
            "I (9000) wifi softAP: station 11:22:33:44:55:66 join, AID=1"
        ));
        assert_eq!(
            weak("I (9900) wifi softAP: station 11:22:33:44:55:66 leave, AID=1"),
            Some(Weak::Down)
        );
        assert_eq!(
            weak(
                "[14:00:35][W][api.connection:083]: Home Assistant 2022.10.2 (::FFFF:10.0.50.13): Connection closed"
            ),
            Some(Weak::Down)
        );
        assert_eq!(
            weak("I (3662) wifi station: Connecting to MQTT"),
            Some(Weak::Down)
        );
    }

    #[test]
    fn a_sketchs_word_that_its_data_was_delivered() {
        for line in [
            "Successfully wrote: Hello",
            "Successfully sent data to server",
            "Data posted successfully",
            "Data sent successfully!",
            "10:01:02.003 -> Successfully uploaded 3 readings",
            "Successfully published to topic sensors/1",
        ] {
            let why = delivered(line).unwrap_or_else(|| panic!("not read: {line}"));
            assert!(why.contains(line.trim()), "{why}");
        }
    }

    #[test]
    fn other_successes_and_failures_are_not_deliveries() {
        for line in [
            "Successfully connected to WiFi",
            "Successfully initialised SD card",
            "Data not sent successfully",
            "Unsuccessfully sent",
            "Successfully sent 0 bytes",
            "Failed: data sent successfully? no",
            "We tried to send it successfully",
            "Sent",
            // ESPHome's CLI on the host, after flashing.
            "INFO Successfully uploaded program.",
        ] {
            assert_eq!(delivered(line), None, "{line}");
        }
    }
}
