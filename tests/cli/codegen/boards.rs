//! The generated CA_PEM as the boards' own TLS libraries take it: mbedTLS (ESP32 `setCACert`) and
//! BearSSL (ESP8266 `setTrustAnchors`), each verifying a served chain against it.

use std::path::Path;
use std::process::Command;

use super::{Pki, espcheck, have, run_ok};

#[test]
fn mbedtls_accepts_the_generated_ca_pem_and_verifies_the_served_chain() {
    if !Path::new("/usr/include/mbedtls/x509_crt.h").exists() {
        eprintln!(
            "SKIPPED: libmbedtls-dev is not installed, so mbedTLS acceptance of CA_PEM is not \
             checked (apt-get install libmbedtls-dev)"
        );
        return;
    }
    if !have("gcc", "mbedTLS acceptance of CA_PEM") {
        return;
    }
    let pki = Pki::new("pins.test");
    let stranger = Pki::new("pins.test");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    // The intermediate (as the ESP32's setCACert would get it), the root, and for contrast an
    // unrelated CA that must NOT verify.
    let cases = [
        (&pki, "intermediate", true),
        (&pki, "root", true),
        (&stranger, "root", false),
    ];
    for (n, (source, pin, expect_ok)) in cases.into_iter().enumerate() {
        let header = w.join(format!("ca{n}.h"));
        let mut from = std::fs::read_to_string(source.path("chain.pem")).unwrap();
        from.push_str(&std::fs::read_to_string(source.path("root.pem")).unwrap());
        std::fs::write(w.join(format!("in{n}.pem")), from).unwrap();
        espcheck()
            .args([
                "gen-cert-header",
                "--style",
                "c",
                "--name",
                "pins",
                "--pin",
                pin,
            ])
            .arg("--from")
            .arg(w.join(format!("in{n}.pem")))
            .arg("-o")
            .arg(&header)
            .assert()
            .success();
        let prog = format!(
            r#"#include "ca{n}.h"
#include <stdio.h>
#include <mbedtls/x509_crt.h>
int main(int argc, char **argv) {{
    mbedtls_x509_crt ca, chain;
    uint32_t flags = 0;
    int ret;
    (void)argc;
    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&chain);
    ret = mbedtls_x509_crt_parse(&ca, (const unsigned char *)PINS_CA_PEM, sizeof(PINS_CA_PEM));
    if (ret != 0) {{ printf("parse CA_PEM: -0x%04X\n", (unsigned)-ret); return 2; }}
    ret = mbedtls_x509_crt_parse_file(&chain, argv[1]);
    if (ret != 0) {{ printf("parse chain: -0x%04X\n", (unsigned)-ret); return 2; }}
    ret = mbedtls_x509_crt_verify(&chain, &ca, NULL, "pins.test", &flags, NULL, NULL);
    printf("verify: %d flags: 0x%08X\n", ret, (unsigned)flags);
    return ret == 0 ? 0 : 1;
}}
"#
        );
        std::fs::write(w.join(format!("m{n}.c")), prog).unwrap();
        run_ok(
            Command::new("gcc")
                .args(["-std=c99", "-Wall", "-Werror", "-o"])
                .arg(w.join(format!("m{n}")))
                .arg(w.join(format!("m{n}.c")))
                .args(["-lmbedx509", "-lmbedcrypto"]),
        );
        let out = Command::new(w.join(format!("m{n}")))
            .arg(pki.path("chain.pem"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(if expect_ok { 0 } else { 1 }),
            "{pin}: {text}"
        );
    }
}

/// Verify a served chain (argv[1], PEM) the way the ESP8266 core does with
/// `setTrustAnchors(new X509List(CA_PEM))`: every certificate of the PEM becomes a BearSSL trust
/// anchor (its DN and public key, flagged CA when it is one), then `br_x509_minimal` walks the chain.
const BEARSSL_VERIFY: &str = r#"
#include <bearssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { unsigned char *buf; size_t len, cap; } vec;

static void vpush(void *ctx, const void *data, size_t len) {
    vec *v = ctx;
    if (v->len + len > v->cap) {
        v->cap = (v->len + len) * 2;
        v->buf = realloc(v->buf, v->cap);
    }
    memcpy(v->buf + v->len, data, len);
    v->len += len;
}

static int pem_certs(const char *pem, size_t len, vec *ders, int max) {
    br_pem_decoder_context pc;
    int n = 0, in = 0;
    br_pem_decoder_init(&pc);
    while (len > 0) {
        size_t used = br_pem_decoder_push(&pc, pem, len);
        pem += used;
        len -= used;
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            in = strcmp(br_pem_decoder_name(&pc), "CERTIFICATE") == 0 && n < max;
            if (in) {
                memset(&ders[n], 0, sizeof ders[n]);
                br_pem_decoder_setdest(&pc, vpush, &ders[n]);
            } else {
                br_pem_decoder_setdest(&pc, NULL, NULL);
            }
            break;
        case BR_PEM_END_OBJ:
            if (in) n++;
            in = 0;
            break;
        case BR_PEM_ERROR:
            return -1;
        }
    }
    return n;
}

static unsigned char *dup(const unsigned char *p, size_t n) {
    unsigned char *q = malloc(n);
    memcpy(q, p, n);
    return q;
}

static int make_anchor(const vec *der, br_x509_trust_anchor *ta) {
    br_x509_decoder_context dc;
    vec dn = {0};
    const br_x509_pkey *pk;
    br_x509_decoder_init(&dc, vpush, &dn);
    br_x509_decoder_push(&dc, der->buf, der->len);
    pk = br_x509_decoder_get_pkey(&dc);
    if (pk == NULL) return -1;
    ta->dn.data = dn.buf;
    ta->dn.len = dn.len;
    ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
    ta->pkey = *pk;
    if (pk->key_type == BR_KEYTYPE_RSA) {
        ta->pkey.key.rsa.n = dup(pk->key.rsa.n, pk->key.rsa.nlen);
        ta->pkey.key.rsa.e = dup(pk->key.rsa.e, pk->key.rsa.elen);
    } else {
        ta->pkey.key.ec.q = dup(pk->key.ec.q, pk->key.ec.qlen);
    }
    return 0;
}

int main(int argc, char **argv) {
    vec anchors[16], chain[16];
    br_x509_trust_anchor tas[16];
    br_x509_minimal_context xc;
    static char served[65536];
    size_t served_len;
    FILE *f;
    int na, nc, i;
    unsigned err;
    time_t now = time(NULL);
    (void)argc;
    na = pem_certs(PINS_CA_PEM, strlen(PINS_CA_PEM), anchors, 16);
    if (na <= 0) { printf("no anchors in CA_PEM\n"); return 2; }
    for (i = 0; i < na; i++) {
        if (make_anchor(&anchors[i], &tas[i]) != 0) { printf("bad anchor %d\n", i); return 2; }
    }
    f = fopen(argv[1], "rb");
    if (f == NULL) return 2;
    served_len = fread(served, 1, sizeof served, f);
    fclose(f);
    nc = pem_certs(served, served_len, chain, 16);
    if (nc <= 0) { printf("no served chain\n"); return 2; }
    br_x509_minimal_init_full(&xc, tas, (size_t)na);
    br_x509_minimal_set_time(&xc, (uint32_t)(now / 86400 + 719528), (uint32_t)(now % 86400));
    xc.vtable->start_chain(&xc.vtable, "pins.test");
    for (i = 0; i < nc; i++) {
        xc.vtable->start_cert(&xc.vtable, (uint32_t)chain[i].len);
        xc.vtable->append(&xc.vtable, chain[i].buf, chain[i].len);
        xc.vtable->end_cert(&xc.vtable);
    }
    err = xc.vtable->end_chain(&xc.vtable);
    printf("bearssl: %u\n", err);
    return err == 0 ? 0 : 1;
}
"#;

#[test]
fn bearssl_takes_the_generated_ca_pem_as_the_esp8266_does() {
    if !Path::new("/usr/include/bearssl.h").exists() {
        eprintln!(
            "SKIPPED: libbearssl-dev is not installed, so BearSSL (ESP8266) acceptance of \
             CA_PEM is not checked (apt-get install libbearssl-dev)"
        );
        return;
    }
    if !have("gcc", "BearSSL acceptance of CA_PEM") {
        return;
    }
    let pki = Pki::new("pins.test");
    let stranger = Pki::new("pins.test");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    // An intermediate works as an anchor on the ESP8266, a leaf means direct trust; a CA the
    // chain does not lead to must fail.
    let cases = [
        (&pki, "intermediate", true),
        (&pki, "root", true),
        (&pki, "leaf", true),
        (&stranger, "root", false),
    ];
    for (n, (source, pin, expect_ok)) in cases.into_iter().enumerate() {
        let mut from = std::fs::read_to_string(source.path("chain.pem")).unwrap();
        from.push_str(&std::fs::read_to_string(source.path("root.pem")).unwrap());
        std::fs::write(w.join(format!("in{n}.pem")), from).unwrap();
        espcheck()
            .args([
                "gen-cert-header",
                "--style",
                "c",
                "--name",
                "pins",
                "--pin",
                pin,
            ])
            .arg("--from")
            .arg(w.join(format!("in{n}.pem")))
            .arg("-o")
            .arg(w.join(format!("ca{n}.h")))
            .assert()
            .success();
        let prog = format!("#include \"ca{n}.h\"\n{BEARSSL_VERIFY}");
        std::fs::write(w.join(format!("b{n}.c")), prog).unwrap();
        run_ok(
            Command::new("gcc")
                .args(["-std=c99", "-Wall", "-Werror", "-o"])
                .arg(w.join(format!("b{n}")))
                .arg(w.join(format!("b{n}.c")))
                .arg("-lbearssl"),
        );
        let out = Command::new(w.join(format!("b{n}")))
            .arg(pki.path("chain.pem"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(if expect_ok { 0 } else { 1 }),
            "{pin}: {text}"
        );
    }
}
