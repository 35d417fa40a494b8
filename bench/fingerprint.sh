#!/usr/bin/env bash
# Benchmarks `espcheck fingerprint` against the tools people use today, side by side in one run:
#   1. the system CA bundle, fully reported (--from … --json) vs `openssl storeutl -noout -text -certs`;
#   2. 24 loopback TLS endpoints in one call vs a shell loop of `openssl s_client`, and vs `xargs -P 8`.
# Prints wall-clock medians and ratios. Needs openssl; builds espcheck in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
BUNDLE=${BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
cargo build --release -q
ESPCHECK=$PWD/target/release/espcheck
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# median wall time in seconds of "$@" over $RUNS runs
median() {
  local times=()
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
peak_kb() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

certs=$(grep -c 'BEGIN CERTIFICATE' "$BUNDLE")
echo "== 1. parse and report $certs roots from $BUNDLE (median of $RUNS)"
n=$("$ESPCHECK" fingerprint --from "$BUNDLE" --json --no-system-roots | grep -o '"sha1"' | wc -l)
[ "$n" = "$certs" ] || { echo "bench: espcheck reported $n of $certs certificates" >&2; exit 1; }
t_esp=$(median "$ESPCHECK" fingerprint --from "$BUNDLE" --json --no-system-roots)
t_ssl=$(median openssl storeutl -noout -text -certs "$BUNDLE")
printf '  espcheck fingerprint --from --json   %.3fs\n' "$t_esp"
printf '  openssl storeutl -noout -text -certs %.3fs\n' "$t_ssl"
printf '  ratio espcheck/openssl: %.2f (goal <= 0.5)\n' "$(echo "$t_esp / $t_ssl" | bc -l)"
if [ -x /usr/bin/time ]; then
  echo "  peak RSS: espcheck $(peak_kb "$ESPCHECK" fingerprint --from "$BUNDLE" --json --no-system-roots) KB, openssl $(peak_kb openssl storeutl -noout -text -certs "$BUNDLE") KB"
fi

echo "== 2. 24 loopback endpoints (openssl s_server each; median of $RUNS)"
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
# Check once that every tool really fingerprints all 24 endpoints before timing it.
n_esp=$("$ESPCHECK" fingerprint "${targets[@]}" --json --ca-file "$work/cert.pem" | grep -c '"sha1"')
n_loop=$(loop | grep -c Fingerprint)
n_xargs=$(xargs8 | grep -c Fingerprint)
echo "  endpoints fingerprinted: espcheck $n_esp, loop $n_loop, xargs $n_xargs (of 24)"
[ "$n_esp" = 24 ] && [ "$n_loop" = 24 ] && [ "$n_xargs" = 24 ] || { echo "bench: a tool missed endpoints" >&2; exit 1; }
t_esp=$(median "$ESPCHECK" fingerprint "${targets[@]}" --json --ca-file "$work/cert.pem")
t_loop=$(median loop)
t_xargs=$(median xargs8)
printf '  espcheck fingerprint (24 targets, --jobs 16) %.3fs\n' "$t_esp"
printf '  shell loop of openssl s_client | x509       %.3fs\n' "$t_loop"
printf '  xargs -P 8 of the same                       %.3fs\n' "$t_xargs"
printf '  speed-up vs loop: %.1fx (goal >= 5x); vs xargs -P 8: %.1fx (goal > 1x)\n' \
  "$(echo "$t_loop / $t_esp" | bc -l)" "$(echo "$t_xargs / $t_esp" | bc -l)"
