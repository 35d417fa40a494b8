//! `flash-and-watch` with no `--firmware`: the build of a PlatformIO or ESP-IDF project is found,
//! every image is written to the virtual board (`sim device`), and the board boots it to PASS
//! against the mock API. Plus the one-line refusals (exit 2) and a board of the wrong chip (exit 4).

use std::path::Path;

use crate::flash::{Board, image};
use crate::sim::Server;
use crate::support::espcheck;

const REAL_FLASHER_ARGS: &str = include_str!("../../fixtures/projects/esp-idf/flasher_args.json");

fn sketch_args(server: &Server, chip: &str) -> Vec<String> {
    let ca = server.file("root.pem");
    vec![
        "--chip".into(),
        chip.into(),
        "--connect".into(),
        server.connect(),
        "--ca-file".into(),
        ca.to_str().unwrap().into(),
    ]
}

fn run_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = espcheck()
        .current_dir(dir)
        .arg("flash-and-watch")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn verdict(stdout: &str, stderr: &str) -> serde_json::Value {
    stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON verdict: {stdout}\n{stderr}"))
}

#[test]
fn a_platformio_esp8266_project_is_found_flashed_and_passes() {
    let server = Server::start(&[]);
    let board = Board::start("esp8266");
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("platformio.ini"),
        "[env:esp12e]\nplatform = espressif8266\nboard = esp12e\nframework = arduino\n",
    )
    .unwrap();
    let build = project.path().join(".pio/build/esp12e");
    std::fs::create_dir_all(&build).unwrap();
    let args = sketch_args(&server, "esp8266");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    image(&build, "firmware.bin", &args);
    let link = board.link.to_str().unwrap();
    let (code, stdout, stderr) = run_in(project.path(), &[link, "--timeout", "40s", "--json"]);
    let v = verdict(&stdout, &stderr);
    assert_eq!(code, Some(0), "{v}\n{stderr}");
    assert_eq!(v["verdict"], "pass");
    assert!(
        stderr.contains("firmware from PlatformIO env esp12e"),
        "{stderr}"
    );
    assert!(stderr.contains("0x0  app"), "{stderr}");
}

#[test]
fn an_esp_idf_esp32_project_writes_bootloader_table_and_app_and_boots_through_the_table() {
    use espcheck::rom::partition;
    let server = Server::start(&[]);
    let board = Board::start("esp32");
    let project = tempfile::tempdir().unwrap();
    let build = project.path().join("build");
    std::fs::create_dir_all(build.join("bootloader")).unwrap();
    std::fs::create_dir_all(build.join("partition_table")).unwrap();
    // The real flasher_args.json, with the app moved to 0x20000: the board boots it only if the
    // partition table written with it (not the board's own, with its app at 0x10000) is read.
    let flasher_args = REAL_FLASHER_ARGS.replace("\"0x10000\"", "\"0x20000\"");
    assert_ne!(flasher_args, REAL_FLASHER_ARGS);
    std::fs::write(build.join("flasher_args.json"), flasher_args).unwrap();
    std::fs::write(
        build.join("bootloader/bootloader.bin"),
        espcheck::sim::image::esp32_bootloader(),
    )
    .unwrap();
    let table = partition::build(&partition::single_factory_app_at(0x20000));
    std::fs::write(build.join("partition_table/partition-table.bin"), table).unwrap();
    let args = sketch_args(&server, "esp32");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    image(&build, "practice.bin", &args);
    let link = board.link.to_str().unwrap();
    let (code, stdout, stderr) = run_in(project.path(), &[link, "--timeout", "40s", "--json"]);
    let v = verdict(&stdout, &stderr);
    assert_eq!(code, Some(0), "{v}\n{stderr}");
    assert_eq!(v["verdict"], "pass");
    for shown in [
        "firmware from ESP-IDF (build/flasher_args.json)",
        "0x1000  bootloader",
        "0x8000  partition table",
        "0x20000  app",
        "flash settings: flash_mode dio, flash_freq 40m, flash_size 2MB",
        // The board's second-stage bootloader echoes the table it read.
        "factory app      00 00 00020000",
    ] {
        assert!(stderr.contains(shown), "{shown}: {stderr}");
    }
}

#[test]
fn a_board_of_another_chip_is_refused_before_writing() {
    let board = Board::start("esp8266");
    let dir = tempfile::tempdir().unwrap();
    let fw = image(dir.path(), "app.bin", &["--chip", "esp8266"]);
    let link = board.link.to_str().unwrap();
    let fw = fw.to_str().unwrap();
    let (code, _, stderr) = run_in(
        dir.path(),
        &[link, "--firmware", fw, "--chip", "esp32", "--timeout", "5s"],
    );
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("the board is ESP8266 but the firmware is for ESP32"),
        "{stderr}"
    );
    // espcheck.toml's chip is the same promise.
    std::fs::write(dir.path().join("espcheck.toml"), "chip = \"esp32\"\n").unwrap();
    let (code, _, stderr) = run_in(dir.path(), &[link, "--firmware", fw, "--timeout", "5s"]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("the board is ESP8266"), "{stderr}");
}

#[test]
fn bad_images_and_ambiguous_builds_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 8 KiB: two sectors, so a second image one sector in lands on it.
    let app = image(d, "app.bin", &["--chip", "esp8266", "--size", "8K"]);
    std::fs::write(d.join("notes.txt"), "not firmware\n").unwrap();
    let app = app.to_str().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--firmware".into(), "0x10000=notes.txt".into()],
            "notes.txt is not an ESP image (first byte 0x6e, not 0xe9)",
        ),
        (
            vec!["--firmware".into(), format!("0x10100={app}")],
            "does not start on a 4 KiB sector (try 0x10000)",
        ),
        (
            vec![
                "--firmware".into(),
                format!("0x0={app}"),
                "--firmware".into(),
                format!("0x1000={app}"),
            ],
            "overlap at 0x1000",
        ),
        (
            vec!["--firmware".into(), format!("0xZZ={app}")],
            "invalid address `0xZZ`",
        ),
        (vec![], "no build found in ."),
    ];
    for (args, want) in cases {
        let mut all: Vec<&str> = vec!["/dev/null"];
        all.extend(args.iter().map(String::as_str));
        let (code, _, stderr) = run_in(d, &all);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(first.contains(want), "{args:?}: {stderr}");
        // clap adds its "try --help" hint under a malformed value; espcheck's own refusals are one line.
        if !first.contains("invalid value") {
            assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        }
    }
    for env in ["d1_mini", "esp12e"] {
        let b = d.join(".pio/build").join(env);
        std::fs::create_dir_all(&b).unwrap();
        std::fs::copy(app, b.join("firmware.bin")).unwrap();
    }
    let (code, _, stderr) = run_in(d, &["/dev/null"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("several PlatformIO envs are built; pick one with --env: d1_mini, esp12e"),
        "{stderr}"
    );
}
