//! Other firmware's output: ESP-IDF apps, HTTPClient, MicroPython, NodeMCU, MQTT, OTA, crashes.
#![allow(clippy::unwrap_used)] // tests may unwrap

use super::*;

#[test]
fn connection_advice_fits_the_chip_and_names_the_host() {
    let esp32 = auto(
        "ets Jun  8 2016 00:22:57\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n\
         [   812][I][app.cpp:20] setup(): start\nConnecting to MyWifi\nWiFi connected\n\
         connecting to api.example.com\nconnection failed\n",
    );
    assert_eq!(esp32.verdict, Verdict::Fault, "{}", esp32.reason);
    assert!(esp32.reason.contains("api.example.com"), "{}", esp32.reason);
    assert!(!esp32.reason.contains("BSSL"), "{}", esp32.reason);
    assert!(
        esp32.reason.contains("CORE_DEBUG_LEVEL"),
        "{}",
        esp32.reason
    );
    let esp8266 = auto(
        "SDK:2.2.1(cfd48f3)/Core:2.4.1\nConnecting to MyWifi\nWiFi connected\n\
         connecting to api.example.com\nconnection failed\n",
    );
    assert!(esp8266.reason.contains("BSSL:"), "{}", esp8266.reason);
    // A name other firmware prints before its own failure line.
    let other = auto(
        "00:01:376 connecting to api.monitec.systems\n00:01:973 Request failed. Reason: (0) connection failed\n",
    );
    assert!(
        other.reason.contains("api.monitec.systems"),
        "{}",
        other.reason
    );
}

#[test]
fn websocket_mqtt_and_plain_http_answers_of_other_firmware() {
    let r = auto(
        "TRANSPORT_WS: Sec-WebSocket-Accept not found\nMQTT_CLIENT: Error transport connect\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("WebSocket upgrade"), "{}", r.reason);
    let r =
        auto("WiFi connected\nAttempting MQTT connection...failed, rc=-2 try again in 5 seconds\n");
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("MQTT_CONNECT_FAILED"), "{}", r.reason);
    let r =
        auto("connecting to server...\nConected\nHTTP/1.1 400 Bad Request\nServer: cloudflare\n");
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    assert!(r.reason.contains("400"), "{}", r.reason);
    let r = auto(
        ":ref 1\nBSSL:_connectSSL: start connection\nBSSL:Connection *will* fail, no authentication method is setup\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("setInsecure"), "{}", r.reason);
}

#[test]
fn ota_and_cloud_libraries_that_could_not_reach_their_server_are_faults() {
    for (log, words) in [
        (
            "16:48:15.042 -> HTTP_UPDATE_FAILD Error (-1): HTTP error: connection refused.\n",
            ["HTTPUpdate error -1", "connection refused"],
        ),
        (
            "HTTP_UPDATE_FAILED Error (-1): HTTP error: connection failed\n",
            ["HTTPUpdate error -1", "connection failed"],
        ),
        (
            "E (5885) esp_https_ota: Failed to open HTTP connection: 28675\n",
            ["esp_https_ota", "ESP_ERR_HTTP_CONNECT"],
        ),
        (
            "Token info: type = id token, status = error\n\
             Token error: code: -1, message: connection refused\n",
            ["Firebase", "connection refused"],
        ),
        (
            "E (59859) esp-tls: Failed to connnect to host (errno 104)\n",
            ["esp-tls", "reset the TCP connection (errno 104)"],
        ),
    ] {
        let r = auto(log);
        assert_eq!(
            (r.verdict, r.exit_code),
            (Verdict::Fault, 5),
            "{log}: {}",
            r.reason
        );
        for w in words {
            assert!(r.reason.contains(w), "{log}: {}", r.reason);
        }
    }
}

#[test]
fn bearssl_handshake_failure_is_a_fault() {
    let r = auto(":c0 2, 7\nBSSL:_wait_for_handshake: failed\n:ur 1\nWS:dis\n");
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("TLS handshake failed"), "{}", r.reason);
}

#[test]
fn a_micropython_traceback_is_a_fault_that_names_the_exception_and_the_call() {
    let r = auto(
        ">>> s.connect(addr)\n>>> s = ssl.wrap_socket(s)\nTraceback (most recent call last):\n  \
         File \"<stdin>\", line 1, in <module>\nOSError: -40\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("`OSError: -40`"), "{}", r.reason);
    assert!(r.reason.contains("ssl.wrap_socket"), "{}", r.reason);
    // The REPL's echo of `getaddrinfo(…)` is the user's input, not esp-tls failing DNS.
    let r = auto(">>> ai = usocket.getaddrinfo(hostname, 443)\n>>> print(ai)\n");
    assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
    // A crash after a TLS failure and the program's traceback is the headline.
    let r = auto(
        "Socket Open\nmbedtls_ssl_handshake error: -7280\nSocket has timed out: [Errno 5] EIO\n\
         Traceback (most recent call last):\n  File \"main.py\", line 548, in <module>\n\
         OSError: [Errno 22] EINVAL\n\nSending to server /update\nSocket Open\n\n\
         abort() was called at PC 0x40131a87 on core 0\n\nBacktrace: 0x400873fb:0x3ffce020\n",
    );
    assert!(r.reason.contains("abort() was called"), "{}", r.reason);
}

#[test]
fn an_idf_socket_example_whose_server_closes_without_answering_is_a_fault() {
    let r = auto(
        "I (863514) example: Connection established...\nI (863514) example: 88 bytes written\n\
         I (863514) example: Reading HTTP response...\nI (983584) example: connection closed\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(
        r.reason.contains("without sending any response"),
        "{}",
        r.reason
    );
    // With the response printed between them, the status line decides.
    let r = auto(
        "I (5) example: Reading HTTP response...\nHTTP/1.1 200 OK\nContent-Type: text/plain\n\
         \nhello\nI (9) example: connection closed\n",
    );
    assert_eq!((r.verdict, r.exit_code), (Verdict::Pass, 0), "{}", r.reason);
}

#[test]
fn a_retry_that_gets_a_status_supersedes_the_failed_attempt() {
    let r = auto(
        "[HTTPS] begin...\n[HTTPS] GET...\nBSSL:_wait_for_handshake: failed\n\
         [HTTPS] GET... failed, error: connection refused\n[HTTPS] begin...\n[HTTPS] GET...\n\
         [HTTPS] GET... code: 200\n",
    );
    assert_eq!((r.verdict, r.exit_code), (Verdict::Pass, 0), "{}", r.reason);
    assert!(r.reason.contains("HTTP 200"), "{}", r.reason);
    assert!(r.reason.contains("earlier attempt failed"), "{}", r.reason);
    assert!(r.reason.contains("_wait_for_handshake"), "{}", r.reason);
}

#[test]
fn a_request_that_got_no_status_is_a_connection_fault() {
    for log in [
        "[HTTP] begin...\n[HTTP] GET...\n[HTTP] GET... failed, error: connection refused\n",
        "Connected to WiFi network\nError code: -1\n",
        "[HTTPS] GET... code: -11\n",
    ] {
        let r = auto(log);
        assert_eq!(
            (r.verdict, r.exit_code),
            (Verdict::Fault, 5),
            "{log}: {}",
            r.reason
        );
        assert_eq!(r.stage, "tls-connect", "{log}");
        assert!(
            r.reason.contains("before any HTTP status"),
            "{log}: {}",
            r.reason
        );
    }
}

#[test]
fn a_retry_that_connects_withdraws_the_failure_but_not_a_wifi_reconnect() {
    let r =
        auto("BSSL:_wait_for_handshake: failed\nretrying in 5 s\nConnected to server!\nhello\n");
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Timeout, 3),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("a retry connected"), "{}", r.reason);
    let r = auto("BSSL:_wait_for_handshake: failed\nConnected to WiFi\nhello\n");
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
}

/// The ESP8266 core's BearSSL_Validation example: its first fetch is meant to fail, the next
/// connects (the shape of esp8266/Arduino#4738's log).
#[test]
fn bearssl_examples_trying_lines_fail_and_retry() {
    let log = "WiFi connected\nCurrent time: Thu Nov 26 10:00:00 2026\n\
               Trying: api.github.com:443...*** Can't connect. ***\n-------\n";
    let r = auto(log);
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(
        r.reason.contains("connection to api.github.com failed"),
        "{}",
        r.reason
    );
    let r = auto(&format!(
        "{log}\nTrying: api.github.com:443...Connected!\n-------\nHTTP/1.1 200 OK\n-------\n"
    ));
    assert_eq!((r.verdict, r.exit_code), (Verdict::Pass, 0), "{}", r.reason);
    assert!(r.reason.contains("earlier attempt failed"), "{}", r.reason);
    let r = auto("Current time: Thu Nov 26 10:00:00 2026\nsomething else\n");
    assert!(r.reason.contains("the clock was set"), "{}", r.reason);
}

#[test]
fn a_pubsubclient_retry_that_connects_takes_back_the_failures_before_it() {
    let fail = "Attempting MQTT connection...failed, rc=-2 try again in 5 seconds\n";
    let ok = "Attempting MQTT connection...connected\n";
    let r = auto(&format!("{fail}{fail}{ok}"));
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    assert!(r.reason.contains("after 2 failed tries"), "{}", r.reason);
    // Failures only, or a connection lost again after the connect: the fault stands.
    for log in [format!("{fail}{fail}"), format!("{fail}{ok}{fail}")] {
        let r = auto(&log);
        assert_eq!(r.verdict, Verdict::Fault, "{log}: {}", r.reason);
        assert!(r.reason.contains("rc=-2"), "{}", r.reason);
    }
    // A crash is not taken back by a connect.
    let r = auto(&format!(
        "{fail}Exception (28):\nepc1=0x4020a5d4 epc2=0x00000000\n{ok}"
    ));
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
}

#[test]
fn a_client_that_connects_again_and_again_has_no_connection_that_holds() {
    let ok = "Attempting MQTT connection...connected\n";
    let r = auto(&ok.repeat(7));
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(
        r.reason.contains("connected 7 times in a row"),
        "{}",
        r.reason
    );
    // A reconnect or two, or a loop that ends in a session at work, is no fault.
    let r = auto(&ok.repeat(3));
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    let r = auto(&format!(
        "{}Message published to topic sensors/t\n",
        ok.repeat(6)
    ));
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
}

#[test]
fn a_board_whose_own_address_stays_0_0_0_0_never_got_one() {
    let r = auto("Ethernet cable is now connected.\nlocalIP: 0.0.0.0\nsubnetMask: 0.0.0.0\n");
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("`localIP: 0.0.0.0`"), "{}", r.reason);
    // An address after it, or only the DHCP setting traced, is no such fault.
    let r = auto("localIP: 0.0.0.0\nlocalIP: 192.168.1.9\n");
    assert_ne!(r.verdict, Verdict::Fault, "{}", r.reason);
    let r = auto(
        "[  1001][V][WiFiGeneric.cpp:97] set_esp_interface_ip(): Configuring Station static IP: \
         0.0.0.0, MASK: 0.0.0.0, GW: 0.0.0.0\n",
    );
    assert_ne!(r.verdict, Verdict::Fault, "{}", r.reason);
}

#[test]
fn a_web_servers_received_host_header_is_not_the_server() {
    let r = auto(
        "WiFi connected\nIP address: 192.168.1.50\nHTTP server started\nGET /update HTTP/1.1\n\
         Host: 192.168.1.50\nBSSL:_wait_for_handshake: failed\n",
    );
    assert!(!r.reason.contains("192.168.1.50"), "{}", r.reason);
    let r = auto("GET /repos HTTP/1.1\nHost: api.github.com\nBSSL:_wait_for_handshake: failed\n");
    assert!(r.reason.contains("api.github.com"), "{}", r.reason);
}

#[test]
fn an_idf_log_pasted_from_mid_run_is_graded_as_an_idf_app() {
    let r = auto(
        "I (5212) wifi:state: run -> init (0)\n\
         W (5222) wifi:disconnected, reason: 8\n\
         I (9130) esp_netif_handlers: sta ip: 192.168.1.7, mask: 255.255.255.0\n\
         E (9510) esp-tls: Failed to open new connection\n\
         E (9520) transport_base: Failed to open a new connection\n",
    );
    assert_eq!(
        (r.verdict, r.profile.as_str()),
        (Verdict::Fault, "esp-idf"),
        "{}",
        r.reason
    );
    // Bootloader lines alone are not an app; an Arduino log keeps its own profile.
    let r =
        auto("I (29) boot: ESP-IDF v4.4.5 2nd stage bootloader\nI (29) boot: compile time 12:00\n");
    assert_ne!(r.profile, "esp-idf");
    let r = auto("connecting to api.github.com\nE (9510) task_wdt: Task watchdog got triggered.\n");
    assert_ne!(r.profile, "esp-idf", "{}", r.reason);
}

#[test]
fn an_ota_download_whose_image_is_refused_is_a_no_not_a_fault() {
    let r = auto(
        "I (63543) Ota: Progress: 100% (2653552/2653552), Speed: 7275B/s\n\
         I (63543) HttpClient: HTTP connection closed\n\
         I (63543) esp_image: segment 0: paddr=00410020 vaddr=3c1c0020 size=a6fa4h (683940) map\n\
         E (63753) esp_image: Image hash failed - image is corrupt\n\
         E (63753) esp_ota_ops: New image failed verification\n\
         E (63763) Application: Firmware upgrade failed, restarting audio service\n",
    );
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    assert!(r.reason.contains("Image hash failed"), "{}", r.reason);
    let r = auto("HTTP_UPDATE_FAILD Error (-106): Verify bin header failed\n");
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    // The bootloader checking the installed app is no OTA download.
    let r = auto(
        "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n\
         I (29) boot: ESP-IDF v4.4.5 2nd stage bootloader\n\
         E (58) esp_image: image at 0x10000 has invalid magic byte (nothing flashed here)\n",
    );
    assert_ne!(r.verdict, Verdict::Fail, "{}", r.reason);
    // Nor when the paste starts at the bootloader's lines, without the ROM banner.
    let r = auto(
        "I (29) boot: ESP-IDF v4.4.5 2nd stage bootloader
         E (58) esp_image: image at 0x10000 has invalid magic byte (nothing flashed here)
",
    );
    assert_ne!(r.verdict, Verdict::Fail, "{}", r.reason);
}

#[test]
fn firebase_token_errors_say_whether_the_server_answered() {
    let r = auto(
        "WiFi connected\nFirebase Client v2.5.5\nToken info: type = id token, status = error\n\
         Token error: code: 400, message: bad request\n",
    );
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    assert!(r.reason.contains("HTTP 400"), "{}", r.reason);
    let r = auto(
        "19:55:29.216 -> Connected with IP: 10.0.0.6\n19:55:29.216 -> Firebase Client v3.9.3\n\
         19:55:29.216 -> Set int... token is not ready\n19:55:34.232 -> Set int... token is not ready\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("auth token"), "{}", r.reason);
}

#[test]
fn esphome_says_why_wifi_never_connected() {
    let r = auto(
        "[18:43:56][I][wifi:1097]: Connecting to [redacted] (attempt 1/2)...\n\
         [18:44:01][W][wifi_esp32:803]: Disconnected ssid='QraIoT' bssid=[redacted] \
         reason='Auth Expired'\n[18:44:01][W][wifi:1673]: Connecting to network failed (callback)\n",
    );
    assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
    assert!(
        r.reason.contains("never joined the Wi-Fi network"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("AUTH_EXPIRE"), "{}", r.reason);
    let r = auto(&"[W][wifi:554]: WiFi Unknown connection status 0\n".repeat(3));
    assert!(
        r.reason.contains("never joined the Wi-Fi network"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("idle"), "{}", r.reason);
}

#[test]
fn a_sketch_that_prints_the_bare_code_after_its_url() {
    let url = "http://updates.example.com/version.txt\n";
    let r = auto(&format!("{url}200\n1 F52187696F59EE5A\n"));
    assert_eq!((r.verdict, r.exit_code), (Verdict::Pass, 0), "{}", r.reason);
    // Its later requests all time out: the board no longer gets an answer.
    let r = auto(&format!(
        "{url}200\n1 F52187696F59EE5A\n{url}-11\n\n{url}-11\n"
    ));
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("-11, read timeout"), "{}", r.reason);
}

#[test]
fn the_esp_http_client_examples_sequence_is_graded_by_its_worst_request() {
    let seq = "I (19671) HTTP_CLIENT: HTTP PATCH Status = 200, content_length = 335\n\
               I (21311) HTTP_CLIENT: HTTP DELETE Status = 200, content_length = 308\n\
               I (21721) HTTP_CLIENT: HTTP HEAD Status = 502, content_length = 122\n\
               I (21861) HTTP_CLIENT: HTTP GET Status = 200, content_length = 295\n";
    let r = auto(seq);
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    assert!(r.reason.contains("502"), "{}", r.reason);
    let r = auto(&format!(
        "{seq}I (39341) HTTP_CLIENT: HTTPS request with url =>\n\
         E (39381) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x0050\n"
    ));
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("-0x0050"), "{}", r.reason);
    let r = auto("I (3730) HTTP_CLIENT: HTTP GET Status = 200, content_length = -1\n");
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
}

#[test]
fn nodemcu_lua_http_callbacks_and_cut_micropython_tracebacks() {
    let r = auto(
        "> http.get(\"http://m.xkcd.com/\",function(c, d) print(c,#d) end)\n\
         > I (136615) HTTP_CLIENT: Redirect to https://m.xkcd.com/\n200\t2459\n",
    );
    assert_eq!((r.verdict, r.exit_code), (Verdict::Pass, 0), "{}", r.reason);
    // The same line with no http call before it is not a status.
    let r = auto("200\t2459\n");
    assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
    let r =
        auto("http.get(\"https://x.example/\", nil, function(code, data)\nHTTP request failed\n");
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    // A traceback the paste cut before its exception line still stopped the program.
    let r = auto(
        ">>> r = urequests.get('https://www.google.com/')\nTraceback (most recent call last)\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("urequests.get"), "{}", r.reason);
    let r = auto("Traceback (most recent call last):\n  File \"main.py\", line 12, in <module>\n");
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("main.py"), "{}", r.reason);
}

#[test]
fn an_update_server_that_answered_400_fails_and_esphome_connection_lost_is_a_fault() {
    let r = auto(
        "[HTTP-Client][sendRequest] type: 'GET' redirCount: 0\n\
         [HTTP-Client][handleHeaderResponse] RX: 'HTTP/1.1 400 Bad Request'\n\
         [HTTP-Client][handleHeaderResponse] RX:\n",
    );
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    assert!(r.reason.contains("400"), "{}", r.reason);
    // The sketch's own line after it says the same, and is no connection fault.
    let r = auto(
        "[HTTP-Client][handleHeaderResponse] RX: 'HTTP/1.1 400 Bad Request'\n\
         HTTP_UPDATE_FAILD Error (-104): Wrong HTTP Code\n",
    );
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    let r = auto(
        "m[W][http_request:081]: HTTP Request failed; URL: https://reqbin.com/echo/get/json; \
         Error: connection lost\n[HTTP-Client][end] tcp is closed\nBSSL:_connectSSL: start connection\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("connection lost"), "{}", r.reason);
}

#[test]
fn mqtt_that_works_in_the_firmwares_own_words_passes_and_its_last_state_decides() {
    // Tasmota: rc 8, then connected and publishing, twice over: the retries worked.
    let fail = "22:25:55 MQT: Connect failed to 192.168.10.150:1883, rc 8. Retry in 10 sec\n";
    let ok = "22:26:01 MQT: Connected\n22:26:01 MQT: tele/sonoff01/LWT = Online (retained)\n";
    let r = auto(&format!("{ok}{fail}{ok}{fail}{ok}"));
    assert_eq!((r.verdict, r.exit_code), (Verdict::Pass, 0), "{}", r.reason);
    assert!(
        r.reason.contains("after 1 failed try") && r.reason.contains("`MQT: Connected`"),
        "{}",
        r.reason
    );
    // Connected, then lost for good: the failure stands, in Tasmota's words.
    let r = auto(&format!("{ok}{fail}"));
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("rc 8"), "{}", r.reason);
    let r = auto("14:48:48 MQTT: Connect FAILED to 192.168.2.139:1883, rc -4.\n");
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(
        r.reason.contains("rc -4, MQTT_CONNECTION_TIMEOUT"),
        "{}",
        r.reason
    );
    // ESP-IDF's mqtt/tcp example getting its events, then the connection breaking.
    let events = "I (101963) MQTT_EXAMPLE: MQTT_EVENT_SUBSCRIBED, msg_id=22790\n\
                  I (101983) MQTT_EXAMPLE: MQTT_EVENT_PUBLISHED, msg_id=27724\n\
                  I (101993) MQTT_EXAMPLE: MQTT_EVENT_DATA\nTOPIC=/topic/qos0\nDATA=data\n";
    let r = auto(events);
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    assert!(r.reason.contains("MQTT_EVENT_SUBSCRIBED"), "{}", r.reason);
    let r = auto(&format!(
        "{events}E (28954) MQTT_CLIENT: Read error or end of stream\n\
         I (28954) MQTT_CLIENT: Reconnect after 10000 ms\n"
    ));
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    // coreMQTT: the broker closed the TLS session before its CONNACK.
    let r = auto(
        "E (32003) coreMQTT: A single byte was not read from the transport: transportStatus=-30848.\n\
         E (32013) coreMQTT: CONNACK recv failed with status = MQTTRecvFailed.\n\
         E (32013) coreMQTT: MQTT connection failed with status = MQTTRecvFailed.\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("`MQTTRecvFailed`"), "{}", r.reason);
    // AsyncMqttClient's example: lost, then connected again.
    let r = auto(
        "Connecting to MQTT...\nDisconnected from MQTT.\nConnecting to MQTT...\nConnected to MQTT.\n",
    );
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    assert!(r.reason.contains("earlier attempt failed"), "{}", r.reason);
    let r = auto("Connecting to MQTT...\nDisconnected from MQTT.\n");
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("AsyncMqttClient"), "{}", r.reason);
    // A board that reported an earlier crash is graded on it.
    let r = auto(
        "03:58:08 MQT: tele/Tasmota/INFO1 = {\"Module\":\"Generic\"}\n\
         03:58:08 MQT: tele/Tasmota/INFO3 = {\"RestartReason\":{\"Exception\":29,\"Reason\":\"Exception\"}}\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
}

#[test]
fn pasted_micropython_tracebacks_end_on_an_oserror_that_is_named() {
    // Inside markdown back-ticks, and with the `Traceback` header cut off.
    let r = auto(
        "` File \"urequests.py\", line 108, in get`\n\
         `  File \"urequests.py\", line 53, in request`\n`OSError: -202`\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(
        r.reason.contains("`OSError: -202`") && r.reason.contains("getaddrinfo"),
        "{}",
        r.reason
    );
    let r = auto(
        "`Traceback (most recent call last):\n  File \"<stdin>\", line 7, in <module>\n\
         \x20 File \"/lib/urllib/urequest.py\", line 30, in urlopen\nOSError: -40`\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(
        r.reason.contains("-40") && r.reason.contains("handshake_failure"),
        "{}",
        r.reason
    );
}

#[test]
fn blynk_refused_ready_or_never_connected() {
    let r = auto("[846659] Connecting to blynk.cloud:80\n[847566] Invalid auth token.\n");
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    assert!(r.reason.contains("auth token"), "{}", r.reason);
    let r = auto("[5001] Connecting to blynk.cloud:80\n[5120] Ready (ping: 24ms).\n");
    assert_eq!((r.verdict, r.exit_code), (Verdict::Pass, 0), "{}", r.reason);
    let r = auto(
        "Connecting WiFi...\n> Connecting Blynk...\nDisconnected.\nConnecting Blynk...\nDisconnected.\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("`Disconnected.`"), "{}", r.reason);
}

#[test]
fn httpclients_redirect_is_the_answer_unless_it_follows_it() {
    // ESP8266 core 3.1 debug output (esp8266/Arduino #9101's server), behind IDE stamps.
    let head = "12:00:01.100 -> [HTTP-Client][handleHeaderResponse] RX: 'HTTP/1.1 301 Moved \
                Permanently\n'\n12:00:01.101 -> [HTTP-Client][handleHeaderResponse] RX: \
                'Location: /points/40.697,-74.33\n'\n";
    let r = auto(head);
    assert_eq!(r.verdict, Verdict::Fail, "{}", r.reason);
    assert!(r.reason.contains("301"), "{}", r.reason);
    let r = auto(&format!(
        "{head}[HTTP-Client][sendRequest] following redirect (the same method): \
         'https://api.weather.gov/points/40.697,-74.33' redirCount: 1\n\
         [HTTP-Client][handleHeaderResponse] code: 200\n[HTTPS] GET... code: 200\n"
    ));
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
}

#[test]
fn a_timeout_in_unknown_firmware_says_it_printed_lines_no_rule_reads() {
    let r = auto("publish 1\nCount = 1\nRAM free 82016\npublish 2\nCount = 2\nRAM free 82016\n");
    assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
    assert!(
        r.reason.contains("printed 6 lines after boot")
            && r.reason.contains("its last line: `RAM free 82016`"),
        "{}",
        r.reason
    );
    // Garbage keeps the baud rate hint; so does a log too short to say the firmware runs.
    let r = auto("\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\na\nb\nc\nd\ne\n");
    assert!(r.reason.contains("wrong --baud"), "{}", r.reason);
    let r = auto("hello\nworld\n");
    assert!(r.reason.contains("wrong --baud"), "{}", r.reason);
}

#[test]
fn blank_rf_init_data_on_the_esp8266_is_a_fault_unless_the_radio_comes_up() {
    let stuck = auto(
        " ets Jan  8 2013,rst cause:2, boot mode:(3,7)\nload 0x40100000, len 23988, room 16\n\
         tail 4\nchksum 0x81\ncsum 0x19\nrf_cal[0] !=0x05,is 0x00\n",
    );
    assert_eq!(stuck.verdict, Verdict::Fault, "{}", stuck.reason);
    assert!(
        stuck.reason.contains("rf_cal") && stuck.reason.contains("esp_init_data_default.bin"),
        "{}",
        stuck.reason
    );
    let joined = auto(
        "rf_cal[0] !=0x05,is 0x00\nscandone\nstate: 0 -> 2 (b0)\nstate: 2 -> 3 (0)\n\
         state: 3 -> 5 (10)\nadd 0\naid 1\nconnected with MyNet, channel 6\n",
    );
    assert!(!joined.reason.contains("rf_cal"), "{}", joined.reason);
}

#[test]
fn a_time_sync_passes_only_when_the_log_ends_with_nothing_failed_after_it() {
    let synced = auto("[NTP] Started update...\n[NTP] Update finished (time of 1657578106)!\n");
    assert_eq!(synced.verdict, Verdict::Pass, "{}", synced.reason);
    assert!(synced.reason.contains("NTP server"), "{}", synced.reason);
    let then_failed = auto(
        "I (79622) esp_rmaker_time: SNTP Synchronised.\n\
         E (80100) esp_claim: Claim Verify Failed.\n",
    );
    assert_ne!(then_failed.verdict, Verdict::Pass, "{}", then_failed.reason);
}

#[test]
fn an_ifconfig_typed_at_the_repl_with_an_address_is_a_join() {
    let joined = auto(
        ">>> sta.connect('net', 'pass')\n>>> sta.isconnected()\nTrue\n>>> sta.ifconfig()\n\
         ('192.168.1.5', '255.255.255.0', '192.168.1.1', '8.8.8.8')\n",
    );
    assert_eq!(joined.verdict, Verdict::Pass, "{}", joined.reason);
    assert!(joined.reason.contains("192.168.1.5"), "{}", joined.reason);
    let none = auto(">>> sta.ifconfig()\n('0.0.0.0', '0.0.0.0', '0.0.0.0', '0.0.0.0')\n");
    assert_ne!(none.verdict, Verdict::Pass, "{}", none.reason);
}

#[test]
fn the_wificlientsecure_examples_body_after_headers_is_the_servers_answer() {
    let answered = auto(
        "Attempting to connect to SSID: MyNet\n.Connected to MyNet\n\nStarting connection to server...\n\
         Connected to server!\nheaders received\n{\"tls_version\":\"TLS 1.2\",\"rating\":\"Probably Okay\"}\n",
    );
    assert_eq!(answered.verdict, Verdict::Pass, "{}", answered.reason);
    assert!(
        answered.reason.contains("not proven"),
        "{}",
        answered.reason
    );
    // Headers and nothing after them: the body never came.
    let cut = auto("Connected to server!\nheaders received\n");
    assert_eq!(cut.verdict, Verdict::Timeout, "{}", cut.reason);
}

#[test]
fn an_arduinoota_upload_that_ends_with_the_log_before_its_reboot_completed() {
    let done = auto("Start updating sketch\nProgress: 10%\nProgress: 100%\nEnd\n");
    assert_eq!(done.verdict, Verdict::Pass, "{}", done.reason);
    assert!(done.reason.contains("`End`"), "{}", done.reason);
    // A bare `End` with no upload before it is no update.
    let bare = auto("End\n");
    assert_ne!(bare.verdict, Verdict::Pass, "{}", bare.reason);
}
