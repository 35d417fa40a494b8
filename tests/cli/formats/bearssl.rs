//! `--format bearssl-ta`: the anchors compile against BearSSL's own headers (C and C++, the
//! ESP8266 core's include path too), `br_x509_minimal` validates a served chain with them, and
//! every DN and key byte equals what openssl prints for the same certificate.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use super::{have, run_ok};
use crate::support::{Alg, RustlsServer, TestChain, espcheck};

/// Validate the chain in argv[1] (PEM, leaf first) for `pins.test` with the generated `TAs`, as
/// an ESP8266 sketch does with `br_x509_minimal`. Exit 0: trusted; 1: BR_ERR_X509_NOT_TRUSTED;
/// 2: anything else.
const VALIDATE: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { unsigned char buf[8192]; size_t len; } der_buf;

static void append(void *ctx, const void *data, size_t len) {
    der_buf *d = ctx;
    if (d->len + len <= sizeof d->buf) {
        memcpy(d->buf + d->len, data, len);
    }
    d->len += len;
}

int main(int argc, char **argv) {
    static char pem[65536];
    static der_buf certs[8];
    br_pem_decoder_context pc;
    br_x509_minimal_context xc;
    size_t len, n = 0, i;
    const char *p = pem;
    unsigned err;
    time_t now = time(NULL);
    FILE *f;
    if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) return 2;
    len = fread(pem, 1, sizeof pem, f);
    fclose(f);
    br_pem_decoder_init(&pc);
    while (len > 0) {
        size_t used = br_pem_decoder_push(&pc, p, len);
        p += used;
        len -= used;
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            if (n == 8) return 2;
            br_pem_decoder_setdest(&pc, append, &certs[n]);
            break;
        case BR_PEM_END_OBJ:
            n++;
            break;
        case BR_PEM_ERROR:
            return 2;
        }
    }
    br_x509_minimal_init_full(&xc, TAs, TAs_NUM);
    br_x509_minimal_set_time(&xc, (uint32_t)(now / 86400 + 719528), (uint32_t)(now % 86400));
    xc.vtable->start_chain(&xc.vtable, "pins.test");
    for (i = 0; i < n; i++) {
        xc.vtable->start_cert(&xc.vtable, (uint32_t)certs[i].len);
        xc.vtable->append(&xc.vtable, certs[i].buf, certs[i].len);
        xc.vtable->end_cert(&xc.vtable);
    }
    err = xc.vtable->end_chain(&xc.vtable);
    printf("anchors: %d, chain: %u, br_x509 error: %u\n", (int)TAs_NUM, (unsigned)n, err);
    return err == 0 ? 0 : err == BR_ERR_X509_NOT_TRUSTED ? 1 : 2;
}
"#;

/// BearSSL's declarations, for a machine without libbearssl-dev: enough to prove the generated
/// initialisers have the right shape.
const STUB_BEARSSL: &str = r#"
#ifndef BR_BEARSSL_H__
#define BR_BEARSSL_H__
#include <stddef.h>
typedef struct { unsigned char *n; size_t nlen; unsigned char *e; size_t elen; } br_rsa_public_key;
typedef struct { int curve; unsigned char *q; size_t qlen; } br_ec_public_key;
typedef struct {
    unsigned char key_type;
    union { br_rsa_public_key rsa; br_ec_public_key ec; } key;
} br_x509_pkey;
typedef struct { unsigned char *data; size_t len; } br_x500_name;
typedef struct { br_x500_name dn; unsigned flags; br_x509_pkey pkey; } br_x509_trust_anchor;
#define BR_X509_TA_CA 0x0001
#define BR_KEYTYPE_RSA 1
#define BR_KEYTYPE_EC 2
#define BR_EC_secp256r1 23
#define BR_EC_secp384r1 24
#define BR_EC_secp521r1 25
#endif
"#;

fn gen_ta(args: &[&str], out: &Path) {
    let res = espcheck()
        .args(["gen-cert-header", "--format", "bearssl-ta", "-o"])
        .arg(out)
        .args(args)
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&res.stderr)
    );
}

#[test]
fn bearssl_ta_compiles_and_br_x509_minimal_validates_the_served_chain() {
    if !have("gcc", "the BearSSL trust anchors") || !have("g++", "the anchors in C++") {
        return;
    }
    let real = Path::new("/usr/include/bearssl.h").exists();
    // An EC P-256 root over an RSA-2048 intermediate and leaf: both key types.
    let chain = TestChain::new(Alg::Rsa2048, &["pins.test"]);
    let stranger = TestChain::new(Alg::P256, &["pins.test"]);
    let server = RustlsServer::start(&chain);
    let connect = format!("127.0.0.1:{}", server.port);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let root = chain.path("root.pem");
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            // Live: the root the server does not send, from --ca-file.
            vec![
                "pins.test".into(),
                "--pin".into(),
                "root".into(),
                "--ca-file".into(),
                path(&root),
                "--connect".into(),
                connect.clone(),
                "--no-system-roots".into(),
            ],
            0,
            "BR_KEYTYPE_EC",
        ),
        (
            vec!["--from".into(), path(&chain.path("intermediate.pem"))],
            0,
            "BR_KEYTYPE_RSA",
        ),
        (
            // The leaf: flags 0, direct trust.
            vec![
                "--from".into(),
                path(&chain.path("chain.pem")),
                "--pin".into(),
                "leaf".into(),
            ],
            0,
            "\t\t0,\n",
        ),
        (
            vec!["--from".into(), path(&stranger.path("root.pem"))],
            1,
            "TAs_NUM   1",
        ),
        (
            vec![
                "--from".into(),
                path(&stranger.path("root.pem")),
                "--from".into(),
                path(&root),
            ],
            0,
            "TAs_NUM   2",
        ),
    ];
    if !real {
        std::fs::write(w.join("bearssl.h"), STUB_BEARSSL).unwrap();
        eprintln!(
            "SKIPPED: libbearssl-dev is not installed, so the anchors are compiled against a \
             stub of BearSSL's structs and br_x509_minimal does not validate the chain \
             (apt-get install libbearssl-dev)"
        );
    }
    for (n, (args, want, shows)) in cases.iter().enumerate() {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let header = w.join(format!("tas{n}.h"));
        gen_ta(&args, &header);
        let text = std::fs::read_to_string(&header).unwrap();
        assert!(text.contains(shows), "{args:?}: {shows:?} in\n{text}");
        if !real {
            std::fs::write(
                w.join(format!("s{n}.c")),
                format!("#include \"tas{n}.h\"\n"),
            )
            .unwrap();
            run_ok(
                Command::new("gcc")
                    .args([
                        "-std=c99",
                        "-Wall",
                        "-Wextra",
                        "-Werror",
                        "-fsyntax-only",
                        "-I",
                    ])
                    .arg(w)
                    .arg(w.join(format!("s{n}.c"))),
            );
            continue;
        }
        let source = w.join(format!("v{n}.c"));
        std::fs::write(
            &source,
            format!("#include <bearssl.h>\n#include \"tas{n}.h\"\n{VALIDATE}"),
        )
        .unwrap();
        let bin = w.join(format!("v{n}"));
        run_ok(
            Command::new("gcc")
                .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-o"])
                .arg(&bin)
                .arg(&source)
                .arg("-lbearssl"),
        );
        let out = Command::new(&bin)
            .arg(chain.path("chain.pem"))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(*want),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    if real {
        // In an ESP8266 sketch: C++, and the core's <bearssl/bearssl.h>, included by the file.
        std::fs::write(
            w.join("sketch.cpp"),
            "#include \"tas0.h\"\nint main() { return TAs[0].flags == BR_X509_TA_CA ? 0 : 1; }\n",
        )
        .unwrap();
        run_ok(
            Command::new("g++")
                .args([
                    "-DARDUINO_ARCH_ESP8266",
                    "-std=gnu++17",
                    "-Wall",
                    "-Wextra",
                    "-Werror",
                    "-fsyntax-only",
                ])
                .arg(w.join("sketch.cpp")),
        );
    }
}

/// `static const unsigned char NAME[] = { … };` blocks and the flags of each `TAs[]` entry.
fn parse_tas(text: &str) -> (HashMap<String, Vec<u8>>, Vec<String>) {
    let blob =
        regex::Regex::new(r"static const unsigned char (TA\d+_\w+)\[\] = \{([^}]*)\};").unwrap();
    let blobs = blob
        .captures_iter(text)
        .map(|c| {
            let bytes = c[2]
                .split(',')
                .map(|b| u8::from_str_radix(b.trim().trim_start_matches("0x"), 16).unwrap())
                .collect();
            (c[1].to_owned(), bytes)
        })
        .collect();
    let flag = regex::Regex::new(r"sizeof TA\d+_DN \},\n\t\t(\w+),").unwrap();
    let flags = flag.captures_iter(text).map(|c| c[1].to_owned()).collect();
    (blobs, flags)
}

fn unhex(text: &str) -> Vec<u8> {
    let clean: String = text.chars().filter(char::is_ascii_hexdigit).collect();
    let clean = if clean.len() % 2 == 1 {
        format!("0{clean}")
    } else {
        clean
    };
    hex::decode(clean).unwrap()
}

/// The subject Name DER, cut out of the certificate's DER where `openssl asn1parse` says it is:
/// the sixth element of the TBSCertificate (after `[0]` version, serial, signature algorithm,
/// issuer, validity).
fn openssl_subject_der(pem: &Path, work: &Path) -> Vec<u8> {
    let der_path = work.join("subject-probe.der");
    run_ok(
        Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(pem)
            .arg("-out")
            .arg(&der_path),
    );
    let der = std::fs::read(&der_path).unwrap();
    let listing = run_ok(
        Command::new("openssl")
            .args(["asn1parse", "-inform", "DER", "-in"])
            .arg(&der_path),
    );
    let line = regex::Regex::new(r"^\s*(\d+):d=2\s+hl=\s*(\d+)\s+l=\s*(\d+)").unwrap();
    let tbs: Vec<(usize, usize, usize)> = listing
        .lines()
        .filter_map(|l| line.captures(l))
        .map(|c| {
            (
                c[1].parse().unwrap(),
                c[2].parse().unwrap(),
                c[3].parse().unwrap(),
            )
        })
        .collect();
    let (off, hl, l) = tbs[5];
    der[off..off + hl + l].to_vec()
}

/// What `openssl x509 -text` says about the key: ("rsa", modulus, exponent) or
/// ("BR_EC_…", point, []).
fn openssl_key(pem: &Path) -> (String, Vec<u8>, Vec<u8>) {
    let text = run_ok(
        Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(pem),
    );
    if text.contains("rsaEncryption") {
        let modulus = run_ok(
            Command::new("openssl")
                .args(["x509", "-noout", "-modulus", "-in"])
                .arg(pem),
        );
        let exp = regex::Regex::new(r"Exponent: \d+ \(0x([0-9a-fA-F]+)\)").unwrap();
        let e = unhex(&exp.captures(&text).unwrap()[1]);
        return (
            "rsa".to_owned(),
            unhex(modulus.trim().trim_start_matches("Modulus=")),
            e,
        );
    }
    let curve = match regex::Regex::new(r"NIST CURVE: (P-\d+)")
        .unwrap()
        .captures(&text)
    {
        Some(c) => format!("BR_EC_secp{}r1", &c[1][2..]),
        None => panic!("no NIST curve in\n{text}"),
    };
    let mut point = String::new();
    let mut lines = text.lines().skip_while(|l| l.trim() != "pub:").skip(1);
    for l in lines.by_ref() {
        let t = l.trim();
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            break;
        }
        point.push_str(t);
    }
    (curve, unhex(&point), Vec::new())
}

#[test]
fn bearssl_ta_bytes_equal_what_openssl_prints() {
    if !have("openssl", "the anchors' bytes") {
        return;
    }
    let rsa = TestChain::new(Alg::Rsa2048, &["pins.test"]);
    let p384 = TestChain::new(Alg::P384, &["pins.test"]);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let inputs = [
        rsa.path("intermediate.pem"),
        p384.path("intermediate.pem"),
        p384.path("root.pem"),
        rsa.path("leaf.pem"),
    ];
    let mut args = Vec::new();
    for p in &inputs {
        args.push("--from");
        args.push(p.to_str().unwrap());
    }
    let header = w.join("tas.h");
    gen_ta(&args, &header);
    let text = std::fs::read_to_string(&header).unwrap();
    let (blobs, flags) = parse_tas(&text);
    assert_eq!(
        flags,
        ["BR_X509_TA_CA", "BR_X509_TA_CA", "BR_X509_TA_CA", "0"]
    );
    assert!(text.contains("#define TAs_NUM   4\n"), "{text}");
    for (i, pem) in inputs.iter().enumerate() {
        assert_eq!(
            blobs[&format!("TA{i}_DN")],
            openssl_subject_der(pem, w),
            "TA{i}_DN is the subject DER"
        );
        let (kind, a, b) = openssl_key(pem);
        if kind == "rsa" {
            assert_eq!(
                blobs[&format!("TA{i}_RSA_N")],
                a,
                "TA{i}_RSA_N is openssl's modulus"
            );
            assert_eq!(blobs[&format!("TA{i}_RSA_E")], b, "TA{i}_RSA_E");
        } else {
            assert_eq!(
                blobs[&format!("TA{i}_EC_Q")],
                a,
                "TA{i}_EC_Q is openssl's pub"
            );
            let curve = regex::Regex::new(&format!(
                r"\{{ \.ec = \{{\n\t\t\t\t(BR_EC_\w+),\n\t\t\t\t\(unsigned char \*\)TA{i}_EC_Q,"
            ))
            .unwrap();
            assert_eq!(curve.captures(&text).unwrap()[1], kind, "TA{i}'s curve");
        }
    }
    // The RSA modulus of a 2048-bit key is 256 bytes: no DER sign byte.
    assert_eq!(blobs["TA0_RSA_N"].len(), 256);
    assert_eq!(blobs["TA1_EC_Q"].len(), 97, "P-384 point");
}

/// Decode the PEM file argv[1] with BearSSL's PEM decoder, as the ESP8266 core's
/// `BearSSL::PublicKey` does, and write the one `PUBLIC KEY` object's DER to stdout.
const PEM_TO_DER: &str = r#"
#include <bearssl.h>
#include <stdio.h>
#include <string.h>

static void out(void *ctx, const void *data, size_t len) {
    (void)ctx;
    fwrite(data, 1, len, stdout);
}

int main(int argc, char **argv) {
    static char pem[16384];
    br_pem_decoder_context pc;
    const char *p = pem;
    size_t len;
    int keys = 0;
    FILE *f;
    if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) return 2;
    len = fread(pem, 1, sizeof pem, f);
    fclose(f);
    br_pem_decoder_init(&pc);
    while (len > 0) {
        size_t used = br_pem_decoder_push(&pc, p, len);
        p += used;
        len -= used;
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            if (strcmp(br_pem_decoder_name(&pc), "PUBLIC KEY") != 0) return 3;
            br_pem_decoder_setdest(&pc, out, NULL);
            break;
        case BR_PEM_END_OBJ:
            keys++;
            break;
        case BR_PEM_ERROR:
            return 4;
        }
    }
    return keys == 1 ? 0 : 5;
}
"#;

#[test]
fn bearssl_reads_the_public_key_file_as_it_is() {
    if !Path::new("/usr/include/bearssl.h").exists() {
        eprintln!(
            "SKIPPED: libbearssl-dev is not installed, so BearSSL's reading of the public-key \
             file is not checked (apt-get install libbearssl-dev)"
        );
        return;
    }
    if !have("gcc", "BearSSL's PEM decoder") || !have("openssl", "the leaf's SPKI") {
        return;
    }
    let chain = TestChain::new(Alg::P256, &["pins.test"]);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let file = w.join("pubkey.pem");
    espcheck()
        .args(["gen-cert-header", "--format", "public-key", "--from"])
        .arg(chain.path("chain.pem"))
        .arg("-o")
        .arg(&file)
        .assert()
        .success();
    std::fs::write(w.join("p.c"), PEM_TO_DER).unwrap();
    run_ok(
        Command::new("gcc")
            .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(w.join("p"))
            .arg(w.join("p.c"))
            .arg("-lbearssl"),
    );
    let decoded = Command::new(w.join("p")).arg(&file).output().unwrap();
    assert_eq!(
        decoded.status.code(),
        Some(0),
        "BearSSL found one PUBLIC KEY"
    );
    // openssl's DER of the leaf's key.
    run_ok(
        Command::new("openssl")
            .args(["x509", "-pubkey", "-noout", "-in"])
            .arg(chain.path("leaf.pem"))
            .arg("-out")
            .arg(w.join("openssl.pem")),
    );
    let der = Command::new("openssl")
        .args(["pkey", "-pubin", "-outform", "DER", "-in"])
        .arg(w.join("openssl.pem"))
        .output()
        .unwrap();
    assert!(der.status.success());
    assert_eq!(
        decoded.stdout, der.stdout,
        "the key BearSSL reads is the leaf's"
    );
}
