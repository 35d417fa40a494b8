//! Simulators: the mock GitHub API over real TLS (`server`, with its certificate chain in
//! `chain`), the reference sketch run on the host (`sketch`), the user's own sketch compiled for
//! the host (`host`), and a virtual board on a pty
//! (`device`) that boots firmware images (`image`). They meet the rest of espcheck only over real
//! sockets and ptys.

pub mod chain;
pub mod device;
pub mod host;
pub mod image;
pub mod reference;
pub mod server;
pub mod sketch;

#[cfg(test)]
mod tests {
    // Test code: a panic is the failure report.
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::server::{CiState, MockServer, ServerConfig};
    use super::sketch::{
        Board, CoreVersion, RunConfig, ShownPin, SketchConfig, Trust, Variant, run_sketch,
    };

    /// The in-process API the virtual board and `demo` use: start on port 0, run the sketch
    /// against it (blocking, off the runtime), rotate, shut down.
    #[test]
    fn in_process_server_and_sketch() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path());
        config.addr = "127.0.0.1:0".parse().unwrap();
        config.state = CiState::Failure;
        let server = rt.block_on(MockServer::start(config)).unwrap();
        let pin = server.chain().leaf_sha1_colon();
        let run = |fp: &str| {
            let cfg = RunConfig {
                sketch: SketchConfig {
                    host: "api.github.com".into(),
                    url: super::sketch::DEFAULT_URL.into(),
                    ssid: "sensor-net".into(),
                    core: CoreVersion::V2_7,
                    variant: Variant::GetStatus,
                    data: String::new(),
                    shown_pin: ShownPin::Fingerprint(fp.to_owned()),
                },
                port: 443,
                connect: Some(server.addr().to_string()),
                trust: Trust::Fingerprint(fp.to_owned()),
                board: Board::Esp32,
                timeout: Duration::from_secs(5),
            };
            let mut serial = Vec::new();
            let outcome = run_sketch(&cfg, &mut serial, time::OffsetDateTime::now_utc()).unwrap();
            (String::from_utf8(serial).unwrap(), outcome)
        };
        let (serial, outcome) = run(&pin);
        assert!(
            serial.contains("esp8266/Arduino CI has failed\r\n"),
            "{serial}"
        );
        assert!(!outcome.board_failed());
        server.rotate_leaf().unwrap();
        let (serial, outcome) = run(&pin);
        assert!(serial.ends_with("connection failed\r\n"));
        assert!(outcome.board_failed());
        assert_eq!(server.connections(), 2);
        rt.block_on(server.shutdown());
    }
}
