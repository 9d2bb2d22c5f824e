#!/usr/bin/env bash
# Builds the fuzz harnesses (libFuzzer + AddressSanitizer, release) and runs each for RUNS
# executions from a copy of the committed corpus (fuzz/corpus/<harness>), one after the other.
# Prints one line per harness: executions, exec/s, crashes (crash-*/oom-*/leak-* artifacts),
# hangs (timeout-* artifacts, > TIMEOUT s), corpus size at the end. Exits 1 if any harness
# crashed or hung; its artifacts stay under $WORK/<harness>/ to be reproduced with
#   SECATEUR_FUZZ=<harness> fuzz/.build/release/secateur-fuzz <artifact>
#
#   RUNS=10000 bash fuzz/run.sh [harness ...]
# Environment: RUNS (10000), TIMEOUT (1), WORK (/tmp/secateur-fuzz), SKIP_BUILD=1, FUZZ_BIN (a
# harness binary built before: with SKIP_BUILD=1, run that instead of fuzz/.build's).
set -uo pipefail
cd "$(dirname "$0")"
RUNS=${RUNS:-10000}
TIMEOUT=${TIMEOUT:-1}
WORK=${WORK:-/tmp/secateur-fuzz}
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(gguf safetensors safetensors-index tokenizer config tasks recovery-data corpus study)

# Largest input per harness: a little above its largest seed (the seeds are a few KB).
max_len() {
  case "$1" in
    gguf) echo 12288 ;;
    safetensors|safetensors-index) echo 8192 ;;
    tokenizer|study) echo 4096 ;;
    *) echo 2048 ;;
  esac
}

# SwiftPM passes `-sanitize=fuzzer -sanitize=address` to swiftc as two flags, and swiftc keeps
# only the last: the Swift code would get ASan but no coverage counters, and libFuzzer would
# mutate blind. The combined flag, appended after them, restores both.
BUILD_FLAGS=(-c release --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address)
mkdir -p "$(dirname "$WORK")"

if [ -z "${SKIP_BUILD:-}" ]; then
  start=$(date +%s)
  # -j 1 by default: the machines these run on are shared (CI, which is not, passes JOBS=2).
  if ! swift build "${BUILD_FLAGS[@]}" -j "${JOBS:-1}" >"$WORK.build.log" 2>&1; then
    tail -n 40 "$WORK.build.log"; echo "fuzz: the harness build failed (log: $WORK.build.log)"; exit 1
  fi
  echo "fuzz: built the harnesses in $(( $(date +%s) - start )) s"
fi
BIN=${FUZZ_BIN:-"$(swift build "${BUILD_FLAGS[@]}" --show-bin-path)/secateur-fuzz"}

status=0
printf "%-18s %10s %8s %8s %6s %7s %s\n" harness execs exec/s crashes hangs corpus seconds
for h in "${HARNESSES[@]}"; do
  dir="$WORK/$h"
  rm -rf "$dir"; mkdir -p "$dir/corpus"
  cp corpus/"$h"/* "$dir/corpus/"
  start=$(date +%s)
  # ASan's leak checker stays off: the harness keeps a tiny model alive for the whole run.
  SECATEUR_FUZZ="$h" ASAN_OPTIONS=detect_leaks=0 "$BIN" "$dir/corpus" -runs="$RUNS" -timeout="$TIMEOUT" \
      -max_len="$(max_len "$h")" -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/" >"$dir/log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -n 1)
  crashes=$(find "$dir" -maxdepth 1 \( -name 'crash-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  hangs=$(find "$dir" -maxdepth 1 -name 'timeout-*' | wc -l)
  corpus=$(find "$dir/corpus" -type f | wc -l)
  printf "%-18s %10s %8s %8s %6s %7s %s\n" "$h" "${execs:-?}" "${speed:-?}" "$crashes" "$hangs" "$corpus" "$secs"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ] || [ "$hangs" -ne 0 ]; then
    status=1
    echo "fuzz: $h failed (exit $rc); log $dir/log, artifacts in $dir/"
    grep -m 3 -E "ERROR: |Fatal error|SUMMARY" "$dir/log" | sed 's/^/  /'
  fi
done
exit $status
