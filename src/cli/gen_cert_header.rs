//! `espcheck gen-cert-header`: capture chains (live or from files), choose pins, and write them as
//! a C/Arduino header, a Rust module, an ESP-IDF certificate bundle, the ESP8266 core's `certs.ar`,
//! BearSSL trust anchors or a public-key PEM (`codegen` does the writing).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::NetArgs;
use crate::cert::Chain;
use crate::codegen::{
    self, Layout, NeededBy, Output, PinChoice, Selection, Source, Stamp, c::Style,
};
use crate::error::{Error, Exit, Result, is_stdin, show_path};
use crate::tls::{Target, TrustStore};

/// Examples shown under `--help`.
pub const EXAMPLES: &str = "Examples:
  espcheck gen-cert-header api.github.com --out certs.h
  espcheck gen-cert-header api.github.com --pin leaf --lang rust --out pins.rs
  espcheck gen-cert-header api.github.com example.org --lang c --style c --out pins.h
  espcheck gen-cert-header --from chain.pem --name api.github.com --pin intermediate
  espcheck gen-cert-header --from roots.pem --format idf-bundle --idf-version 5.3 --out x509_crt_bundle
  espcheck gen-cert-header api.github.com --format idf-bundle-c --out bundle.h
  espcheck gen-cert-header --from /etc/ssl/certs/ca-certificates.crt --format certs-ar --out data/certs.ar
  espcheck gen-cert-header --from ca-certificates.crt --format certs-ar -o certs.ar --for-hosts api.github.com   # only its roots
  espcheck gen-cert-header --from roots.pem --filter ISRG --filter DigiCert --format certs-ar -o certs.ar
  espcheck gen-cert-header api.github.com --pin root --format bearssl-ta --out trust_anchors.h
  espcheck gen-cert-header api.github.com --format public-key --out pubkey.pem   # for setKnownKey
  SOURCE_DATE_EPOCH=1700000000 espcheck gen-cert-header --from chain.pem   # reproducible stamp";

/// Output language for headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// C/C++ header (see --style).
    C,
    /// A Rust module per host.
    Rust,
}

/// C dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StyleArg {
    /// Arduino C++: PROGMEM and raw string literals.
    Arduino,
    /// Plain C99 string literals, for ESP-IDF projects.
    C,
}

/// What kind of file to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Source code in --lang.
    Header,
    /// The ESP-IDF x509_crt_bundle binary.
    IdfBundle,
    /// The same bundle as a C array with a _len, for setCACertBundle(buf, len).
    IdfBundleC,
    /// The ESP8266 core's certs.ar for BearSSL::CertStore: an `ar` archive of DER CA certificates.
    CertsAr,
    /// BearSSL trust anchors as C (brssl ta layout: TAs[], TAs_NUM), for SSLClient and raw BearSSL.
    BearsslTa,
    /// The leaf's public key as PEM, for setKnownKey (breaks when the server gets a new key).
    PublicKey,
}

/// What CA_PEM pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PinArg {
    /// The pin advice's recommendation (root if known, else the top intermediate).
    Auto,
    /// The leaf itself (direct trust).
    Leaf,
    /// The intermediate that issued the leaf.
    Intermediate,
    /// The self-signed root (sent, or from --ca-file / the system store).
    Root,
}

impl From<PinArg> for PinChoice {
    fn from(p: PinArg) -> Self {
        match p {
            PinArg::Auto => PinChoice::Auto,
            PinArg::Leaf => PinChoice::Leaf,
            PinArg::Intermediate => PinChoice::Intermediate,
            PinArg::Root => PinChoice::Root,
        }
    }
}

/// Arguments of `gen-cert-header`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Servers to capture, as HOST[:PORT] (default port 443). Several go into one output.
    #[arg(value_name = "HOST[:PORT]")]
    pub targets: Vec<String>,
    /// Read certificates from a file instead (PEM, DER, s_client output, a source file); `-` for
    /// stdin. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub from: Vec<PathBuf>,
    /// With --from: the host written as HOST (default: the leaf's first DNS name).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Language of the header.
    #[arg(long, value_enum, default_value_t = Lang::C)]
    pub lang: Lang,
    /// Dialect of a C header.
    #[arg(long, value_enum, default_value_t = StyleArg::Arduino)]
    pub style: StyleArg,
    /// Write source code, or an ESP-IDF certificate bundle.
    #[arg(long, value_enum, default_value_t = Format::Header)]
    pub format: Format,
    /// ESP-IDF version the bundle is for: < 5.4 gets the legacy layout (arduino-esp32 <= 3.1),
    /// 5.4 and later the offset table. Default: the current (offset-table) layout.
    #[arg(long, value_name = "X.Y")]
    pub idf_version: Option<String>,
    /// Which certificate CA_PEM (or the bundle) pins.
    #[arg(long, value_enum, default_value_t = PinArg::Auto)]
    pub pin: PinArg,
    /// Symbol name: `api.github.com` gives C prefix API_GITHUB_COM_ and Rust module
    /// api_github_com. Default: the host, or the file stem. Give one per input, in order (hosts
    /// first, then files).
    #[arg(long, value_name = "NAME")]
    pub name: Vec<String>,
    /// With certs-ar, bearssl-ta or an IDF bundle: keep only certificates whose subject contains
    /// SUBSTRING (case-insensitive). Repeatable: any of them.
    #[arg(long, value_name = "SUBSTRING")]
    pub filter: Vec<String>,
    /// With certs-ar, bearssl-ta or an IDF bundle: capture each HOST's chain and keep only the
    /// input certificates that anchor it ("only the roots these hosts need").
    #[arg(long, value_name = "HOST[:PORT]", num_args = 1..)]
    pub for_hosts: Vec<String>,
    /// With an IDF bundle: leave out repeated certificates (same subject and key). By default
    /// every certificate is kept, sorted by subject, as ESP-IDF's gen_crt_bundle.py writes it.
    #[arg(long)]
    pub dedup: bool,
    /// Output file (written atomically); `-` for stdout (the default, except that binary output
    /// is not written to a terminal unless `--out -` says so).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
    /// Do not use the operating system's certificate store to find unsent roots.
    #[arg(long)]
    pub no_system_roots: bool,
}

/// Run `gen-cert-header`.
pub fn run(args: Args) -> Result<Exit> {
    let output = output_of(&args)?;
    if matches!(output, Output::IdfBundle(_) | Output::CertsAr)
        && args.out.is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
    {
        return Err(Error::Usage(format!(
            "{} is binary; write it with --out FILE (or pipe stdout, or say --out -)",
            if output == Output::CertsAr {
                "certs.ar"
            } else {
                "an IDF bundle"
            }
        )));
    }
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("-"));
    let inputs = args.targets.len() + args.from.len();
    if inputs == 0 {
        return Err(Error::Usage(
            "give at least one HOST[:PORT] or --from FILE (see --help)".to_owned(),
        ));
    }
    if !args.name.is_empty() && args.name.len() != inputs {
        return Err(Error::Usage(format!(
            "--name given {} time(s) for {inputs} input(s); give one per input or none",
            args.name.len()
        )));
    }
    if let Some(h) = &args.host {
        Target::parse(h, 443)?;
    }
    let stamp = Stamp {
        generated_at: crate::util::source_date_epoch()?,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let now = crate::util::now_unix();
    let store = Arc::new(TrustStore::load(&args.net.ca_file, !args.no_system_roots)?);

    let mut names = args.name.iter().cloned();
    let mut sources = Vec::with_capacity(inputs);
    let mut selection = Selection {
        filter: args.filter.clone(),
        needed_by: Vec::new(),
        dedup: args.dedup,
    };
    if !args.for_hosts.is_empty() {
        let mut wanted = Vec::with_capacity(args.for_hosts.len());
        for t in &args.for_hosts {
            let mut target = Target::parse(t, 443)?;
            target.connect.clone_from(&args.net.connect);
            wanted.push((target, None));
        }
        for s in capture_sources(wanted, &store, args.net.timeout, now)? {
            selection.needed_by.push(NeededBy {
                origin: s.origin,
                chain: s.chain,
            });
        }
    }
    let mut targets = Vec::new();
    for t in &args.targets {
        let mut target = Target::parse(t, 443)?;
        target.connect.clone_from(&args.net.connect);
        targets.push((target, names.next()));
    }
    if !targets.is_empty() {
        sources.extend(capture_sources(targets, &store, args.net.timeout, now)?);
    }
    for path in &args.from {
        sources.push(file_source(
            path,
            args.host.as_deref(),
            names.next(),
            &store,
            now,
        )?);
    }
    // A key pin is the leaf's, whatever --pin says about CA_PEM.
    let choice = if output == Output::PublicKey {
        PinChoice::Leaf
    } else {
        args.pin.into()
    };
    let generated = codegen::generate_with(sources, choice, output, &stamp, now, &selection)?;
    for w in &generated.warnings {
        super::warn(w);
    }
    crate::util::write_atomic(&out, &generated.bytes)?;
    Ok(Exit::Ok)
}

/// Turn the flags into one output kind, refusing combinations that mean nothing.
fn output_of(args: &Args) -> Result<Output> {
    let idf = matches!(args.format, Format::IdfBundle | Format::IdfBundleC);
    let layout = match &args.idf_version {
        Some(v) => {
            if !idf {
                return Err(Error::Usage(
                    "--idf-version applies to --format idf-bundle or idf-bundle-c".to_owned(),
                ));
            }
            Layout::for_idf_version(v).map_err(Error::Usage)?
        }
        None => Layout::CURRENT,
    };
    if args.dedup && !idf {
        return Err(Error::Usage(
            "--dedup applies to --format idf-bundle or idf-bundle-c".to_owned(),
        ));
    }
    if args.format != Format::Header && args.lang == Lang::Rust {
        return Err(Error::Usage(format!(
            "--lang rust writes a module; --format {} is not Rust (leave --lang out)",
            format_name(args.format)
        )));
    }
    if args.style == StyleArg::C && (args.lang == Lang::Rust || args.format != Format::Header) {
        return Err(Error::Usage(
            "--style applies to C headers (--format header --lang c)".to_owned(),
        ));
    }
    let anchor_set = idf || matches!(args.format, Format::CertsAr | Format::BearsslTa);
    if !anchor_set && (!args.filter.is_empty() || !args.for_hosts.is_empty()) {
        return Err(Error::Usage(
            "--filter and --for-hosts narrow a set of CA certificates: use them with --format \
             certs-ar, bearssl-ta, idf-bundle or idf-bundle-c"
                .to_owned(),
        ));
    }
    if args.format == Format::PublicKey && args.pin != PinArg::Auto {
        return Err(Error::Usage(
            "--pin does not apply to --format public-key: a key pin is always the leaf's key"
                .to_owned(),
        ));
    }
    Ok(match (args.format, args.lang) {
        (Format::IdfBundle, _) => Output::IdfBundle(layout),
        (Format::IdfBundleC, _) => Output::IdfBundleC(layout),
        (Format::CertsAr, _) => Output::CertsAr,
        (Format::BearsslTa, _) => Output::BearsslTa,
        (Format::PublicKey, _) => Output::PublicKey,
        (Format::Header, Lang::Rust) => Output::Rust,
        (Format::Header, Lang::C) => Output::C(match args.style {
            StyleArg::Arduino => Style::Arduino,
            StyleArg::C => Style::C,
        }),
    })
}

/// The `--format` value as typed.
fn format_name(format: Format) -> String {
    clap::ValueEnum::to_possible_value(&format)
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

/// Capture every target concurrently and turn each chain into a source. The first failure (in
/// target order) ends the command: a header missing a host is worse than no header. Runs its own
/// tokio runtime; from async code call [`live_source`] instead.
pub fn capture_sources(
    targets: Vec<(Target, Option<String>)>,
    store: &Arc<TrustStore>,
    timeout: Duration,
    now: i64,
) -> Result<Vec<Source>> {
    let rt = super::runtime()?;
    let results = rt.block_on(async {
        let mut handles = Vec::with_capacity(targets.len());
        for (target, name) in targets {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                live_source(&target, name, &store, timeout, now).await
            }));
        }
        let mut results = Vec::with_capacity(handles.len());
        for h in handles {
            results.push(h.await.map_err(|e| Error::env("capture task", e)));
        }
        results
    });
    results.into_iter().map(|r| r.and_then(|s| s)).collect()
}

/// Capture one target's chain and make it a source: the chain as served, judged against `store`
/// so a root the server does not send (but `--ca-file` or the system store holds) is appended.
/// `name` defaults to the host.
pub async fn live_source(
    target: &Target,
    name: Option<String>,
    store: &TrustStore,
    timeout: Duration,
    now: i64,
) -> Result<Source> {
    let cap = crate::tls::capture(target, timeout).await?;
    let mut certs = Vec::with_capacity(cap.certs.len());
    for (i, der) in cap.certs.iter().enumerate() {
        certs.push(
            crate::cert::Certificate::from_der(der.as_ref()).map_err(|e| {
                Error::env(
                    target.display(),
                    format!("certificate {} from the server: {e}", i + 1),
                )
            })?,
        );
    }
    let mut chain = Chain::from_served(certs);
    store.judge(&mut chain, Some(&target.host), now);
    Ok(Source {
        name: name.unwrap_or_else(|| target.host.clone()),
        host: Some(target.host.clone()),
        origin: target.display(),
        chain,
    })
}

/// Read a certificate file into a source. `host` overrides the leaf's own DNS name.
pub fn file_source(
    path: &Path,
    host: Option<&str>,
    name: Option<String>,
    store: &TrustStore,
    now: i64,
) -> Result<Source> {
    let host_arg = host;
    let shown = show_path(path);
    let bytes = crate::util::read_input(path, crate::util::MAX_INPUT_BYTES)?;
    let found = crate::cert::extract(&bytes).map_err(|e| Error::input(&shown, e))?;
    for w in &found.warnings {
        super::warn(format!("{shown}: {w}"));
    }
    let mut chain = Chain::from_file(found.certs);
    let host = host.map(str::to_owned).or_else(|| {
        chain
            .leaf()
            .and_then(|l| l.cert.sans.iter().find(|s| !s.contains('*')).cloned())
    });
    store.judge(&mut chain, host.as_deref(), now);
    let stem = (!is_stdin(path))
        .then(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .flatten();
    let explicit_host = host_arg.map(str::to_owned);
    let name = name
        .or(explicit_host)
        .or(stem)
        .or_else(|| host.clone())
        .unwrap_or_else(|| "stdin".to_owned());
    Ok(Source {
        name,
        host,
        origin: shown,
        chain,
    })
}
