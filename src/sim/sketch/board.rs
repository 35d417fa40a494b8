//! What each board's TLS stack can do, as a rustls `ClientConfig`: TLS 1.2 only, the board's cipher
//! suites and groups (the subset rustls has), and a verifier that applies the board's pin
//! semantics ([`super::pin`]) and remembers the chain it was shown.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::pin::PinCheck;

/// The board whose handshake is simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Board {
    /// esp8266 Arduino core, BearSSL.
    Esp8266,
    /// arduino-esp32, mbedTLS.
    Esp32,
}

impl Board {
    /// The board's cipher suites that rustls implements, in the board's order. BearSSL's CBC and
    /// CCM suites and static-RSA key exchange have no rustls counterpart; what is left is the
    /// ECDHE AEAD set. mbedTLS in arduino-esp32 is built without ChaCha20.
    fn suites(self) -> Vec<rustls::SupportedCipherSuite> {
        use ring::cipher_suite::*;
        match self {
            Board::Esp8266 => vec![
                TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            ],
            Board::Esp32 => vec![
                TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            ],
        }
    }

    /// The board's provider: its suites and its groups (x25519 first, then P-256, P-384; ring
    /// has no P-521).
    pub fn provider(self) -> CryptoProvider {
        let mut provider = ring::default_provider();
        provider.cipher_suites = self.suites();
        provider.kx_groups = vec![
            ring::kx_group::X25519,
            ring::kx_group::SECP256R1,
            ring::kx_group::SECP384R1,
        ];
        provider
    }

    /// Board name as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Board::Esp8266 => "esp8266",
            Board::Esp32 => "esp32",
        }
    }
}

/// What the verifier saw: the chain as sent and the board's decision on it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub chain: Vec<CertificateDer<'static>>,
    pub decision: Result<(), String>,
}

/// A verifier with the board's pin semantics. With `defer`, the handshake always goes through and
/// the decision waits for the sketch's own `verify()` call (axTLS, cores ≤ 2.4).
#[derive(Debug)]
pub struct BoardVerifier {
    check: PinCheck,
    defer: bool,
    provider: Arc<CryptoProvider>,
    seen: Mutex<Option<Seen>>,
}

impl BoardVerifier {
    pub fn new(check: PinCheck, defer: bool) -> Self {
        BoardVerifier {
            provider: Arc::new(check.board.provider()),
            check,
            defer,
            seen: Mutex::new(None),
        }
    }

    /// The last chain this verifier was shown, and the decision on it.
    pub fn seen(&self) -> Option<Seen> {
        match self.seen.lock() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl ServerCertVerifier for BoardVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        let decision = self.check.check(&chain, server_name, now);
        let result = match (&decision, self.defer) {
            (Ok(()), _) | (Err(_), true) => Ok(ServerCertVerified::assertion()),
            (Err(why), false) => Err(rustls::Error::General(why.clone())),
        };
        let mut guard = match self.seen.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Some(Seen { chain, decision });
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    /// Sent as signature_algorithms: both boards offer SHA-2 × {ECDSA, RSA PKCS#1}; neither has
    /// RSA-PSS or Ed25519. (Their SHA-1 and SHA-224 entries cannot be verified by ring.)
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![
            SignatureScheme::ECDSA_NISTP256_SHA256,
            SignatureScheme::ECDSA_NISTP384_SHA384,
            SignatureScheme::RSA_PKCS1_SHA256,
            SignatureScheme::RSA_PKCS1_SHA384,
            SignatureScheme::RSA_PKCS1_SHA512,
        ]
    }
}

/// A client config that handshakes like `board`, judging the server with `verifier`.
pub fn client_config(
    board: Board,
    verifier: Arc<BoardVerifier>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(board.provider()))
        .with_protocol_versions(&[&rustls::version::TLS12])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // A sketch that makes one connection per boot has no session to resume.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}
