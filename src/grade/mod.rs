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
mod lwmqtt;
mod mbedtls_trace;
mod micropy;
mod mqtt;
mod netup;
mod nodemcu_http;
mod otafollow;
mod prevcrash;
mod pushota;
mod pytrace;
mod rawbody;
mod reading;
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
mod wifi_said;
mod wifimanager;

pub use self::engine::Decision;
pub use lines::{Line, LineSplitter, MAX_LINE};
pub use model::{
    Caller, CoreDumpReport, Crash, Diagnostic, DumpTask, Frame, Report, Stage, StageResult,
    StageStatus, UnityTest, Verdict,
};
pub use plan::Plan;
pub use rules::Rules;

use self::engine::Engine;
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
    /// The line with text before the headline, when it was an error (the call that failed as
    /// the board crashed: `write(): fail on fd 54, errno: 104, "Connection reset by peer"`).
    error_before: Option<String>,
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
    /// The board printed its own address as 0.0.0.0, and no address since: where, and the line.
    no_address: Option<(usize, String)>,
    /// The ESP8266 SDK's `rf_cal[0] !=0x05,is 0x00` (blank RF init data), and no line since that
    /// shows the radio working: where.
    no_rf_data: Option<usize>,
    /// A weak outcome the log gave and nothing took back (a time sync, a join that is the
    /// firmware's whole job, a client of its API): where, and why.
    weak_pass: Option<(usize, String)>,
    /// An ESP32 ROM banner with no `rst:` line yet: where.
    rom_banner: Option<usize>,
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
    /// Unknown firmware's connection errors, a burst at a time.
    connection_errors: stops::ConnectionErrors,
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
    /// An update refused: the app's error lines after it.
    ota_follow: otafollow::Follow,
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
            no_address: None,
            no_rf_data: None,
            rom_banner: None,
            weak_pass: None,
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
            connection_errors: stops::ConnectionErrors::default(),
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
            ota_follow: otafollow::Follow::default(),
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
