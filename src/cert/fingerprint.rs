//! Fingerprints (digests over a certificate's DER) and the textual forms the boards accept.

use std::fmt;

/// A digest over DER bytes: SHA-1 (20 bytes) or SHA-256 (32 bytes).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(Vec<u8>);

impl Fingerprint {
    /// Wrap digest bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Fingerprint(bytes)
    }

    /// The raw digest.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// `CF:05:98:…`: for `setFingerprint`, and the JSON form.
    pub fn colon(&self) -> String {
        self.join(":")
    }

    /// `CF 05 98 …`: for the legacy `verify(fingerprint, host)`.
    pub fn spaced(&self) -> String {
        self.join(" ")
    }

    /// `CF0598…`.
    pub fn plain(&self) -> String {
        hex::encode_upper(&self.0)
    }

    fn join(&self, sep: &str) -> String {
        let mut out = String::with_capacity(self.0.len() * 3);
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(&format!("{b:02X}"));
        }
        out
    }

    /// Read a fingerprint as people write it: hex pairs separated by colons, spaces, dashes or
    /// nothing, any case, optionally prefixed `sha1=`/`SHA256 Fingerprint=` as openssl prints.
    /// Returns `None` unless it is exactly 20 or 32 bytes.
    pub fn parse_lenient(text: &str) -> Option<Self> {
        let t = text.trim();
        let t = t.rsplit_once('=').map_or(t, |(_, v)| v);
        let hex: String = t
            .chars()
            .filter(|c| !matches!(c, ':' | ' ' | '-' | '\t'))
            .collect();
        if hex.len() != 40 && hex.len() != 64 {
            return None;
        }
        hex::decode(&hex).ok().map(Fingerprint)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.colon())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.colon())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_forms() {
        let fp = Fingerprint::new(vec![0xCF, 0x05, 0x0a]);
        assert_eq!(fp.colon(), "CF:05:0A");
        assert_eq!(fp.spaced(), "CF 05 0A");
        assert_eq!(fp.plain(), "CF050A");
    }

    #[test]
    fn lenient_parse_takes_what_people_paste() {
        let spaced = "CF 05 98 89 CA FF 8E D8 5E 5C E0 C2 E4 F7 E6 C3 C7 50 DD 5C";
        let fp = Fingerprint::parse_lenient(spaced).map(|f| f.colon());
        assert_eq!(
            fp.as_deref(),
            Some("CF:05:98:89:CA:FF:8E:D8:5E:5C:E0:C2:E4:F7:E6:C3:C7:50:DD:5C")
        );
        let openssl =
            "sha1 Fingerprint=cf:05:98:89:ca:ff:8e:d8:5e:5c:e0:c2:e4:f7:e6:c3:c7:50:dd:5c";
        assert_eq!(
            Fingerprint::parse_lenient(openssl)
                .map(|f| f.spaced())
                .as_deref(),
            Some(spaced)
        );
        assert!(Fingerprint::parse_lenient("CF 05").is_none());
        assert!(Fingerprint::parse_lenient(&"ZZ".repeat(20)).is_none());
    }
}
