//! A sketch's own word that the data it sends reached where it went: HTTPSRedirect's Google
//! Sheets example (`Successfully wrote: Hello` / `into spreadsheet.`), and the same sentence in
//! other sketches' words (`Successfully sent data to server`, `Data posted successfully`,
//! `Successfully uploaded 3 readings`). The sketch says so only after the server took the
//! data, so it is a pass (a later failure or crash still outranks it). A connection, a join or
//! a setup step that went well (`Successfully connected`, `Successfully initialised`) is not
//! the job, and any line that also says it failed is not read here.

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
        ] {
            assert_eq!(delivered(line), None, "{line}");
        }
    }
}
