//! Build discovery and image checks on temp-dir project layouts and a real flasher_args.json.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::fs;

use super::*;

const REAL_FLASHER_ARGS: &str = include_str!("../../fixtures/projects/esp-idf/flasher_args.json");

fn touch(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

fn addrs(plan: &Plan) -> Vec<(u32, String)> {
    plan.images
        .iter()
        .map(|i| (i.addr.unwrap(), file_name(&i.path)))
        .collect()
}

#[test]
fn firmware_args_take_esptools_addr_file_pairs() {
    assert_eq!(
        parse_firmware("0x10000=app.bin").unwrap(),
        (Some(0x10000), PathBuf::from("app.bin"))
    );
    assert_eq!(
        parse_firmware("4096=boot.bin").unwrap(),
        (Some(4096), PathBuf::from("boot.bin"))
    );
    // A prefix that is not a number is part of the file name.
    assert_eq!(
        parse_firmware("v=2.bin").unwrap(),
        (None, PathBuf::from("v=2.bin"))
    );
    assert!(parse_firmware("0xZZ=app.bin").unwrap_err().contains("0xZZ"));
    assert!(parse_firmware("0x1000=").is_err());
    let two = [(Some(0x1000), "b.bin".into()), (None, "app.bin".into())];
    assert!(matches!(from_args(&two), Err(ProjectError::NeedsAddr(_))));
}

#[test]
fn images_without_magic_unaligned_or_overlapping_are_refused() {
    let app = [0xE9u8; 64];
    let p = Path::new("app.bin");
    let q = Path::new("other.bin");
    assert!(check(&[(0x10000, p, Role::Given, &app)], false).is_ok());
    let zip = b"PK\x03\x04";
    let e = check(&[(0x10000, p, Role::Given, zip)], false).unwrap_err();
    assert!(
        e.to_string().contains("not an ESP image (first byte 0x50"),
        "{e}"
    );
    assert!(check(&[(0x10000, p, Role::Given, zip)], true).is_ok());
    let e = check(&[(0x10100, p, Role::Given, &app)], false).unwrap_err();
    assert!(e.to_string().contains("try 0x10000"), "{e}");
    assert!(check(&[(0x10100, p, Role::Given, &app)], true).is_ok());
    // A partition table is a legitimate --firmware image.
    assert!(check(&[(0x8000, p, Role::Given, &[0xAA, 0x50, 1])], false).is_ok());
    let big = vec![0xE9u8; 0x2000];
    let e = check(
        &[(0x0, p, Role::Given, &big), (0x1000, q, Role::Given, &app)],
        true,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "app.bin and other.bin overlap at 0x1000");
}

#[test]
fn platformio_esp8266_flashes_firmware_bin_at_zero() {
    let d = tempfile::tempdir().unwrap();
    touch(&d.path().join("platformio.ini"), b"[env:esp12e]\n");
    touch(&d.path().join(".pio/build/esp12e/firmware.bin"), &[0xE9]);
    let plan = discover(d.path(), None, None, &Frameworks::default()).unwrap();
    assert_eq!(plan.source, "PlatformIO env esp12e");
    assert_eq!(addrs(&plan), [(0, "firmware.bin".to_owned())]);
    assert_eq!(plan.chip, Some(Chip::Esp8266));
}

#[test]
fn platformio_esp32_adds_bootloader_partitions_and_boot_app0() {
    let d = tempfile::tempdir().unwrap();
    touch(&d.path().join("platformio.ini"), b"[env:esp32dev]\n");
    let b = d.path().join(".pio/build/esp32dev");
    for f in ["firmware.bin", "bootloader.bin", "partitions.bin"] {
        touch(&b.join(f), &[0xE9]);
    }
    let framework = d.path().join("pkg/tools/partitions/boot_app0.bin");
    touch(&framework, &[0; 16]);
    let fw = Frameworks {
        boot_app0: vec![d.path().join("missing.bin"), framework],
    };
    let plan = discover(d.path(), None, None, &fw).unwrap();
    assert_eq!(
        addrs(&plan),
        [
            (0x1000, "bootloader.bin".to_owned()),
            (0x8000, "partitions.bin".to_owned()),
            (0xE000, "boot_app0.bin".to_owned()),
            (0x10000, "firmware.bin".to_owned()),
        ]
    );
    assert_eq!(plan.chip, Some(Chip::Esp32));
}

#[test]
fn several_platformio_envs_need_env_and_a_wrong_env_lists_the_built_ones() {
    let d = tempfile::tempdir().unwrap();
    touch(&d.path().join("platformio.ini"), b"");
    for env in ["d1_mini", "esp12e"] {
        touch(
            &d.path().join(format!(".pio/build/{env}/firmware.bin")),
            &[0xE9],
        );
    }
    let fw = Frameworks::default();
    let e = discover(d.path(), None, None, &fw).unwrap_err();
    assert_eq!(
        e.to_string(),
        "several PlatformIO envs are built; pick one with --env: d1_mini, esp12e"
    );
    let plan = discover(d.path(), Some("esp12e"), None, &fw).unwrap();
    assert_eq!(plan.source, "PlatformIO env esp12e");
    let e = discover(d.path(), Some("nodemcu"), None, &fw).unwrap_err();
    assert!(e.to_string().contains("d1_mini, esp12e"), "{e}");
}

#[test]
fn esp_idf_reads_a_real_flasher_args_json() {
    let d = tempfile::tempdir().unwrap();
    touch(
        &d.path().join("build/flasher_args.json"),
        REAL_FLASHER_ARGS.as_bytes(),
    );
    let plan = discover(d.path(), None, None, &Frameworks::default()).unwrap();
    assert_eq!(
        addrs(&plan),
        [
            (0x1000, "bootloader.bin".to_owned()),
            (0x8000, "partition-table.bin".to_owned()),
            (0x10000, "practice.bin".to_owned()),
        ]
    );
    let roles: Vec<Role> = plan.images.iter().map(|i| i.role).collect();
    assert_eq!(roles, [Role::Bootloader, Role::PartitionTable, Role::App]);
    assert!(
        plan.images[0]
            .path
            .ends_with("build/bootloader/bootloader.bin")
    );
    assert_eq!(plan.chip, Some(Chip::Esp32));
    assert_eq!(
        plan.settings.as_deref(),
        Some("flash_mode dio, flash_freq 40m, flash_size 2MB")
    );
    touch(&d.path().join("build/flasher_args.json"), b"{\"flash\": 1}");
    let e = discover(d.path(), None, None, &Frameworks::default()).unwrap_err();
    assert!(
        e.to_string().contains("not ESP-IDF's flasher_args.json"),
        "{e}"
    );
}

#[test]
fn arduino_cli_finds_the_sketch_with_its_bootloader_and_partitions() {
    let d = tempfile::tempdir().unwrap();
    let b = d.path().join("build/esp32.esp32.esp32");
    for f in [
        "Blink.ino.bin",
        "Blink.ino.bootloader.bin",
        "Blink.ino.partitions.bin",
        "Blink.ino.merged.bin",
    ] {
        touch(&b.join(f), &[0xE9]);
    }
    let plan = discover(d.path(), None, None, &Frameworks::default()).unwrap();
    assert_eq!(plan.source, "arduino-cli esp32.esp32.esp32");
    assert_eq!(
        addrs(&plan),
        [
            (0x1000, "Blink.ino.bootloader.bin".to_owned()),
            (0x8000, "Blink.ino.partitions.bin".to_owned()),
            (0x10000, "Blink.ino.bin".to_owned()),
        ]
    );
    touch(
        &d.path().join("build/esp8266.esp8266.d1/Other.ino.bin"),
        &[0xE9],
    );
    let e = discover(d.path(), None, None, &Frameworks::default()).unwrap_err();
    assert!(
        e.to_string().starts_with("several arduino-cli builds"),
        "{e}"
    );
}

#[test]
fn no_build_or_two_kinds_of_build_are_one_line_errors() {
    let d = tempfile::tempdir().unwrap();
    let e = discover(d.path(), None, None, &Frameworks::default()).unwrap_err();
    assert!(e.to_string().starts_with("no build found in"), "{e}");
    touch(&d.path().join(".pio/build/esp12e/firmware.bin"), &[0xE9]);
    touch(
        &d.path().join("build/flasher_args.json"),
        REAL_FLASHER_ARGS.as_bytes(),
    );
    let e = discover(d.path(), None, None, &Frameworks::default()).unwrap_err();
    assert!(
        e.to_string().ends_with(
            "pick one with --firmware: PlatformIO env esp12e, ESP-IDF (build/flasher_args.json)"
        ),
        "{e}"
    );
}

#[test]
fn cargo_builds_are_the_packages_elf_under_an_espressif_triple() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    touch(
        &root.join("Cargo.toml"),
        b"[package]\nname = \"blinky\"\nversion = \"0.1.0\"\n",
    );
    // Host builds and build scripts' leftovers are not firmware.
    touch(&root.join("target/debug/blinky"), b"\x7fELF host");
    touch(
        &root.join("target/xtensa-esp32-none-elf/release/blinky.d"),
        b"deps",
    );
    touch(
        &root.join("target/xtensa-esp32-none-elf/release/blinky"),
        b"\x7fELF....",
    );
    let fw = Frameworks { boot_app0: vec![] };
    let plan = discover(root, None, None, &fw).unwrap();
    assert_eq!(plan.source, "cargo xtensa-esp32-none-elf");
    assert_eq!(plan.chip, Some(Chip::Esp32));
    assert_eq!(plan.images.len(), 1);
    assert_eq!(plan.images[0].addr, None, "an ELF carries its own layout");
    assert!(plan.images[0].path.ends_with("release/blinky"));

    // A debug build beside it: refused with both listed.
    touch(
        &root.join("target/riscv32imc-unknown-none-elf/debug/blinky"),
        b"\x7fELF....",
    );
    match discover(root, None, None, &fw).unwrap_err() {
        ProjectError::Ambiguous { candidates, .. } => assert_eq!(candidates.len(), 2),
        e => panic!("{e}"),
    }
    assert_eq!(triple_chip("xtensa-esp8266-none-elf"), Some(Chip::Esp8266));
    assert_eq!(triple_chip("riscv32imc-esp-espidf"), Some(Chip::Esp32));
    assert_eq!(triple_chip("x86_64-unknown-linux-gnu"), None);
}
