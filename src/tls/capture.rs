//! Live chain capture: a real rustls handshake whose verifier records the presented chain and
//! accepts it, so the chain is captured even when it would not validate. Trust is judged afterwards,
//! separately (see `trust`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::net::TcpStream;

use crate::cert::report::TlsInfo;
use crate::error::{Error, Result};
use crate::target::Target;

/// What a handshake yielded.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The certificates in the order the server sent them.
    pub certs: Vec<CertificateDer<'static>>,
    /// Negotiated version and suite.
    pub tls: TlsInfo,
    /// The handshake failed after the server sent its chain, for a reason that is about
    /// verifying the server's key (a key rustls cannot check, such as RSA over 8192 bits): the
    /// chain is still what the server serves, so it is kept, with this reason.
    pub handshake_error: Option<String>,
}

pub use crate::cert::verify::provider;

/// Open the TCP connection every live capture and probe starts with: the one place that
/// resolves and dials (`--connect ADDR:PORT` when given, else the host).
pub async fn connect(target: &Target) -> Result<TcpStream> {
    let what = target.display();
    let dial = target.dial_addr();
    TcpStream::connect(&dial).await.map_err(|e| {
        let reason = crate::util::io_reason(&e);
        if dial == what {
            Error::env(&what, reason)
        } else {
            Error::env(&what, format!("{reason} (dialing {dial})"))
        }
    })
}

/// Accepts any chain but keeps it. Handshake signatures are still verified for real, so the
/// captured chain belongs to the peer that holds the leaf's key.
#[derive(Debug)]
struct Recorder {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let mut all = vec![end_entity.clone().into_owned()];
        all.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        if let Ok(mut chain) = self.chain.lock() {
            *chain = all;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Connect to `target`, handshake, and return the presented chain. The whole exchange is bounded by
/// `timeout`.
pub async fn capture(target: &Target, timeout: Duration) -> Result<Capture> {
    capture_versions(
        target,
        timeout,
        &[&rustls::version::TLS13, &rustls::version::TLS12],
    )
    .await
}

/// `capture`, offering only the given protocol versions.
pub async fn capture_versions(
    target: &Target,
    timeout: Duration,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<Capture> {
    let what = target.display();
    match tokio::time::timeout(timeout, capture_inner(target, versions)).await {
        Ok(result) => result,
        Err(_) => Err(Error::timeout(what, timeout)),
    }
}

async fn capture_inner(
    target: &Target,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<Capture> {
    let what = target.display();
    let provider = provider();
    let recorder = Arc::new(Recorder {
        chain: Mutex::new(Vec::new()),
        algs: provider.signature_verification_algorithms,
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| Error::env(&what, e))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(target.host.clone())
        .map_err(|_| Error::Usage(format!("invalid host name `{}`", target.host)))?;
    let tcp = connect(target).await?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let stream = connector.connect(name, tcp).await;
    let recorded = recorder.chain.lock().map(|c| c.clone()).unwrap_or_default();
    let stream = match stream {
        Ok(s) => s,
        Err(e) if !recorded.is_empty() && is_key_verification(&e) => {
            return Ok(Capture {
                certs: recorded,
                tls: TlsInfo {
                    version: "unknown".to_owned(),
                    cipher: "unknown".to_owned(),
                },
                handshake_error: Some(handshake_reason(&e)),
            });
        }
        Err(e) => {
            let msg = handshake_reason(&e);
            return Err(Error::env(&what, format!("TLS handshake failed: {msg}")));
        }
    };
    let conn = stream.get_ref().1;
    let version = conn
        .protocol_version()
        .map(version_name)
        .unwrap_or_else(|| "unknown".to_owned());
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_else(|| "unknown".to_owned());
    let certs = match conn.peer_certificates() {
        Some(c) if !c.is_empty() => c.iter().map(|c| c.clone().into_owned()).collect(),
        _ => recorded,
    };
    if certs.is_empty() {
        return Err(Error::env(&what, "the server presented no certificate"));
    }
    Ok(Capture {
        certs,
        tls: TlsInfo { version, cipher },
        handshake_error: None,
    })
}

/// Did the handshake fail on checking the server's signature with the leaf's key (after the
/// chain was sent), rather than on anything the server did wrong on the wire?
fn is_key_verification(err: &std::io::Error) -> bool {
    use rustls::CertificateError as C;
    matches!(
        err.get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::InvalidCertificate(
            C::BadSignature | C::UnsupportedSignatureAlgorithmContext { .. }
        ))
    )
}

fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
        other => format!("{other:?}"),
    }
}

fn handshake_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection mid-handshake".to_owned()
        }
        _ => match err.get_ref() {
            // rustls names the first bad byte's meaning ("InvalidContentType"); what the user
            // needs to hear is that the port does not speak TLS (plain HTTP, SSH, a proxy page).
            Some(inner) => match inner.downcast_ref::<rustls::Error>() {
                Some(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)) => {
                    "the server did not answer with TLS (a plain-HTTP or other service on this \
                     port?)"
                        .to_owned()
                }
                Some(rustls::Error::InvalidMessage(m)) => {
                    format!("the server did not answer with valid TLS ({m:?})")
                }
                _ => inner.to_string(),
            },
            None => crate::util::io_reason(err),
        },
    }
}
