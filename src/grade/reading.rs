//! Reading one line: every rule sees each line in a fixed order, and the line layer's work
//! (stamps, cuts, garbled bytes) is counted here. What the log's end decides is in
//! [`closing`](super::closing); what a boot banner means is in [`boot`](super::boot).

use super::engine::Finality;
use super::{
    Block, Crash, Event, Grader, Line, Profile, ProfileState, Stage, TLS_WAIT, Verdict, appstate,
    appupdate, asynctcp, azure, blynk, boot, cohost, context, corenote, crash, decode, esp_at,
    firebase, framework_log_line, httpclient, https, idf, jobdone, lines, micropy, mqtt, pytrace,
    session, sockdrop, stops, tasmota, tls_reason, tlsdiag, updater, websocket, wifi, wifimanager,
    word,
};

impl Grader {
    pub(super) fn grade_lines(&mut self, lines: &mut Vec<Line>, out: &mut Vec<Event>) {
        for line in lines.drain(..) {
            self.grade_line(&line);
            out.push(Event::Line(line));
            out.append(&mut self.core.events);
        }
    }

    fn grade_line(&mut self, line: &Line) {
        self.core.line = line.number;
        self.core.cut = line.dropped;
        if let Some(ms) = line.stamp.as_deref().and_then(lines::stamp_ms) {
            self.clock_from_stamp(ms);
        }
        if line.garbled {
            self.garbled += 1;
            self.told_garbled_boot();
        }
        if line.dropped > 0 {
            self.cut += 1;
            self.core
                .first_cut
                .get_or_insert((line.number, line.dropped));
        }
        self.core.tick();
        // Read even after the verdict: the dump follows the crash it records.
        if self.core_dump_line(line.number, &line.text) {
            return;
        }
        self.panic_tail_line(&line.text);
        self.telling.line(line.number, &line.text);
        if self.core.is_final && !self.crash_after_verdict(line) {
            return;
        }
        let text = line.text.as_str();
        if !text.trim().is_empty() {
            std::mem::swap(&mut self.prev_line, &mut self.last_line);
            self.last_line.clear();
            self.last_line.push_str(text);
        }
        if self.boots == 0 && (framework_log_line(text) || idf::log_body(text).is_some()) {
            self.logged_before_boot += 1;
        }
        if let Some(sha) = decode::logged_elf_sha256(text) {
            self.elf_sha256 = Some(sha);
        }
        let lower = text.to_ascii_lowercase();
        self.flapping.line(line.number, text, &lower);
        self.ota_follow
            .line(line.number, text, &lower, self.core.outcome.as_mut());
        self.last_error.line(line.number, text, &lower);
        if boot::asks_restart(&lower) {
            self.restart_asked = Some(line.number);
        }
        self.sleep.line(line.number, text, &lower, line.garbled);
        self.lmac.line(line.number, text);
        self.dump_body.line(line.number, text);
        if let Some(f) = context::Family::hint(text) {
            self.core.family = Some(context::Family::refine(self.core.family, f));
        }
        match super::jobdone::weak(text) {
            Some(super::jobdone::Weak::Up(why)) => self.weak_pass = Some((line.number, why)),
            Some(super::jobdone::Weak::Down) => self.weak_pass = None,
            None => {}
        }
        if lower.contains("rf_cal[0] !=0x05") {
            self.no_rf_data = Some(line.number);
        } else if super::wifi_fail::back_online(&lower) {
            self.no_rf_data = None;
        }
        if let Some(ip) = context::own_ip(&lower) {
            // Not a trace of the settings (`Configuring Station static IP: 0.0.0.0` is DHCP).
            let said = !super::lasterror::trace_level(text) && !lower.contains("config");
            self.no_address =
                (ip == "0.0.0.0" && said).then(|| (line.number, text.trim().to_owned()));
            self.own_ip = Some(ip);
        }
        if self.core.host.is_none() {
            // A web server's log prints the requests it receives: their `Host:` is the board.
            self.core.host = context::host_named(text, &lower)
                .filter(|h| self.own_ip.as_deref() != Some(h.as_str()));
        }
        if let Some(block) = self.block.as_mut() {
            let boot = matches!(
                crash::classify(text, &lower),
                Some(crash::Signal::Boot { .. })
            );
            if !boot && crash::block_over(block.end, text, &block.lines) {
                // After a monitor's decoded frames, the next line is the log's again.
                let next_is_the_logs = block.end == crash::BlockEnd::Decoded;
                self.end_block();
                if !next_is_the_logs {
                    return;
                }
            } else {
                if !boot {
                    block.lines.push(text.to_owned());
                }
                if boot
                    || crash::ends_block(block.end, text)
                    || block.lines.len() >= crash::BLOCK_LIMIT
                {
                    self.end_block();
                }
                return;
            }
        }
        if let Some((verdict, re)) = self.rules.verdict(text, line.dropped > 0) {
            let reason = format!(
                "line {} matched the {} rule `{re}`: {text}",
                line.number,
                word(verdict)
            );
            self.core.propose(verdict, None, reason, Finality::Now);
            return;
        }
        if let Some(stage) = self.rules.stage(text) {
            let stage = stage.to_owned();
            self.core.enter(&stage, Some(text.to_owned()));
        }
        // A headless crash body after a crash is that crash's (or its other core's) part; after
        // only a panic's tail (a bare `Rebooting...`), it is the next crash's and says more.
        let after_crash = self
            .core
            .crash
            .as_ref()
            .is_some_and(|c| c.kind != "panic-tail");
        let signal = crash::classify(text, &lower).filter(|s| {
            !matches!(s, crash::Signal::Crash { kind, .. }
                if crash::is_headless(kind) && after_crash)
        });
        // An ESP32 ROM banner whose `rst:` line the paste lost (garbage at the reset ate it):
        // the ROM's next lines show the chip started over all the same.
        if matches!(signal, Some(crash::Signal::Boot { .. })) {
            self.rom_banner = None;
        } else if crash::esp32_rom_banner(&lower) {
            self.rom_banner = Some(line.number);
        } else if let Some(at) = self.rom_banner
            && crash::rom_loading(&lower)
        {
            self.rom_banner = None;
            if line.number.saturating_sub(at) <= 6 && !self.told_boot() {
                self.on_boot(crash::NO_RESET_LINE, text);
                return;
            }
        }
        match signal {
            Some(crash::Signal::Crash {
                kind: "lua-panic", ..
            }) if self.after_lua_panic(line.number) => return,
            Some(crash::Signal::Crash { kind, end }) => {
                let reason = crash::describe(kind, text, &[]);
                self.core.propose(
                    Verdict::Fault,
                    None,
                    reason,
                    Finality::AfterLines(crash::BLOCK_LIMIT as u32 + 1),
                );
                let error_before = error_before_crash(&self.prev_line);
                self.block = Some(Block {
                    kind,
                    end,
                    line: line.number,
                    headline: text.to_owned(),
                    lines: Vec::new(),
                    error_before,
                });
                if end == crash::BlockEnd::Immediate {
                    self.end_block();
                }
                return;
            }
            Some(crash::Signal::Boot { cause }) => {
                if !self.told_boot() {
                    self.on_boot(&cause, text);
                }
                return;
            }
            None => {}
        }
        if self.python_traceback(line.number, text) {
            return;
        }
        if let Some(reason) = self.lua.line(line.number, text) {
            self.core.propose(
                Verdict::Fail,
                None,
                reason,
                Finality::AfterLines(crash::BLOCK_LIMIT as u32 + 1),
            );
            return;
        }
        if self.told_line(line.number, text, &lower) {
            return;
        }
        self.job.line(line.number, text, &lower);
        self.espnow.line(line.number, text, &lower);
        self.netup.line(line.number, text);
        self.raw_body.line(line.number, text);
        self.web.line(line.number, text, &lower);
        if super::webserver::received_request(text) {
            // A client reached the board's server: its network works after the error before.
            self.app_error = None;
        }
        if let Some(reason) = self.ws_events.line(&mut self.core, text) {
            self.app_error = Some((line.number, reason));
        }
        self.ws_line(line.number, text);
        match sockdrop::wificlient(text) {
            Some(sockdrop::Said::Broke(why)) => {
                self.app_error = Some((line.number, format!("line {}: {why}", line.number)));
                self.mqtt.withdraw(&mut self.core);
            }
            Some(sockdrop::Said::Closed)
                if self
                    .app_error
                    .as_ref()
                    .is_some_and(|(_, r)| r.contains(sockdrop::WHO)) =>
            {
                self.app_error = None;
            }
            _ => {}
        }
        if let Some(note) = corenote::socket_option(line.number, text) {
            self.core_note = Some((line.number, note));
        }
        if let Some(reason) = stops::app_error(text)
            .or_else(|| asynctcp::error(text))
            .or_else(|| azure::error(text))
            .or_else(|| stops::token_not_ready(text))
            .or_else(|| self.connection_errors.line(line.number, text))
        {
            self.app_error = Some((line.number, reason));
            self.mqtt.withdraw(&mut self.core);
        } else if tlsdiag::connected(&lower) {
            self.app_error = None;
            self.wifi_fail.online();
            self.telling.clear();
        } else if appstate::connect_ok(text) {
            self.app_error = None;
        }
        if let Some(reason) = self.nodemcu_http.line(line.number, text) {
            self.app_error = Some((line.number, reason));
        }
        if let Some(reason) = stops::psram_missing(text)
            .or_else(|| stops::reported_crash(text))
            .or_else(|| tasmota::restart_reason(text))
            .or_else(|| stops::reported_reset(text))
        {
            self.ended_fault.get_or_insert(reason);
            self.mqtt.withdraw(&mut self.core);
        }
        if crash::panic_tail(text, &self.prev_line) && self.core.crash.is_none() {
            // A crash headline later in the log (after the reboot) says more: wait for it.
            self.core.crash = Some(Crash {
                kind: "panic-tail".to_owned(),
                line: line.number,
                headline: text.to_owned(),
                block: Vec::new(),
                elf_sha256: self.elf_sha256.clone(),
            });
            let reason = crash::describe("panic-tail", text, &[]);
            let finality = Finality::AfterLines(crash::BLOCK_LIMIT as u32 + 1);
            if self.prev_line.is_empty() && self.boots == 0 {
                // The log's first line: the run before this log ended in it, and the run the
                // log shows starts at the reboot. Its own pass counts, as after a watchdog
                // reset at the start (a crash after the reboot still says more).
                self.core.propose_failed_attempt(None, reason, finality);
            } else {
                self.core.propose(Verdict::Fault, None, reason, finality);
            }
            return;
        }
        self.wifi_fail.line(line.number, text, &lower);
        if let Some(d) = wifi::disconnect(&lower) {
            self.wifi_down = Some((line.number, d));
            self.wifi_up = false;
            self.mqtt.withdraw(&mut self.core);
            self.core.enter(Stage::Wifi, None);
        } else if wifi::connected(&lower) {
            self.wifi_down = None;
            self.wifi_up = true;
            self.link_down = None;
        }
        self.at_host
            .line(line.number, text, wifi::connected(&lower));
        self.hosted |= cohost::hosted_line(text);
        if let Some(why) = cohost::link_failed(text, self.hosted) {
            self.link_down = Some(format!("line {}: {why}", line.number));
        }
        let joined = mqtt::split_rc(&self.prev_line, text);
        let (said, said_lower) = match &joined {
            Some(j) => (j.as_str(), j.to_ascii_lowercase()),
            None => (text, lower.clone()),
        };
        if let Some(f) = tlsdiag::classify(line.number, said, &said_lower) {
            self.on_tls(f);
        } else if self.core.attempt_failed && tlsdiag::connected(&lower) {
            self.core.connected_again();
        }
        // A board that reported an earlier crash is graded on it, however well it talks now.
        if !matches!(self.state, ProfileState::Unity(_))
            && self.ended_fault.is_none()
            && self.mqtt.line(&mut self.core, text, &lower)
        {
            // A broker connection is the network up.
            self.wifi_fail.online();
            return;
        }
        match self.blynk.line(text, &lower) {
            Some(blynk::Said::Refused(why)) => {
                let reason = format!("line {}: {why}", line.number);
                self.core
                    .propose(Verdict::Fail, None, reason, Finality::Now);
                return;
            }
            Some(blynk::Said::Ready(why)) => {
                let reason = format!("line {}: {why}", line.number);
                self.core
                    .propose(Verdict::Pass, None, reason, Finality::AfterLines(40));
                return;
            }
            Some(blynk::Said::Down(why)) => {
                // After a login timeout, a `Ready` is one more turn of the loop: what the log
                // ends on decides, not the timeout before it.
                self.core.connected_again();
                self.app_error = Some((line.number, why));
            }
            Some(blynk::Said::Lost(why)) => {
                // The pass a `Ready` proposed no longer holds; the library reconnects.
                self.core.withdraw_pass();
                let reason = format!("line {}: {why}", line.number);
                self.core
                    .propose_failed_attempt(None, reason, Finality::AfterLines(TLS_WAIT));
                self.app_error = Some((line.number, why));
                return;
            }
            None => {}
        }
        if let Some(reason) = self.at_stuck.line(line.number, text) {
            if self.profile == Profile::Auto && self.detected.is_none() {
                self.detected = Some(esp_at::PROFILE);
            }
            self.core
                .propose(Verdict::Fail, None, reason, Finality::AfterLines(40));
            return;
        }
        match self.at.line(text) {
            Some(esp_at::Said::Failed(why))
                if self.core.outcome.is_none() || self.core.attempt_failed =>
            {
                // No answer from the server; the host's code (or the user) retries.
                if self.profile == Profile::Auto && self.detected.is_none() {
                    self.detected = Some(esp_at::PROFILE);
                }
                self.core.enter(Stage::TlsConnect, None);
                let stage = self.core.current_name().to_owned();
                let reason = format!("line {}: {why}", line.number);
                self.core.propose_failed_attempt(
                    Some(&stage),
                    reason,
                    Finality::AfterLines(TLS_WAIT),
                );
                return;
            }
            Some(esp_at::Said::Worked) => self.core.connected_again(),
            Some(esp_at::Said::Refused(why)) => {
                // The server's own no: a request that ran, not a connection that failed.
                if self.profile == Profile::Auto && self.detected.is_none() {
                    self.detected = Some(esp_at::PROFILE);
                }
                self.core.connected_again();
                self.core.enter(Stage::TlsConnect, None);
                let reason = format!("line {}: {why}", line.number);
                self.core
                    .propose(Verdict::Fail, None, reason, Finality::AfterLines(40));
                return;
            }
            _ => {}
        }
        if self.profile == Profile::Auto && matches!(self.detected, None | Some("esp-idf")) {
            self.detect(text);
        }
        if httpclient::lua_request(text) {
            self.lua_http = true;
        }
        if self.redirect_open && httpclient::follows_redirect(&lower) {
            // HTTPClient follows the 3xx it got: the next status is the request's answer.
            self.redirect_open = false;
            self.core.outcome = None;
            self.core.budget = None;
        }
        let json_error = self
            .json_error
            .line(line.number, text)
            .map(|(v, why)| httpclient::Said::Outcome(v, why));
        let said = httpclient::read(text)
            .or_else(|| httpclient::code_after_url(&self.prev_line, text))
            .or(json_error)
            .or_else(|| {
                self.lua_http
                    .then(|| httpclient::lua_result(text))
                    .flatten()
            });
        if !matches!(self.state, ProfileState::Unity(_))
            && let Some(said) = said
        {
            self.detected = Some(httpclient::PROFILE);
            let (verdict, why, finality) = match said {
                // A 2xx says the headers came; reading the body may still crash the board.
                httpclient::Said::Outcome(Verdict::Pass, why) => {
                    (Verdict::Pass, why, Finality::AfterLines(40))
                }
                // The server's own no: the connection worked, whatever failed on the way
                // (axTLS's `need_bytes` note before HTTPUpdate's `Error (-100)`).
                httpclient::Said::Outcome(Verdict::Fail, why) => {
                    self.core.connected_again();
                    (Verdict::Fail, why, Finality::Now)
                }
                httpclient::Said::Outcome(v, why) => (v, why, Finality::Now),
                // Another request's outcome may follow: the worst of them decides.
                httpclient::Said::Step(v, why) => (v, why, Finality::AfterLines(40)),
                // The sketch's own `[HTTP] GET... code:` line usually follows within a few lines.
                httpclient::Said::Status(v, why) => (v, why, Finality::AfterLines(40)),
            };
            let reason = format!("line {}: {why}", line.number);
            self.redirect_open = httpclient::redirect_seen(text);
            if verdict == Verdict::Fault {
                // No HTTP status: the connection failed. What the TLS library said before
                // explains it better than HTTPClient's one word; the examples retry in `loop()`.
                self.core.enter(Stage::TlsConnect, None);
                let reason = tls_reason(&self.core).unwrap_or(reason);
                let stage = self.core.current_name().to_owned();
                self.core.propose_failed_attempt(
                    Some(&stage),
                    reason,
                    Finality::AfterLines(TLS_WAIT),
                );
            } else {
                self.core.propose(verdict, None, reason, finality);
            }
            return;
        }
        // Firmware that reads the socket itself and prints the response's status line: the
        // server's answer, unless a profile's own lines (the reference sketch echoes the body
        // after its request) or an earlier finding already decide.
        if !matches!(self.state, ProfileState::Unity(_))
            && (self.core.outcome.is_none() || self.core.attempt_failed)
            && !self.core.reached(Stage::Request)
            && let Some((verdict, why)) = httpclient::status_line(text)
        {
            // The server answered: a connection that failed before was retried and got through.
            self.core.connected_again();
            let reason = format!("line {}: {why}", line.number);
            self.core
                .propose(verdict, None, reason, Finality::AfterLines(40));
            self.raw_body.start(line.number);
            return;
        }
        // An OTA image that failed verification (its first line says most); the bootloader
        // checks the installed app with the same lines, before any app runs.
        // The ROM's `entry 0x…` starts the bootloader; its lines run until the app's first.
        if idf::bootloader_line(text) || idf::rom_entry(text) {
            self.bootloader = true;
        } else if idf::app_line(text) || (idf::log_body(text).is_none() && !text.trim().is_empty())
        {
            self.bootloader = false;
        }
        let in_bootloader = self.bootloader || (self.boots > 0 && !self.sketch_started());
        let decided = self
            .core
            .outcome
            .as_ref()
            .is_some_and(|o| o.verdict.rank() >= Verdict::Fail.rank());
        // The bootloader's word on the slot an OTA update wrote: the update did not take.
        if let Some(why) = idf::slot_not_bootable(text) {
            let reason = format!("line {}: {why}", line.number);
            self.core
                .propose(Verdict::Fail, None, reason, Finality::AfterLines(40));
            self.ota_follow.refused(line.number);
            return;
        }
        // ArduinoOTA's upload never reached the board: a connection fault, retried by the user.
        if !decided && let Some(why) = updater::ota_network(text) {
            let reason = format!("line {}: {why}", line.number);
            self.core
                .propose_failed_attempt(None, reason, Finality::AfterLines(TLS_WAIT));
            return;
        }
        // The ESP8266 updater refused the image (no room, a flash write that failed, an image
        // that did not verify): the update did not happen, the device's answer is no.
        if !decided && let Some(why) = updater::refused(text).or_else(|| appupdate::failed(text)) {
            let reason = format!("line {}: {why}", line.number);
            self.core
                .propose(Verdict::Fail, None, reason, Finality::AfterLines(40));
            self.ota_follow.refused(line.number);
            return;
        }
        if !in_bootloader
            && !decided
            && let Some(why) = httpclient::ota_image_refused(text)
        {
            let reason = format!("line {}: {why}", line.number);
            self.core
                .propose(Verdict::Fail, None, reason, Finality::AfterLines(40));
            self.ota_follow.refused(line.number);
            return;
        }
        if (self.core.outcome.is_none() || self.core.attempt_failed)
            && let Some(why) = httpclient::ota_succeeded(text)
        {
            let reason = format!("line {}: {why}", line.number);
            self.core
                .propose(Verdict::Pass, None, reason, Finality::AfterLines(40));
            return;
        }
        if websocket::tcp_connected(text) {
            // The retry got through: the failed connect before it no longer decides.
            self.app_error = None;
            self.wifi_fail.online();
            if self.core.attempt_failed {
                self.core.connected_again();
            }
        }
        if (self.core.outcome.is_none() || self.core.attempt_failed)
            && let Some(why) = websocket::upgraded(text)
                .or_else(|| session::worked(text))
                .or_else(|| wifimanager::joined(text))
                .or_else(|| jobdone::delivered(text))
                .or_else(|| jobdone::arrived(text))
                .or_else(|| firebase::succeeded(text))
                .or_else(|| self.ready.line(text))
        {
            let reason = format!("line {}: {why}", line.number);
            self.core
                .propose(Verdict::Pass, None, reason, Finality::AfterLines(40));
            return;
        }
        self.response_or_close(line.number, text);
        let step = match &mut self.state {
            ProfileState::Https(s) => s.line(&mut self.core, line, &lower),
            ProfileState::Unity(u) => {
                u.line(&mut self.core, text);
                https::Step::Nothing
            }
            ProfileState::Idf(s) => {
                s.line(&mut self.core, text);
                https::Step::Nothing
            }
            ProfileState::Custom => {
                if !line.garbled && !text.is_empty() {
                    self.core.enter(Stage::Run, None);
                }
                https::Step::Nothing
            }
        };
        if step == https::Step::Restarted {
            self.on_boot(
                "the sketch started over (the ROM banner at 74880 baud is unreadable at this baud rate)",
                text,
            );
        }
    }

    /// An Arduino websocket session's event: a drop is the verdict if the log ends on it; a
    /// connect takes back an earlier drop and, with nothing decided, is a pass to be confirmed.
    fn ws_line(&mut self, number: usize, text: &str) {
        match self.ws.line(&mut self.core, text) {
            Some(websocket::Said::Down(reason)) => {
                self.app_error = Some((number, format!("line {number}: {reason}")));
            }
            Some(websocket::Said::Up) => {
                self.app_error = None;
                if self.core.outcome.is_none() && websocket::upgraded(text).is_none() {
                    let reason = format!(
                        "line {number}: the websocket client connected (`{}`) and no drop \
                         follows it: the connection works",
                        text.trim()
                    );
                    self.core.enter(Stage::Run, None);
                    self.core
                        .propose(Verdict::Pass, None, reason, Finality::AfterLines(40));
                }
            }
            None => {}
        }
    }

    /// ESP-IDF's socket examples (`https_request`, `https_mbedtls`) print the response between
    /// `Reading HTTP response...` and `connection closed`: nothing between them means the server
    /// closed the connection without answering.
    fn response_or_close(&mut self, number: usize, text: &str) {
        if httpclient::reading_response(text) {
            self.reading_response = Some(number);
            return;
        }
        if text.trim().is_empty() {
            return;
        }
        if let Some(at) = self.reading_response.take()
            && httpclient::connection_closed(text)
            && self.core.outcome.is_none()
        {
            let reason = format!(
                "line {number}: the server closed the connection without sending any response \
                 (`connection closed` right after line {at}'s `Reading HTTP response...`): it \
                 did not answer the request it was sent (a wrong path or Host header, or a \
                 server that wants something else on that port)"
            );
            self.core
                .propose(Verdict::Fault, None, reason, Finality::AfterLines(40));
        }
    }

    /// Read a MicroPython traceback: its frames, then the exception line, which is a fault
    /// unless something else already decided (a TLS error the program then raised). Whether
    /// the line was the traceback's.
    fn python_traceback(&mut self, number: usize, text: &str) -> bool {
        if let Some((_, frame)) = self.py_trace.as_mut() {
            if stops::traceback_frame(text) {
                *frame = Some(text.trim().to_owned());
                return true;
            }
            let frame = self.py_trace.take().and_then(|(_, f)| f);
            if self.core.outcome.is_none()
                && !text.trim().is_empty()
                && !micropy::typing_error(frame.as_deref(), text)
            {
                let mut reason = stops::traceback_reason(
                    number,
                    text,
                    frame.as_deref(),
                    self.repl_last.as_deref(),
                );
                let verdict = match micropy::program_error(text) {
                    Some(why) => {
                        reason.push_str(&format!("; {why}: the app failed, not the link"));
                        Verdict::Fail
                    }
                    None => Verdict::Fault,
                };
                self.core.propose(
                    verdict,
                    None,
                    reason,
                    Finality::AfterLines(crash::BLOCK_LIMIT as u32 + 1),
                );
            }
            self.repl_last = None;
            return true;
        }
        if stops::traceback_start(text) {
            self.py_trace = Some((number, None));
            return true;
        }
        if pytrace::headless_start(text) {
            // The paste cut the `Traceback` header off: its frames still say one.
            self.py_trace = Some((number, Some(text.trim().to_owned())));
            return true;
        }
        if self.core.outcome.is_none() && micropy::lone_socket_error(text) {
            let reason = stops::traceback_reason(number, text, None, self.repl_last.as_deref());
            self.core
                .propose(Verdict::Fault, None, reason, Finality::AfterLines(40));
            return true;
        }
        self.repl_last = stops::repl_statement(text).map(str::to_owned);
        if let Some(ip) = micropy::repl_ifconfig(text) {
            // Typed at the REPL: the prompt is already up.
            self.upy_joined = Some((number, ip.to_owned(), true));
            self.wifi_up = true;
            self.core.enter(Stage::Run, None);
        } else if let Some(ip) = micropy::network_config(text) {
            self.upy_joined = Some((number, ip.to_owned(), false));
            self.wifi_up = true;
            self.core.enter(Stage::Run, None);
        } else if micropy::repl_ready(text)
            && let Some((_, _, ready)) = self.upy_joined.as_mut()
        {
            *ready = true;
        }
        false
    }
}

/// The line with text before a crash's headline, when it is an error the firmware printed (an
/// error level's line, an errno): the call that failed as the board crashed. Not the crash's
/// own output (the ESP8266 core's `CUT HERE FOR EXCEPTION DECODER` banner).
fn error_before_crash(before: &str) -> Option<String> {
    let t = before.trim();
    let lower = t.to_ascii_lowercase();
    let error_line = lower.contains("[e]")
        || lower.starts_with("e (")
        || lower.contains("errno")
        || lower.contains("error");
    let crash_output = [
        "cut here",
        "decoder",
        "exception",
        "panic",
        "abort",
        "stack",
    ]
    .iter()
    .any(|w| lower.contains(w));
    (!t.is_empty()
        && t.len() <= 200
        && error_line
        && !crash_output
        && super::lasterror::says_error(&lower)
        && crash::classify(t, &lower).is_none())
    .then(|| t.to_owned())
}
