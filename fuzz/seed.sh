#!/usr/bin/env bash
# Build the seed corpora of every fuzz target from the repository's fixtures and from what
# espcheck itself writes (sim images, headers, IDF bundles), plus real TLS first flights from
# `openssl s_server` on loopback. Re-runnable; writes fuzz/corpus/<target>/ only.
#
#   bash fuzz/seed.sh            # from the repository root
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
c=fuzz/corpus
mkdir -p "$c"/{extract,server_flight,grade,rom_loader,image,pins,idf_bundle,rules}
cargo build -q --bin espcheck
esp=target/debug/espcheck
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- a test chain (rcgen is for the Rust tests; openssl is enough here) -------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Seed Root" \
  -keyout "$work/root.key" -out "$work/root.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=seed.test" \
  -keyout "$work/leaf.key" -out "$work/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:seed.test\n' >"$work/ext"
openssl x509 -req -in "$work/leaf.csr" -CA "$work/root.pem" -CAkey "$work/root.key" \
  -CAcreateserial -days 20 -extfile "$work/ext" -out "$work/leaf.pem" 2>/dev/null
cat "$work/leaf.pem" "$work/root.pem" >"$work/chain.pem"

# --- extract: PEM, DER, s_client-style dumps, source literals ---------------------------------
for f in fixtures/chains/*.pem fixtures/chains/pins/*.pem fixtures/bundles/roots.pem \
  "$work/chain.pem"; do
  cp "$f" "$c/extract/$(basename "$f" .pem)-$(sha1sum "$f" | cut -c1-8)"
done
openssl x509 -in "$work/leaf.pem" -outform DER -out "$c/extract/leaf.der"
{ echo "CONNECTED(00000003)"; echo "---"; echo "Certificate chain";
  echo " 0 s:CN = seed.test"; echo "   i:CN = Seed Root"; cat "$work/leaf.pem"; echo "---"; } \
  >"$c/extract/s_client"

# --- pins, idf_bundle: everything gen-cert-header writes ---------------------------------------
"$esp" gen-cert-header --from "$work/chain.pem" --host seed.test -o "$c/pins/arduino.h" -q
"$esp" gen-cert-header --from "$work/chain.pem" --host seed.test --style c -o "$c/pins/c.h" -q
"$esp" gen-cert-header --from "$work/chain.pem" --host seed.test --lang rust -o "$c/pins/pins.rs" -q
"$esp" gen-cert-header --from "$work/chain.pem" --host seed.test --format idf-bundle-c \
  -o "$c/pins/bundle.h" -q
"$esp" gen-cert-header --from "$work/chain.pem" --format idf-bundle -o "$c/idf_bundle/new.bin" -q
"$esp" gen-cert-header --from "$work/chain.pem" --format idf-bundle --idf-version 5.1 \
  -o "$c/idf_bundle/legacy.bin" -q
"$esp" gen-cert-header --from fixtures/bundles/roots.pem --format idf-bundle \
  -o "$c/idf_bundle/roots.bin" -q
cp "$c"/idf_bundle/*.bin "$c/pins/" 2>/dev/null || true
cp "$c/extract/leaf.der" "$work/chain.pem" "$c/pins/"
cat >"$c/pins/sketch.ino" <<'EOF'
const char* host = "api.github.com";
const int httpsPort = 443;
const char fingerprint[] PROGMEM = "59 74 61 88 13 CA 12 34 15 4D 11 0A C1 7F E6 67 07 69 42 F5";
void setup() { client.setFingerprint(fingerprint); }
EOF
{ printf 'static const char ca[] = R"EOF(\n'; cat "$work/root.pem"; printf ')EOF";\n'; } \
  >"$c/pins/rawstring.ino"

# --- grade: every log fixture under each profile (byte 0: profile/rules/timed, byte 1: seed) --
for f in fixtures/logs/*.log; do
  for pick in 00 01 02 06; do
    { printf "\\x$pick\\x2a"; cat "$f"; } >"$c/grade/$(basename "$f" .log)-$pick"
  done
done

# A line past the grader's 8 KB cap, and a stuck `Serial.print(".")` that never ends its line.
python3 -c 'import sys; sys.stdout.buffer.write(b"\x00\x2a" + b"Connecting to api.github.com\r\n" + b"A" * 9000 + b"\r\nWiFi connected\r\n")' \
  >"$c/grade/long-line"
python3 -c 'import sys; sys.stdout.buffer.write(b"\x02\x07" + b"." * 12000)' >"$c/grade/dots"

# --- rules: rules files --------------------------------------------------------------------------
printf 'pass = ["^All checks passed$"]\nfail = ["FAILED"]\nfault = ["PANIC"]\n[[stage]]\nname = "wifi"\nregex = "WiFi connected"\n' \
  >"$c/rules/full.toml"
printf 'pass = ["("]\n' >"$c/rules/badregex.toml"
printf '[[stage]]\nname = ""\nregex = "x"\n' >"$c/rules/emptystage.toml"

# --- image: sim images of both chips, every fault, the ESP32 bootloader ------------------------
for chip in esp8266 esp32; do
  "$esp" sim image --chip "$chip" --connect 127.0.0.1:8443 \
    --fingerprint 'CF:05:98:89:CA:FF:8E:D8:5E:5C:E0:C2:E4:F7:E6:C3:C7:50:DD:5C' \
    -o "$c/image/$chip-plain.bin" >/dev/null
  "$esp" sim image --chip "$chip" --ca-file "$work/root.pem" -o "$c/image/$chip-ca.bin" >/dev/null
  for fault in crash reset-loop brownout hang tls; do
    "$esp" sim image --chip "$chip" --fault "$fault" -o "$c/image/$chip-$fault.bin" >/dev/null
  done
done

# --- rom_loader: host→board byte streams (SYNC, registers, a whole flash, MD5, deflate) --------
python3 - "$c" <<'EOF'
import struct, sys, zlib
c = sys.argv[1]
def slip(p):
    return b"\xc0" + p.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"
def req(op, data, chk=0):
    return slip(struct.pack("<BBHI", 0, op, len(data), chk) + data)
def words(*w):
    return b"".join(struct.pack("<I", x) for x in w)
def blockreq(op, seq, block):
    chk = 0xEF
    for b in block:
        chk ^= b
    return req(op, words(len(block), seq, 0, 0) + block, chk)
SYNC = req(0x08, b"\x07\x07\x12\x20" + b"\x55" * 32)
for chip, pick, off in (("esp8266", 0, 0x0), ("esp32", 1, 0x10000)):
    image = open(f"{c}/image/{chip}-plain.bin", "rb").read()
    hdr = bytes([pick, 7])
    s = SYNC + req(0x0A, words(0x40001000)) + req(0x0A, words(0x60000078))
    if pick == 1:
        s += req(0x0D, words(0, 0)) + req(0x0B, words(0, 4 << 20, 0x10000, 4096, 256, 0xFFFF))
    bs = 0x400
    n = (len(image) + bs - 1) // bs
    flash = s + req(0x02, words(n * bs, n, bs, off))
    for i in range(n):
        flash += blockreq(0x03, i, image[i * bs:(i + 1) * bs].ljust(bs, b"\xff"))
    open(f"{c}/rom_loader/{chip}-flash", "wb").write(hdr + flash + req(0x04, words(0)))
    # Out of order, a resend, a bad length and noise.
    bad = s + req(0x02, words(2 * bs, 2, bs, off)) + blockreq(0x03, 1, b"\x00" * bs)
    bad += blockreq(0x03, 0, b"\x00" * bs) + blockreq(0x03, 0, b"\x00" * bs)
    bad += slip(b"\x00\x03\xff\xff\x00\x00\x00\x00abc") + b"garbage\r\n\xdb\x01" + SYNC
    open(f"{c}/rom_loader/{chip}-faults", "wb").write(hdr + bad)
    open(f"{c}/rom_loader/{chip}-md5", "wb").write(
        hdr + s + req(0x13, words(off, 0x1000, 0, 0)) + req(0x0E, words(off, 64)))
    mem = s + req(0x05, words(64, 1, 64, 0x40100000)) + blockreq(0x07, 0, b"\x01" * 64)
    open(f"{c}/rom_loader/{chip}-mem", "wb").write(hdr + mem + req(0x06, words(0, 0x40100000)))
    for fault in ("reset-loop", "crash"):
        img = open(f"{c}/image/{chip}-{fault}.bin", "rb").read()
        n = (len(img) + bs - 1) // bs
        f = s + req(0x02, words(n * bs, n, bs, off))
        for i in range(n):
            f += blockreq(0x03, i, img[i * bs:(i + 1) * bs].ljust(bs, b"\xff"))
        open(f"{c}/rom_loader/{chip}-{fault}", "wb").write(hdr + f + req(0x04, words(1)))
    if pick == 1:
        z = zlib.compress(image, 9)
        n = (len(z) + bs - 1) // bs
        d = s + req(0x10, words(len(image), n, bs, off))
        for i in range(n):
            d += blockreq(0x11, i, z[i * bs:(i + 1) * bs])
        d += req(0x12, words(0)) + req(0x0F, words(460800, 0))
        open(f"{c}/rom_loader/{chip}-deflate", "wb").write(hdr + d)
EOF

# --- server_flight: real first flights from openssl s_server (TLS 1.2, RSA and ECDSA) ---------
flight() {
  local name=$1 key=$2 cert=$3
  shift 3
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  openssl s_server -accept "127.0.0.1:$port" -key "$key" -cert "$cert" -cert_chain "$work/root.pem" \
    -quiet -naccept 1 "$@" </dev/null >/dev/null 2>&1 &
  local pid=$!
  python3 - "$port" "$c/server_flight/$name" <<'EOF'
import socket, ssl, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
for _ in range(50):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2); break
    except OSError:
        time.sleep(0.1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, outg, server_hostname="seed.test")
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
s.sendall(outg.read())
data = b""
s.settimeout(1)
try:
    while len(data) < 65536:
        b = s.recv(65536)
        if not b:
            break
        data += b
        if b"\x0e\x00\x00\x00" in data:
            break
except socket.timeout:
    pass
open(out, "wb").write(data)
EOF
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
flight ecdsa "$work/leaf.key" "$work/leaf.pem"
flight rsa "$work/root.key" "$work/root.pem"
printf '\x15\x03\x03\x00\x02\x02\x28' >"$c/server_flight/alert"
printf 'HTTP/1.1 400 Bad Request\r\n\r\n' >"$c/server_flight/http"

for t in "$c"/*; do echo "$(basename "$t"): $(find "$t" -type f | wc -l) seeds"; done
