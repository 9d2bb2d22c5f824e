#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and under ThreadSanitizer (issue 18).
# Each sanitizer gets its own release build (optimized, as the suite always runs; -enable-testing
# for @testable) in its own scratch folder, so neither disturbs .build. Prints, per sanitizer:
# tests run / passed / failed / skipped, sanitizer reports, wall time.
#
#   SECATEUR_DATA=/work/shared/data bash bench/bench_sanitizers.sh            # asan, then tsan
#   SANITIZERS=tsan FILTER='ComputeTests|ThreadReproducibilityTests' bash bench/bench_sanitizers.sh
# Environment: SANITIZERS ("asan tsan"), FILTER (a `swift test --filter` regex; default: all),
#   SKIP_BUILD=1 (reuse the last build), OUT (folder for logs and reports; default a new temp
#   folder), SECATEUR_DATA, SECATEUR_PYTHON (passed through to the tests).
#
# In these builds `BLAS.sgemm` and `Cholesky` touch, in instrumented Swift, every element
# OpenBLAS will read and write (Compute/SanitizerProbe.swift): OpenBLAS is not instrumented, so
# without that an out-of-bounds or overlapping product slice would go unseen.
#
# Reports are collected through log_path: the CLI tests run the (instrumented) secateur binary
# as a child process and keep its stderr to themselves, so a report there would otherwise be lost.
set -uo pipefail
cd "$(dirname "$0")/.."
SANITIZERS=${SANITIZERS:-asan tsan}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench_sanitizers.XXXXXX")}
export SECATEUR_DATA=${SECATEUR_DATA:-$(cd .. && pwd)/shared/data}
mkdir -p "$OUT"
echo "== machine: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg); logs in $OUT"

status=0
for san in $SANITIZERS; do
  case $san in
    asan) flag=address; scratch=.build-asan; pattern='ERROR: AddressSanitizer|ERROR: LeakSanitizer'
      # halt_on_error: Swift code cannot be built in ASan's recover mode, so the first report
      #   ends the test process anyway; say so explicitly.
      # detect_leaks=0: the target is memory errors (overflows, use-after-free, double free).
      #   The Swift runtime and Foundation keep process-lifetime caches (type metadata, the
      #   WorkerPool's parked threads) that LeakSanitizer reports at exit, and a leak is not a
      #   memory error.
      # detect_stack_use_after_return: catches a pointer escaping a withUnsafe… closure.
      export ASAN_OPTIONS="halt_on_error=1:detect_leaks=0:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:log_path=$OUT/$san-report"
      unset TSAN_OPTIONS ;;
    tsan) flag=thread; scratch=.build-tsan; pattern='WARNING: ThreadSanitizer|ERROR: ThreadSanitizer'
      # halt_on_error=0: go on after a race so one run lists them all; exitcode makes any report
      #   fail the test process. second_deadlock_stack: both stacks of a lock-order report.
      export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:history_size=4:log_path=$OUT/$san-report"
      [ -s bench/tsan.supp ] && TSAN_OPTIONS="$TSAN_OPTIONS:suppressions=$(pwd)/bench/tsan.supp"
      unset ASAN_OPTIONS ;;
    *) echo "unknown sanitizer $san (asan, tsan)" >&2; exit 2 ;;
  esac
  common=(-c release -Xswiftc -enable-testing --sanitize="$flag" --scratch-path "$scratch")
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "== $san: build ($scratch)"
    swift build --build-tests "${common[@]}" > "$OUT/$san-build.log" 2>&1 \
      || { echo "$san build failed; see $OUT/$san-build.log" >&2; status=1; continue; }
  fi
  rm -f "$OUT/$san-report".*
  filter=(); [ -n "${FILTER:-}" ] && filter=(--filter "$FILTER")
  echo "== $san: swift test ${filter[*]}"
  start=$(date +%s)
  swift test --skip-build "${common[@]}" "${filter[@]}" > "$OUT/$san-test.log" 2>&1
  rc=$?
  wall=$(( $(date +%s) - start ))
  # XCTest's per-case lines; the totals line of the last bundle would miss the others.
  passed=$(grep -cE "^Test Case '.*' passed" "$OUT/$san-test.log")
  failed=$(grep -cE "^Test Case '.*' failed" "$OUT/$san-test.log")
  skipped=$(grep -cE "^Test Case '.*' skipped" "$OUT/$san-test.log")
  started=$(grep -cE "^Test Case '.*' started" "$OUT/$san-test.log")
  reports=$(cat "$OUT/$san-report".* "$OUT/$san-test.log" 2>/dev/null | grep -cE "$pattern")
  printf '%s: tests started %d, passed %d, failed %d, skipped %d; sanitizer reports %d; exit %d; wall %ds\n' \
    "$san" "$started" "$passed" "$failed" "$skipped" "$reports" "$rc" "$wall"
  if [ "$reports" -gt 0 ]; then
    echo "  reports: $(ls "$OUT/$san-report".* 2>/dev/null | tr '\n' ' ')"
    grep -hE "$pattern|SUMMARY" "$OUT/$san-report".* "$OUT/$san-test.log" 2>/dev/null | sort | uniq -c | head -20
  fi
  [ "$failed" -gt 0 ] && grep -E "^Test Case '.*' failed|error: " "$OUT/$san-test.log" | head -20
  { [ "$reports" -gt 0 ] || [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; } && status=1
done
exit $status
