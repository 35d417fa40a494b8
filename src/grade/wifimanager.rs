//! WiFiManager (tzapu's captive-portal library) saying its portal did its job: the board joined
//! the network a user gave it in the portal's form (`*wm:Connect to new AP [SUCCESS]`, with an
//! optional `[1] ` level, or 0.x's `*WM: ` tag). That provisioning session is what the log shows,
//! so it is a pass (a later failure or crash still outranks it). A join with saved credentials
//! (`AutoConnect: SUCCESS`, `Connection result: WL_CONNECTED`) is only the app's first step: the
//! app's own job after it decides. Its failures (`Connect to new AP [FAILED]`, 2.x's `[ERROR]
//! Connect to new AP Failed`) are the Wi-Fi rules' (`wifi_fail`): the station never joined.

/// The message of a WiFiManager debug line, past its `*wm:` and level.
fn message(text: &str) -> Option<&str> {
    let t = text.trim();
    let at = t.find("*wm:").or_else(|| t.find("*WM:"))?;
    let rest = t[at + 4..].trim_start();
    // 2.x's debug level: `*wm:[2] …`.
    let rest = match rest.strip_prefix('[') {
        Some(r) => match r.split_once(']') {
            Some((level, m)) if level.chars().all(|c| c.is_ascii_digit()) => m,
            _ => rest,
        },
        None => rest,
    };
    Some(rest.trim())
}

/// Why `text` says WiFiManager joined the network, or `None`.
pub(crate) fn joined(text: &str) -> Option<String> {
    if text.len() > 200 {
        return None;
    }
    let lower = message(text)?.to_ascii_lowercase();
    lower.starts_with("connect to new ap [success]").then(|| {
        format!(
            "WiFiManager's portal joined the network it was given (`{}`): the board is on that \
             Wi-Fi",
            text.trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wifimanagers_successes_are_read() {
        for line in [
            "*wm:Connect to new AP [SUCCESS] ",
            "*wm:[1] Connect to new AP [SUCCESS] ",
            "12:30:01.456 -> *wm:[2] Connect to new AP [SUCCESS]",
            "*WM: [1] Connect to new AP [SUCCESS]",
        ] {
            let why = joined(line).unwrap_or_else(|| panic!("not read: {line}"));
            assert!(why.contains("WiFiManager"), "{why}");
        }
    }

    #[test]
    fn its_failures_and_other_lines_are_not_successes() {
        for line in [
            "*wm:Connect to new AP [FAILED] ",
            "*wm:[1] AutoConnect: FAILED",
            // Saved credentials: the app's first step, not the job.
            "*wm:[1] AutoConnect: SUCCESS ",
            "*WM: [2] Connection result: WL_CONNECTED",
            "*wm:[2] Connection result: WL_CONNECT_FAILED",
            "*wm:Connecting to NEW AP: Routeur24",
            "*wm:4 networks found",
            "Connect to new AP [SUCCESS]",
            "[wm] Connect to new AP [SUCCESS]",
        ] {
            assert_eq!(joined(line), None, "{line}");
        }
    }
}
