//! `espcheck gen-cert-header`: capture chains (live or from files), choose pins, and write them as
//! a C/Arduino header, a Rust module, an ESP-IDF certificate bundle, the ESP8266 core's `certs.ar`,
//! BearSSL trust anchors or a public-key PEM (`codegen` does the writing).

use std::path::PathBuf;
use std::sync::Arc;

use super::NetArgs;
use crate::codegen::{self, Layout, NeededBy, Output, PinChoice, Selection, Stamp, c::Style};
use crate::error::{Error, Exit, Result};
use crate::tls::{Input, Target, TrustStore, source};

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
    #[arg(long, value_enum, default_value_t = Style::Arduino)]
    pub style: Style,
    /// Write source code, or an ESP-IDF certificate bundle.
    #[arg(long, value_enum, default_value_t = Format::Header)]
    pub format: Format,
    /// ESP-IDF version the bundle is for: < 5.4 gets the legacy layout (arduino-esp32 <= 3.1),
    /// 5.4 and later the offset table. Default: the current (offset-table) layout.
    #[arg(long, value_name = "X.Y")]
    pub idf_version: Option<String>,
    /// Which certificate CA_PEM (or the bundle) pins.
    #[arg(long, value_enum, default_value_t = PinChoice::Auto)]
    pub pin: PinChoice,
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
    let plan = source::Plan {
        store: Arc::new(TrustStore::load(&args.net.ca_file, !args.no_system_roots)?),
        timeout: args.net.timeout,
        jobs: DEFAULT_JOBS,
        now: crate::util::now(),
        profile: None,
    };
    let now = plan.now;
    let live = |targets: &[String]| -> Result<Vec<Input>> {
        targets
            .iter()
            .map(|t| {
                let mut target = Target::parse(t, 443)?;
                target.connect.clone_from(&args.net.connect);
                Ok(Input::Live(target))
            })
            .collect()
    };
    let mut selection = Selection {
        filter: args.filter.clone(),
        needed_by: Vec::new(),
        dedup: args.dedup,
    };
    if !args.for_hosts.is_empty() {
        for acquired in source::acquire(live(&args.for_hosts)?, &plan)? {
            let acquired = acquired?;
            selection.needed_by.push(NeededBy {
                origin: acquired.input,
                chain: acquired.chain,
            });
        }
    }
    let mut inputs = live(&args.targets)?;
    inputs.extend(args.from.iter().map(|path| Input::File {
        path: path.clone(),
        host: args.host.clone(),
    }));
    let mut names = args.name.iter().cloned();
    let mut sources = Vec::with_capacity(inputs.len());
    let stems: Vec<Option<String>> = inputs
        .iter()
        .map(|i| match i {
            Input::Live(_) => None,
            Input::File { path, .. } => source::file_stem(path),
        })
        .collect();
    for (acquired, stem) in source::acquire(inputs, &plan)?.into_iter().zip(stems) {
        let acquired = acquired?;
        if !acquired.is_live() {
            for w in &acquired.warnings {
                super::warn(format!("{}: {w}", acquired.input));
            }
        }
        sources.push(crate::pins::source_of(acquired, names.next(), stem));
    }
    // A key pin is the leaf's, whatever --pin says about CA_PEM.
    let choice = if output == Output::PublicKey {
        PinChoice::Leaf
    } else {
        args.pin
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
    if args.style == Style::C && (args.lang == Lang::Rust || args.format != Format::Header) {
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
    if args.format == Format::PublicKey && args.pin != PinChoice::Auto {
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
        (Format::Header, Lang::C) => Output::C(args.style),
    })
}

/// The `--format` value as typed.
fn format_name(format: Format) -> String {
    clap::ValueEnum::to_possible_value(&format)
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

/// How many hosts are captured at once.
const DEFAULT_JOBS: usize = 16;
