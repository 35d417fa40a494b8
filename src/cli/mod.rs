//! The command line: clap lives here only. One file per subcommand, each with its args struct and a
//! `run` that calls into the library and renders the result.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::error::{Error, Exit, Result};

pub mod check;
mod defaults;
pub mod demo;
pub mod fingerprint;
pub mod flash_and_watch;
pub mod gen_cert_header;
pub mod grade;
pub mod ports;
pub mod probe;
pub mod sim;
pub mod sim_device;
pub mod watch;

/// Pin, generate and check TLS certificates for ESP8266/ESP32 firmware, and simulate the board.
#[derive(Debug, Parser)]
#[command(name = "espcheck", version, about, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 ok/PASS, 1 answer is no, 2 usage or bad input, 3 timeout, \
                        4 host environment (network, serial, flashing), 5 device fault, \
                        130 a watch stopped by a signal."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour: auto (only on a terminal, and never with NO_COLOR), always, never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: ColorWhen,
    /// Less output: errors only on stderr; `watch` and `flash-and-watch` also stop echoing the
    /// board (as `--no-echo`).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More diagnostics on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// Only on a terminal, and never when NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Capture a server's chain (live or from a file), print every fingerprint and say which to pin.
    #[command(after_help = fingerprint::EXAMPLES)]
    Fingerprint(fingerprint::Args),
    /// Write pins as a C/Arduino header, a Rust module or an ESP-IDF certificate bundle.
    #[command(name = "gen-cert-header", after_help = gen_cert_header::EXAMPLES)]
    GenCertHeader(gen_cert_header::Args),
    /// Read pins back out of headers and sketches and check them against the served chain.
    #[command(after_help = check::EXAMPLES)]
    Check(check::Args),
    /// Will this server work from an ESP8266 (BearSSL) or an ESP32 (mbedTLS)?
    #[command(after_help = probe::EXAMPLES)]
    Probe(probe::Args),
    /// Flash the firmware, restart the board, and grade what it prints on the same open port.
    #[command(name = "flash-and-watch", after_help = flash_and_watch::EXAMPLES)]
    FlashAndWatch(flash_and_watch::Args),
    /// Tail a serial port and grade what the firmware prints.
    #[command(after_help = watch::EXAMPLES)]
    Watch(watch::Args),
    /// Grade a captured serial log offline.
    #[command(after_help = grade::EXAMPLES)]
    Grade(grade::Args),
    /// List serial ports, marking likely ESP boards.
    #[command(after_help = ports::EXAMPLES)]
    Ports(ports::Args),
    /// Simulators: a mock GitHub API, the reference sketch on the host, a virtual board.
    #[command(subcommand)]
    Sim(sim::Command),
    /// The whole loop offline: mock server, fingerprint, header, image, virtual board, flash, PASS.
    #[command(after_help = demo::EXAMPLES)]
    Demo(demo::Args),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  espcheck completions bash > ~/.local/share/bash-completion/completions/espcheck\n  espcheck completions zsh > ~/.zfunc/_espcheck"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    #[command(after_help = "Example:\n  espcheck man > ~/.local/share/man/man1/espcheck.1")]
    Man,
}

/// Where a command dials: shared by every command that talks to a server.
#[derive(Debug, Clone, clap::Args)]
pub struct NetArgs {
    /// Dial ADDR:PORT but keep HOST for SNI and the Host header (like `curl --resolve`).
    #[arg(long, value_name = "ADDR:PORT")]
    pub connect: Option<String>,
    /// Extra trust anchors (PEM). Repeatable.
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_file: Vec<PathBuf>,
    /// Bound on every network wait (10s, 500ms, 2m).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// clap value parser for `--timeout` and friends.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    crate::util::parse_duration(text)
}

/// Parse the process arguments, run the command, print any error, and return the exit code.
pub fn run_from_env() -> Exit {
    let parsed = <Cli as clap::CommandFactory>::command()
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m).map(|cli| (cli, m)));
    let (mut cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
            // --help and --version print to stdout; a closed pipe there is not worth a message.
            let _ = e.print();
            return code;
        }
    };
    if !matches!(cli.command, Command::Completions { .. } | Command::Man) {
        let applied = crate::config::load_for_process()
            .and_then(|cfg| defaults::apply(&mut cli, &matches, &cfg));
        if let Err(err) = applied {
            report_error(&err);
            return err.exit();
        }
    }
    run(cli)
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Exit {
    // The token is a secret whether or not this command uses it: no output may carry it.
    if let Some(t) = std::env::var_os("GITHUB_TOKEN") {
        crate::util::keep_secret(t.to_string_lossy().trim());
    }
    setup_output(&cli);
    let result = match cli.command {
        Command::Fingerprint(args) => fingerprint::run(args),
        Command::GenCertHeader(args) => gen_cert_header::run(args),
        Command::Check(args) => check::run(args),
        Command::Probe(args) => probe::run(args),
        Command::FlashAndWatch(mut args) => {
            args.watch.no_echo |= cli.quiet;
            flash_and_watch::run(args)
        }
        Command::Watch(mut args) => {
            args.watch.no_echo |= cli.quiet;
            watch::run(args)
        }
        Command::Grade(args) => grade::run(args),
        Command::Ports(args) => ports::run(args),
        Command::Sim(cmd) => sim::run(cmd),
        Command::Demo(args) => demo::run(args),
        Command::Completions { shell } => completions(shell),
        Command::Man => man(),
    };
    match result {
        Ok(exit) => exit,
        Err(Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok,
        Err(err) => {
            report_error(&err);
            err.exit()
        }
    }
}

/// Colour choice and the tracing subscriber for `-q`/`-v`; diagnostics go to stderr only.
fn setup_output(cli: &Cli) {
    let choice = match cli.color {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ESPCHECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("espcheck={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| crate::util::Redacting(std::io::stderr()))
        .with_ansi(anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never)
        .without_time()
        .with_target(false)
        .try_init();
}

fn completions(shell: clap_complete::Shell) -> Result<Exit> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, "espcheck", &mut out);
    out.flush()?;
    Ok(Exit::Ok)
}

fn man() -> Result<Exit> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("espcheck-{}", sub.get_name());
        clap_mangen::Man::new(sub.clone().name(name)).render(&mut out)?;
    }
    out.flush()?;
    Ok(Exit::Ok)
}

/// Write `value` as one line of JSON, through the redaction layer ([`crate::util::redacted`]).
pub(crate) fn json_line(out: &mut dyn Write, value: &impl serde::Serialize) -> std::io::Result<()> {
    let text = serde_json::to_string(value).map_err(std::io::Error::other)?;
    writeln!(out, "{}", crate::util::redacted(&text))
}

/// Print an error as one line (plus a hint line where one helps).
pub fn report_error(err: &Error) {
    let style = anstyle::AnsiColor::Red.on_default().bold();
    let mut stderr = anstream::stderr().lock();
    let _ = writeln!(
        stderr,
        "{style}error:{style:#} {}",
        crate::util::shown(&err.to_string())
    );
    if let Some(hint) = err.hint() {
        let _ = writeln!(stderr, "hint: {}", crate::util::shown(hint));
    }
}

/// Print a progress note on stderr (silenced by `-q` through the log level).
pub fn note(message: impl std::fmt::Display) {
    tracing::info!("{message}");
    if !tracing::enabled!(tracing::Level::INFO) && tracing::enabled!(tracing::Level::WARN) {
        let _ = writeln!(
            anstream::stderr().lock(),
            "{}",
            crate::util::redacted(&message.to_string())
        );
    }
}

/// Print a warning line on stderr.
pub fn warn(message: impl std::fmt::Display) {
    let style = anstyle::AnsiColor::Yellow.on_default().bold();
    let _ = writeln!(
        anstream::stderr().lock(),
        "{style}warning:{style:#} {}",
        crate::util::shown(&message.to_string())
    );
}

/// A tokio runtime for commands that do network I/O.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::env("tokio runtime", e))
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
