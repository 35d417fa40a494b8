//! Unit tests of `pins`: every literal, fingerprint and host form on synthetic sources.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use super::*;

fn sha1s(set: &PinSet) -> Vec<String> {
    set.pins
        .iter()
        .filter_map(|p| match &p.kind {
            PinKind::Sha1(f) => Some(format!("{}={}", p.symbol, f.colon())),
            _ => None,
        })
        .collect()
}

const FP: &str = "5F F1 60 31 09 04 3E F2 90 D2 B0 8A 50 38 04 E8 37 9F BC 76";
const FP_COLON: &str = "5F:F1:60:31:09:04:3E:F2:90:D2:B0:8A:50:38:04:E8:37:9F:BC:76";

#[test]
fn hand_written_sketch() {
    let src = format!(
        "const char* host = \"api.github.com\";\nconst int httpsPort = 8443;\n\
         // const char* old = \"00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00 11 22 33\";\n\
         const char fingerprint[] PROGMEM = \"{FP}\";\n\
         void setup() {{ client.setFingerprint(\"{FP_COLON}\"); }}\n"
    );
    let sets = read_pins(src.as_bytes()).unwrap();
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].host.as_deref(), Some("api.github.com"));
    assert_eq!(sets[0].port, Some(8443));
    // Both spell the same pin: one entry, the first symbol.
    assert_eq!(sha1s(&sets[0]), [format!("fingerprint={FP_COLON}")]);
}

#[test]
fn set_fingerprint_call_and_define() {
    let src = format!("#define FP \"{FP}\"\nclient.setFingerprint(F(\"{FP_COLON}\"));");
    let sets = read_pins(src.as_bytes()).unwrap();
    assert_eq!(sha1s(&sets[0]), [format!("FP={FP_COLON}")]);
    let src = format!("void f() {{ c.setFingerprint(F(\"{FP_COLON}\")); }}");
    let sets = read_pins(src.as_bytes()).unwrap();
    assert_eq!(sha1s(&sets[0]), [format!("setFingerprint()={FP_COLON}")]);
}

#[test]
fn unrelated_hex_is_not_a_pin() {
    let src = "const char* commit = \"5ff16031090 43ef290d2b08a503804e8379fbc76\";\n\
               const char* token = \"5ff1603109043ef290d2b08a503804e8379fbc76\";";
    assert_eq!(read_pins(src.as_bytes()), Err(PinError::NoPins));
}

#[test]
fn espcheck_prefixes_group_pins() {
    let src = format!(
        "static const char A_COM_HOST[] PROGMEM = \"a.com\";\n\
         static const char A_COM_FINGERPRINT_SHA1[] PROGMEM = \"{FP_COLON}\";\n\
         ESPCHECK_UNUSED static const uint8_t A_COM_FINGERPRINT_SHA1_BYTES[20] PROGMEM = {{\n\
         0x5F, 0xF1, 0x60, 0x31, 0x09, 0x04, 0x3E, 0xF2, 0x90, 0xD2, 0xB0, 0x8A, 0x50, 0x38,\n\
         0x04, 0xE8, 0x37, 0x9F, 0xBC, 0x76, }};\n\
         static const char B_ORG_HOST[] = \"b.org\";\n\
         static const uint8_t B_ORG_FINGERPRINT_SHA1_BYTES[20] = {{ 0x5F, 0xF1, 0x60, 0x31, \
         0x09, 0x04, 0x3E, 0xF2, 0x90, 0xD2, 0xB0, 0x8A, 0x50, 0x38, 0x04, 0xE8, 0x37, 0x9F, \
         0xBC, 0x77 }};\n"
    );
    let sets = read_pins(src.as_bytes()).unwrap();
    let got: Vec<_> = sets
        .iter()
        .map(|s| (s.group.as_str(), s.host.as_deref(), s.pins.len()))
        .collect();
    assert_eq!(
        got,
        [("A_COM_", Some("a.com"), 1), ("B_ORG_", Some("b.org"), 1)]
    );
}

#[test]
fn rust_modules_group_pins() {
    let src = format!(
        "pub mod a_com {{ pub const HOST: &str = \"a.com\"; \
         pub const FINGERPRINT_SHA1: &str = \"{FP_COLON}\"; }}\n\
         pub mod b_org {{ pub const HOST: &str = \"b.org:8443\"; \
         pub const FINGERPRINT_SHA1_BYTES: [u8; 20] = [0x5F, 0xF1, 0x60, 0x31, 0x09, 0x04, \
         0x3E, 0xF2, 0x90, 0xD2, 0xB0, 0x8A, 0x50, 0x38, 0x04, 0xE8, 0x37, 0x9F, 0xBC, 0x76]; }}"
    );
    let sets = read_pins(src.as_bytes()).unwrap();
    let got: Vec<_> = sets
        .iter()
        .map(|s| (s.group.as_str(), s.host.as_deref(), s.port, sha1s(s).len()))
        .collect();
    assert_eq!(
        got,
        [
            ("a_com", Some("a.com"), None, 1),
            ("b_org", Some("b.org"), Some(8443), 1)
        ]
    );
}

fn cert_sha1s(src: &Source) -> Vec<String> {
    src.sets
        .iter()
        .flat_map(|s| s.pins.iter())
        .filter_map(|p| match &p.kind {
            PinKind::Cert(c) => Some(c.sha1.colon()),
            _ => None,
        })
        .collect()
}

fn no_include(_: &str) -> Result<Vec<u8>, String> {
    Err("not here".to_owned())
}

/// Every literal form of item 1 on one certificate: each must yield it, once.
#[test]
fn every_literal_form_yields_the_certificate() {
    let certs = crate::cert::testutil::chain(90, "Test");
    let pem = certs[1].pem();
    let lines: Vec<&str> = pem.lines().collect();
    let per_line = |indent: &str, end: &str| -> String {
        lines
            .iter()
            .map(|l| format!("{indent}\"{l}{end}\" \\\n"))
            .collect::<String>()
    };
    let forms = [
        format!("const char ca[] PROGMEM = R\"EOF(\n{pem})EOF\";"),
        format!("const char ca[] = R\"CERT(\n{pem})CERT\";"),
        format!("const char ca[] = R\"=EOF=(\n{pem})=EOF=\";"),
        format!("const char* ca = R\"~({pem})~\";"),
        format!("const char* ca = \\\n{}\"\";", per_line("  ", "\\n")),
        format!("const char* ca = \\\n{}\"\";", per_line("\t\t", "\\r\\n")),
        format!("#define CA_PEM \\\n{}\n", per_line("    ", "\\n")),
        format!(
            "class A {{\n  const char* ca =\n{}    \"\";\n}};",
            lines
                .iter()
                .map(|l| format!("    \"{l}\\n\"\n"))
                .collect::<String>()
        ),
        format!("const char* ca = \"{}\\0\";", pem.replace('\n', "\\n")),
        format!("pub const CA: &str = \"{pem}\\0\";"),
        format!("pub const CA: &str = r#\"{pem}\"#;"),
    ];
    for src in forms {
        let got = read_source(src.as_bytes(), &no_include).unwrap();
        assert_eq!(cert_sha1s(&got), [certs[1].sha1.colon()], "{src}");
    }
}

#[test]
fn concatenated_certificates_with_comments_between() {
    let certs = crate::cert::testutil::chain(90, "Test");
    let src = format!(
        "const char* chain = R\"(\n// leaf\n{}# the CA\n{})\";",
        certs[0].pem(),
        certs[1].pem()
    );
    let got = read_source(src.as_bytes(), &no_include).unwrap();
    assert_eq!(
        cert_sha1s(&got),
        [certs[0].sha1.colon(), certs[1].sha1.colon()]
    );
}

#[test]
fn include_str_is_read_through_the_resolver() {
    let certs = crate::cert::testutil::chain(90, "Test");
    let pem = certs[2].pem();
    let include = |p: &str| -> Result<Vec<u8>, String> {
        assert_eq!(p, "certs/root.pem");
        Ok(pem.clone().into_bytes())
    };
    let src = "const ROOT: &str = include_str!(\"certs/root.pem\");";
    let got = read_source(src.as_bytes(), &include).unwrap();
    assert_eq!(cert_sha1s(&got), [certs[2].sha1.colon()]);
    assert_eq!(got.sets[0].pins[0].symbol, "ROOT");
    let err = read_source(src.as_bytes(), &no_include).unwrap_err();
    assert!(
        err.to_string().contains("include_str!(\"certs/root.pem\")"),
        "{err}"
    );
}

/// Commented-out and `#if 0` blocks are reported, never pins.
#[test]
fn commented_out_blocks_are_reported_not_judged() {
    let certs = crate::cert::testutil::chain(90, "Test");
    let old: String = certs[0]
        .pem()
        .lines()
        .map(|l| format!("// \"{l}\\n\" \\\n"))
        .collect();
    let src = format!(
        "{old}/*\n{}*/\n#if 0\nconst char* x = R\"EOF({})EOF\";\n#else\n\
         const char* ca = R\"EOF({})EOF\";\n#endif\n",
        certs[2].pem(),
        certs[0].pem(),
        certs[1].pem()
    );
    let got = read_source(src.as_bytes(), &no_include).unwrap();
    assert_eq!(cert_sha1s(&got), [certs[1].sha1.colon()]);
    let commented: Vec<(usize, bool, Option<String>)> = got
        .commented
        .iter()
        .map(|c| (c.line, c.if_zero, c.cert.as_ref().map(|c| c.sha1.colon())))
        .collect();
    let old_lines = certs[0].pem().lines().count();
    assert_eq!(
        commented,
        [
            (1, false, Some(certs[0].sha1.colon())),
            (old_lines + 1, false, Some(certs[2].sha1.colon())),
            (
                old_lines + certs[2].pem().lines().count() + 3,
                true,
                Some(certs[0].sha1.colon())
            ),
        ]
    );
    // Only commented blocks: no live pin, one line saying so.
    let only = format!("/*\n{}*/\n", certs[2].pem());
    let err = read_source(only.as_bytes(), &no_include).unwrap_err();
    assert!(matches!(err, PinError::OnlyCommented(_)), "{err}");
}

#[test]
fn broken_blocks_warn_and_good_ones_still_count() {
    let certs = crate::cert::testutil::chain(90, "Test");
    let src = format!(
        "const char* a = R\"EOF(\n-----BEGIN CERTIFICATE-----\nMIIFazCCA1Og...\n...snip...\n\
         -----END CERTIFICATE-----\n)EOF\";\n\
         const char* b = R\"EOF(\n-----BEGIN CERTIFICATE-----\n<paste here>\n-----END CERTIFICATE-----\n)EOF\";\n\
         const char* c = R\"EOF(\n-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n)EOF\";\n\
         const char* d = R\"EOF(\n{})EOF\";\n",
        certs[1].pem()
    );
    let got = read_source(src.as_bytes(), &no_include).unwrap();
    assert_eq!(cert_sha1s(&got), [certs[1].sha1.colon()]);
    assert_eq!(got.warnings.len(), 3, "{:?}", got.warnings);
    assert!(
        got.warnings[0].starts_with("line 3 (a): unexpected character '.'"),
        "{:?}",
        got.warnings
    );
    assert!(
        got.warnings[1].starts_with("line 9 (b): unexpected character '<'"),
        "{:?}",
        got.warnings
    );
    assert!(
        got.warnings[2].starts_with("line 13 (c): the block is empty"),
        "{:?}",
        got.warnings
    );
    // A truncated paste: the DER is cut short.
    let pem = certs[1].pem();
    let cut: String = pem
        .lines()
        .take(5)
        .chain(pem.lines().last())
        .map(|l| format!("{l}\n"))
        .collect();
    let only = format!("const char* ca = R\"EOF(\n{cut})EOF\";");
    let err = read_source(only.as_bytes(), &no_include).unwrap_err();
    assert!(err.to_string().starts_with("line 2 (ca): "), "{err}");
}

#[test]
fn fingerprint_forms() {
    let want = [FP_COLON.to_owned()];
    let hex = FP.replace(' ', "");
    let bytes = FP
        .split(' ')
        .map(|b| format!("0x{b}"))
        .collect::<Vec<_>>()
        .join(", ");
    let forms = [
        format!("const char fingerprint[] = \"{}\";", FP.to_lowercase()),
        format!("const char* fp = \"{hex}\";"),
        format!(
            "const char* fingerprint = \"{}\"\n  \"{}\";",
            &FP[..30],
            &FP[30..]
        ),
        format!(
            "#define FINGERPRINT \"{}\" \\\n  \"{}\"\n",
            &FP[..30],
            &FP[30..]
        ),
        format!("static const uint8_t fingerprint[20] = {{{bytes}}};"),
        format!("const uint8_t fp[20] {{{bytes}}};"),
        format!("pub const FINGERPRINT_SHA1: [u8; 20] = [{bytes}];"),
    ];
    for src in forms {
        let sets = read_pins(src.as_bytes()).unwrap();
        assert_eq!(
            sha1s(&sets[0])
                .iter()
                .map(|s| s.split('=').nth(1).unwrap().to_owned())
                .collect::<Vec<_>>(),
            want,
            "{src}"
        );
    }
}

/// `openssl x509 -text` pasted into a comment: the Subject Key Identifier is 20 bytes of
/// coloned hex, and must not become a fingerprint pin.
#[test]
fn subject_key_identifier_in_a_comment_is_not_a_fingerprint() {
    let src = "/*\n        X509v3 extensions:\n            X509v3 Subject Key Identifier: \n\
               \x20               70:F7:BF:AB:C1:88:3E:7F:6B:95:F6:71:F7:BF:8D:11:DC:6E:98:91\n*/\n\
               // keyid:5F:F1:60:31:09:04:3E:F2:90:D2:B0:8A:50:38:04:E8:37:9F:BC:76\n\
               const char* host = \"a.example\";\n";
    assert_eq!(read_pins(src.as_bytes()), Err(PinError::NoPins));
}

/// `openssl ec -text` pasted as a string: a P-256 private key is 32 bytes of coloned hex, the
/// shape of a SHA-256 fingerprint, and must not become a pin (GoogleCloudPlatform's
/// google-cloud-iot-arduino ESP32 example, in the corpus).
#[test]
fn private_key_hex_is_not_a_fingerprint() {
    let src = "// From openssl ec -in certificate.pem -noout --text\n\
               const char* private_key_str =\n\
               \x20   \"e0:14:62:40:1c:d5:0b:78:cb:5e:7b:f9:ba:a7:08:\"\n\
               \x20   \"0d:fa:41:34:48:69:56:e5:4a:d0:a3:a5:a4:c8:4b:\"\n\
               \x20   \"ca:69\";\n";
    assert_eq!(read_pins(src.as_bytes()), Err(PinError::NoPins));
}

#[test]
fn hosts_from_calls_defines_and_urls() {
    let fp = format!("const char fingerprint[] = \"{FP}\";\n");
    let cases = [
        (
            format!("{fp}void f() {{ client.connect(\"api.telegram.org\", 443); }}"),
            "api.telegram.org",
        ),
        (
            format!("{fp}void f() {{ http.begin(client, \"https://api.github.com/repos\"); }}"),
            "api.github.com",
        ),
        (
            format!("{fp}Response r = fetch(\"https://api.github.com/\", options);"),
            "api.github.com",
        ),
        (
            format!("#define AIO_SERVER \"io.adafruit.com\"\n{fp}"),
            "io.adafruit.com",
        ),
        (
            format!("#define TELEGRAM_URL \"https://api.telegram.org\"\n{fp}"),
            "api.telegram.org",
        ),
        (
            format!("{fp}void f() {{ mqtt.setServer(\"broker.hivemq.com\", 8883); }}"),
            "broker.hivemq.com",
        ),
        (
            format!("const char* mqtt_server = \"test.mosquitto.org\";\n{fp}"),
            "test.mosquitto.org",
        ),
    ];
    for (src, host) in cases {
        let sets = read_pins(src.as_bytes()).unwrap();
        assert_eq!(sets[0].host.as_deref(), Some(host), "{src}");
    }
    // Placeholders are not hosts.
    let src = format!(
        "const char* host = \"HUE_BRIDGE_HOST\";\n#define HOST_ADDRESS \"<https-host>.com\"\n{fp}"
    );
    assert_eq!(read_pins(src.as_bytes()).unwrap()[0].host, None);
}

/// Two hosts, two pins: each goes with the call it is used in, not simply the first host.
#[test]
fn each_pin_goes_with_the_host_it_is_used_with() {
    let src = format!(
        "const char* host = \"maker.ifttt.com\";\n\
         String url = \"https://api.telegram.org/bot\";\n\
         const char fingerprint[] = \"{FP}\";\n\
         const char other_fp[] = \"00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00 11 22 33\";\n\
         void a() {{ client.setFingerprint(fingerprint); client.connect(host, 443); }}\n\
         void b() {{ c2.setFingerprint(other_fp); c2.connect(\"api.telegram.org\", 443); }}\n"
    );
    let sets = read_pins(src.as_bytes()).unwrap();
    let got: Vec<(Option<&str>, usize)> = sets
        .iter()
        .map(|s| (s.host.as_deref(), s.pins.len()))
        .collect();
    assert_eq!(
        got,
        [(Some("maker.ifttt.com"), 1), (Some("api.telegram.org"), 1)]
    );
    assert_eq!(sets[0].pins[0].symbol, "fingerprint");
}

#[test]
fn binary_garbage_is_refused() {
    assert!(matches!(
        read_pins(&[0, 1, 2, 3, 0xff]),
        Err(PinError::Binary(_))
    ));
    assert_eq!(read_pins(b"  \n"), Err(PinError::Empty));
}

/// A DER certificate written as a C byte array: axTLS `caCert[] PROGMEM = {0x30, 0x82, …}` and
/// Blynk's `_der.h`, a bare `{…}` initializer `#include`d after `X[] PROGMEM =`.
#[test]
fn der_byte_arrays_yield_the_certificate() {
    let certs = crate::cert::testutil::chain(90, "Test");
    let bytes: Vec<String> = certs[1].der.iter().map(|b| format!("0x{b:02x}")).collect();
    let list = bytes.join(", ");
    let forms = [
        format!(
            "const unsigned char caCert[] PROGMEM = {{\n  {list}\n}};\nconst unsigned int caCertLen = 3;"
        ),
        format!("{{\n  {list}\n}}\n"),
        format!("static const uint8_t ca[] {{ {list} }};"),
    ];
    for src in forms {
        let got = read_source(src.as_bytes(), &no_include).unwrap();
        assert_eq!(cert_sha1s(&got), [certs[1].sha1.colon()], "{src}");
    }
    // A cut array is reported, not dropped or mistaken for something else.
    let cut = bytes[..bytes.len() - 10].join(", ");
    let err = read_source(
        format!("const uint8_t ca[] = {{ {cut} }};").as_bytes(),
        &no_include,
    );
    assert!(
        matches!(&err, Err(PinError::Bad { reason, .. }) if reason.contains("DER byte array")),
        "{err:?}"
    );
    // A DER private key array (a SEQUENCE too, but no certificate) is no pin and no error.
    let key: Vec<String> = [0x30, 0x82, 0x01, 0x02, 0x02, 0x01, 0x00]
        .iter()
        .chain(&[0x42; 20])
        .map(|b| format!("0x{b:02x}"))
        .collect();
    let key = format!("const uint8_t server_key[] = {{ {} }};", key.join(", "));
    let got = read_source(key.as_bytes(), &no_include);
    assert!(matches!(got, Err(PinError::NoPins)), "{got:?}");
}

/// Macro bodies: `#define MQTT_PORT 8883`, `#define FP {0x7e, …}`, `IPAddress(…)` as the host.
#[test]
fn macros_name_ports_fingerprint_bytes_and_ip_hosts() {
    let src = "#define MQTT_HOST IPAddress(192, 168, 1, 10)\n\
        #if ASYNC_TCP_SSL_ENABLED\n\
        #define MQTT_SERVER_FINGERPRINT {0x7e, 0x36, 0x22, 0x01, 0xf9, 0x7e, 0x99, 0x2f, 0xc5, 0xdb, 0x3d, 0xbe, 0xac, 0x48, 0x67, 0x5b, 0x5d, 0x47, 0x94, 0xd2}\n\
        #define MQTT_PORT 8883\n#else\n#define MQTT_PORT 1883\n#endif\n\
        #define D1 5\n\
        void setup() { mqttClient.setServer(MQTT_HOST, MQTT_PORT); }\n";
    let sets = read_pins(src.as_bytes()).unwrap();
    assert_eq!(sets.len(), 1, "{sets:?}");
    assert_eq!(sets[0].host.as_deref(), Some("192.168.1.10"));
    assert_eq!(sets[0].port, Some(8883));
    assert_eq!(
        sha1s(&sets[0]),
        ["MQTT_SERVER_FINGERPRINT=7E:36:22:01:F9:7E:99:2F:C5:DB:3D:BE:AC:48:67:5B:5D:47:94:D2"]
    );
    let src = format!(
        "#define AIO_SERVER \"io.adafruit.com\"\n#define AIO_SERVERPORT  8883\nstatic const char *fingerprint PROGMEM = \"{FP}\";\n"
    );
    let sets = read_pins(src.as_bytes()).unwrap();
    assert_eq!(
        (sets[0].host.as_deref(), sets[0].port),
        (Some("io.adafruit.com"), Some(8883))
    );
}

/// The port written after the host in a call, and `wss://` URIs.
#[test]
fn call_ports_and_websocket_uris() {
    let ca = crate::cert::testutil::chain(90, "Test")[1].pem();
    let src = format!(
        "const char CA[] PROGMEM = R\"EOF(\n{ca})EOF\";\n\
         void setup() {{ webSocket.beginSslWithCA(\"echo.websocket.org\", 443, \"/\", CA); }}\n"
    );
    let got = read_source(src.as_bytes(), &no_include).unwrap();
    assert_eq!(
        (got.sets[0].host.as_deref(), got.sets[0].port),
        (Some("echo.websocket.org"), Some(443))
    );
    let src = format!(
        "const CA_CERT: &str = \"{ca}\\0\";\nfn main() {{ tls.connect(\"example.com\", 1234, &cfg)?; }}\n"
    );
    let got = read_source(src.as_bytes(), &no_include).unwrap();
    assert_eq!(
        (got.sets[0].host.as_deref(), got.sets[0].port),
        (Some("example.com"), Some(1234))
    );
    let src = format!(
        "const ECHO_SERVER_URI: &str = \"wss://echo.websocket.org\";\nconst ROOT: &[u8] = b\"{ca}\\0\";\n"
    );
    let got = read_source(src.as_bytes(), &no_include).unwrap();
    assert_eq!(got.sets[0].host.as_deref(), Some("echo.websocket.org"));
}

/// Fingerprints in comments are listed as commented out, never judged; prose in the same comment
/// (a `---BEGIN CERTIFICATE---` recipe, an `openssl -text` hex dump) is neither pin nor block.
#[test]
fn commented_out_fingerprints_are_listed() {
    let src = format!(
        "// Fingerprint is not used by default\n\
         //#define BLYNK_DEFAULT_FINGERPRINT \"FD C0 7D 8D 47 97 F7 E3 07 05 D3 4E E3 BB 8E 3D C0 EA BE 1C\"\n\
         // Copy the lines between ---BEGIN CERTIFICATE--- and --END-- to a.cert\n\
         /*\n    Signature Algorithm: sha256WithRSAEncryption\n\
         9b:e4:32:a3:ed:38:e8:d8:64:f3:2c:7e:14:fc:02:ea:9f:cd:ff:07:68:17\n*/\n\
         #if 0\nconst char* fp = \"{FP}\";\n#endif\n"
    );
    let err = read_source(src.as_bytes(), &no_include);
    assert!(
        matches!(&err, Err(PinError::OnlyCommented(lines)) if lines == "2, 9"),
        "{err:?}"
    );
    // Beside a live pin they are reported with their value.
    let src = format!("{src}const char* fingerprint = \"{FP_COLON}\";\n");
    let got = read_source(src.as_bytes(), &no_include).unwrap();
    let fps: Vec<(usize, String, bool)> = got
        .commented
        .iter()
        .map(|c| (c.line, c.fingerprint.as_ref().unwrap().colon(), c.if_zero))
        .collect();
    assert_eq!(
        fps,
        [
            (
                2,
                "FD:C0:7D:8D:47:97:F7:E3:07:05:D3:4E:E3:BB:8E:3D:C0:EA:BE:1C".to_owned(),
                false
            ),
            (9, FP_COLON.to_owned(), true)
        ]
    );
}

/// esp-mqtt's examples splice a Kconfig macro between BEGIN and END: said so, not "cut paste".
#[test]
fn a_macro_between_begin_and_end_is_named() {
    let src = "static const uint8_t pem[] = \"-----BEGIN CERTIFICATE-----\\n\"\n    \
               CONFIG_BROKER_CERTIFICATE_OVERRIDE \"\\n-----END CERTIFICATE-----\";\n";
    let err = read_source(src.as_bytes(), &no_include);
    assert!(
        matches!(&err, Err(PinError::Bad { line: 1, reason, .. })
            if reason.contains("macro CONFIG_BROKER_CERTIFICATE_OVERRIDE")),
        "{err:?}"
    );
}
