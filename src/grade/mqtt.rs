//! MQTT in its clients' own words. Failures: PubSubClient's examples (`Attempting MQTT
//! connection...failed, rc=-2 try again in 5 seconds`), Tasmota on PubSubClient (`MQT: Connect
//! failed to 192.168.2.12:1883, rc -2. Retry in 10 sec`), coreMQTT (`CONNACK recv failed with
//! status = MQTTRecvFailed`); esp-mqtt's error lines are [`super::clientdiag`]'s. Success: a
//! connect the broker took (`...connected`, `MQT: Connected`, `MQTT_EVENT_CONNECTED`, ESPHome's
//! `MQTT Connected!`, AsyncMqttClient's `Connected to MQTT.`, coreMQTT's `MQTT connection
//! successfully established`) or traffic that needs one (Tasmota's and Sonoff-MQTT-OTA's
//! `MQT: stat/x/POWER = OFF`, OpenMQTTGateway's `[ OMG->MQTT ] topic:`, esp-mqtt's
//! `MQTT_EVENT_SUBSCRIBED`/`PUBLISHED`/`DATA`, AsyncMqttClient's acknowledgements). A retry
//! that connects takes back the failures before it; a failure after a connect reopens.

use super::engine::{Engine, Finality};
use super::libdiag::number_after;
use super::model::{Stage, Verdict};

/// How every explanation of a PubSubClient failure starts.
pub(crate) const WHO: &str = "the MQTT client (PubSubClient)";

/// A failed connect: its explanation and a code (PubSubClient's `state()`: negative, the
/// client's own: no TCP connection, or it was lost; positive, the broker's CONNACK refusal).
pub(crate) fn failure(lower: &str) -> Option<(String, Option<i32>)> {
    // A paste quoted as markdown (`> Disconnected from MQTT.`): the quote is not the firmware's.
    let lower = lower.trim_start_matches(|c: char| c == '>' || c.is_whitespace());
    pubsubclient(lower)
        .or_else(|| tasmota(lower))
        .or_else(|| core_mqtt(lower))
        .or_else(|| async_mqtt_client(lower))
        .or_else(|| dropped(lower))
        .or_else(|| super::lwmqtt::failure(lower))
        .or_else(|| esp_mqtt_nonos(lower))
}

/// tuanpmt's `esp_mqtt` for the ESP8266 non-OS SDK: its espconn reconnect callback, which the
/// SDK calls when the TCP connection to the broker failed or broke, prints `TCP: Reconnect to
/// 192.168.0.92:1883` (older builds `TCP:Reconect to:`).
fn esp_mqtt_nonos(lower: &str) -> Option<(String, Option<i32>)> {
    let t = lower.trim();
    let rest = [
        "tcp: reconnect to",
        "tcp:reconnect to",
        "tcp: reconect to",
        "tcp:reconect to",
    ]
    .iter()
    .find_map(|p| t.strip_prefix(p))?;
    let peer = rest.trim_start_matches([':', ' ']).trim();
    if peer.is_empty() {
        return None;
    }
    Some((
        format!(
            "the MQTT client (esp_mqtt on the non-OS SDK) lost or could not open its TCP \
             connection to the broker at {peer} and is reconnecting (`TCP: Reconnect to`: the \
             SDK reported a connection error: the broker refused, is unreachable, or dropped it)"
        ),
        None,
    ))
}

/// A broker connection that went down, in the words of firmware that says so on its own line:
/// ESPHome's `[W][mqtt.client:257]: MQTT Disconnected: TCP disconnected.`, Homie's `✖ MQTT
/// disconnected, reason: 0`, ESPurna's `[MQTT] TCP Disconnected` and `[MQTT] Disconnected!`
/// (AsyncMqttClient underneath, its reason printed first). A session that connects and drops
/// over and over ends on the last of these, so the last state decides.
fn dropped(lower: &str) -> Option<(String, Option<i32>)> {
    let t = lower.trim().trim_end_matches(['.', '!']);
    let said = if let Some(at) = t.find("mqtt disconnected") {
        // Not esp-mqtt's `MQTT_EVENT_DISCONNECTED` (the underscore is part of the word), nor
        // `not mqtt disconnected`-style prose glued to another word.
        let before = &t[..at];
        if before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let rest = t[at + "mqtt disconnected".len()..]
            .trim_start_matches([':', ',', ' '])
            .trim_start_matches("reason:")
            .trim();
        (
            "the MQTT client lost its broker connection",
            rest.to_owned(),
        )
    } else if let Some(at) = t.find("[mqtt] ") {
        let rest = t[at + "[mqtt] ".len()..].trim();
        match rest {
            "disconnected" => (
                "ESPurna's MQTT client (AsyncMqttClient) disconnected",
                String::new(),
            ),
            "tcp disconnected" => (
                "ESPurna's MQTT client (AsyncMqttClient) disconnected",
                "tcp disconnected".to_owned(),
            ),
            _ => return None,
        }
    } else {
        return None;
    };
    let (who, reason) = said;
    let why = match reason.as_str() {
        "" => String::new(),
        "tcp disconnected" | "0" => {
            ": TCP disconnected, the network connection to the broker failed or broke (no MQTT \
             refusal: the broker, a firewall or the Wi-Fi dropped it)"
                .to_owned()
        }
        r => format!(": {r}"),
    };
    Some((format!("{who}{why}"), None))
}

/// AsyncMqttClient's examples: `Disconnected from MQTT.` (`onMqttDisconnect`), with the
/// `AsyncMqttClientDisconnectReason` where the sketch prints its name.
fn async_mqtt_client(lower: &str) -> Option<(String, Option<i32>)> {
    let t = lower.trim();
    if !t.starts_with("disconnected from mqtt") {
        return None;
    }
    let reasons = [
        (
            "tcp_disconnected",
            "the TCP connection to the broker failed or broke",
        ),
        (
            "mqtt_unacceptable_protocol_version",
            "the broker does not speak this MQTT version",
        ),
        (
            "mqtt_identifier_rejected",
            "the broker rejected the client ID",
        ),
        ("mqtt_server_unavailable", "the broker is unavailable"),
        (
            "mqtt_malformed_credentials",
            "the user name or password is malformed",
        ),
        (
            "mqtt_not_authorized",
            "the broker did not authorise the client",
        ),
        ("esp8266_not_enough_space", "the board ran out of memory"),
        (
            "tls_bad_fingerprint",
            "the broker's certificate does not match the pinned fingerprint",
        ),
    ];
    let why = reasons
        .iter()
        .find(|(name, _)| t.contains(name))
        .map(|(name, why)| format!(": {}, {why}", name.to_ascii_uppercase()))
        .unwrap_or_else(|| {
            " (the sketch does not print the reason; TCP_DISCONNECTED, 0, is the network \
             connection failing)"
                .to_owned()
        });
    Some((
        format!(
            "the MQTT client (AsyncMqttClient) disconnected from the broker (`Disconnected from \
             MQTT`: its connect did not hold, so the app's publishes fail){why}"
        ),
        None,
    ))
}

fn pubsubclient(lower: &str) -> Option<(String, Option<i32>)> {
    state_line(lower).or_else(|| pubsubclient_rc(lower))
}

/// A sketch that prints `client.state()` on its own line after a failed connect: `state: -2`,
/// `MQTT state: -4`, `client state = 5`. Bare `state:` only with a negative code (PubSubClient's
/// own; the ESP8266 SDK's `state: 0 -> 2 (b0)` is Wi-Fi's); a broker's positive refusal only
/// where the line names the client.
fn state_line(lower: &str) -> Option<(String, Option<i32>)> {
    let t = lower.trim();
    let (named, rest) = ["mqtt state", "client state", "mqtt client state", "state"]
        .iter()
        .find_map(|p| t.strip_prefix(p).map(|r| (*p != "state", r)))?;
    let code = rest.trim_start_matches([':', '=', ' ']);
    if code.len() == rest.len() || code.is_empty() {
        return None;
    }
    let rc: i32 = code.parse().ok()?;
    if !((-4..=-1).contains(&rc) || (named && (1..=5).contains(&rc))) {
        return None;
    }
    Some((
        format!(
            "{WHO} could not connect to the broker: state {rc}, {}",
            state(rc)
        ),
        Some(rc),
    ))
}

/// A sketch that prints PubSubClient's state with its own `println` (`failed, rc=` then `-2` on
/// the next line, as OpenMQTTGateway and many examples do): the two lines as one.
pub(crate) fn split_rc(prev: &str, text: &str) -> Option<String> {
    let code = text.trim();
    let digits = code.strip_prefix('-').unwrap_or(code);
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prev = prev.trim_end();
    (prev.len() <= 200 && prev.to_ascii_lowercase().ends_with("failed, rc="))
        .then(|| format!("{prev}{code}"))
}

fn pubsubclient_rc(lower: &str) -> Option<(String, Option<i32>)> {
    let at = lower.find("failed, rc=")?;
    // The example's words alone on their line (`failed, rc=-2`, the connect's `print` lines
    // before it) are PubSubClient's too.
    let bare = at == 0 || lower[..at].trim().is_empty();
    if !(bare || lower.contains("mqtt") || lower[at..].contains("try again")) {
        return None;
    }
    let rc = number_after(&lower[at..], "rc=")?;
    Some((
        format!(
            "{WHO} could not connect to the broker: rc={rc}, {}",
            state(rc)
        ),
        Some(rc),
    ))
}

/// Tasmota (PubSubClient underneath): `MQT: Connect failed to 10.0.4.106:1883, rc -2. Retry in
/// 10 sec`, `MQTT: Connect FAILED to 192.168.2.139:1883, rc -4.` (2017), `MQT: connection
/// failed due to 192.168.0.100:1883, rc -2. retry in 10 s` (tasmota-stb), and the same line in
/// Tasmota's other languages (German `MQT: Verbindung fehlgeschlagen aufgrund von
/// 10.100.44.96:1883, rc -2. Wiederhole in 10 s`): the broker's `host:port`, then `, rc N`.
fn tasmota(lower: &str) -> Option<(String, Option<i32>)> {
    let mqt = lower.find("mqt: ").or_else(|| lower.find("mqtt: "))?;
    let said = &lower[mqt..];
    let rc = number_after(said, ", rc ")?;
    let before = &said[..said.find(", rc ")?];
    let broker = before.rsplit(' ').next().unwrap_or("").trim();
    let port = broker
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !port || rc == 0 || before.split(' ').count() < 3 {
        return None;
    }
    Some((
        format!(
            "Tasmota's MQTT connection failed: its client (PubSubClient) could not connect to \
             the broker {broker}: rc {rc}, {}",
            state(rc)
        ),
        Some(rc),
    ))
}

/// PubSubClient's `state()` codes.
fn state(rc: i32) -> &'static str {
    match rc {
        -4 => "MQTT_CONNECTION_TIMEOUT: the broker did not answer the CONNECT in time",
        -3 => "MQTT_CONNECTION_LOST: the connection to the broker broke",
        -2 => {
            "MQTT_CONNECT_FAILED: the network connection to the broker failed (DNS, TCP, or TLS \
             with a secure client: the log does not say which)"
        }
        -1 => "MQTT_DISCONNECTED: the client was disconnected",
        1 => "MQTT_CONNECT_BAD_PROTOCOL: the broker does not speak this MQTT version",
        2 => "MQTT_CONNECT_BAD_CLIENT_ID: the broker rejected the client ID",
        3 => "MQTT_CONNECT_UNAVAILABLE: the broker is unavailable",
        4 => "MQTT_CONNECT_BAD_CREDENTIALS: wrong user name or password",
        5 => "MQTT_CONNECT_UNAUTHORIZED: the client is not authorised to connect",
        _ => {
            "a state PubSubClient does not name (a build with another MQTT library numbers its own)"
        }
    }
}

/// coreMQTT's `MQTTStatus_t` names (core_mqtt.h), as printed, and what each means.
const CORE_MQTT: &[(&str, &str)] = &[
    (
        "MQTTRecvFailed",
        "reading from the transport failed: the connection (TLS) was closed or broke before the \
         broker's answer came",
    ),
    (
        "MQTTSendFailed",
        "sending to the transport failed: the connection (TLS) was closed or broke",
    ),
    (
        "MQTTServerRefused",
        "the broker refused the CONNECT (its CONNACK return code says why)",
    ),
    ("MQTTBadResponse", "the broker's answer was not valid MQTT"),
    (
        "MQTTNoDataAvailable",
        "no answer came from the broker in time",
    ),
    (
        "MQTTKeepAliveTimeout",
        "the broker stopped answering keep-alive pings",
    ),
    ("MQTTNoMemory", "the client's buffer is too small"),
    ("MQTTIllegalState", "the client was used in the wrong state"),
    (
        "MQTTBadParameter",
        "the client was called with a bad parameter",
    ),
];

/// coreMQTT (esp-aws-iot, FreeRTOS demos): `CONNACK recv failed with status = MQTTRecvFailed.`,
/// `Connection with MQTT broker failed with status MQTTRecvFailed`.
fn core_mqtt(lower: &str) -> Option<(String, Option<i32>)> {
    let at = lower.find("status = mqtt").map(|i| i + 9).or_else(|| {
        lower
            .find("status mqtt")
            .map(|i| i + 7)
            .filter(|_| lower.contains("fail"))
    })?;
    let name: String = lower[at..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let (status, what) = CORE_MQTT
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(&name))?;
    let mut why = format!("the MQTT client (coreMQTT) could not connect: `{status}`, {what}");
    if *status == "MQTTRecvFailed" && lower.contains("connack") {
        why.push_str(
            ". The broker closed the connection instead of answering CONNECT: AWS IoT does this \
             when the certificate is inactive or its policy does not allow `iot:Connect` for \
             this client ID",
        );
    }
    Some((why, None))
}

/// The examples' connect that worked: `Attempting MQTT connection...connected`, `MQTT
/// connecting connected!` (not `disconnected`, not `not connected`).
pub(crate) fn connected(lower: &str) -> bool {
    let t = lower.trim().trim_end_matches(['.', '!']);
    let Some(before) = t.strip_suffix("connected") else {
        return false;
    };
    (t.contains("mqtt connection") || t.contains("mqtt connecting"))
        && !before.ends_with(|c: char| c.is_ascii_alphabetic())
        && !before.trim_end().ends_with("not")
        && !t.contains("failed")
}

/// A line that shows the broker took the client: what it shows, in a few words.
pub(crate) fn works(text: &str, lower: &str) -> Option<&'static str> {
    if ["fail", "error", "refused", "not connected", "disconnected"]
        .iter()
        .any(|w| lower.contains(w))
    {
        // Not `Error MQTT Connected`, `MQTT_EVENT_DISCONNECTED`, `...failed, rc=-2`.
        return None;
    }
    if connected(lower) {
        return Some("the client connected to the broker");
    }
    let words = || {
        text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .filter(|w| w.starts_with("MQTT_EVENT_"))
    };
    if let Some(w) = words().next() {
        return match w {
            "MQTT_EVENT_CONNECTED" => Some("esp-mqtt connected to the broker"),
            "MQTT_EVENT_SUBSCRIBED" => Some("the broker acknowledged a subscription (esp-mqtt)"),
            "MQTT_EVENT_PUBLISHED" => Some("the broker acknowledged a publish (esp-mqtt)"),
            "MQTT_EVENT_DATA" => Some("a message came from the broker (esp-mqtt)"),
            _ => None,
        };
    }
    if lower.contains("[ omg->mqtt ] topic:") {
        return Some("OpenMQTTGateway published to the broker");
    }
    // ESPHome logs `Publish(topic='x/state' payload='OFF' retain=1)` (verbose) only for a
    // publish its connected client made; a failed one is `Publish failed`.
    if lower.contains("[mqtt") && lower.contains("]: publish(topic='") {
        return Some("ESPHome's MQTT client published to the broker");
    }
    let t = lower.trim_end().trim_end_matches(['.', '!']);
    if t.ends_with("mqtt connected") || t.ends_with("connected to mqtt") {
        return Some("the client connected to the broker");
    }
    // A script's own `Connected to broker.` (MicroPython umqtt examples, sketches): the whole
    // line, so not `Not connected to broker` nor `Disconnected from broker`.
    let own = t
        .strip_prefix('[')
        .and_then(|r| r.split_once("] "))
        .map_or(t, |(_, rest)| rest)
        .trim_start_matches(|c: char| !c.is_ascii_alphabetic());
    if [
        "connected to broker",
        "connected to the broker",
        "connected to mqtt broker",
        "connected to the mqtt broker",
        // The AWS IoT Arduino examples (PubSubClient to the account's endpoint).
        "aws iot connected",
    ]
    .contains(&own)
    {
        return Some("the client connected to the broker");
    }
    if lower.contains("mqtt connection successfully established")
        || lower.contains("an mqtt connection is established")
    {
        return Some("coreMQTT connected to the broker");
    }
    // The AWS IoT Device SDK's subscribe_publish samples print it in their message handler.
    if lower.trim_end().ends_with(": subscribe callback") {
        return Some("a message came from the broker (the AWS IoT SDK's subscribe callback)");
    }
    if let Some(what) = message_arrived(lower) {
        return Some(what);
    }
    if lower.contains("publish acknowledged") || lower.contains("subscribe acknowledged") {
        return Some("the broker acknowledged a message (AsyncMqttClient)");
    }
    // esp-mqtt's example publishes and subscribes in its MQTT_EVENT_CONNECTED handler.
    if lower.contains("sent publish successful, msg_id=")
        || lower.contains("sent subscribe successful, msg_id=")
    {
        return Some("esp-mqtt's example sent its messages once connected to the broker");
    }
    // tuanpmt's esp_mqtt on the non-OS SDK, on the broker's CONNACK.
    if lower.trim_start().starts_with("mqtt: connected to broker") {
        return Some("esp_mqtt (the non-OS SDK's MQTT client) connected to the broker");
    }
    tasmota_works(lower)
}

/// The examples' message callbacks, which run only for a message the broker delivered:
/// arduino-mqtt's (and google-cloud-iot-arduino's) `incoming: /devices/x/config - {...}`,
/// PubSubClient's `Message arrived [inTopic] 1`.
fn message_arrived(lower: &str) -> Option<&'static str> {
    let t = lower.trim();
    if let Some(rest) = t.strip_prefix("incoming: ") {
        // An empty payload leaves `topic -` (the line's end trimmed).
        let topic = rest.split_once(" -").map(|(t, _)| t).unwrap_or("");
        return (!topic.is_empty() && !topic.contains(' '))
            .then_some("a message came from the broker (arduino-mqtt's message callback)");
    }
    let rest = t.strip_prefix("message arrived [")?;
    let (topic, _) = rest.split_once(']')?;
    (!topic.is_empty() && !topic.contains(' '))
        .then_some("a message came from the broker (PubSubClient's callback)")
}

/// Tasmota's and Sonoff-MQTT-OTA's `MQT: Connected` and the messages they log as `MQT:`
/// (`stat/sonoff/POWER = OFF`): only while connected, else they log them as `RSL:`.
fn tasmota_works(lower: &str) -> Option<&'static str> {
    let at = lower
        .find("mqt: ")
        .map(|i| i + 5)
        .or_else(|| lower.find("mqtt: ").map(|i| i + 6))?;
    let before = lower[..at]
        .trim_end_matches(": ")
        .trim_end_matches(['m', 'q', 't']);
    if before.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let said = lower[at..].trim();
    if said.trim_end_matches(['.', '!']) == "connected" {
        return Some("Tasmota connected to the broker");
    }
    if said.starts_with("receive topic ") {
        return Some("a message came from the broker (Tasmota)");
    }
    let (topic, _) = said
        .split_once(" = ")
        .or_else(|| said.strip_suffix(" =").map(|t| (t, "")))?;
    // A command's answer is the console replying (Tasmota 6.x logs it as `MQT:` whenever
    // MQTT is enabled): no proof of a connection.
    (topic.contains('/')
        && !topic.contains(char::is_whitespace)
        && !super::tasmota::command_answer(topic))
    .then_some("Tasmota published to the broker")
}

/// A line short enough to quote in a reason (a publish's JSON payload can run to kilobytes).
fn short(line: &str) -> String {
    super::https::shorten(line, 120)
}

/// One run's MQTT session: connects that failed since the last one that worked, and whether
/// the outcome is this session's pass.
#[derive(Debug, Default)]
pub(crate) struct Session {
    failures: u32,
    passed: bool,
    /// esp-mqtt's reconnect loop since the last connect: the app's `MQTT_EVENT_DISCONNECTED`,
    /// the client's `Reconnect after N ms` / `Reconnecting...`, its error report.
    loop_seen: EspMqttLoop,
    /// Connects in a row with no other sign of the session at work between them (the first's
    /// line, and how many): a broker that drops each connection right after it is made.
    reconnects: Option<(usize, u32)>,
}

/// Connects in a row, with nothing done between them, that make a connect loop.
const CONNECT_LOOP: u32 = 5;

/// The words of the loop's reason, by which a later line knows the loop is still the verdict.
const LOOP_WORDS: &str = "in a row with nothing done between";

/// What esp-mqtt's lines since the last connect said about a connection it has not got.
#[derive(Debug, Default)]
struct EspMqttLoop {
    disconnected: Option<String>,
    retrying: Option<String>,
    report: Option<String>,
    /// An error line (`E (28954) MQTT_CLIENT: Read error or end of stream`): the failure's own
    /// report, which the error rules grade; the loop adds nothing to it.
    error_line: bool,
}

/// esp-mqtt's client scheduling its next try (`D (285736) mqtt_client: Reconnect after 10000
/// ms`, `Reconnecting...`; `MQTT_CLIENT` at the info level in IDF 3.x and 4.x).
fn esp_mqtt_retry(text: &str) -> bool {
    super::idf::log_body(text)
        .and_then(|b| b.split_once(':'))
        .is_some_and(|(tag, said)| {
            let said = said.trim();
            tag.eq_ignore_ascii_case("mqtt_client")
                && (said.starts_with("Reconnect after ") || said.starts_with("Reconnecting"))
        })
}

/// The esp-mqtt examples' report of an `MQTT_EVENT_ERROR` (`Last errno string (Success)`,
/// `Last error reported from esp-tls: 0x8008`, `Last captured errno : 104 (Connection reset by
/// peer)`): the client said the connection failed, whatever the errno.
fn esp_mqtt_error_report(lower: &str) -> bool {
    [
        "last errno string",
        "last error reported from",
        "last captured errno",
        "last tls stack error",
    ]
    .iter()
    .any(|k| lower.contains(k))
        || lower.contains("mqtt_event_error")
}

/// An esp-mqtt event's name as the app's handler printed it: `MQTT_EVENT_DISCONNECTED`.
fn has_event(text: &str, name: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|w| w == name)
}

impl Session {
    /// A later line says the connection broke after all (the app's connection error, Wi-Fi
    /// lost, a crash the board reported): the session's pass no longer stands, and what the log
    /// ends on decides.
    pub(crate) fn withdraw(&mut self, core: &mut Engine) {
        if std::mem::take(&mut self.passed) {
            core.withdraw_pass();
        }
    }

    /// Read one line (after the connection findings). Whether it was a connect that decided.
    pub(crate) fn line(&mut self, core: &mut Engine, text: &str, lower: &str) -> bool {
        self.esp_mqtt_loop(core, text, lower);
        // A paste's `. . .` for lines left out is not work.
        if !lower.contains("connect") && lower.chars().any(|c| c.is_ascii_alphanumeric()) {
            // The firmware did something else between connects: no loop, or the loop it was
            // in is over and the last connect held.
            let looped = self.reconnects.take().filter(|(_, n)| *n >= CONNECT_LOOP);
            let still_the_verdict = core
                .outcome
                .as_ref()
                .is_some_and(|o| o.reason.contains(LOOP_WORDS));
            if let Some((first, n)) = looped.filter(|_| still_the_verdict) {
                core.connected_again();
                let reason = format!(
                    "line {first}: the client connected to the broker, and after {n} connects in \
                     a row the last one held: the firmware went on with other work"
                );
                core.propose(Verdict::Pass, None, reason, Finality::AfterLines(40));
                self.passed = true;
            }
        }
        if failure(lower).is_some() {
            self.failures += 1;
            if self.passed
                && !core.is_final
                && core
                    .outcome
                    .as_ref()
                    .is_some_and(|o| o.verdict == Verdict::Fault)
            {
                // Connected, then lost: the next connect that works takes this back too.
                core.attempt_failed = true;
            }
            self.passed = false;
            return false;
        }
        let Some(what) = works(text, lower) else {
            return false;
        };
        if self.connect_loop(core, text, lower) {
            return true;
        }
        let retried = self.failures > 0 && core.attempt_failed;
        if !retried && core.outcome.is_some() {
            return false;
        }
        let quoted = short(text.trim());
        // Talking to the broker is past connecting (the reference sketch's stages) and into
        // the app's run (an ESP-IDF app's).
        core.enter(Stage::TlsConnect, None);
        core.enter(Stage::Run, None);
        let failures = std::mem::take(&mut self.failures);
        if retried {
            let tries = if failures == 1 { "try" } else { "tries" };
            let reason = format!(
                "line {}: {what} after {failures} failed {tries} (`{quoted}`): the connection \
                 works, though not at the first try",
                core.line
            );
            core.propose(Verdict::Pass, None, reason, Finality::AfterLines(40));
            self.passed = true;
            return true;
        }
        let reason = format!(
            "line {}: {what} (`{quoted}`): the MQTT connection works",
            core.line
        );
        core.propose(Verdict::Pass, None, reason, Finality::AfterLines(40));
        self.passed = true;
        true
    }
}

impl Session {
    /// Count a connect (`Attempting MQTT connection...connected`) that `works` read: at
    /// [`CONNECT_LOOP`] of them in a row with no other line between, the connection does not
    /// hold, and the run is a fault that a later line of other work takes back.
    /// Whether it decided.
    fn connect_loop(&mut self, core: &mut Engine, text: &str, lower: &str) -> bool {
        let connect = lower.contains("connect")
            && !["publish", "subscri", "message", "topic"]
                .iter()
                .any(|w| lower.contains(w));
        if !connect {
            return false;
        }
        let (first, n) = self.reconnects.map_or((core.line, 1), |(f, n)| (f, n + 1));
        self.reconnects = Some((first, n));
        if n < CONNECT_LOOP {
            return false;
        }
        // Each further connect of the loop restates it: a failed try inside it is a turn of it.
        self.withdraw(core);
        let reason = format!(
            "line {first}: the MQTT client connected {n} times {LOOP_WORDS} (`{}`): the broker \
             drops each connection right after it is made (another client with the same client \
             ID, a `loop()` that is not called so the keep-alive lapses, or a broker that \
             refuses the session after CONNECT)",
            short(text.trim())
        );
        core.propose_failed_attempt(None, reason, Finality::AfterLines(40));
        true
    }

    /// esp-mqtt has no failure line of its own for a connect that did not work: the app's
    /// event handler prints `MQTT_EVENT_DISCONNECTED` (and its error report), and the client
    /// says it will try again. Both, with no `MQTT_EVENT_CONNECTED` since, are a client that
    /// has no broker connection: a failed attempt, which a later connect takes back.
    fn esp_mqtt_loop(&mut self, core: &mut Engine, text: &str, lower: &str) {
        let quoted = || short(text.trim());
        if has_event(text, "MQTT_EVENT_CONNECTED") {
            self.loop_seen = EspMqttLoop::default();
            return;
        }
        if text.trim_start().starts_with("E (") && super::idf::log_body(text).is_some() {
            self.loop_seen.error_line = true;
        }
        if has_event(text, "MQTT_EVENT_DISCONNECTED") {
            self.loop_seen.disconnected = Some(quoted());
        } else if esp_mqtt_retry(text) {
            self.loop_seen.retrying = Some(quoted());
        } else if esp_mqtt_error_report(lower) {
            self.loop_seen.report.get_or_insert_with(quoted);
        }
        if self.loop_seen.disconnected.is_none() || self.loop_seen.retrying.is_none() {
            return;
        }
        let EspMqttLoop {
            disconnected: Some(down),
            retrying: Some(retry),
            report,
            error_line,
        } = std::mem::take(&mut self.loop_seen)
        else {
            return;
        };
        if error_line {
            return;
        }
        self.withdraw(core);
        // A failure the client or its transport already reported (`Read error or end of
        // stream`, esp-tls's errno) says why better than the loop: it stays the reason.
        if core.outcome.is_some() {
            return;
        }
        self.failures += 1;
        let report = report
            .map(|r| format!("; the app's error report before it: `{r}`"))
            .unwrap_or_default();
        let reason = format!(
            "line {}: the MQTT client (esp-mqtt) has no broker connection: the app got \
             `{down}` and the client is trying again (`{retry}`), with no \
             MQTT_EVENT_CONNECTED since{report}; the transport's lines before it (esp-tls, \
             TRANSPORT_BASE) say whether TCP, TLS or the MQTT CONNECT failed",
            core.line
        );
        core.enter(Stage::TlsConnect, None);
        let stage = core.current_name().to_owned();
        core.propose_failed_attempt(
            Some(&stage),
            reason,
            Finality::AfterLines(super::tlsverdict::TLS_WAIT),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_the_connect_that_follows() {
        let (why, rc) =
            failure("attempting mqtt connection...failed, rc=-2 try again in 5 seconds")
                .unwrap_or_else(|| panic!("not read"));
        assert_eq!(rc, Some(-2));
        assert!(
            why.starts_with(WHO) && why.contains("MQTT_CONNECT_FAILED"),
            "{why}"
        );
        assert!(connected("attempting mqtt connection...connected"));
        assert!(connected(
            "Attempting MQTT connection... connected!"
                .to_ascii_lowercase()
                .as_str()
        ));
        assert!(!connected("attempting mqtt connection...disconnected"));
        assert!(!connected("attempting mqtt connection...not connected"));
        assert!(!connected("wifi connected"));
        assert!(connected("mqtt connecting connected!"));
        for (line, rc) in [
            ("state: -2", -2),
            ("MQTT state: -4", -4),
            ("client state = 5", 5),
        ] {
            let got = failure(&line.to_ascii_lowercase()).map(|(_, rc)| rc);
            assert_eq!(got, Some(Some(rc)), "{line}");
        }
        for line in [
            "state: 0 -> 2 (b0)",
            "state: 5 -> 0 (0)",
            "state: 3",
            "statement: -2",
        ] {
            assert_eq!(failure(line), None, "{line}");
        }
    }

    #[test]
    fn esp_mqtt_on_the_non_os_sdk_reconnecting_and_connected() {
        for line in [
            "TCP: Reconnect to 192.168.0.92:1883",
            "TCP:Reconect to: 192.168.0.92:1883",
        ] {
            let (why, _) =
                failure(&line.to_ascii_lowercase()).unwrap_or_else(|| panic!("not read: {line}"));
            assert!(why.contains("192.168.0.92:1883"), "{why}");
        }
        assert_eq!(failure("tcp: reconnect to"), None);
        assert_eq!(failure("tcp: connect to ip  192.168.0.92:1883"), None);
        for line in [
            "Connected to broker.",
            "[mqtt] Connected to MQTT broker!",
            "AWS IoT Connected!",
            "I (5000) MQTT_EXAMPLE: sent publish successful, msg_id=1234",
        ] {
            assert!(works(line, &line.to_ascii_lowercase()).is_some(), "{line}");
        }
        for line in ["Not connected to broker.", "Disconnected from broker"] {
            assert_eq!(works(line, &line.to_ascii_lowercase()), None, "{line}");
        }
        let line = "MQTT: Connected to broker 192.168.0.92:1883";
        assert!(
            works(line, &line.to_ascii_lowercase()).is_some_and(|w| w.contains("esp_mqtt")),
            "{line}"
        );
    }

    #[test]
    fn tasmota_and_core_mqtt_failures_in_their_words() {
        for (line, rc, word) in [
            (
                "17:12:21 MQT: Connect failed to 10.0.4.106:1883, rc -2. Retry in 10 sec",
                -2,
                "rc -2, MQTT_CONNECT_FAILED",
            ),
            (
                "14:48:48 MQTT: Connect FAILED to 192.168.2.139:1883, rc -4.",
                -4,
                "rc -4, MQTT_CONNECTION_TIMEOUT",
            ),
            (
                "Jun  2 20:09:27 sonoff-3083 ESP-MQT: Connect failed to 192.168.99.6:1883, rc -2. Retry in 10 sec",
                -2,
                "broker 192.168.99.6:1883",
            ),
            (
                "MQT: Verbindung fehlgeschlagen aufgrund von 10.100.44.96:1883, rc -2",
                -2,
                "broker 10.100.44.96:1883: rc -2, MQTT_CONNECT_FAILED",
            ),
            (
                "22:23:34 MQT: Connect failed to 192.168.10.150:1883, rc 8. Retry in 10 sec",
                8,
                "rc 8, a state PubSubClient does not name",
            ),
        ] {
            let (why, code) =
                failure(&line.to_ascii_lowercase()).unwrap_or_else(|| panic!("not read: {line}"));
            assert_eq!(code, Some(rc), "{line}");
            assert!(why.contains(word), "{line}: {why}");
        }
        let (why, _) = failure(
            &"E (32013) coreMQTT: CONNACK recv failed with status = MQTTRecvFailed."
                .to_ascii_lowercase(),
        )
        .unwrap_or_else(|| panic!("coreMQTT not read"));
        assert!(
            why.contains("`MQTTRecvFailed`") && why.contains("iot:Connect"),
            "{why}"
        );
        let (why, _) = failure("disconnected from mqtt. reason: mqtt_not_authorized")
            .unwrap_or_else(|| panic!("AsyncMqttClient not read"));
        assert!(
            why.contains("MQTT_NOT_AUTHORIZED, the broker did not"),
            "{why}"
        );
        assert!(failure("disconnected from mqtt.").is_some());
        // Quoted as markdown in a paste; the reason says the client disconnected.
        let (why, _) = failure("> disconnected from mqtt. ")
            .unwrap_or_else(|| panic!("quoted AsyncMqttClient line not read"));
        assert!(why.contains("disconnected from the broker"), "{why}");
        let line = "E (32023) EstablishMqttSession: Connection with MQTT broker failed with status MQTTRecvFailed";
        assert!(failure(&line.to_ascii_lowercase()).is_some());
        for line in [
            "I (5) coreMQTT: MQTT connection established with the broker, status = MQTTSuccess.",
            "17:12:21 MQT: Attempting connection...",
            "17:12:21 MQT: rc -2",
            "17:12:21 MQT: Publish to broker:1883, rc 0 is fine",
            "> Connecting to MQTT... ",
            "> Error publishing MQTT Message ",
            "> the app never disconnected from mqtt",
        ] {
            assert_eq!(failure(&line.to_ascii_lowercase()), None, "{line}");
        }
    }

    #[test]
    fn esphomes_publish_trace_is_a_publish_made() {
        let l = "[22:03:44][V][mqtt:372]: Publish(topic='s/binary_sensor/pir/state' payload='OFF' retain=1)";
        assert!(works(l, &l.to_ascii_lowercase()).is_some_and(|w| w.contains("ESPHome")));
        let l = "[22:03:44][W][mqtt:372]: Publish failed for topic='s/state'";
        assert_eq!(works(l, &l.to_ascii_lowercase()), None);
    }

    #[test]
    fn a_broker_connection_that_drops_in_each_firmware() {
        for (line, word) in [
            (
                "[12:22:00][W][mqtt.client:257]: MQTT Disconnected: TCP disconnected.",
                "TCP disconnected",
            ),
            (
                "[09:01:02][W][mqtt:255]: MQTT Disconnected: Not Authorized",
                "not authorized",
            ),
            (
                "[2018-03-20 02:38:44] [508748] [MQTT] TCP Disconnected",
                "TCP disconnected",
            ),
            ("[508748] [MQTT] Disconnected!", "ESPurna"),
            ("✖ MQTT disconnected, reason: 0", "TCP disconnected"),
        ] {
            let (why, _) =
                failure(&line.to_ascii_lowercase()).unwrap_or_else(|| panic!("not read: {line}"));
            assert!(
                why.to_ascii_lowercase()
                    .contains(&word.to_ascii_lowercase()),
                "{line}: {why}"
            );
        }
        for line in [
            "I (9000) MQTT_EXAMPLE: MQTT_EVENT_DISCONNECTED",
            "[MQTT] Connecting to broker at 192.168.0.2:1883",
            "[12:21:58][I][mqtt.client:209]: MQTT Connected!",
        ] {
            assert_eq!(failure(&line.to_ascii_lowercase()), None, "{line}");
        }
    }

    fn graded(log: &str) -> crate::grade::Report {
        crate::grade::grade_bytes(
            crate::grade::GradeConfig::new(crate::grade::Profile::Auto),
            log.as_bytes(),
        )
    }

    #[test]
    fn the_last_state_of_a_flapping_session_decides() {
        let flap = "[12:21:58][I][mqtt.client:170]: Connecting to MQTT...\n\
                    [12:21:58][I][mqtt.client:209]: MQTT Connected!\n\
                    [12:22:00][W][mqtt.client:257]: MQTT Disconnected: TCP disconnected.\n";
        let r = graded(&flap.repeat(4));
        assert_eq!(
            (r.verdict, r.exit_code),
            (Verdict::Fault, 5),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("disconnected"), "{}", r.reason);
        // Connected at last and staying up: a pass after failed tries.
        let up = "[12:23:00][I][mqtt.client:209]: MQTT Connected!\n\
                  [12:23:01][D][sensor:100]: 'Temperature': Sending state 21.0\n";
        let r = graded(&format!("{}{up}", flap.repeat(2)));
        assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
        // ESPurna never gets past TCP.
        let espurna = "[500759] [MQTT] Connecting to broker at 192.168.0.2:1883\n\
                       [508748] [MQTT] TCP Disconnected\n[508748] [MQTT] Disconnected!\n";
        let r = graded(&espurna.repeat(3));
        assert_eq!(
            (r.verdict, r.exit_code),
            (Verdict::Fault, 5),
            "{}",
            r.reason
        );
    }

    #[test]
    fn long_lines_are_quoted_short() {
        assert_eq!(short("MQT: Connected"), "MQT: Connected");
        let long = format!("[ OMG->MQTT ] topic: a/b msg: {}", "é".repeat(300));
        let q = short(&long);
        assert!(q.ends_with('…') && q.chars().count() == 121, "{q}");
    }

    #[test]
    fn what_a_working_mqtt_connection_looks_like_in_each_client() {
        let w = |l: &str| works(l, &l.to_ascii_lowercase());
        for line in [
            // Tasmota, Sonoff-MQTT-OTA.
            "22:23:40 MQT: Connected",
            "22:23:40 MQT: tele/sonoff01/LWT = Online (retained)",
            "22:23:40 MQT: cmnd/sonoff01/POWER = ",
            "11:58:29 MQTT: stat/sonoff/POWER = OFF",
            "11:58:29 MQTT: Receive topic cmnd/sonoff/power, data off",
            // OpenMQTTGateway.
            "[2026-07-13 22:04:03] N: [ OMG->MQTT ] topic: home3/OMG_lilygo/SYStoMQTT msg: {\"mqtt\":true}",
            // esp-mqtt (ESP-IDF's mqtt/tcp example).
            "I (101963) MQTT_EXAMPLE: MQTT_EVENT_SUBSCRIBED, msg_id=22790",
            "I (101983) MQTT_EXAMPLE: MQTT_EVENT_PUBLISHED, msg_id=27724",
            "I (101993) MQTT_EXAMPLE: MQTT_EVENT_DATA",
            "I (4512) MQTT_EXAMPLE: MQTT_EVENT_CONNECTED",
            // PubSubClient's examples, ESPHome, AsyncMqttClient, coreMQTT's demos.
            "Attempting MQTT connection...connected",
            "[14:00:10][I][mqtt:274]: MQTT Connected!",
            "Connected to MQTT.",
            "Publish acknowledged.",
            "I (9000) coreMQTT: MQTT connection successfully established with broker.",
            "I (11216) subpub: Subscribe callback",
            // arduino-mqtt's and PubSubClient's message callbacks.
            "incoming: /devices/iot-sample-device/config - ",
            "incoming: /hello - world",
            "Message arrived [inTopic] 1",
        ] {
            assert!(w(line).is_some(), "{line}");
        }
        for line in [
            "17:12:21 MQT: Attempting connection...",
            "17:12:21 MQT: Connect failed to 10.0.4.106:1883, rc -2. Retry in 10 sec",
            "17:12:22 RSL: tele/Bomba_de_riego/STATE = {\"MqttCount\":0}",
            "I (5571) MQTT_CLIENT: Error MQTT Connected",
            "I (9000) MQTT_EXAMPLE: MQTT_EVENT_DISCONNECTED",
            "I (9000) MQTT_EXAMPLE: MQTT_EVENT_ERROR",
            "Attempting MQTT connection...failed, rc=-2 try again in 5 seconds",
            "WiFi connected",
            "00:00:12 MQT: TLS connection error: 55",
            "incoming: call from 555 - 1234",
            "Message arrived [] ",
            // Tasmota's answers to commands (Template, Module, GPIO, Status 12).
            "10:44:17.854 MQT: stat/tasmota_650431/RESULT = {\"NAME\":\"Generic\"}",
            "17:13:55.146 MQT: stat/tasmota_8D8936/STATUS12 = {",
        ] {
            assert_eq!(w(line), None, "{line}");
        }
    }

    #[test]
    fn an_esp_mqtt_reconnect_loop_with_no_connect_is_a_fault_until_it_connects() {
        use crate::grade::{GradeConfig, Profile, grade_bytes};
        let looping = "I (285736) app: Last errno string (Success)\n\
             D (285736) mqtt_client: Reconnect after 10000 ms\n\
             I (285756) app: MQTT_EVENT_DISCONNECTED\n\
             D (295756) mqtt_client: Reconnecting...\n";
        let r = grade_bytes(GradeConfig::new(Profile::Auto), looping.as_bytes());
        assert_eq!(r.exit_code, 5, "{}", r.reason);
        assert!(
            r.reason.contains("esp-mqtt")
                && r.reason.contains("MQTT_EVENT_DISCONNECTED")
                && r.reason.contains("Last errno string"),
            "{}",
            r.reason
        );
        // IDF 3.x/4.x print the client's tag in capitals, at the info level.
        let r = grade_bytes(
            GradeConfig::new(Profile::Auto),
            b"I (9000) MQTT_EXAMPLE: MQTT_EVENT_DISCONNECTED\n\
              I (9010) MQTT_CLIENT: Reconnect after 10000 ms\n",
        );
        assert_eq!(r.exit_code, 5, "{}", r.reason);
        // The next try connects: the loop is over.
        let worked = format!("{looping}I (296756) app: MQTT_EVENT_CONNECTED\n");
        let r = grade_bytes(GradeConfig::new(Profile::Auto), worked.as_bytes());
        assert_eq!(r.exit_code, 0, "{}", r.reason);
        // A disconnect alone, with no retry from the client, is not this loop.
        assert!(!esp_mqtt_retry("I (1) app: Reconnect after 10000 ms"));
    }

    #[test]
    fn a_state_printed_on_its_own_line_joins_its_failed_rc() {
        let joined = split_rc("failed, rc=", "-2").unwrap_or_default();
        assert_eq!(joined, "failed, rc=-2");
        assert!(failure(&joined.to_ascii_lowercase()).is_some_and(|(_, rc)| rc == Some(-2)));
        assert_eq!(
            split_rc("Attempting MQTT connection...failed, rc=", "5").as_deref(),
            Some("Attempting MQTT connection...failed, rc=5")
        );
        // Not a number on its own, or a line before that is not a failed connect.
        for (prev, text) in [
            ("failed, rc=", "-2 try again"),
            ("failed, rc=", "12345"),
            ("failure_number", "4"),
            ("failed, rc=-2", "5"),
        ] {
            assert_eq!(split_rc(prev, text), None, "{prev} / {text}");
        }
    }
}
