//! Fixture tests of the grader: captured-style logs under `fixtures/logs/`, each with its verdict,
//! stage and the details a user would act on. `sketch` holds the reference sketch's and the
//! grader's own behaviour (profiles, stamps, cut lines, live watching); `firmware` holds other
//! firmware's output (ESP-IDF apps, HTTPClient, MicroPython, NodeMCU, MQTT, OTA); `crashes` holds
//! crashes, resets and boots in any firmware.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::Duration;

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/logs/",
            $name
        ))
        .as_slice()
    };
}

fn https(log: &[u8]) -> Report {
    grade_bytes(GradeConfig::new(Profile::HttpsRequest), log)
}

/// Feed the log in small, odd-sized chunks, as a serial port would deliver it, and check the
/// answer is the same as all at once.
fn chunked(config: GradeConfig, log: &[u8]) -> Report {
    let mut g = Grader::new(config);
    let mut ev = Vec::new();
    for c in log.chunks(7) {
        g.feed(c, Duration::ZERO, &mut ev);
    }
    g.finish(End::Eof, &mut ev)
}

fn status(r: &Report, stage: &str) -> StageStatus {
    r.stages
        .iter()
        .find(|s| s.name == stage)
        .map(|s| s.status)
        .unwrap()
}

fn auto(log: &str) -> Report {
    grade_bytes(GradeConfig::new(Profile::Auto), log.as_bytes())
}

mod crashes;
mod firmware;
mod sketch;
