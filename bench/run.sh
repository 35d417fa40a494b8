#!/usr/bin/env bash
# The one benchmark run behind BENCHMARKS.md: every row measured side by side, in this run, against
# the tool people use today, with the floor (the limit) and peak memory. Re-run it with
#   bash bench/run.sh            # writes BENCHMARKS.md
# Needs openssl, python3, bc, /usr/bin/time, and esptool v5 (PATH or .venv) for the flashing row.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
BUNDLE=${BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
OUT=${OUT:-BENCHMARKS.md}
cargo build --release -q --bin espcheck --example handshakes
E=$PWD/target/release/espcheck
HS=$PWD/target/release/examples/handshakes
ESPTOOL=$(command -v esptool || echo "$PWD/.venv/bin/esptool")
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# median wall seconds of "$@" over $RUNS runs (output discarded)
median() {
  local times=() t0 t1
  for _ in $(seq "$RUNS"); do
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
peak() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }   # peak RSS in KB
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
fmt() { printf '%.3fs' "$1"; }
rows=()
row() { rows+=("| $1 | $2 | $3 | $4 | $5 | $6 |"); echo "  $1: $2 vs $3 → $4 (limit $5; peak $6)"; }

echo "== start-up"
t_ver=$(median "$E" --version)
t_ossl=$(median openssl version)
t_tool=n/a; [ -x "$ESPTOOL" ] && t_tool=$(fmt "$(median "$ESPTOOL" version)")
row "start-up: \`espcheck --version\`" "$(fmt "$t_ver")" "openssl version $(fmt "$t_ossl"); esptool version $t_tool" \
  "$(ratio "$t_ver" "$t_ossl")× openssl" "process spawn ≈ $(fmt "$(median /bin/true)")" "$(peak "$E" --version) KB"

echo "== parse and report the system CA bundle"
certs=$(grep -c 'BEGIN CERTIFICATE' "$BUNDLE")
n=$("$E" fingerprint --from "$BUNDLE" --json --no-system-roots | grep -o '"sha1"' | wc -l)
[ "$n" = "$certs" ] || { echo "espcheck reported $n of $certs certificates" >&2; exit 1; }
t_esp=$(median "$E" fingerprint --from "$BUNDLE" --json --no-system-roots)
t_ssl=$(median openssl storeutl -noout -text -certs "$BUNDLE")
row "\`fingerprint --from\` $certs roots, full JSON report" "$(fmt "$t_esp")" "\`openssl storeutl -noout -text -certs\` $(fmt "$t_ssl")" \
  "$(ratio "$t_esp" "$t_ssl") (goal ≤ 0.5)" "start-up $(fmt "$t_ver")" "$(peak "$E" fingerprint --from "$BUNDLE" --json --no-system-roots) KB"

echo "== ESP-IDF certificate bundle of the same roots"
t_idf=$(median "$E" gen-cert-header --from "$BUNDLE" --format idf-bundle --out "$work/x509_crt_bundle")
row "\`gen-cert-header --format idf-bundle\` of $certs roots" "$(fmt "$t_idf")" \
  "ESP-IDF's \`gen_crt_bundle.py\` is not on PyPI (it ships only inside the ESP-IDF tree), so no peer was run" \
  "n/a" "start-up $(fmt "$t_ver")" "$(peak "$E" gen-cert-header --from "$BUNDLE" --format idf-bundle --out "$work/x509_crt_bundle") KB"

echo "== 24 loopback TLS endpoints"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
ports=()
for _ in $(seq 24); do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  openssl s_server -accept "127.0.0.1:$port" -cert "$work/cert.pem" -key "$work/key.pem" -www -quiet \
    </dev/null >/dev/null 2>&1 &
  pids+=($!); ports+=("$port")
done
for port in "${ports[@]}"; do
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
done
targets=(); for p in "${ports[@]}"; do targets+=("localhost:$p"); done
printf '%s\n' "${ports[@]}" > "$work/ports"
one() { openssl s_client -connect "127.0.0.1:$1" -servername localhost -showcerts </dev/null 2>/dev/null \
  | openssl x509 -noout -fingerprint -sha1; }
export -f one
loop() { while read -r p; do one "$p"; done < "$work/ports"; }
xargs8() { xargs -P 8 -I{} bash -c 'one {}' < "$work/ports"; }
n_esp=$("$E" fingerprint "${targets[@]}" --json --ca-file "$work/cert.pem" | grep -c '"sha1"')
n_loop=$(loop | grep -c Fingerprint); n_x=$(xargs8 | grep -c Fingerprint)
[ "$n_esp" = 24 ] && [ "$n_loop" = 24 ] && [ "$n_x" = 24 ] || { echo "a tool missed endpoints: $n_esp $n_loop $n_x" >&2; exit 1; }
t_esp=$(median "$E" fingerprint "${targets[@]}" --json --ca-file "$work/cert.pem")
t_loop=$(median loop); t_x=$(median xargs8); t_hs=$(median "$HS" "${targets[@]}")
row "\`fingerprint\` 24 loopback endpoints in one call" "$(fmt "$t_esp")" \
  "shell loop of \`openssl s_client \\| x509\` $(fmt "$t_loop"); \`xargs -P 8\` $(fmt "$t_x")" \
  "$(ratio "$t_loop" "$t_esp")× faster than the loop (goal ≥ 5×), $(ratio "$t_x" "$t_esp")× than xargs" \
  "24 bare rustls handshakes $(fmt "$t_hs")" "$(peak "$E" fingerprint "${targets[@]}" --json --ca-file "$work/cert.pem") KB"

echo "== grading throughput"
python3 - "$work/big.log" 200 <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
head = b"\r\nConnecting to sensor-net\r\n....\r\nWiFi connected\r\nIP address: \r\n192.168.1.9\r\n"
tail = (b"Connecting to api.github.com\r\nRequesting URL: /x\r\nRequest sent\r\nHeaders received\r\n"
        b"esp8266/Arduino CI successful!\r\nReply was:\r\n==========\r\n{\"state\":\"success\"}\r\n==========\r\n")
with open(path, "wb") as f:
    f.write(head); n = w = 0; chunk = []
    while w < size:
        n += 1
        line = b"[%9d][D][sensor.cpp:42] reading %08d: t=21.5C h=40%% heap=41234 rssi=-61\r\n" % (n, n)
        chunk.append(line); w += len(line)
        if len(chunk) == 10000: f.write(b"".join(chunk)); chunk = []
    f.write(b"".join(chunk)); f.write(tail)
PY
mb=$(echo "$(stat -c %s "$work/big.log") / 1000000" | bc -l)
t_grade=$(median "$E" grade "$work/big.log" --json)
t_cat=$(median cat "$work/big.log"); t_wc=$(median wc -l "$work/big.log")
# What a timeout-and-grep HIL job greps for: the verdict lines and the crash signatures.
sigs='CI successfull?!|CI has failed|connection failed|Exception \(|Guru Meditation|rst cause|Brownout|abort\(\)'
t_grep=$(median grep -c -E "$sigs" "$work/big.log")
row "\`grade\` of a $(printf %.0f "$mb") MB log" "$(printf '%.0f MB/s' "$(echo "$mb / $t_grade" | bc -l)")" \
  "\`grep -c -E\` of the verdict and crash lines (the usual HIL check) $(printf '%.0f MB/s' "$(echo "$mb / $t_grep" | bc -l)")" \
  "$(ratio "$t_grep" "$t_grade")× grep's speed" "\`wc -l\` $(printf '%.0f MB/s' "$(echo "$mb / $t_wc" | bc -l)"), \`cat\` $(printf '%.0f MB/s' "$(echo "$mb / $t_cat" | bc -l)")" \
  "$(peak "$E" grade "$work/big.log" --json) KB"

echo "== watch over a pty, zero loss"
watch_out=$(python3 - "$E" "$work" <<'PY'
import json, os, pty, subprocess, sys, time, tty
bin, work = sys.argv[1], sys.argv[2]
payload = bytearray(b"\r\nConnecting to sensor-net\r\n....\r\nWiFi connected\r\n")
n = 0
while len(payload) < 64 * 1024 * 1024:
    n += 1
    payload += b"[%9d][D][sensor.cpp:42] reading %08d: t=21.5C h=40%% heap=41234 rssi=-61\r\n" % (n, n)
payload += b"Connecting to api.github.com\r\nRequest sent\r\nesp8266/Arduino CI successful!\r\nReply was:\r\n==========\r\n{\"state\":\"success\"}\r\n"
def push(cmd):
    master, slave = pty.openpty(); tty.setraw(slave)
    # dd ends on the EIO a closed pty master gives; that is its end of input, not an error.
    p = subprocess.Popen([c.replace("PTY", os.ttyname(slave)) for c in cmd], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL if cmd[0] == "dd" else None)
    time.sleep(0.3)
    start = time.time(); view = memoryview(payload)
    while view:
        k = os.write(master, view[:65536]); view = view[k:]
    if cmd[0] == "dd":
        os.close(master); out, _ = p.communicate(timeout=300)
    else:
        out, _ = p.communicate(timeout=300); os.close(master)
    el = time.time() - start; os.close(slave)
    return el, out
log = os.path.join(work, "pty.log")
rss = os.path.join(work, "watch.rss")
el, out = push(["/usr/bin/time", "-f", "%M", "-o", rss, bin, "watch", "PTY", "--json", "--quiet", "--log", log,
                "--timeout", "5m"])
r = json.loads(out)
assert r["verdict"] == "pass" and os.path.getsize(log) == len(payload), "bytes lost"
el_raw, _ = push(["dd", "if=PTY", "of=/dev/null", "bs=64k", "status=none"])
mb = len(payload) / 1e6
print(f"{mb/el:.1f} {mb/el_raw:.1f} {mb:.0f} {open(rss).read().split()[-1]}")
PY
)
read -r w_rate raw_rate w_mb w_rss <<<"$watch_out"
row "\`watch --log\` of ${w_mb} MB pushed through a pty" "$w_rate MB/s, no byte lost" "(no peer grades live)" "n/a" \
  "raw pty read by \`dd\` $raw_rate MB/s" "$w_rss KB"

echo "== flashing 1 MB to the virtual board"
if [ -x "$ESPTOOL" ]; then
  for chip in esp8266 esp32; do
    line=$(RUNS=3 CHIP=$chip bash bench/flash.sh | grep -E 'espcheck flash|esptool --no-stub|ratio')
    t_e=$(echo "$line" | awk '/espcheck flash/ {print $4}'); t_t=$(echo "$line" | awk '/esptool --no-stub/ {print $3}')
    # Peak memory of the real command: flash-and-watch, leaving the board in its loader.
    "$E" sim image --chip "$chip" -o "$work/$chip.bin" >/dev/null
    head -c $((1024 * 1024 - $(stat -c %s "$work/$chip.bin"))) /dev/urandom >> "$work/$chip.bin"
    # --pacing off: these rows compare protocol overhead, not line time.
    "$E" sim device --pacing off --chip "$chip" --link "$work/$chip-board" >/dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do [ -e "$work/$chip-board" ] && break; sleep 0.05; done
    addr=0x0; [ "$chip" = esp32 ] && addr=0x10000
    f_rss=$(/usr/bin/time -f %M "$E" flash-and-watch "$work/$chip-board" --firmware "$work/$chip.bin" \
      --addr "$addr" --after no-reset --timeout 2s --pass . 2>&1 >/dev/null | tail -1)
    row "flash 1 MB to a virtual $chip (ROM loader, no compression)" "$t_e" "\`esptool --no-stub write-flash\` $t_t" \
      "$(ratio "${t_e%s}" "${t_t%s}") of esptool's time (goal ≤ 1)" "the ROM protocol's round trips over a pty" "$f_rss KB"
  done
else
  rows+=("| flashing | not run: esptool missing | | | | |")
fi

echo "== flash 256 KiB to PASS on a paced virtual board at 460800"
if [ -x "$ESPTOOL" ]; then
  for chip in esp8266 esp32; do
    out=$(RUNS=3 CHIP=$chip bash bench/paced.sh)
    get() { echo "$out" | awk -v k="$1" '$1 == k {print $2}'; }
    row "\`flash-and-watch\` 256 KiB sim image to PASS, paced virtual $chip, 460800 baud (stub, compressed, MD5)" \
      "$(get espcheck)s" "\`esptool --baud 460800 write-flash\` (stub, compressed, MD5; no boot, no watch) $(get esptool)s" \
      "$(get ratio)× esptool's time (goal ≤ 1.0, never > 1.2)" \
      "$(get compressed) compressed bytes at 460800: $(get line)s on the line + $(get flash)s flash erase/program" "n/a"
  done
else
  rows+=("| paced flashing | not run: esptool missing | | | | |")
fi

{
  echo "# Benchmarks"
  echo
  echo "Produced by \`bash bench/run.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -sr)."
  echo "Every row was measured side by side in that one run; times are medians of $RUNS runs (3 for flashing)."
  echo "Ratios below 1 mean espcheck took less time. Peak memory is espcheck's maximum RSS."
  echo
  echo "| what | espcheck | the tool people use | ratio | the limit | peak memory |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > "$OUT"
echo "wrote $OUT"
