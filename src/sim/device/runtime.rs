//! The board's event loop (pty I/O, loader, resets) and its "CPU" thread (boot text, faults, the
//! sketch).

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use super::boot::{self, APP_BAUD, Next, ResetCause};
use super::firmware::{BoardInfo, Firmware};
use super::flash::Flash;
use super::loader::{Action, Loader};
use super::uart::{LineClock, Pacing};
use super::wire::{Input, Wire};
use crate::rom::Chip;
use crate::rom::command::Command;
use crate::rom::packet::Request;
use crate::rom::slip::FrameDecoder;
use crate::serial::rfc2217::Lines;
use crate::sim::image::Fault;

/// Output the board keeps for a host that is not reading; beyond this it is lost, as on a UART.
const MAX_PENDING: usize = 64 * 1024;

struct Chunk {
    generation: u64,
    baud: u32,
    bytes: Vec<u8>,
}

enum Mode {
    Download,
    Running,
    /// EN held low by the auto-reset circuit: the chip does nothing.
    Reset,
}

pub(super) struct Runtime {
    chip: Chip,
    wire: Wire,
    flash: Flash,
    loader: Loader,
    decoder: FrameDecoder,
    mode: Mode,
    generation: Arc<AtomicU64>,
    tx: Sender<Chunk>,
    rx: Receiver<Chunk>,
    pending: VecDeque<u8>,
    firmware: Arc<dyn Firmware>,
    board: BoardInfo,
    stop: Arc<AtomicBool>,
    noise: u64,
    pacing: Pacing,
    /// Board to host and host to board.
    tx_line: LineClock,
    rx_line: LineClock,
    /// EN as the auto-reset circuit drives it (high: running).
    en: bool,
    /// GPIO0 as the circuit drives it (low: download boot).
    gpio0: bool,
    /// When the chip, out of reset, samples its strapping pins.
    strap_at: Option<Instant>,
    /// The UART speed a CHANGE_BAUDRATE (ROM or stub) set; it holds until the chip resets.
    /// `None`: the ROM's autobaud, which locks onto whatever speed the host syncs at.
    board_baud: Option<u32>,
}

/// How long after EN rises the chip latches GPIO0. On a board EN's RC network delays the
/// release by milliseconds; over RFC 2217 each line change is a round trip (pyserial waits for
/// every SET-CONTROL answer, polling every 50 ms), so esptool's classic reset lets GPIO0 fall
/// about 50 ms after EN rises. Espressif's `esp_rfc2217_server` replays the sequence locally for
/// the same reason; this board stretches the RC instead.
const STRAP_DELAY: Duration = Duration::from_millis(120);

/// The reset the auto-reset circuit (or the EN button) gives: external on the ESP8266,
/// power-on-like on the ESP32.
fn pin_reset(chip: Chip) -> ResetCause {
    match chip {
        Chip::Esp8266 => ResetCause::Software,
        Chip::Esp32 => ResetCause::PowerOn,
    }
}

fn is_sync(frame: &[u8]) -> bool {
    Request::parse(frame)
        .ok()
        .and_then(|r| Command::parse(&r).ok())
        .is_some_and(|c| c == Command::Sync)
}

impl Runtime {
    pub(super) fn new(
        chip: Chip,
        wire: Wire,
        flash: Flash,
        firmware: Arc<dyn Firmware>,
        stop: Arc<AtomicBool>,
        pacing: Pacing,
    ) -> Self {
        let (tx, rx) = channel();
        let mac = super::mac(chip);
        Runtime {
            chip,
            wire,
            flash,
            loader: Loader::new(chip, mac),
            decoder: FrameDecoder::default(),
            mode: Mode::Download,
            generation: Arc::new(AtomicU64::new(0)),
            tx,
            rx,
            pending: VecDeque::new(),
            firmware,
            board: BoardInfo { chip, mac },
            stop,
            noise: 0x9E37_79B9_7F4A_7C15,
            pacing,
            tx_line: LineClock::default(),
            rx_line: LineClock::default(),
            en: true,
            gpio0: true,
            strap_at: None,
            board_baud: None,
        }
    }

    pub(super) fn run(mut self) {
        if self.wire.has_lines() {
            // With modem lines GPIO0 idles high: power-on boots from flash, as a board does.
            self.boot(ResetCause::PowerOn);
        } else {
            let banner = boot::download_banner(self.chip, pin_reset(self.chip));
            self.emit(banner.baud, banner.text.as_bytes());
        }
        let mut last_clear = Instant::now();
        let mut buf = vec![0u8; 8192];
        while !self.stop.load(Ordering::SeqCst) {
            let current = self.generation.load(Ordering::SeqCst);
            while let Ok(c) = self.rx.try_recv() {
                if c.generation == current {
                    self.emit(c.baud, &c.bytes);
                }
            }
            let baud = self.line_baud();
            self.flush(baud);
            // With real pacing the board takes in only what the line has carried by now.
            let (cap, tick) = match self.pacing {
                Pacing::Off => (buf.len(), 10u8),
                Pacing::Real => {
                    let now = Instant::now();
                    (self.rx_line.allowance(now, baud).min(buf.len()), 1u8)
                }
            };
            if cap == 0 {
                let now = Instant::now();
                std::thread::sleep(self.rx_line.wait(now, baud).min(Duration::from_millis(2)));
                continue;
            }
            for input in self.wire.read(cap, tick, &mut buf) {
                match input {
                    Input::Data {
                        bytes,
                        baud: sent_at,
                    } => {
                        self.rx_line.spend(Instant::now(), baud, bytes.len());
                        self.input(&bytes, sent_at.unwrap_or_else(|| self.host_baud()));
                    }
                    Input::Lines(lines) => self.set_lines(lines),
                }
            }
            self.strap();
            if last_clear.elapsed() > Duration::from_millis(500) {
                self.wire.upkeep();
                last_clear = Instant::now();
            }
        }
        // Stop the CPU thread's writes.
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn host_baud(&self) -> u32 {
        self.wire.host_baud().unwrap_or(APP_BAUD)
    }

    /// The speed the board's UART runs at now: the one a CHANGE_BAUDRATE set, else the host's
    /// (autobaud).
    fn line_baud(&self) -> u32 {
        self.board_baud.unwrap_or_else(|| self.host_baud())
    }

    /// Queue output sent at `baud`. When the host's UART runs at another speed, the bytes arrive
    /// as noise, as the ESP8266's 74880-baud boot messages do on a 115200-baud terminal.
    fn emit(&mut self, baud: u32, bytes: &[u8]) {
        self.queue(baud, bytes);
        if self.pending.len() > MAX_PENDING {
            let drop = self.pending.len() - MAX_PENDING;
            self.pending.drain(..drop);
        }
    }

    /// Queue bytes sent at `baud` as the host's UART hears them, keeping all of them (the loader
    /// and the stub send only as fast as the host takes their replies).
    fn queue(&mut self, baud: u32, bytes: &[u8]) {
        let host = self.host_baud();
        if mismatched(host, baud) {
            let noisy = garble(bytes, &mut self.noise, host, baud);
            self.pending.extend(noisy);
        } else {
            self.pending.extend(bytes);
        }
    }

    /// Send what the line lets through now (all of it without pacing).
    fn flush(&mut self, baud: u32) {
        while !self.pending.is_empty() {
            let cap = match self.pacing {
                Pacing::Off => usize::MAX,
                Pacing::Real => self.tx_line.allowance(Instant::now(), baud),
            };
            if cap == 0 {
                break;
            }
            let (a, _) = self.pending.as_slices();
            let a = &a[..a.len().min(cap)];
            let n = self.wire.write(a);
            if n == 0 {
                break;
            }
            self.pending.drain(..n);
            if self.pacing == Pacing::Real {
                self.tx_line.spend(Instant::now(), baud, n);
            }
        }
    }

    /// Flash work just done keeps the chip from answering (or reading) until it is over.
    fn charge_flash_time(&mut self) {
        let busy = self.flash.take_busy();
        if self.pacing == Pacing::Real && !busy.is_zero() {
            let now = Instant::now();
            self.tx_line.hold(now, busy);
            self.rx_line.hold(now, busy);
        }
    }

    /// Bytes the host sent at `host` baud.
    fn input(&mut self, bytes: &[u8], host: u32) {
        // Sent at another speed than the board's UART runs at, bytes arrive as framing noise.
        let garbled;
        let bytes = match self.board_baud {
            Some(baud) if mismatched(host, baud) => {
                garbled = garble(bytes, &mut self.noise, baud, host);
                &garbled[..]
            }
            _ => bytes,
        };
        for frame in self.decoder.feed(bytes).into_iter().flatten() {
            match self.mode {
                Mode::Reset => continue,
                // Over RFC 2217 only the reset lines bring the loader back, as on hardware.
                Mode::Running if self.wire.has_lines() || !is_sync(&frame) => continue,
                Mode::Running => self.enter_download(),
                Mode::Download => {}
            }
            let out = self.loader.handle(&frame, &mut self.flash, host);
            self.charge_flash_time();
            let wire = self.loader.wire(&out);
            // Autobaud answers at the speed the frame came at; the host may have moved on since,
            // and then hears the answer as noise.
            let baud = self.board_baud.unwrap_or(host);
            self.queue(baud, &wire);
            match out.action {
                Some(Action::Boot { .. }) => {
                    self.flush(host);
                    self.boot(ResetCause::Software);
                }
                Some(Action::ReloadRom) => {
                    self.flush(host);
                    self.reset_to_loader(ResetCause::Software);
                }
                // The answer goes out at the old speed; from then on the UART runs at the new
                // one, whatever the host does, until the chip resets.
                Some(Action::ChangeBaud(new)) => self.board_baud = Some(new),
                _ => {}
            }
        }
    }

    /// The two-transistor auto-reset circuit of USB-serial boards: EN is low while RTS is
    /// asserted and DTR is not; GPIO0 is low while DTR is asserted and RTS is not. Releasing EN
    /// with GPIO0 low enters the ROM loader, with GPIO0 high boots from flash.
    fn set_lines(&mut self, lines: Lines) {
        // EN low only for RTS on, DTR off; GPIO0 low only for DTR on, RTS off.
        let en = !lines.rts || lines.dtr;
        self.gpio0 = !lines.dtr || lines.rts;
        match (self.en, en) {
            (true, false) => {
                self.generation.fetch_add(1, Ordering::SeqCst);
                self.mode = Mode::Reset;
                self.board_baud = None;
                self.decoder = FrameDecoder::default();
                self.strap_at = None;
            }
            (false, true) => self.strap_at = Some(Instant::now() + STRAP_DELAY),
            _ => {}
        }
        self.en = en;
    }

    /// Out of reset once the strapping delay has passed: GPIO0 low enters the ROM loader, high
    /// boots from flash.
    fn strap(&mut self) {
        if self.strap_at.is_some_and(|t| Instant::now() >= t) {
            self.strap_at = None;
            if self.gpio0 {
                self.boot(pin_reset(self.chip));
            } else {
                self.enter_download();
            }
        }
    }

    /// The auto-reset into download mode: stop whatever runs, print the banner, fresh loader.
    fn enter_download(&mut self) {
        self.reset_to_loader(pin_reset(self.chip));
    }

    /// Stop whatever runs and come up in the ROM loader with a fresh state and its banner.
    fn reset_to_loader(&mut self, cause: ResetCause) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.mode = Mode::Download;
        self.board_baud = None;
        self.loader = Loader::new(self.chip, self.board.mac);
        let banner = boot::download_banner(self.chip, cause);
        self.emit(banner.baud, banner.text.as_bytes());
    }

    fn boot(&mut self, cause: ResetCause) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.mode = Mode::Running;
        self.board_baud = None;
        let cpu = Cpu {
            chip: self.chip,
            flash: self.flash.bytes().to_vec(),
            board: self.board,
            firmware: self.firmware.clone(),
            tx: self.tx.clone(),
            generation: self.generation.clone(),
            mine: generation,
            stop: self.stop.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("sim-device-cpu".to_owned())
            .spawn(move || cpu.run(cause));
        if spawned.is_err() {
            // Without a CPU thread the board simply stays silent, as a dead one would.
            self.mode = Mode::Running;
        }
    }
}

/// Whether a UART at `a` baud cannot read one at `b` (more than 5% apart).
fn mismatched(a: u32, b: u32) -> bool {
    (f64::from(a) - f64::from(b)).abs() / f64::from(b.max(1)) > 0.05
}

/// Bytes sent at `baud` as a UART at `host` baud decodes them: a different number of bytes, none
/// of them the text. Deterministic, and never a SLIP delimiter or escape, so a flasher that reads
/// the noise is not thrown off more than a real one is.
fn garble(bytes: &[u8], state: &mut u64, host: u32, baud: u32) -> Vec<u8> {
    let n = (bytes.len() as u64 * u64::from(host) / u64::from(baud.max(1))).max(1) as usize;
    (0..n)
        .map(|i| {
            let src = bytes.get(i * bytes.len() / n).copied().unwrap_or(0);
            *state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407 ^ u64::from(src));
            match (*state >> 33) as u8 {
                0xC0 | 0xDB => 0xF0,
                b => b | 0x80,
            }
        })
        .collect()
}

/// The board's processor: runs one boot chain until it ends or the board is reset.
struct Cpu {
    chip: Chip,
    flash: Vec<u8>,
    board: BoardInfo,
    firmware: Arc<dyn Firmware>,
    tx: Sender<Chunk>,
    generation: Arc<AtomicU64>,
    mine: u64,
    stop: Arc<AtomicBool>,
}

impl Cpu {
    fn current(&self) -> bool {
        self.generation.load(Ordering::SeqCst) == self.mine && !self.stop.load(Ordering::SeqCst)
    }

    fn send(&self, baud: u32, text: &str) {
        if !text.is_empty() {
            let _ = self.tx.send(Chunk {
                generation: self.mine,
                baud,
                bytes: text.as_bytes().to_vec(),
            });
        }
    }

    /// Sleep, waking early on a reset; false when the board was reset.
    fn pause(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if !self.current() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.current()
    }

    fn run(self, mut cause: ResetCause) {
        let mut cycle = 0;
        while self.current() {
            let b = boot::boot(self.chip, &self.flash, cause);
            for t in &b.out {
                self.send(t.baud, &t.text);
            }
            match b.next {
                Next::Halt | Next::Run(None) => return,
                Next::Repeat(line) => {
                    while self.pause(Duration::from_millis(100)) {
                        self.send(self.chip.rom_log_baud(), &line);
                    }
                    return;
                }
                Next::Reboot(c) => {
                    if !self.pause(Duration::from_millis(300)) {
                        return;
                    }
                    cause = c;
                }
                Next::Run(Some(settings)) => match settings.fault {
                    Some(f @ (Fault::Crash | Fault::ResetLoop | Fault::Brownout)) => {
                        if !self.pause(Duration::from_millis(150)) {
                            return;
                        }
                        let Some((t, c)) = boot::fault(self.chip, f, cycle) else {
                            return;
                        };
                        self.send(t.baud, &t.text);
                        cycle += 1;
                        if !self.pause(Duration::from_millis(300)) {
                            return;
                        }
                        cause = c;
                    }
                    Some(Fault::Hang) => return,
                    None | Some(Fault::Tls) => {
                        let mut out = CpuWriter { cpu: &self };
                        let _ = self.firmware.run(&self.board, &settings, &mut out);
                        return;
                    }
                },
            }
        }
    }
}

/// UART0 as the sketch sees it: fails once the board has been reset.
struct CpuWriter<'a> {
    cpu: &'a Cpu,
}

impl Write for CpuWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.cpu.current() {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        self.cpu
            .tx
            .send(Chunk {
                generation: self.cpu.mine,
                baud: APP_BAUD,
                bytes: buf.to_vec(),
            })
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
