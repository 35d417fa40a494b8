//! Fitting in: completions, man page, colour hygiene, broken pipes.

use std::process::Command;

use crate::support::*;

const SUBCOMMANDS: &[&str] = &[
    "fingerprint",
    "gen-cert-header",
    "check",
    "probe",
    "watch",
    "grade",
    "ports",
    "sim",
];

#[test]
fn completions_cover_every_subcommand_in_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = espcheck()
            .args(["completions", shell])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8(out.stdout).expect("utf8");
        for sub in SUBCOMMANDS {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
    }
}

#[test]
fn man_page_has_a_section_per_subcommand() {
    let out = espcheck().arg("man").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert!(text.starts_with(".ie"), "roff");
    for sub in SUBCOMMANDS {
        assert!(
            text.contains(&format!(".TH espcheck-{sub} 1")),
            "no man section for {sub}"
        );
    }
}

#[test]
fn closed_pipe_exits_quietly() {
    let bundle = "/etc/ssl/certs/ca-certificates.crt";
    if !std::path::Path::new(bundle).exists() {
        eprintln!("SKIP: {bundle} missing");
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("espcheck");
    let mut bash = Command::new("bash");
    super::support::clean_env(&mut bash);
    let out = bash
        .arg("-c")
        .arg(format!(
            "'{}' fingerprint --from {bundle} | head -1; exit ${{PIPESTATUS[0]}}",
            bin.display()
        ))
        .output()
        .expect("bash");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn no_color_means_no_escape_codes_and_always_means_colour() {
    let chain = TestChain::new(Alg::P256, &["device.test"]);
    let plain = espcheck()
        .args(["fingerprint", "--color", "always", "--from"])
        .arg(chain.path("chain.pem"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    // --color always wins over NO_COLOR, as with clap and cargo.
    assert!(plain.stdout.contains(&0x1b));
    for args in [vec!["--color", "auto"], vec![]] {
        let out = espcheck()
            .arg("fingerprint")
            .args(&args)
            .arg("--from")
            .arg(chain.path("chain.pem"))
            .env("NO_COLOR", "1")
            .output()
            .expect("run");
        assert!(
            !out.stdout.contains(&0x1b),
            "escape codes with NO_COLOR and {args:?}"
        );
        assert!(!out.stderr.contains(&0x1b));
    }
    let err = espcheck()
        .args(["fingerprint", "--from", "/nonexistent"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&err.stderr).starts_with("error: /nonexistent: no such file"));
}

/// Flags, then environment, then the project's espcheck.toml (found upwards), then the user's.
#[test]
fn config_precedence_flags_env_project_user() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("proj");
    let deep = project.join("src/app");
    std::fs::create_dir_all(&deep).unwrap();
    let user = root.path().join("xdg/espcheck");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(
        user.join("espcheck.toml"),
        "port = \"/nonexistent/user-port\"\n",
    )
    .unwrap();
    let watch = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = espcheck();
        cmd.current_dir(&deep)
            .env("XDG_CONFIG_HOME", root.path().join("xdg"))
            .env_remove("ESPCHECK_PORT");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd
            .arg("watch")
            .args(args)
            .args(["--timeout", "1s"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(4));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(
        watch(&[], &[]).contains("/nonexistent/user-port"),
        "user file"
    );
    std::fs::write(
        project.join("espcheck.toml"),
        "port = \"/nonexistent/project-port\"\n",
    )
    .unwrap();
    assert!(
        watch(&[], &[]).contains("/nonexistent/project-port"),
        "project beats user"
    );
    let env = [("ESPCHECK_PORT", "/nonexistent/env-port")];
    assert!(
        watch(&env, &[]).contains("/nonexistent/env-port"),
        "environment beats files"
    );
    assert!(
        watch(&env, &["/nonexistent/flag-port"]).contains("/nonexistent/flag-port"),
        "flag wins"
    );

    // Grading rules from the project file apply when no flag is given.
    std::fs::write(project.join("espcheck.toml"), "fail = [\"BOOM\"]\n").unwrap();
    let graded = espcheck()
        .current_dir(&deep)
        .args(["grade", "-"])
        .write_stdin("ok\nBOOM\n")
        .output()
        .unwrap();
    assert_eq!(
        graded.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&graded.stdout)
    );
    let flag = espcheck()
        .current_dir(&deep)
        .args(["grade", "-", "--pass", "^ok$"])
        .write_stdin("ok\nBOOM\n")
        .output()
        .unwrap();
    assert_eq!(
        flag.status.code(),
        Some(0),
        "the first matching line decides: the --pass flag matches before the file's fail pattern"
    );

    // A bad file is one line naming the file and the line.
    std::fs::write(project.join("espcheck.toml"), "baud = 115200\nprot = 3\n").unwrap();
    let bad = espcheck()
        .current_dir(&deep)
        .args(["grade", "-"])
        .write_stdin("x")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr.contains("espcheck.toml: line 2: unknown field `prot`"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);
}

/// `--out /dev/null`, `--pem-out /dev/stdout` or a named pipe: write into the node. An atomic
/// rename over it would replace the device itself (as root, /dev/null would become a file).
#[test]
fn output_to_a_fifo_writes_into_it_instead_of_replacing_it() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pins.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let chain = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/chains/example-chain.pem"
    );
    espcheck()
        .args(["fingerprint", "--from", chain, "--pem-out"])
        .arg(&fifo)
        .assert()
        .success();
    let got = reader.join().unwrap();
    assert!(got.starts_with("-----BEGIN CERTIFICATE-----"), "{got}");
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "still a FIFO"
    );
}
