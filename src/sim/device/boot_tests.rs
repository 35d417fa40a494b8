//! Boot text of the virtual board, checked against what the real ROMs print.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use super::*;
use crate::rom::image::ImageSpec;
use crate::rom::partition::Partition;
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

/// An ESP32 flash with `parts` as its partition table and `apps` written at their offsets.
fn esp32_with(parts: &[crate::rom::partition::Partition], apps: &[(usize, &[u8])]) -> Vec<u8> {
    let mut f = with(Chip::Esp32, 0x8000, &crate::rom::partition::build(parts));
    for (at, bytes) in apps {
        f[*at..*at + bytes.len()].copy_from_slice(bytes);
    }
    f
}

fn part(label: &str, ptype: u8, subtype: u8, offset: u32, size: u32) -> Partition {
    Partition {
        label: label.to_owned(),
        ptype,
        subtype,
        offset,
        size,
        flags: 0,
    }
}

/// Arduino's default OTA table: nvs, otadata, ota_0, ota_1 (no factory app).
fn ota_table(with_factory: bool) -> Vec<Partition> {
    let mut p = vec![
        part("nvs", 1, 2, 0x9000, 0x5000),
        part("otadata", 1, 0, 0xe000, 0x2000),
        part("app0", 0, 0x10, 0x10000, 0x140000),
        part("app1", 0, 0x11, 0x150000, 0x140000),
    ];
    if with_factory {
        p.push(part("factory", 0, 0, 0x290000, 0x100000));
    }
    p
}

/// One otadata entry as `esp_ota_ops.c` writes it: the sequence number, a blank label, the
/// state, and the CRC-32 of the sequence number.
fn ota_entry(seq: u32, state: u32) -> Vec<u8> {
    let mut e = seq.to_le_bytes().to_vec();
    e.extend([0xFF; 20]);
    e.extend(state.to_le_bytes());
    let mut h = crc32fast::Hasher::new_with_initial(u32::MAX);
    h.update(&seq.to_le_bytes());
    e.extend(h.finalize().to_le_bytes());
    e
}

fn app(host: &str) -> (ImageSettings, Vec<u8>) {
    let mut s = ImageSettings::reference(Chip::Esp32);
    s.host = host.to_owned();
    let b = build(&s);
    (s, b)
}

#[test]
fn esp32_bootloader_follows_otadata_to_the_newest_valid_slot() {
    let (s0, a0) = app("zero.example");
    let (s1, a1) = app("one.example");
    // Blank otadata, no factory app: ota_0, as a freshly serial-flashed Arduino board.
    let f = esp32_with(&ota_table(false), &[(0x10000, &a0), (0x150000, &a1)]);
    let b = boot(Chip::Esp32, &f, ResetCause::PowerOn);
    let text = &b.out[0].text;
    assert!(
        text.contains("boot: No factory image, trying OTA 0\r\n"),
        "{text}"
    );
    assert!(text.contains("Loaded app from partition at offset 0x10000"));
    assert_eq!(b.next, Next::Run(Some(s0.clone())));

    // An OTA update wrote sequence 2 into the second entry: slot (2 - 1) % 2 = ota_1.
    let mut f2 = f.clone();
    f2[0xe000..0xe020].copy_from_slice(&ota_entry(1, 2));
    f2[0xf000..0xf020].copy_from_slice(&ota_entry(2, 2));
    let b = boot(Chip::Esp32, &f2, ResetCause::PowerOn);
    assert!(
        b.out[0]
            .text
            .contains("Loaded app from partition at offset 0x150000")
    );
    assert_eq!(b.next, Next::Run(Some(s1.clone())));

    // The newer entry ABORTED (a rollback): the older one, ota_0, boots.
    f2[0xf000..0xf020].copy_from_slice(&ota_entry(2, 4));
    let b = boot(Chip::Esp32, &f2, ResetCause::PowerOn);
    assert_eq!(b.next, Next::Run(Some(s0.clone())));

    // A sequence whose CRC is wrong does not count; with a factory app the bootloader says so.
    let mut f3 = esp32_with(&ota_table(true), &[(0x10000, &a0), (0x290000, &a1)]);
    let mut bad = ota_entry(2, 2);
    bad[28] ^= 1;
    f3[0xe000..0xe020].copy_from_slice(&bad);
    let b = boot(Chip::Esp32, &f3, ResetCause::PowerOn);
    let text = &b.out[0].text;
    assert!(
        text.contains("E (")
            && text.contains("boot: ota data partition invalid, falling back to factory"),
        "{text}"
    );
    assert_eq!(b.next, Next::Run(Some(s1.clone())));
    // Blank otadata with a factory app: "Defaulting to factory image".
    f3[0xe000..0xe020].fill(0xFF);
    let b = boot(Chip::Esp32, &f3, ResetCause::PowerOn);
    assert!(b.out[0].text.contains("boot: Defaulting to factory image"));
    assert_eq!(b.next, Next::Run(Some(s1)));
}

#[test]
fn esp32_bootloader_falls_back_from_an_erased_slot_and_logs_each_failure() {
    let (s0, a0) = app("zero.example");
    let mut f = esp32_with(&ota_table(false), &[(0x10000, &a0)]);
    // otadata names ota_1 (sequence 2), which is erased: down to ota_0.
    f[0xe000..0xe020].copy_from_slice(&ota_entry(2, 2));
    let b = boot(Chip::Esp32, &f, ResetCause::PowerOn);
    let text = &b.out[0].text;
    assert!(
        text.contains(
            "esp_image: image at 0x150000 has invalid magic byte (nothing flashed here?)"
        ),
        "{text}"
    );
    assert!(text.contains("boot: OTA app partition slot 1 is not bootable"));
    assert_eq!(b.next, Next::Run(Some(s0)));
}

#[test]
fn esp32_bootloader_refuses_a_merged_image_or_a_bootloader_in_the_app_slot() {
    let fresh = Flash::new(Chip::Esp32);
    // What `esptool merge-bin` makes: bootloader at 0, partition table at 0x7000, app at 0xF000
    // (offsets relative to 0x1000), written where the app belongs.
    let (_, a) = app("app.example");
    let mut merged = fresh.bytes()[0x1000..0x10000].to_vec();
    merged.extend(&a);
    let b = boot(
        Chip::Esp32,
        &with(Chip::Esp32, 0x10000, &merged),
        ResetCause::PowerOn,
    );
    let text = &b.out[0].text;
    // The first segment is the bootloader's own data, above its stack.
    assert!(
        text.contains("esp_image: Segment 0 end address 0x3fff04d0 too high (bootloader stack 0x3ffe3f20 limit 0x3ffdbf20)"),
        "{text}"
    );
    assert!(text.contains("boot: Factory app partition is not bootable"));
    assert!(text.contains("boot: No bootable app partitions in the partition table"));
    assert_eq!(b.next, Next::Reboot(ResetCause::Software));

    // A non-app image: the partition table itself written at 0x10000.
    let table = crate::rom::partition::build(&crate::rom::partition::single_factory_app());
    let b = boot(
        Chip::Esp32,
        &with(Chip::Esp32, 0x10000, &table),
        ResetCause::PowerOn,
    );
    assert!(
        b.out[0]
            .text
            .contains("esp_image: image at 0x10000 has invalid magic byte")
    );
    assert_eq!(b.next, Next::Reboot(ResetCause::Software));
}

#[test]
fn esp32_bootloader_refuses_a_bad_partition_table_with_the_real_messages() {
    let (_, a) = app("app.example");
    let good = crate::rom::partition::build(&crate::rom::partition::single_factory_app());
    let mut md5 = good.clone();
    md5[3 * 32 + 20] ^= 0xFF; // inside the MD5 entry's digest
    let mut magic = good.clone();
    magic[32] = 0x12;
    let mut big = crate::rom::partition::single_factory_app();
    big[2].size = 0x40_0000;
    let cases = [
        (md5, "flash_parts: Incorrect MD5 checksum"),
        (
            magic,
            "flash_parts: partition 1 invalid magic number 0x5012",
        ),
        (
            crate::rom::partition::build(&big),
            "flash_parts: partition 2 invalid - offset 0x10000 size 0x400000 exceeds flash chip size 0x400000",
        ),
    ];
    for (table, line) in cases {
        let mut f = with(Chip::Esp32, 0x8000, &table);
        f[0x10000..0x10000 + a.len()].copy_from_slice(&a);
        let b = boot(Chip::Esp32, &f, ResetCause::PowerOn);
        let text = &b.out[0].text;
        assert!(text.contains(line), "{line}: {text}");
        assert!(text.contains("boot: Failed to verify partition table\r\n"));
        assert!(text.ends_with("boot: load partition table error!\r\n"));
        assert_eq!(b.next, Next::Reboot(ResetCause::Software));
    }
}
