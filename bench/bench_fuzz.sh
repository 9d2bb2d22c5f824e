#!/usr/bin/env bash
# Fuzzing (issue 18): builds the libFuzzer harnesses of fuzz/ (AddressSanitizer, release) and
# runs each for 10^6 executions from the committed seed corpus, 1 s hang threshold, one
# harness at a time. Prints per harness: executions, exec/s, crashes, hangs, corpus size.
# Crash and hang inputs are kept under $WORK/<harness>/ (default /tmp/secateur-fuzz-bench).
#
#   bash bench/bench_fuzz.sh [harness ...]
# Environment: RUNS (1000000), TIMEOUT (1), WORK (/tmp/secateur-fuzz-bench), SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUNS=${RUNS:-1000000}
export WORK=${WORK:-/tmp/secateur-fuzz-bench}
exec bash fuzz/run.sh "$@"
