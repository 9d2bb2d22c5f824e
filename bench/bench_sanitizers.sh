#!/usr/bin/env bash
# Sanitizers (issue 18): builds the whole test suite (and the `secateur` binary its CLI tests
# start) with AddressSanitizer or ThreadSanitizer, optimized, in a build folder of its own, and
# runs every test under it. Each sanitized process writes its reports to $WORK/<sanitizer>/report.*;
# the script prints the test summary and the number of reports, and exits 1 if there are any.
#
#   bash bench/bench_sanitizers.sh [address|thread ...]      (default: both, one after the other)
# Environment: WORK (/tmp/secateur-sanitizers), FILTER (a `swift test --filter` pattern),
# SKIP_BUILD=1, JOBS (build jobs, default 2), SECATEUR_DATA (../shared/data).
#
# OpenBLAS is not instrumented: ASan checks our side of every BLAS call (Swift and the C decode
# kernels), not the accesses inside the library; TSan sees our threads (WorkerPool, Dispatch) and
# the buffers they share, not OpenBLAS's own threads (BLAS runs single-threaded here anyway).
set -uo pipefail
cd "$(dirname "$0")/.."
export SECATEUR_DATA="${SECATEUR_DATA:-$(cd .. && pwd)/shared/data}"
WORK=${WORK:-/tmp/secateur-sanitizers}
SANITIZERS=("$@")
[ ${#SANITIZERS[@]} -gt 0 ] || SANITIZERS=(address thread)
status=0
for s in "${SANITIZERS[@]}"; do
  case "$s" in address|thread) ;; *) echo "unknown sanitizer '$s' (address or thread)"; exit 2 ;; esac
  build="$WORK/build-$s"; reports="$WORK/$s"
  mkdir -p "$build"; rm -rf "$reports"; mkdir -p "$reports"
  flags=(-c release -Xswiftc -enable-testing -Xswiftc -DSECATEUR_SANITIZER_PROBES --sanitize="$s" --build-path "$build")
  if [ -z "${SKIP_BUILD:-}" ]; then
    start=$(date +%s)
    if ! swift build "${flags[@]}" --build-tests -j "${JOBS:-2}" >"$WORK/build-$s.log" 2>&1; then
      tail -n 30 "$WORK/build-$s.log"; echo "$s: the build failed (log: $WORK/build-$s.log)"; exit 1
    fi
    echo "$s: built in $(( $(date +%s) - start )) s"
  fi
  # The CLI tests start the sanitized binary of the same build.
  export SECATEUR_BIN="$build/release/secateur"
  # Reports go to files (one per process, named by pid) so those of the CLI's child processes
  # are counted too. ASan stops a process at its first report (its default); TSan goes on and
  # reports every race it sees. Leak checking stays on, less the toolchain's own leaks
  # (bench/lsan-suppressions.txt).
  export ASAN_OPTIONS="log_path=$reports/report:detect_leaks=1:malloc_context_size=100"
  export LSAN_OPTIONS="suppressions=$PWD/bench/lsan-suppressions.txt:print_suppressions=0"
  export TSAN_OPTIONS="log_path=$reports/report:halt_on_error=0:second_deadlock_stack=1"
  start=$(date +%s)
  args=(); [ -n "${FILTER:-}" ] && args=(--filter "$FILTER")
  swift test "${flags[@]}" --skip-build "${args[@]}" >"$WORK/test-$s.log" 2>&1
  test_status=$?
  summary=$(grep -E "Executed [0-9]+ tests?, with" "$WORK/test-$s.log" | tail -n 1)
  n=$(cat "$reports"/report.* 2>/dev/null | grep -cE "^(==[0-9]+==ERROR: |WARNING: ThreadSanitizer:)" || true)
  echo "$s: ${summary:-no summary (see $WORK/test-$s.log)}; test exit $test_status; $(ls "$reports" | wc -l) report files, $n report lines; $(( $(date +%s) - start )) s"
  if [ "$test_status" -ne 0 ] || [ "$(ls "$reports" | wc -l)" -ne 0 ]; then status=1; fi
done
exit $status
