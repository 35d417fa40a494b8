//! ESP-IDF core dumps graded end to end: a serial log that carries the UART block (behind
//! esp-idf-monitor timestamps), and `--core-dump FILE`, with and without the app's ELF, in text
//! and JSON. The dump and ELF are real (fixtures/crashes/coredump, from esp-coredump); the frames
//! themselves are held against gdb's in the library's tests.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::crash::grade_json;
use super::support::espcheck;

fn fixture(chip: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/crashes/coredump")
        .join(chip)
        .join(file)
}

/// A log as esp-idf-monitor `--timestamps` shows an abort whose dump goes to the UART: the
/// panic line, the dump between ESP-IDF's marker lines, the reboot. `keep` base64 lines of the
/// dump (all with `usize::MAX`).
fn uart_log(dir: &Path, chip: &str, panic: &str, keep: usize) -> PathBuf {
    let b64 = std::fs::read_to_string(fixture(chip, "coredump.b64")).unwrap();
    let mut log = String::new();
    let mut at = 0;
    let mut line = |text: &str| {
        at += 3;
        log.push_str(&format!(
            "2026-12-02 07:00:{:02}.{at:03} {text}\n",
            at / 100
        ));
    };
    line(panic);
    line("");
    line("================= CORE DUMP START =================");
    for l in b64.lines().take(keep) {
        line(l);
    }
    if keep == usize::MAX {
        line("================= CORE DUMP END =================");
        line("Rebooting...");
    }
    let path = dir.join(format!("{chip}-uart.log"));
    std::fs::write(&path, log).unwrap();
    path
}

fn task(v: &Value, i: usize) -> &Value {
    &v["core_dump"]["tasks"][i]
}

fn functions(task: &Value) -> Vec<&str> {
    task["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["function"].as_str().unwrap_or("??"))
        .collect()
}

#[test]
fn a_logged_core_dump_is_read_without_the_elf_and_decoded_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = uart_log(
        dir.path(),
        "esp32c6",
        "abort() was called at PC 0x4200c3d5 on core 0",
        usize::MAX,
    );
    let (code, v) = grade_json(&log, &[]);
    assert_eq!(code, 5, "{v:#}");
    assert_eq!(v["verdict"], "fault");
    assert_eq!(v["crash"]["kind"], "abort");
    let dump = &v["core_dump"];
    assert_eq!(dump["chip"], "esp32c6");
    assert_eq!(dump["line"], 3);
    assert_eq!(dump["crashed_task"], "0x4080fe20");
    assert_eq!(task(&v, 0)["name"], "main");
    assert_eq!(task(&v, 0)["crashed"], true);
    // The PC the dump holds for it: panic_abort, panic.c:483 by binutils' addr2line and gdb.
    assert_eq!(task(&v, 0)["pc"], "0x40804796");
    assert!(functions(task(&v, 0)).is_empty());
    assert!(dump["notes"][0].as_str().unwrap().contains("--elf"));

    let elf = fixture("esp32c6", "app.elf");
    let (code, v) = grade_json(&log, &["--elf", elf.to_str().unwrap()]);
    assert_eq!(code, 5);
    assert_eq!(
        functions(task(&v, 0)),
        [
            "panic_abort",
            "esp_system_abort",
            "abort",
            "fail_once",
            "??"
        ]
    );
    assert_eq!(task(&v, 0)["frames"][3]["line"], 14);
    // The ROM frame is unnamed without the ROM ELF; the note says which one to give.
    let note = v["core_dump"]["notes"][0].as_str().unwrap();
    assert!(note.contains("--rom esp32c6:v0.1"), "{note}");
    assert_eq!(task(&v, 1)["name"], "IDLE");
    assert_eq!(functions(task(&v, 1)), ["vPortTaskWrapper"]);
    assert_eq!(task(&v, 2)["name"], "esp_timer");
    assert!(v["decode_warnings"].as_array().is_none_or(Vec::is_empty));

    // The same in text: the crashed task first, its frames with file and line.
    let out = espcheck()
        .arg("grade")
        .arg(&log)
        .arg("--elf")
        .arg(&elf)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("crashed task 'main' (TCB 0x4080fe20)"),
        "{text}"
    );
    assert!(text.contains("fail_once at "), "{text}");
    assert!(text.contains("test_core_dump.c:14"), "{text}");
    assert!(text.contains("panic reason: abort() was called at PC 0x4200c3d5"));
}

#[test]
fn a_dump_alone_is_a_crash_and_another_builds_elf_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    // No panic line kept before the block: the dump itself says what crashed.
    let log = uart_log(dir.path(), "esp32c3", "", usize::MAX);
    let other = fixture("esp32c6", "app.elf");
    let (code, v) = grade_json(&log, &["--elf", other.to_str().unwrap()]);
    assert_eq!(code, 5, "{v:#}");
    assert_eq!(v["crash"]["kind"], "core-dump");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("abort() was called at PC 0x42009351"),
        "{}",
        v["reason"]
    );
    let warning = v["decode_warnings"][0].as_str().unwrap();
    assert!(warning.contains("7d946a8e8"), "{warning}");
    let frames = task(&v, 0)["frames"].as_array().unwrap();
    assert!(!frames.is_empty());
    assert!(
        frames.iter().all(|f| f["unreliable"] == true),
        "{frames:#?}"
    );
}

#[test]
fn a_cut_core_dump_block_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let log = uart_log(
        dir.path(),
        "esp32c3",
        "abort() was called at PC 0x42009351 on core 0",
        30,
    );
    let elf = fixture("esp32c3", "app.elf");
    let (code, v) = grade_json(&log, &["--elf", elf.to_str().unwrap()]);
    assert_eq!(code, 5, "{v:#}");
    assert_eq!(v["crash"]["kind"], "abort");
    let error = v["core_dump"]["error"].as_str().unwrap();
    assert!(error.contains("cut short"), "{error}");
    assert!(v["core_dump"]["tasks"].as_array().unwrap().is_empty());
}

#[test]
fn core_dump_files_in_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").unwrap();
    let elf = fixture("esp32p4", "app.elf");
    let b64 = fixture("esp32p4", "coredump.b64");
    let (_, v) = grade_json(
        &empty,
        &[
            "--core-dump",
            b64.to_str().unwrap(),
            "--elf",
            elf.to_str().unwrap(),
            "--rom",
            "esp32p4:v0.0",
        ],
    );
    assert_eq!(v["core_dump"]["tasks"].as_array().unwrap().len(), 5);
    assert_eq!(
        functions(task(&v, 0))[4..7],
        ["ets_write_char", "ets_vprintf", "ets_printf"]
    );
    // The partition image (the base64 decoded), as `esptool read_flash` would save it.
    let text = std::fs::read_to_string(&b64).unwrap();
    let engine = base64::engine::general_purpose::STANDARD;
    let image: Vec<u8> = text
        .lines()
        .flat_map(|l| base64::Engine::decode(&engine, l.trim()).unwrap())
        .collect();
    let raw = dir.path().join("coredump.bin");
    std::fs::write(&raw, &image).unwrap();
    let (_, w) = grade_json(&empty, &["--core-dump", raw.to_str().unwrap()]);
    assert_eq!(w["core_dump"]["tasks"], {
        let mut t = v["core_dump"]["tasks"].clone();
        for task in t.as_array_mut().unwrap() {
            task["frames"] = Value::Array(Vec::new());
        }
        t
    });
    // Not a dump: refused with one line naming the file, exit 2.
    let out = espcheck()
        .arg("grade")
        .arg(&empty)
        .arg("--core-dump")
        .arg(&elf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("app.elf") && err.contains("not a core"),
        "{err}"
    );
}

#[test]
fn the_human_report_of_a_decoded_core_dump() {
    // The ESP32 (Xtensa) dump, with the ROM ELF espflash ships: every task, crashed first.
    let dir = tempfile::tempdir().unwrap();
    let log = uart_log(
        dir.path(),
        "esp32",
        "abort() was called at PC 0x400d66b9 on core 0",
        usize::MAX,
    );
    let elf = fixture("esp32", "app.elf");
    let out = espcheck()
        .arg("grade")
        .arg(&log)
        .arg("--elf")
        .arg(&elf)
        .args(["--rom", "esp32:v3.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    let text = String::from_utf8(out.stdout).unwrap();
    insta::assert_snapshot!("grade_human_core_dump_esp32", text);
}
