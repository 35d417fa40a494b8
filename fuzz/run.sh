#!/usr/bin/env bash
# Run one fuzz target for a while on the stable toolchain and keep its log.
#
#   bash fuzz/run.sh TARGET [SECONDS]       # default 600 s; from the repository root
#
# RUSTC_BOOTSTRAP=1 lets stable rustc accept the nightly-only flags cargo-fuzz passes
# (-Zsanitizer=address and friends). -O -a: optimised, with debug assertions and overflow checks,
# so arithmetic overflow panics as it does in the debug builds CI runs.
set -euo pipefail
target=$1
secs=${2:-600}
cd "$(dirname "$0")/.."
case $target in
  extract | pins) max_len=32768 ;;
  grade | rom_loader) max_len=20000 ;;
  rules) max_len=4096 ;;
  *) max_len=8192 ;;
esac
mkdir -p fuzz/logs fuzz/corpus/"$target"
RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a "$target" -- \
  -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 2>&1 | tee fuzz/logs/"$target".log | grep -E "DONE|crash-|panicked|ERROR|stat::" || true
