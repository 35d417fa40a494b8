//! Grading serial output: raw bytes → lines → events → a verdict. Pure and sans-IO, like
//! espflash's monitor parser: [`Grader::feed`] takes whatever the port gave plus the time since
//! the watch started, pushes [`Event`]s, and the verdict is known as soon as the bytes prove it.
//!
//! Profiles: `https-request` (the reference sketch, every core from 2.0 to 3.x), `unity`
//! (PlatformIO test output) and `custom` (`--pass`/`--fail`/rules file only). Crash, reset and
//! TLS signatures of both chips apply under every profile.
//!
//! This module never imports `sim`: the grader and the simulator agree only because both match
//! what real boards print.

use std::time::Duration;

pub mod decode;
pub mod lines;
pub mod model;
pub mod plan;
pub mod render;
pub mod rules;
pub mod truth;

mod aftermath;
mod appfail;
mod appstate;
mod appupdate;
mod asynctcp;
mod at_codes;
mod athost;
mod axtls;
mod azure;
mod barestatus;
mod blynk;
mod boot;
mod clientdiag;
mod closing;
mod cohost;
mod connack;
mod context;
mod corenote;
mod crash;
mod dumpbody;
mod engine;
mod esp_at;
mod espnow;
mod esptls_code;
mod firebase;
mod flapping;
mod httpclient;
mod https;
mod idf;
mod idf_websocket;
mod jobdone;
mod jsonerror;
mod lasterror;
mod libdiag;
mod libstatus;
mod lmac;
mod lua_error;
mod mbedtls_trace;
mod micropy;
mod mqtt;
mod netup;
mod nodemcu_http;
mod prevcrash;
mod pushota;
mod pytrace;
mod rawbody;
mod session;
mod sleep;
mod sockdrop;
mod stops;
mod tasmota;
mod telling;
mod timeout;
mod tlsdiag;
mod tlsverdict;
mod told;
mod unity;
mod updater;
mod webserver;
mod websocket;
mod wifi;
mod wifi_fail;
mod wifimanager;

pub use self::engine::Decision;
pub use lines::{Line, LineSplitter, MAX_LINE};
pub use model::{
    Caller, CoreDumpReport, Crash, Diagnostic, DumpTask, Frame, Report, Stage, StageResult,
    StageStatus, UnityTest, Verdict,
};
pub use plan::Plan;
pub use rules::Rules;

use self::engine::{Engine, Finality};
use self::tlsverdict::TLS_WAIT;
pub(crate) use self::tlsverdict::tls_reason;

/// Which firmware's output to expect (`--profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Pick from what the log shows: the reference sketch, HTTPClient / `esp_http_client` status
    /// lines, Unity test output, or a plain ESP-IDF app; the report names the one picked.
    Auto,
    /// The reference sketch (ESP8266WiFi `HTTPSRequest`) and its adaptations, cores 2.0 to 3.x.
    HttpsRequest,
    /// Unity tests (PlatformIO `pio test`, ESP-IDF's unity component).
    Unity,
    /// A plain ESP-IDF app: boot, `app_main`, then its components' errors, crashes and HTTP
    /// statuses; a clean run passes only by `--pass`.
    EspIdf,
    /// Only `--pass`/`--fail`/`--rules` decide (plus crash signatures). `--profile none` on the
    /// command line; reported as `custom`.
    #[value(name = "none", alias = "custom")]
    Custom,
}

impl Profile {
    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Auto => "auto",
            Profile::HttpsRequest => "https-request",
            Profile::Unity => "unity",
            Profile::EspIdf => "esp-idf",
            Profile::Custom => "custom",
        }
    }
}

/// How to grade.
#[derive(Debug, Clone)]
pub struct GradeConfig {
    pub profile: Profile,
    /// Extra rules, checked on every line before the profile.
    pub rules: Rules,
    /// Record when each stage was entered (live watching); offline grading leaves it off.
    pub timed: bool,
}

impl GradeConfig {
    /// A profile with no extra rules, untimed.
    pub fn new(profile: Profile) -> Self {
        GradeConfig {
            profile,
            rules: Rules::new(),
            timed: false,
        }
    }
}

/// What the grader saw, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A finished line (for live echo).
    Line(Line),
    /// The run entered a stage at this line.
    Stage { name: String, line: usize },
    /// A TLS/certificate problem line, explained.
    Diagnostic(Diagnostic),
    /// The verdict is final.
    Verdict(Decision),
}

/// Why the input stopped, for a run that ends without a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The log (file, stdin) ended.
    Eof,
    /// The overall `--timeout` passed.
    Deadline(Duration),
    /// Nothing arrived for `--idle-timeout`.
    Idle(Duration),
    /// The user pressed Ctrl-C (or the process got SIGTERM).
    Interrupted,
    /// The serial port went away and did not come back.
    PortLost,
}

#[derive(Debug)]
enum ProfileState {
    Https(https::State),
    Unity(unity::State),
    Idf(idf::State),
    Custom,
}

#[derive(Debug)]
struct Block {
    kind: &'static str,
    end: crash::BlockEnd,
    line: usize,
    headline: String,
    lines: Vec<String>,
}

/// The sans-IO grader. Feed it bytes; read events; ask for the report.
#[derive(Debug)]
pub struct Grader {
    profile: Profile,
    state: ProfileState,
    rules: Rules,
    core: Engine,
    splitter: LineSplitter,
    block: Option<Block>,
    primary_is_cert: bool,
    boots: u32,
    start_banner: bool,
    /// Framework log lines (`[C][wifi:060]: Starting`, `I (320) wifi: …`) before the first ROM
    /// banner: firmware was running, so a banner that no person or tool asked for is a reboot.
    logged_before_boot: u32,
    /// The reset cause of the boot this run started with, when a watchdog killed the run before.
    start_watchdog: Option<String>,
    /// The last line where the firmware or its user asked for a restart (`node.restart()`,
    /// `APP: Restarting`).
    restart_asked: Option<usize>,
    /// The line of the last boot banner's reset cause, and whether a person or a tool caused it.
    last_boot: Option<(usize, bool)>,
    /// A network firmware's command menu after it got an address.
    ready: session::Ready,
    garbled: usize,
    bytes: u64,
    scratch: Vec<Line>,
    /// A profile recognised from the log itself (HTTPClient lines under the default profile).
    detected: Option<&'static str>,
    /// Lines cut at [`MAX_LINE`].
    cut: usize,
    /// Offline, a serial monitor's timestamps time the stages: (first stamp, last stamp) in ms.
    stamp_clock: Option<Option<(u64, u64)>>,
    /// The last `ELF file SHA256:` the log printed, for checking `--elf` against it.
    elf_sha256: Option<String>,
    /// The board's own address, once the log prints it.
    own_ip: Option<String>,
    /// The last Wi-Fi disconnect the log printed (line, reason), while no line since said the
    /// board got on the network.
    wifi_down: Option<(usize, wifi::Disconnect)>,
    /// Whether a line since the last disconnect said the board got on the network
    /// (`STA_GOT_IP`, `got ip`, `WiFi connected`).
    wifi_up: bool,
    /// The station's last Wi-Fi state: a failure it printed and never recovered from is the
    /// verdict when the log ends without another.
    wifi_fail: wifi_fail::Watch,
    /// A fault the run stopped at if nothing follows it (a PSRAM chip that did not answer, a
    /// reported earlier crash): the verdict when the log ends without another.
    ended_fault: Option<String>,
    /// What firmware said about itself that needs more than one line (see [`told`]).
    told: told::Told,
    /// The ESP8266 Wi-Fi MAC's `LmacRxBlk:1` run at the log's end.
    lmac: lmac::Blocked,
    /// A run of base64 lines that may be a core dump's body without its header.
    dump_body: dumpbody::Body,
    /// The MQTT session: connects that failed since the last one that worked.
    mqtt: mqtt::Session,
    /// The Blynk connection, when the log shows the library.
    blynk: blynk::State,
    /// NodeMCU's http module's failure lines.
    nodemcu_http: nodemcu_http::Http,
    /// NodeMCU's Lua interpreter: a script's error and its `stack traceback:`.
    lua: lua_error::Lua,
    /// ESP-NOW deliveries, deep-sleep cycles, the board's web server's answers.
    espnow: espnow::State,
    sleep: sleep::State,
    web: webserver::State,
    /// The last error an ESP-IDF app logged with an `esp_err_t` name, a Firebase library's
    /// missing token, or a connection error in any firmware's words (line, reason): the verdict
    /// when the log ends soon after it without another (an app that went on is not stuck there).
    app_error: Option<(usize, String)>,
    /// The last run of error lines in which an ESP-IDF app said its job failed.
    job: appfail::Job,
    /// The esp_websocket_client session, when the app logs its events.
    ws_events: idf_websocket::Session,
    /// The Arduino websocket libraries' session, when the log shows one.
    ws: websocket::Session,
    /// A MicroPython traceback being read: the line it started at, and its last frame so far.
    py_trace: Option<(usize, Option<String>)>,
    /// The MicroPython REPL statement on the line before, if that line was one.
    repl_last: Option<String>,
    /// MicroPython's connect script printed an address (line, address), and whether the REPL
    /// came up after it.
    upy_joined: Option<(usize, String, bool)>,
    /// A core dump block being read: the line it started on and its base64 lines so far.
    dump_block: Option<(usize, Vec<String>)>,
    /// An ESP-IDF panic handler still printing after the crash's backtrace (its `ELF file
    /// SHA256:`, a core dump, `Rebooting...`): lines it may still take. A watcher waits for it.
    panic_tail: Option<u32>,
    /// The core dump the log printed, read.
    core_dump: Option<CoreDumpReport>,
    /// The last non-blank line, and the one before it (what a line follows).
    last_line: String,
    prev_line: String,
    /// The line of an ESP-IDF example's `Reading HTTP response...`, until a line follows it.
    reading_response: Option<usize>,
    /// Whether the last ESP-IDF log line was the second-stage bootloader's.
    bootloader: bool,
    /// Lua called NodeMCU's `http` module: its callback's `code\tdata` lines are the answer.
    lua_http: bool,
    /// The open outcome is a 3xx from HTTPClient's debug output, which HTTPClient may follow.
    redirect_open: bool,
    /// A whole log is graded (`grade`): read past the verdict for a crash after it.
    whole_log: bool,
    /// The verdict a crash after it overturned.
    earlier: Option<Decision>,
    /// The last boot was into the ROM's download mode (line, its boot mode as printed): the
    /// chip waits for a flasher and runs no firmware.
    download_wait: Option<(usize, String)>,
    /// An AT firmware's command waiting for its result code.
    at: esp_at::Session,
    /// The host's log of the AT commands that failed.
    at_host: athost::Host,
    /// ESP-AT's busy answers and OTA update stages.
    at_stuck: at_codes::Stuck,
    /// Whether the log showed ESP-Hosted's host driver.
    hosted: bool,
    /// The link to a Wi-Fi co-processor failed, and no line since showed the network up: the
    /// verdict when the log ends without another.
    link_down: Option<String>,
    /// Lines that name a failure's cause (a handshake, memory, an assertion), for the reason.
    telling: telling::Seen,
    /// A core error line about a setting, not the outcome (line, what the timeout's reason
    /// says of it): a log that ends soon after it timed out, and says so.
    core_note: Option<(usize, String)>,
    /// The network as the core's events (or ESPEasy's watchdog) report it.
    netup: netup::Watch,
    /// The body of a response the firmware reads and prints itself.
    raw_body: rawbody::Body,
    /// Why the input stopped, while the end-of-log rules are asked.
    ending: Option<End>,
    /// The last error-looking line, the last resort at the log's end.
    last_error: lasterror::LastError,
    /// A JSON error body's `"error": {` waiting for its code.
    json_error: jsonerror::JsonError,
    /// Drops of a link since it was last up.
    flapping: flapping::Flapping,
}

impl Grader {
    /// A grader at the start of a run.
    pub fn new(config: GradeConfig) -> Self {
        let (state, names) = start(config.profile, &config.rules);
        let core = Engine::new(&names, config.timed);
        Grader {
            profile: config.profile,
            state,
            rules: config.rules,
            core,
            splitter: LineSplitter::new(),
            block: None,
            primary_is_cert: false,
            boots: 0,
            start_banner: false,
            logged_before_boot: 0,
            start_watchdog: None,
            restart_asked: None,
            last_boot: None,
            ready: session::Ready::default(),
            garbled: 0,
            bytes: 0,
            scratch: Vec::new(),
            detected: None,
            cut: 0,
            stamp_clock: (!config.timed).then_some(None),
            elf_sha256: None,
            download_wait: None,
            own_ip: None,
            wifi_down: None,
            wifi_up: false,
            wifi_fail: wifi_fail::Watch::default(),
            ended_fault: None,
            told: told::Told::default(),
            lmac: lmac::Blocked::default(),
            dump_body: dumpbody::Body::default(),
            mqtt: mqtt::Session::default(),
            blynk: blynk::State::default(),
            nodemcu_http: nodemcu_http::Http::default(),
            lua: lua_error::Lua::default(),
            espnow: espnow::State::default(),
            sleep: sleep::State::default(),
            web: webserver::State::default(),
            app_error: None,
            job: appfail::Job::default(),
            ws_events: idf_websocket::Session::default(),
            ws: websocket::Session::default(),
            py_trace: None,
            repl_last: None,
            upy_joined: None,
            at_host: athost::Host::default(),
            at_stuck: at_codes::Stuck::default(),
            dump_block: None,
            panic_tail: None,
            core_dump: None,
            last_line: String::new(),
            prev_line: String::new(),
            reading_response: None,
            bootloader: false,
            lua_http: false,
            redirect_open: false,
            whole_log: !config.timed,
            earlier: None,
            at: esp_at::Session::default(),
            hosted: false,
            link_down: None,
            telling: telling::Seen::default(),
            core_note: None,
            netup: netup::Watch::default(),
            raw_body: rawbody::Body::default(),
            ending: None,
            last_error: lasterror::LastError::default(),
            json_error: jsonerror::JsonError::default(),
            flapping: flapping::Flapping::default(),
        }
    }

    /// Feed raw bytes read `now` after the start; events go to `out`.
    pub fn feed(&mut self, bytes: &[u8], now: Duration, out: &mut Vec<Event>) {
        self.bytes += bytes.len() as u64;
        self.core.now = now;
        let mut lines = std::mem::take(&mut self.scratch);
        self.splitter.feed(bytes, &mut lines);
        self.grade_lines(&mut lines, out);
        self.scratch = lines;
    }

    /// The outcome so far: final, or proposed and waiting for the rest of its block.
    pub fn outcome(&self) -> Option<&Decision> {
        self.core.outcome.as_ref()
    }

    /// Whether the verdict is final (a watcher stops here). Not while a core dump block is
    /// being read: it follows the crash it records, and a watcher would cut it.
    pub fn is_final(&self) -> bool {
        self.core.is_final && self.dump_block.is_none() && self.panic_tail.is_none()
    }

    /// Whether an outcome is proposed but not yet final.
    pub fn is_open(&self) -> bool {
        self.core.outcome.is_some() && (!self.core.is_final || self.panic_tail.is_some())
    }

    /// The port went quiet with an outcome proposed: make it final.
    pub fn settle(&mut self, out: &mut Vec<Event>) {
        if self.block.is_some() {
            self.end_block();
        }
        // Quiet after a panic: a handler that waits (`Press Enter to print core dump`) or
        // halts prints no more.
        if self.dump_block.is_none() {
            self.panic_tail = None;
        }
        self.core.finalize();
        out.append(&mut self.core.events);
    }

    /// The input stopped: grade the unfinished line, settle, and report. Without any verdict
    /// the report says `timeout` and where the run stalled.
    pub fn finish(&mut self, end: End, out: &mut Vec<Event>) -> Report {
        let mut lines = std::mem::take(&mut self.scratch);
        self.splitter.finish(&mut lines);
        self.grade_lines(&mut lines, out);
        if self.dump_block.is_some() {
            self.end_core_dump();
        }
        if self.block.is_some() {
            self.end_block();
        }
        self.close(end);
        self.core.finalize();
        out.append(&mut self.core.events);
        self.report()
    }

    /// The report as things stand.
    pub fn report(&self) -> Report {
        let (verdict, stage, reason) = match &self.core.outcome {
            Some(o) => {
                let reason = match o.verdict {
                    Verdict::Fail | Verdict::Fault => {
                        self.telling.name_in(self.core.decided_at, o.reason.clone())
                    }
                    _ => o.reason.clone(),
                };
                (
                    o.verdict,
                    o.stage.clone(),
                    self.after_earlier(o.verdict, reason),
                )
            }
            None => (
                Verdict::Timeout,
                self.core.current_name().to_owned(),
                "no verdict yet".to_owned(),
            ),
        };
        let tests = match &self.state {
            ProfileState::Unity(u) => u.tests.clone(),
            _ => Vec::new(),
        };
        Report {
            verdict,
            stage,
            reason,
            ci_state: self.core.ci_state.clone(),
            suggested_fingerprint: self.core.suggested_fingerprint.clone(),
            truth: None,
            truth_unavailable: None,
            exit_code: verdict.exit().code(),
            profile: self.profile_name().to_owned(),
            stages: self.core.stages.clone(),
            diagnostics: self.core.diagnostics.clone(),
            crash: self.core.crash.clone(),
            backtrace: Vec::new(),
            fault_addresses: Vec::new(),
            decode_warnings: Vec::new(),
            core_dump: self.core_dump.clone(),
            tests,
            lines: self.splitter.count(),
            garbled_lines: self.garbled,
            lines_cut: self.cut,
            bytes: self.bytes,
        }
    }

    fn grade_lines(&mut self, lines: &mut Vec<Line>, out: &mut Vec<Event>) {
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
        if let Some(ip) = context::own_ip(&lower) {
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
        match signal {
            Some(crash::Signal::Crash { kind, end }) => {
                let reason = crash::describe(kind, text, &[]);
                self.core.propose(
                    Verdict::Fault,
                    None,
                    reason,
                    Finality::AfterLines(crash::BLOCK_LIMIT as u32 + 1),
                );
                self.block = Some(Block {
                    kind,
                    end,
                    line: line.number,
                    headline: text.to_owned(),
                    lines: Vec::new(),
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
            .or_else(|| stops::connection_error(text))
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
            let reason = format!("line {}: {why}", line.number);
            self.core
                .propose(verdict, None, reason, Finality::AfterLines(40));
            self.raw_body.start(line.number);
            return;
        }
        // An OTA image that failed verification (its first line says most); the bootloader
        // checks the installed app with the same lines, before any app runs.
        if idf::bootloader_line(text) {
            self.bootloader = true;
        } else if idf::app_line(text) {
            self.bootloader = false;
        }
        let in_bootloader = self.bootloader || (self.boots > 0 && !self.sketch_started());
        let decided = self
            .core
            .outcome
            .as_ref()
            .is_some_and(|o| o.verdict.rank() >= Verdict::Fail.rank());
        // The ESP8266 updater refused the image (no room, a flash write that failed, an image
        // that did not verify): the update did not happen, the device's answer is no.
        if !decided && let Some(why) = updater::refused(text).or_else(|| appupdate::failed(text)) {
            let reason = format!("line {}: {why}", line.number);
            self.core
                .propose(Verdict::Fail, None, reason, Finality::AfterLines(40));
            return;
        }
        if !in_bootloader
            && !decided
            && let Some(why) = httpclient::ota_image_refused(text)
        {
            let reason = format!("line {}: {why}", line.number);
            self.core
                .propose(Verdict::Fail, None, reason, Finality::AfterLines(40));
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
        let text = pytrace::unquote(text);
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
        self.repl_last = stops::repl_statement(text).map(str::to_owned);
        if let Some(ip) = micropy::network_config(text) {
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

    /// The profile the report names: what `--profile auto` recognised, else the one asked for.
    fn profile_name(&self) -> &'static str {
        if let Some(d) = self.detected {
            return d;
        }
        match (self.profile, &self.state) {
            (Profile::Auto, ProfileState::Https(s)) if s.sketch_started(&self.core) => {
                Profile::HttpsRequest.name()
            }
            (p, _) => p.name(),
        }
    }

    /// `--profile auto`: before the reference sketch has started, a Unity result or an ESP-IDF
    /// app start switches to that profile. What the log said so far (boot, diagnostics, a crash
    /// already proposed) carries over.
    /// An ESP-IDF app that turns out to be a Unity test app switches once more, to `unity`.
    /// A log that shows only ESP-IDF's own log lines switches at any app line: one pasted from
    /// the middle of a run has no `app_main`.
    fn detect(&mut self, text: &str) {
        let idf_only = self.core.family == Some(context::Family::EspIdf);
        if let ProfileState::Https(s) = &self.state
            && s.sketch_started(&self.core)
            && (s.heard_sketch() || !idf_only)
        {
            return;
        }
        let to = if unity::recognises(text) {
            Profile::Unity
        } else if self.detected.is_none()
            && (idf::app_started(text) || (idf_only && idf::app_line(text)))
        {
            Profile::EspIdf
        } else {
            return;
        };
        let rules = Rules::default();
        let (state, names) = start(to, &rules);
        self.state = state;
        let fresh = Engine::new(&names, self.core.timed);
        let old = std::mem::replace(&mut self.core, fresh);
        self.core.carry_over(old);
        self.detected = Some(to.name());
    }

    /// Time the run by the monitor's stamps (offline only: live watching has its own clock).
    fn clock_from_stamp(&mut self, mut ms: u64) {
        const DAY: u64 = 86_400_000;
        let Some(clock) = self.stamp_clock.as_mut() else {
            return;
        };
        let (first, last) = clock.get_or_insert((ms, ms));
        while ms < *last {
            ms += DAY; // past midnight
        }
        *last = ms;
        self.core.now = Duration::from_millis(ms - *first);
        if !self.core.timed {
            self.core.timed = true;
            if let Some(s) = self.core.stages.get_mut(self.core.current) {
                s.at_ms.get_or_insert(0);
            }
        }
    }

    fn sketch_started(&self) -> bool {
        match &self.state {
            ProfileState::Https(s) => s.sketch_started(&self.core),
            ProfileState::Unity(_) => self.core.reached(Stage::Tests),
            ProfileState::Idf(_) | ProfileState::Custom => self.core.reached(Stage::Run),
        }
    }
}

/// Lines after an app's error line within which the log ending means the run stopped there.
const APP_ERROR_TAIL: usize = 20;

fn word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Fault => "fault",
        Verdict::Timeout => "timeout",
    }
}

/// An ESPHome or Arduino-ESP32 log line: `[C][wifi:060]: Starting`, `[D][HTTPClient.cpp:265]
/// beginInternal(): …`.
fn framework_log_line(text: &str) -> bool {
    let b = text.trim_start().as_bytes();
    b.len() > 5 && b[0] == b'[' && b"VDIWEC".contains(&b[1]) && b[2] == b']' && b[3] == b'['
}

/// A profile's state at the start of a run, and its stages in order.
fn start(profile: Profile, rules: &Rules) -> (ProfileState, Vec<&str>) {
    let names = |stages: &[Stage]| stages.iter().map(|s| s.name()).collect();
    match profile {
        Profile::HttpsRequest | Profile::Auto => (
            ProfileState::Https(Default::default()),
            names(https::STAGES),
        ),
        Profile::Unity => (
            ProfileState::Unity(Default::default()),
            names(unity::STAGES),
        ),
        Profile::EspIdf => (ProfileState::Idf(idf::State), names(idf::STAGES)),
        Profile::Custom => (ProfileState::Custom, custom_stages(rules)),
    }
}

/// The stages of `--profile none`: boot, run, and the rules' own.
fn custom_stages(rules: &Rules) -> Vec<&str> {
    let mut names = vec![Stage::Boot.name(), Stage::Run.name()];
    names.extend(rules.stage_names());
    names
}

/// Grade a whole captured log at once.
pub fn grade_bytes(config: GradeConfig, bytes: &[u8]) -> Report {
    let mut g = Grader::new(config);
    let mut events = Vec::new();
    g.feed(bytes, Duration::ZERO, &mut events);
    g.finish(End::Eof, &mut events)
}

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;
