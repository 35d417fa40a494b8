//! Unit tests of the sans-IO ROM loader: what a flasher sees over the wire, malformed input included.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::io::Write;

use super::*;
use crate::rom::command::{payload, sync_payload};
use crate::rom::packet::Op;
use crate::rom::slip::FrameDecoder;

const MAC: [u8; 6] = [0x18, 0xFE, 0x34, 0x5E, 0xCA, 0xF1];

fn ask(l: &mut Loader, f: &mut Flash, req: &Request) -> Reply {
    l.handle(&req.encode(), f, 115_200)
}

fn single(l: &mut Loader, f: &mut Flash, req: &Request) -> Response {
    let mut o = ask(l, f, req);
    assert_eq!(o.responses.len(), 1, "{req:?}");
    o.responses.remove(0)
}

fn read_reg(l: &mut Loader, f: &mut Flash, addr: u32) -> u32 {
    let r = single(l, f, &Request::new(Op::ReadReg, payload(&[addr])));
    assert_eq!(r.status, 0);
    r.value
}

#[test]
fn esp8266_sync_magic_and_status_length() {
    let mut l = Loader::new(Chip::Esp8266, MAC);
    let mut f = Flash::new(Chip::Esp8266);
    let o = ask(&mut l, &mut f, &Request::new(Op::Sync, sync_payload()));
    assert_eq!(o.responses.len(), 8);
    let wire = l.wire(&o);
    // 8 frames of C0 + 10 bytes (8 header + 2 status) + C0.
    assert_eq!(wire.len(), 8 * 12);
    assert_eq!(read_reg(&mut l, &mut f, 0x4000_1000), 0xFFF0_C101);
    // esptool's crystal estimate: baud × div / 1e6 / 2 ≈ 26.
    let div = read_reg(&mut l, &mut f, 0x6000_0014);
    let est = 115_200.0 * f64::from(div) / 1e6 / 2.0;
    assert!((est - 26.0).abs() < 1.0, "{est}");
    // esptool chip_id(): (id0 >> 24) | ((id1 & 0xFFFFFF) << 8)
    let id0 = read_reg(&mut l, &mut f, 0x3FF0_0050);
    let id1 = read_reg(&mut l, &mut f, 0x3FF0_0054);
    assert_eq!((id0 >> 24) | ((id1 & 0xFF_FFFF) << 8), 0x5E_CAF1);
}

#[test]
fn esp8266_rejects_what_its_rom_lacks() {
    let mut l = Loader::new(Chip::Esp8266, MAC);
    let mut f = Flash::new(Chip::Esp8266);
    for req in [
        Request::new(Op::GetSecurityInfo, vec![]),
        Request::new(Op::SpiFlashMd5, payload(&[0, 16, 0, 0])),
        Request::new(Op::FlashDeflBegin, payload(&[0x1000, 1, 0x4000, 0])),
        Request::new(Op::SpiAttach, payload(&[0, 0])),
        Request::new(Op::ChangeBaudrate, payload(&[460_800, 0])),
        Request::new(Op::RunUserCode, vec![]),
    ] {
        let r = single(&mut l, &mut f, &req);
        assert_eq!((r.status, r.error), (1, 0x05), "{req:?}");
        assert_eq!(r.encode(2).len(), 10);
    }
}

#[test]
fn flashing_with_errors_keeps_serving() {
    let mut l = Loader::new(Chip::Esp8266, MAC);
    let mut f = Flash::new(Chip::Esp8266);
    let image: Vec<u8> = (0..0x900u32).map(|i| (i % 251) as u8).collect();
    let data = |seq: u32| {
        let mut b = image[(seq * 0x400) as usize..]
            .iter()
            .take(0x400)
            .copied()
            .collect::<Vec<_>>();
        b.resize(0x400, 0xFF);
        Request::data_block(Op::FlashData, seq, &b)
    };
    // Data before any FLASH_BEGIN: failed to act.
    let r = single(&mut l, &mut f, &data(0));
    assert_eq!((r.status, r.error), (1, 0x06));
    // ESP8266 attach-only begin, then the real begin (esptool's erase-size workaround value).
    assert_eq!(
        single(
            &mut l,
            &mut f,
            &Request::new(Op::FlashBegin, payload(&[0, 0, 0x400, 0]))
        )
        .status,
        0
    );
    let r = single(
        &mut l,
        &mut f,
        &Request::new(Op::FlashBegin, payload(&[0x1000, 3, 0x400, 0])),
    );
    assert_eq!(r.status, 0);
    assert_eq!(single(&mut l, &mut f, &data(0)).status, 0);
    // Out of order: block 2 before block 1.
    let r = single(&mut l, &mut f, &data(2));
    assert_eq!((r.status, r.error), (1, 0x06));
    // Bad checksum.
    let mut bad = data(1);
    bad.checksum ^= 0x5A;
    let r = single(&mut l, &mut f, &bad);
    assert_eq!((r.status, r.error), (1, 0x07));
    // Declared length disagrees with the bytes: invalid message.
    let mut short = data(1).encode();
    short.truncate(short.len() - 1);
    let o = l.handle(&short, &mut f, 115_200);
    assert_eq!((o.responses[0].status, o.responses[0].error), (1, 0x05));
    // Still serving: the right blocks land, a re-sent block is accepted again.
    assert_eq!(single(&mut l, &mut f, &data(1)).status, 0);
    assert_eq!(single(&mut l, &mut f, &data(1)).status, 0);
    assert_eq!(single(&mut l, &mut f, &data(2)).status, 0);
    assert_eq!(f.read(0, image.len() as u32).unwrap(), &image[..]);
    assert_eq!(
        f.read(image.len() as u32, 0x300).unwrap(),
        &[0xFF; 0x300][..]
    );
    let o = ask(&mut l, &mut f, &Request::new(Op::FlashEnd, payload(&[0])));
    assert_eq!(
        o.action,
        Some(Action::Boot {
            run_user_code: false
        })
    );
    // Past the end of flash.
    let r = single(
        &mut l,
        &mut f,
        &Request::new(Op::FlashBegin, payload(&[0x1000, 4, 0x400, 0x3F_F800])),
    );
    assert_eq!((r.status, r.error), (1, 0x06));
}

#[test]
fn malformed_slip_then_a_good_frame() {
    let mut l = Loader::new(Chip::Esp32, MAC);
    let mut f = Flash::new(Chip::Esp32);
    let mut wire = vec![0xC0, 0x00, 0x0A, 0xDB, 0x99, 0x01, 0xC0];
    wire.extend(b"noise between frames");
    wire.extend(slip::encode(
        &Request::new(Op::ReadReg, payload(&[0x4000_1000])).encode(),
    ));
    let mut dec = FrameDecoder::default();
    let mut answers = Vec::new();
    for frame in dec.feed(&wire).into_iter().flatten() {
        answers.extend(l.handle(&frame, &mut f, 115_200).responses);
    }
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].value, 0x00F0_1D83);
    assert_eq!(answers[0].encode(4).len(), 12);
}

#[test]
fn esp32_md5_deflate_read_and_flash_id() {
    let mut l = Loader::new(Chip::Esp32, MAC);
    let mut f = Flash::new(Chip::Esp32);
    // SPI flash RDID through the user-command registers, as esptool and espflash do it.
    let spi = Chip::Esp32.spi_regs();
    let w = |a: u32, v: u32| Request::new(Op::WriteReg, payload(&[a, v, 0xFFFF_FFFF, 0]));
    single(&mut l, &mut f, &w(spi.usr, 1 << 31 | 1 << 28));
    single(&mut l, &mut f, &w(spi.usr2, 7 << 28 | 0x9F));
    single(&mut l, &mut f, &w(spi.w0, 0));
    single(&mut l, &mut f, &w(spi.cmd, 1 << 18));
    assert_eq!(read_reg(&mut l, &mut f, spi.cmd) & (1 << 18), 0);
    assert_eq!(read_reg(&mut l, &mut f, spi.w0), 0x16_40EF);
    // GET_SECURITY_INFO is rejected with 4 status bytes.
    let r = single(&mut l, &mut f, &Request::new(Op::GetSecurityInfo, vec![]));
    assert_eq!((r.status, r.error, r.encode(4).len()), (1, 5, 12));
    // Deflate a region in two compressed blocks.
    let plain: Vec<u8> = (0..0x3000u32).map(|i| (i / 7) as u8).collect();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&plain).unwrap();
    let packed = z.finish().unwrap();
    let half = packed.len() / 2;
    let begin = Request::new(
        Op::FlashDeflBegin,
        payload(&[0x3000, 2, half as u32 + 1, 0x20000]),
    );
    assert_eq!(single(&mut l, &mut f, &begin).status, 0);
    for (seq, chunk) in packed.chunks(half + 1).enumerate() {
        let r = single(
            &mut l,
            &mut f,
            &Request::data_block(Op::FlashDeflData, seq as u32, chunk),
        );
        assert_eq!(r.status, 0, "block {seq}");
    }
    assert_eq!(f.read(0x20000, 0x3000).unwrap(), &plain[..]);
    // The ROM's MD5 is 32 hex characters.
    let r = single(
        &mut l,
        &mut f,
        &Request::new(Op::SpiFlashMd5, payload(&[0x20000, 0x3000, 0, 0])),
    );
    assert_eq!(r.data, hex::encode(Md5::digest(&plain)).into_bytes());
    assert_eq!(r.encode(4).len(), 44);
    // READ_FLASH_SLOW answers 64 bytes.
    let r = single(
        &mut l,
        &mut f,
        &Request::new(Op::ReadFlashSlow, payload(&[0x20000, 16])),
    );
    assert_eq!(r.data.len(), 64);
    assert_eq!(&r.data[..16], &plain[..16]);
    // Broken deflate data.
    single(&mut l, &mut f, &begin);
    let r = single(
        &mut l,
        &mut f,
        &Request::data_block(Op::FlashDeflData, 0, &[0xFF; 40]),
    );
    assert_eq!((r.status, r.error), (1, 0x0B));
}

/// Fuzz regression (`rom_loader`): a FLASH_DATA with sequence number 0xFFFFFFFF overflowed the
/// resend check and killed the board thread in debug builds. The ROM just says "failed".
#[test]
fn flash_data_with_the_largest_sequence_number_fails_and_the_transfer_goes_on() {
    let mut l = Loader::new(Chip::Esp32, MAC);
    let mut f = Flash::new(Chip::Esp32);
    let begin = Request::new(Op::FlashBegin, payload(&[0x800, 2, 0x400, 0x10000]));
    assert_eq!(single(&mut l, &mut f, &begin).status, 0);
    let r = single(
        &mut l,
        &mut f,
        &Request::data_block(Op::FlashData, u32::MAX, &[0xAA; 0x400]),
    );
    assert_eq!((r.status, r.error), (1, RomError::Failed as u8));
    let r = single(
        &mut l,
        &mut f,
        &Request::data_block(Op::FlashData, 0, &[0xAA; 0x400]),
    );
    assert_eq!(r.status, 0);
    assert_eq!(f.read(0x10000, 4), Some(&[0xAA; 4][..]));
}

#[test]
fn uart_date_register_and_the_esp32_efuse_alias_read_as_on_the_chips() {
    let mut f8 = Flash::new(Chip::Esp8266);
    let mut l8 = Loader::new(Chip::Esp8266, MAC);
    assert_eq!(read_reg(&mut l8, &mut f8, 0x6000_0078), 0x0006_2000);
    let mac32 = [0x24, 0x0A, 0xC4, 0x5E, 0xCA, 0xF1];
    let mut f = Flash::new(Chip::Esp32);
    let mut l = Loader::new(Chip::Esp32, mac32);
    assert_eq!(read_reg(&mut l, &mut f, 0x6000_0078), 0x1512_2500);
    assert_eq!(read_reg(&mut l, &mut f, 0x3FF4_0078), 0x1512_2500);
    for word in 0..8 {
        let direct = read_reg(&mut l, &mut f, 0x3FF5_A000 + 4 * word);
        assert_eq!(
            read_reg(&mut l, &mut f, 0x6001_A000 + 4 * word),
            direct,
            "word {word}"
        );
    }
    // The MAC words as older tools read them through the alias: word 1 holds bytes 2..6.
    assert_eq!(read_reg(&mut l, &mut f, 0x6001_A004), 0xC45E_CAF1);
    assert_eq!(read_reg(&mut l, &mut f, 0x6001_A008) & 0xFFFF, 0x240A);
}
