//! The board side of the ROM protocol: raw bytes from the host through the SLIP decoder into the
//! virtual board's loader, which answers and (on FLASH_END) boots whatever was flashed.
//!
//! Byte 0 picks the chip, byte 1 seeds the read sizes. Every answer must be a well-formed
//! response the host side parses back, for the same op.
#![no_main]

use std::sync::{LazyLock, Mutex};

use espcheck::rom::slip::FrameDecoder;
use espcheck::rom::{Chip, Response};
use espcheck::sim::device::boot::{self, ResetCause};
use espcheck::sim::device::flash::Flash;
use espcheck::sim::device::loader::{Action, Loader};

static FLASH: [LazyLock<Mutex<Flash>>; 2] = [
    LazyLock::new(|| Mutex::new(Flash::new(Chip::Esp8266))),
    LazyLock::new(|| Mutex::new(Flash::new(Chip::Esp32))),
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [pick, seed, stream @ ..] = data else {
        return;
    };
    let chip = if pick & 1 == 0 {
        Chip::Esp8266
    } else {
        Chip::Esp32
    };
    // A fresh 4 MB flash per run would cost more than the run; the board's flash persists across
    // runs instead, as a real board's does across sessions.
    let mut guard = match FLASH[usize::from(pick & 1)].lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    let flash = &mut *guard;
    let mut loader = Loader::new(chip, [0x18, 0xFE, 0x34, 1, 2, 3]);
    let mut decoder = FrameDecoder::default();
    let mut host = FrameDecoder::default();
    let mut state = u32::from(*seed) | 1;
    let mut rest = stream;
    while !rest.is_empty() {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = (((state >> 16) % 512) as usize + 1).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        for frame in decoder.feed(chunk).into_iter().flatten() {
            let out = loader.handle(&frame, flash, 115_200);
            let wire = loader.wire(&out);
            let back: Vec<_> = host.feed(&wire).into_iter().collect();
            assert_eq!(
                back.len(),
                out.responses.len(),
                "one SLIP frame per response"
            );
            for (frame, sent) in back.iter().zip(&out.responses) {
                let frame = frame.as_ref().expect("the board's framing is valid");
                let parsed = Response::parse(frame, chip.status_len()).expect("response parses");
                assert_eq!(&parsed, sent, "response round-trips");
            }
            match out.action {
                Some(Action::Boot { .. }) => {
                    let b = boot::boot(chip, flash.bytes(), ResetCause::Software);
                    if let boot::Next::Run(Some(settings)) = b.next
                        && let Some(fault) = settings.fault
                    {
                        let _ = boot::fault(chip, fault, 0);
                    }
                    loader = Loader::new(chip, [0x18, 0xFE, 0x34, 1, 2, 3]);
                }
                Some(_) | None => {}
            }
        }
    }
});
