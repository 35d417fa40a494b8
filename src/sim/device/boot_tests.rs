//! Boot text of the virtual board, checked against what the real ROMs print.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use super::*;
use crate::rom::image::ImageSpec;
use crate::sim::device::flash::Flash;
use crate::sim::image::{ImageSettings, build};

fn with(chip: Chip, at: usize, bytes: &[u8]) -> Vec<u8> {
    let mut f = Flash::new(chip).bytes().to_vec();
    f[at..at + bytes.len()].copy_from_slice(bytes);
    f
}

#[test]
fn esp8266_load_lines_match_a_real_boot_log() {
    // A real eboot image: segments of 3460 and 40 bytes print
    // "load 0x4010f000, len 3460, room 16 / tail 4" and "load 0x3fff20b8, len 40, room 4 / tail 4".
    let img = ImageSpec::new(
        Chip::Esp8266,
        0x4010_f000,
        vec![
            (0x4010_f000, vec![0x11; 3460]),
            (0x3fff_20b8, vec![0x22; 40]),
        ],
    )
    .build();
    let b = boot(
        Chip::Esp8266,
        &with(Chip::Esp8266, 0, &img),
        ResetCause::Software,
    );
    let text = &b.out[0].text;
    assert!(
        text.contains("load 0x4010f000, len 3460, room 16 \r\ntail 4\r\n"),
        "{text}"
    );
    assert!(
        text.contains("load 0x3fff20b8, len 40, room 4 \r\ntail 4\r\n"),
        "{text}"
    );
    assert_eq!(b.out[0].baud, 74_880);
    assert_eq!(b.next, Next::Run(None));
    // Then the simulator's own line, at the app's baud, saying it cannot run this image.
    assert_eq!(b.out.len(), 2);
    assert_eq!(b.out[1].baud, APP_BAUD);
    assert!(b.out[1].text.starts_with("[espcheck sim device]"));
    assert!(b.out[1].text.contains("cannot execute real firmware"));
}

#[test]
fn esp8266_sim_image_boots_and_blank_flash_halts() {
    let s = ImageSettings::reference(Chip::Esp8266);
    let b = boot(
        Chip::Esp8266,
        &with(Chip::Esp8266, 0, &build(&s)),
        ResetCause::Software,
    );
    insta::assert_snapshot!("esp8266_sim_boot", b.out[0].text.replace('\r', ""));
    assert_eq!(b.next, Next::Run(Some(s)));
    let blank = boot(
        Chip::Esp8266,
        Flash::new(Chip::Esp8266).bytes(),
        ResetCause::PowerOn,
    );
    assert!(blank.out[0].text.ends_with("ets_main.c \r\n"));
    assert_eq!(blank.next, Next::Halt);
    let wdt = boot(
        Chip::Esp8266,
        Flash::new(Chip::Esp8266).bytes(),
        ResetCause::Watchdog,
    );
    assert!(
        wdt.out[0]
            .text
            .contains("rst cause:4, boot mode:(3,6)\r\n\r\nwdt reset\r\n")
    );
}

#[test]
fn esp32_sim_app_boots_through_the_bootloader() {
    let s = ImageSettings::reference(Chip::Esp32);
    let b = boot(
        Chip::Esp32,
        &with(Chip::Esp32, 0x10000, &build(&s)),
        ResetCause::Software,
    );
    insta::assert_snapshot!("esp32_sim_boot", b.out[0].text.replace('\r', ""));
    assert_eq!(b.next, Next::Run(Some(s)));
}

#[test]
fn esp32_failures_print_what_the_real_chip_prints() {
    let fresh = Flash::new(Chip::Esp32);
    let b = boot(Chip::Esp32, fresh.bytes(), ResetCause::PowerOn);
    assert!(
        b.out[0].text.contains("E (")
            && b.out[0].text.contains(
                "esp_image: image at 0x10000 has invalid magic byte (nothing flashed here?)"
            )
    );
    assert_eq!(b.next, Next::Reboot(ResetCause::Software));

    let mut erased = fresh.bytes().to_vec();
    erased[0x1000..0x2000].fill(0xFF);
    let b = boot(Chip::Esp32, &erased, ResetCause::PowerOn);
    assert_eq!(
        b.next,
        Next::Repeat("invalid header: 0xffffffff\r\n".to_owned())
    );

    let mut app = build(&ImageSettings::reference(Chip::Esp32));
    app[50] ^= 1; // inside the settings segment: checksum and hash both break
    let b = boot(
        Chip::Esp32,
        &with(Chip::Esp32, 0x10000, &app),
        ResetCause::PowerOn,
    );
    assert!(
        b.out[0].text.contains("esp_image: Checksum failed."),
        "{}",
        b.out[0].text
    );
    assert_eq!(b.next, Next::Reboot(ResetCause::Software));
}

#[test]
fn fault_dumps_carry_the_signatures() {
    let (t, cause) = fault(Chip::Esp8266, Fault::Crash, 0).unwrap();
    assert!(t.text.contains("Exception (28):") && t.text.contains(">>>stack>>>"));
    assert_eq!(cause, ResetCause::Software);
    let (t, _) = fault(Chip::Esp8266, Fault::ResetLoop, 0).unwrap();
    assert!(t.text.contains("Soft WDT reset"));
    assert_eq!(
        fault(Chip::Esp8266, Fault::ResetLoop, 1).unwrap().1,
        ResetCause::Watchdog
    );
    let (t, _) = fault(Chip::Esp32, Fault::Crash, 0).unwrap();
    assert!(
        t.text
            .contains("Guru Meditation Error: Core  1 panic'ed (LoadProhibited)")
    );
    assert!(t.text.contains("Backtrace:"));
    let (t, _) = fault(Chip::Esp32, Fault::Brownout, 0).unwrap();
    assert!(t.text.contains("Brownout detector was triggered"));
    assert!(fault(Chip::Esp32, Fault::Hang, 0).is_none());
}
