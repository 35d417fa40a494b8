//! The README's examples, run: every `console` block against the mock server (the README's port
//! 8443 is swapped for a free one, `~` is a fresh home), the PlatformIO hook with a stand-in `env`,
//! and (through `cargo test --doc`, see `src/lib.rs`) the `build.rs` example compiles.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::free_port;

struct Step {
    command: String,
    expected: String,
    exit: i32,
}

/// The `console` blocks: `$ command` lines, the output expected after each, and `? N` exit codes.
fn console_blocks(readme: &str) -> Vec<Vec<Step>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<Step>> = None;
    for line in readme.lines() {
        match (&mut current, line) {
            (None, "```console") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(steps), l) if l.starts_with("$ ") => steps.push(Step {
                command: l[2..].to_owned(),
                expected: String::new(),
                exit: 0,
            }),
            (Some(steps), l) if l.starts_with("? ") => {
                if let Some(s) = steps.last_mut() {
                    s.exit = l[2..].trim().parse().unwrap();
                }
            }
            (Some(steps), l) => {
                if let Some(s) = steps.last_mut() {
                    s.expected.push_str(l);
                    s.expected.push('\n');
                }
            }
            (None, _) => {}
        }
    }
    blocks
}

struct Background(Vec<Child>);

impl Drop for Background {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn shell(command: &str, home: &Path, work: &Path) -> Command {
    let bin_dir = assert_cmd::cargo::cargo_bin("espcheck")
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    super::support::clean_env(&mut cmd);
    // The README's `~` is this run's own HOME.
    cmd.args(["-c", command])
        .current_dir(work)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("PATH", path);
    cmd
}

#[test]
fn every_console_example_in_the_readme_prints_what_it_shows() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks = console_blocks(&readme);
    assert!(
        blocks.len() >= 5,
        "the README's workflows are console blocks"
    );
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let mut background = Background(Vec::new());
    for step in blocks.iter().flatten() {
        let command = step.command.replace("8443", &port);
        let expected = step.expected.replace("8443", &port);
        if let Some(cmd) = command.strip_suffix(" &") {
            let mut child = shell(&format!("exec {cmd}"), home.path(), work.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut first = String::new();
            let mut reader = BufReader::new(child.stdout.take().unwrap());
            reader.read_line(&mut first).unwrap();
            // Keep draining: a server whose stdout is closed would die on its next line.
            std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
            background.0.push(child);
            snapbox::assert_data_eq!(first, expected);
            continue;
        }
        let out = shell(&command, home.path(), work.path()).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(step.exit),
            "`{command}` exit code\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        snapbox::assert_data_eq!(stdout, expected);
    }
}

#[test]
fn the_platformio_hook_in_the_readme_regenerates_the_header() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let hook_path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/examples/pio_pins.py");
    let hook = std::fs::read_to_string(hook_path).unwrap();
    assert!(
        readme.contains(&format!("```python\n{hook}```")),
        "README shows docs/examples/pio_pins.py as it is"
    );

    let chain = crate::support::TestChain::new(crate::support::Alg::P256, &["api.github.com"]);
    let server = crate::support::RustlsServer::start(&chain);
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir(project.path().join("include")).unwrap();
    std::fs::write(
        project.path().join("espcheck.toml"),
        "hosts = [\"api.github.com\"]\nheader-out = \"include/pins.h\"\n",
    )
    .unwrap();
    // PlatformIO's SCons globals, stood in for: Import() and env["PROJECT_DIR"].
    let runner = format!(
        "env = {{'PROJECT_DIR': {dir:?}}}\nImport = lambda name: None\nexec(open({hook_path:?}).read())\n",
        dir = project.path().display().to_string()
    );
    let bin_dir = assert_cmd::cargo::cargo_bin("espcheck")
        .parent()
        .unwrap()
        .to_path_buf();
    let mut python = Command::new("python3");
    super::support::clean_env(&mut python);
    let out = python
        .args(["-c", &runner])
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env(
            "ESPCHECK_ARGS",
            format!(
                "--connect 127.0.0.1:{} --ca-file {}",
                server.port,
                chain.path("root.pem").display()
            ),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = std::fs::read_to_string(project.path().join("include/pins.h")).unwrap();
    assert!(header.contains("API_GITHUB_COM_CA_PEM"));
}
