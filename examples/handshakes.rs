//! The floor for `bench/run.sh`'s fingerprint row: bare rustls handshakes (no certificate parsing,
//! no report) to every `HOST:PORT` given, all at once, timed. Accepts any certificate.
//!
//! `cargo run --release --example handshakes -- localhost:4431 localhost:4432 …`

use std::time::Instant;

use espcheck::tls::Target;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let targets: Vec<Target> = std::env::args()
        .skip(1)
        .map(|a| Target::parse(&a, 443))
        .collect::<Result<_, _>>()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let start = Instant::now();
    let ok = rt.block_on(async {
        let mut tasks = Vec::new();
        for t in targets {
            tasks.push(tokio::spawn(async move {
                espcheck::tls::capture(&t, std::time::Duration::from_secs(10))
                    .await
                    .is_ok()
            }));
        }
        let mut ok = 0;
        for t in tasks {
            ok += usize::from(t.await.unwrap_or(false));
        }
        ok
    });
    println!("{ok} handshakes in {:.3}s", start.elapsed().as_secs_f64());
    Ok(())
}
