#!/usr/bin/env bash
# Benchmarks flashing a 1 MB image to the virtual board: espcheck's flasher library (through a
# small release-built test entry) against esptool doing the same with --no-stub, both over the same
# kind of pty. Prints wall-clock medians and the ratio. Needs esptool v5 (PATH or .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
CHIP=${CHIP:-esp8266}
ESPTOOL=$(command -v esptool || echo "$PWD/.venv/bin/esptool")
[ -x "$ESPTOOL" ] || { echo "esptool not found (python3 -m venv .venv && .venv/bin/pip install 'esptool>=5,<6')"; exit 1; }
cargo build --release -q
ESPCHECK=$PWD/target/release/espcheck
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# A 1 MB image: a sim image padded with pseudo-random bytes (incompressible, like real code).
"$ESPCHECK" sim image --chip "$CHIP" -o "$work/app.bin" >/dev/null
head -c $((1024 * 1024 - $(stat -c %s "$work/app.bin"))) /dev/urandom >> "$work/app.bin"
addr=0x0; [ "$CHIP" = esp32 ] && addr=0x10000

# --pacing off: this compares protocol overhead, not line time.
"$ESPCHECK" sim device --pacing off --chip "$CHIP" --link "$work/board" --flash-file "$work/flash" >/dev/null &
pid=$!
for _ in $(seq 100); do [ -e "$work/board" ] && break; sleep 0.05; done

median() {
  local times=()
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
check() { cmp -s -n "$(stat -c %s "$work/app.bin")" "$work/app.bin" <(tail -c +$((addr + 1)) "$work/flash") \
  || { echo "flash does not hold the image after: $1"; exit 1; }; }

esp() { ESPCHECK_BENCH_PORT="$work/board" ESPCHECK_BENCH_IMAGE="$work/app.bin" ESPCHECK_BENCH_ADDR="$addr" \
  cargo test -q --release --test cli -- --ignored --exact rom::bench_flash_entry --nocapture; }
tool() { "$ESPTOOL" --chip "$CHIP" --port "$work/board" --before no-reset --after no-reset --no-stub \
  write-flash "$addr" "$work/app.bin"; }

esp >/dev/null 2>&1; check espcheck   # warm-up: builds the test binary
t_esp=$(median esp); check espcheck
t_tool=$(median tool); check esptool
echo "== flash 1 MB to a virtual $CHIP over a pty (median of $RUNS, ROM loader, no compression)"
printf '  espcheck flash library   %.2fs\n' "$t_esp"
printf '  esptool --no-stub        %.2fs\n' "$t_tool"
printf '  ratio espcheck/esptool: %.2f\n' "$(echo "$t_esp / $t_tool" | bc -l)"
