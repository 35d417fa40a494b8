//! The serial line splitter and the grader: any bytes a board (or a pasted log) can produce.
//!
//! Byte 0 picks the profile, byte 1 seeds the read sizes; the rest is the serial stream. Besides
//! "never panics", two properties a user would notice if they broke:
//! - the lines do not depend on how the port chunked the bytes;
//! - neither does the verdict (offline grading is untimed, so the stream alone decides).
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use espcheck::grade::{End, GradeConfig, Grader, LineSplitter, Profile, Rules};

/// The custom rules, compiled once (regex compilation would dominate every run otherwise).
static RULES: LazyLock<Rules> = LazyLock::new(|| {
    let mut rules = Rules::new();
    let toml = "pass = [\"^All checks passed$\"]\nfail = [\"FAILED\", \"HTTP code: [45]\\\\d\\\\d\"]\n\
                fault = [\"PANIC\"]\n[[stage]]\nname = \"wifi\"\nregex = \"WiFi connected\"\n";
    if rules.add_toml(toml).is_err() {
        unreachable!("the fuzz target's own rules compile");
    }
    rules
});

fn config(pick: u8) -> GradeConfig {
    let profile = match pick % 5 {
        0 => Profile::HttpsRequest,
        1 => Profile::Unity,
        2 => Profile::Auto,
        3 => Profile::EspIdf,
        _ => Profile::Custom,
    };
    let mut c = GradeConfig::new(profile);
    if pick & 4 != 0 {
        c.rules = RULES.clone();
    }
    c.timed = pick & 8 != 0;
    c
}

/// Read sizes as a UART driver might return them: 1..=64 bytes, from a tiny LCG.
fn chunks(data: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut state = u32::from(seed) | 1;
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = (((state >> 16) % 64) as usize + 1).min(rest.len());
        let (a, b) = rest.split_at(n);
        out.push(a);
        rest = b;
    }
    out
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [pick, seed, stream @ ..] = data else {
        return;
    };

    let mut whole = Vec::new();
    let mut s = LineSplitter::new();
    s.feed(stream, &mut whole);
    s.finish(&mut whole);
    let mut split = Vec::new();
    let mut s = LineSplitter::new();
    for c in chunks(stream, *seed) {
        s.feed(c, &mut split);
    }
    s.finish(&mut split);
    assert_eq!(whole, split, "lines depend on read sizes");

    let mut events = Vec::new();
    let cfg = config(*pick);
    let mut g = Grader::new(cfg.clone());
    g.feed(stream, Duration::ZERO, &mut events);
    let one = g.finish(End::Eof, &mut events);

    let mut g = Grader::new(cfg.clone());
    for (i, c) in chunks(stream, *seed).into_iter().enumerate() {
        g.feed(c, Duration::from_millis(i as u64), &mut events);
        if g.is_final() {
            break;
        }
    }
    let many = g.finish(End::Idle(Duration::from_secs(5)), &mut events);
    if !cfg.timed {
        assert_eq!(one.verdict, many.verdict, "verdict depends on read sizes");
    }
});
