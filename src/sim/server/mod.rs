//! The mock `api.github.com`: real TLS (tokio-rustls) in front of the pure API in [`api`], with the
//! faults a board meets in the field (leaf rotation, an expired leaf, a slow or chunked reply, a
//! connection dropped mid-handshake). Start it in-process with [`MockServer::start`].

pub mod api;
mod bodies;
pub mod gate;
pub mod http;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use api::{Api, CiState, RateLimit, Scenario};

use crate::error::{Error, Result};
use crate::sim::chain::{ChainPaths, LeafSpec, MockPki};

/// A bound on each wait of a connection (handshake, next request), so idle peers do not pile up.
const IDLE: Duration = Duration::from_secs(30);

/// Everything `sim serve` can be asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The name on the leaf and in the API's URLs.
    pub host: String,
    /// Where the chain lives (reused when present).
    pub chain_dir: PathBuf,
    pub state: CiState,
    pub actions_only: bool,
    pub pretty: bool,
    pub chunked: bool,
    /// Delay before each response.
    pub slow: Option<Duration>,
    /// Re-issue the leaf every N connections.
    pub rotate_every: Option<u64>,
    pub expired_leaf: bool,
    /// Send half the server's first flight, then hang up.
    pub close_mid_handshake: bool,
    /// One line per request on stderr.
    pub access_log: bool,
    /// The repository, ref, check runs, token and rate-limit fault.
    pub scenario: Scenario,
}

impl ServerConfig {
    /// Defaults as on the command line: `127.0.0.1:8443`, `api.github.com`, CI green.
    pub fn new(chain_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8443)),
            host: "api.github.com".to_owned(),
            chain_dir: chain_dir.into(),
            state: CiState::Success,
            actions_only: false,
            pretty: false,
            chunked: false,
            slow: None,
            rotate_every: None,
            expired_leaf: false,
            close_mid_handshake: false,
            access_log: false,
            scenario: Scenario::default(),
        }
    }

    fn leaf_spec(&self) -> LeafSpec {
        LeafSpec {
            host: self.host.clone(),
            expired: self.expired_leaf,
        }
    }

    fn api(&self) -> Api {
        Api {
            host: self.host.clone(),
            state: self.state,
            actions_only: self.actions_only,
            pretty: self.pretty,
            scenario: self.scenario.clone(),
        }
    }
}

/// State shared by the accept loop, the connections and the handle.
#[derive(Debug)]
struct Shared {
    config: ServerConfig,
    paths: ChainPaths,
    current: RwLock<(MockPki, Arc<rustls::ServerConfig>)>,
    connections: AtomicU64,
    api: Api,
    /// When "CI ran" (a fixed time, so bodies and their ETags are stable).
    started: time::OffsetDateTime,
    /// Requests counted against the rate limit: (window end, used without a token, used with).
    meter: Mutex<(i64, u64, u64)>,
}

impl Shared {
    fn tls(&self) -> Arc<rustls::ServerConfig> {
        match self.current.read() {
            Ok(g) => g.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    fn chain(&self) -> MockPki {
        match self.current.read() {
            Ok(g) => g.0.clone(),
            Err(poisoned) => poisoned.into_inner().0.clone(),
        }
    }

    /// Count one request against the hourly budget, as GitHub does (a token has its own).
    fn charge(&self, has_token: bool, now: time::OffsetDateTime) -> gate::Budget {
        let ts = now.unix_timestamp();
        let mut m = match self.meter.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if ts >= m.0 {
            *m = (ts - ts.rem_euclid(3600) + 3600, 0, 0);
        }
        let (used, limit) = if has_token {
            m.2 += 1;
            (m.2, gate::LIMIT_TOKEN)
        } else {
            m.1 += 1;
            (m.1, gate::LIMIT_ANONYMOUS)
        };
        gate::Budget {
            limit,
            used,
            reset: m.0,
        }
    }

    /// New leaf key and certificate from the same intermediate; written to disk, then served.
    /// The write lock is held throughout, so no connection accepted after `leaf.pem` changed can
    /// be handed the old leaf.
    fn rotate(&self) -> Result<MockPki> {
        let mut guard = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut chain = guard.0.clone();
        chain.reissue_leaf(&self.config.leaf_spec(), time::OffsetDateTime::now_utc())?;
        chain.write_leaf(&self.paths)?;
        let tls = tls_config(&chain)?;
        *guard = (chain.clone(), tls);
        Ok(chain)
    }
}

/// A running mock server. Dropping it without [`MockServer::shutdown`] leaves the task running
/// until the runtime ends.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl MockServer {
    /// Load or create the chain, bind, and start serving.
    pub async fn start(config: ServerConfig) -> Result<MockServer> {
        let chain = MockPki::load_or_create(
            &config.chain_dir,
            &config.leaf_spec(),
            time::OffsetDateTime::now_utc(),
        )?;
        let tls = tls_config(&chain)?;
        let listener = TcpListener::bind(config.addr).await.map_err(|e| {
            Error::env(
                format!("--addr {}", config.addr),
                crate::util::io_reason(&e),
            )
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::env("listening socket", crate::util::io_reason(&e)))?;
        let shared = Arc::new(Shared {
            paths: ChainPaths::in_dir(&config.chain_dir),
            api: config.api(),
            started: time::OffsetDateTime::now_utc(),
            meter: Mutex::new((0, 0, 0)),
            config,
            current: RwLock::new((chain, tls)),
            connections: AtomicU64::new(0),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, shared.clone(), stopped));
        Ok(MockServer {
            addr,
            shared,
            stop,
            task,
        })
    }

    /// The bound address (the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The chain files.
    pub fn paths(&self) -> &ChainPaths {
        &self.shared.paths
    }

    /// The chain being served now.
    pub fn chain(&self) -> MockPki {
        self.shared.chain()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Re-issue the leaf now (what SIGHUP does); returns the new chain.
    pub fn rotate_leaf(&self) -> Result<MockPki> {
        self.shared.rotate()
    }

    /// Stop accepting, drop open connections, and wait for the server task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn tls_config(chain: &MockPki) -> Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::env("TLS server", e))?
        .with_no_client_auth()
        .with_single_cert(chain.served(), chain.leaf_key_der())
        .map_err(|e| Error::env("TLS server", e))?;
    Ok(Arc::new(config))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of descriptors and the like: say so, back off, keep serving.
                        log(format!("accept: {}", crate::util::io_reason(&e)));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let n = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
                if let Some(every) = shared.config.rotate_every
                    && every > 0 && n > 1 && (n - 1).is_multiple_of(every)
                {
                    match shared.rotate() {
                        Ok(chain) => announce_rotation(&chain),
                        Err(e) => log(format!("leaf rotation failed: {e}")),
                    }
                }
                let tls = shared.tls();
                let shared = shared.clone();
                conns.spawn(async move {
                    if let Err(e) = serve_connection(tcp, peer, tls, &shared).await
                        && shared.config.access_log
                    {
                        log(format!("{peer}: {e}"));
                    }
                });
            }
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

/// Tell the user (stdout, where the first pins went) which leaf is now served.
pub fn announce_rotation(chain: &MockPki) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    // Nobody may be reading stdout any more; the server keeps serving regardless.
    let _ = writeln!(
        out,
        "rotated leaf: sha1 {} (expires {})",
        chain.leaf_sha1_colon(),
        crate::sim::chain::not_after(&chain.leaf)
    );
    let _ = out.flush();
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    shared: &Shared,
) -> std::io::Result<()> {
    let _ = tcp.set_nodelay(true);
    if shared.config.close_mid_handshake {
        return half_handshake(tcp, tls).await;
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let mut stream = match tokio::time::timeout(IDLE, acceptor.accept(tcp)).await {
        Ok(s) => s?,
        Err(_) => return Ok(()),
    };
    let mut buf = Vec::new();
    loop {
        let next = match tokio::time::timeout(IDLE, http::read_request(&mut stream, &mut buf)).await
        {
            Ok(r) => r?,
            Err(_) => break,
        };
        let Some(parsed) = next else { break };
        let (bytes, close, line) = match parsed {
            Ok(req) => {
                let now = time::OffsetDateTime::now_utc();
                let budget = shared.charge(gate::token_of(&req).is_some(), now);
                let resp = api::respond(&shared.api, &req, shared.started, budget);
                let framing = http::Framing {
                    minor: req.minor,
                    chunked: shared.config.chunked,
                    close: req.wants_close(),
                    head_only: req.method == "HEAD",
                };
                let line = format!("{peer} {} {} {}", req.method, req.target, resp.status);
                let (bytes, close) = http::encode_response(&with_date(resp), framing);
                (bytes, close, line)
            }
            Err(bad) => {
                let (status, reason) = bad.status();
                let resp = http::Response {
                    status,
                    reason,
                    headers: vec![("Content-Type".into(), "text/plain".into())],
                    body: format!("{reason}\n").into_bytes(),
                };
                let framing = http::Framing {
                    minor: 1,
                    chunked: false,
                    close: true,
                    head_only: false,
                };
                let (bytes, _) = http::encode_response(&with_date(resp), framing);
                (bytes, true, format!("{peer} bad request: {bad:?}"))
            }
        };
        if let Some(delay) = shared.config.slow {
            tokio::time::sleep(delay).await;
        }
        stream.write_all(&bytes).await?;
        stream.flush().await?;
        if shared.config.access_log {
            log(line);
        }
        if close {
            break;
        }
    }
    // close_notify, then FIN: the sketch's "read until the server closes" ends here.
    let _ = stream.shutdown().await;
    Ok(())
}

fn with_date(mut resp: http::Response) -> http::Response {
    resp.headers.insert(
        0,
        (
            "Date".into(),
            http::http_date(time::OffsetDateTime::now_utc()),
        ),
    );
    resp
}

/// Read the ClientHello, send half of the server's first flight, and hang up: the client sees the
/// handshake die part-way, as behind a flaky middlebox.
async fn half_handshake(mut tcp: TcpStream, tls: Arc<rustls::ServerConfig>) -> std::io::Result<()> {
    let mut conn = rustls::ServerConnection::new(tls).map_err(std::io::Error::other)?;
    let mut buf = vec![0u8; 16 * 1024];
    while !conn.wants_write() {
        let n = match tokio::time::timeout(IDLE, tcp.read(&mut buf)).await {
            Ok(r) => r?,
            Err(_) => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        conn.read_tls(&mut &buf[..n])?;
        conn.process_new_packets().map_err(std::io::Error::other)?;
    }
    let mut flight = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut flight)?;
    }
    tcp.write_all(&flight[..flight.len() / 2]).await?;
    tcp.shutdown().await?;
    Ok(())
}

/// A diagnostic line on stderr; a closed stderr is no reason to stop serving.
fn log(message: impl std::fmt::Display) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "sim serve: {message}");
}
