#!/usr/bin/env bash
# Flashing time as a real board sets it: a 256 KiB sim image on a virtual board whose UART and
# flash keep time (`sim device --pacing real`), written at 460800 baud by
#   espcheck flash-and-watch (stub, compressed, MD5-verified, then boot and watch to PASS)
#   esptool write-flash --baud 460800 (its default stub flow: stub, compressed, MD5-verified)
# Each run gets a fresh board (in its ROM loader, blank flash), so neither tool finds a stub the
# other left running. Prints medians, the ratio, and the limit the line and the flash set.
# Needs esptool v5 (PATH or .venv). Usage: CHIP=esp8266 RUNS=3 bash bench/paced.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
CHIP=${CHIP:-esp8266}
BAUD=460800
ESPTOOL=$(command -v esptool || echo "$PWD/.venv/bin/esptool")
[ -x "$ESPTOOL" ] || { echo "esptool not found (python3 -m venv .venv && .venv/bin/pip install 'esptool>=5,<6')"; exit 1; }
cargo build --release -q --bin espcheck
E=$PWD/target/release/espcheck
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# The mock API the sketch talks to, for flash-and-watch's PASS.
"$E" sim serve --addr 127.0.0.1:0 --chain-dir "$work/chain" >"$work/serve.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/serve.out" ] && break; sleep 0.05; done
port=$(sed -n 's/^listening on https:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/serve.out")
[ -n "$port" ] || { echo "sim serve did not start"; exit 1; }
"$E" sim image --chip "$CHIP" --size 256K --connect "127.0.0.1:$port" --ca-file "$work/chain/root.pem" \
  -o "$work/app.bin" >/dev/null
addr=0x0; [ "$CHIP" = esp32 ] && addr=0x10000

# A fresh paced board for each run; runs "$@" with $board set, prints the wall seconds.
board=
fresh() {
  rm -f "$work/board"
  "$E" sim device --pacing real --chip "$CHIP" --link "$work/board" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 100); do [ -e "$work/board" ] && break; sleep 0.05; done
  board=$work/board
  local t0 t1 status=0
  t0=$(date +%s.%N); "$@" >"$work/last.out" 2>&1 || status=$?; t1=$(date +%s.%N)
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  [ "$status" = 0 ] || { echo "failed ($status): $*" >&2; cat "$work/last.out" >&2; exit 1; }
  echo "$t1 - $t0" | bc -l
}
esp() { PATH="$(dirname "$ESPTOOL"):$PATH" "$E" flash-and-watch "$board" --firmware "$work/app.bin" \
  --baud "$BAUD" --timeout 60s; }
tool() { "$ESPTOOL" --chip "$CHIP" --port "$board" --baud "$BAUD" --before no-reset write-flash "$addr" "$work/app.bin"; }

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t_esp=(); t_tool=()
for _ in $(seq "$RUNS"); do
  t_esp+=("$(fresh esp)")
  grep -q '^PASS' "$work/last.out" || { echo "flash-and-watch did not PASS" >&2; cat "$work/last.out" >&2; exit 1; }
  packed=$(sed -n 's/.*compressed to \([0-9]*\) bytes.*/\1/p' "$work/last.out")
  t_tool+=("$(fresh tool)")
  grep -q 'Hash of data verified' "$work/last.out" || { echo "esptool did not verify" >&2; exit 1; }
done
m_esp=$(printf '%s\n' "${t_esp[@]}" | median)
m_tool=$(printf '%s\n' "${t_tool[@]}" | median)
size=$(stat -c %s "$work/app.bin")
# The floor: the compressed bytes at 10 bits per byte, plus the flash's own time (the board holds
# the line while it erases and programs: 45 ms per 4 KiB sector, 0.7 ms per 256-byte page).
line=$(echo "$packed * 10 / $BAUD" | bc -l)
flash=$(echo "($size / 4096) * 0.045 + ($size / 256) * 0.0007" | bc -l)
printf 'chip %s\n' "$CHIP"
printf 'espcheck %.2f\n' "$m_esp"
printf 'esptool %.2f\n' "$m_tool"
printf 'ratio %.2f\n' "$(echo "$m_esp / $m_tool" | bc -l)"
printf 'compressed %d\n' "$packed"
printf 'line %.2f\n' "$line"
printf 'flash %.2f\n' "$flash"
