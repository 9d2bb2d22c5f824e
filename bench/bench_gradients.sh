#!/usr/bin/env bash
# Backward-pass benchmark: Secateur's LlamaModel.gradients vs transformers' loss.backward()
# (PyTorch CPU, float32), in one run on the same machine, same GGUF, same windows.
# Prints, per window length, both times per window, their ratio, the loss of each and the
# largest per-tensor max|Δ|/max|g_ref| over the gradients the reference kept.
#
# Run from the package root:   bash bench/bench_gradients.sh
# Environment (optional): REF_GGUF (default the smollm2-135m GGUF in the model cache),
#   LENGTHS (default 64,256), THREADS (torch threads, default 2), PYTHON (default python3),
#   BENCH_OUT (folder for the reference file and logs; default a new temp folder).
# The Secateur side is GradientSmolLM2Tests.testMatchesTransformersOnSmolLM2, run in release.
set -euo pipefail
REF_GGUF="${REF_GGUF:-$HOME/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf}"
LENGTHS="${LENGTHS:-64,256}"
THREADS="${THREADS:-2}"
PYTHON="${PYTHON:-python3}"
BENCH_OUT="${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench_gradients.XXXXXX")}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$BENCH_OUT"
echo "== machine: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"
echo "== (b) transformers reference"
"$PYTHON" "$SCRIPT_DIR/gradients_reference.py" --gguf "$REF_GGUF" --lengths "$LENGTHS" --threads "$THREADS" \
  --out "$BENCH_OUT/reference.safetensors" 2> "$BENCH_OUT/reference.log"
echo "== (a) Secateur (release test build)"
SECATEUR_GRADIENT_REFERENCE="$BENCH_OUT/reference.safetensors" SECATEUR_GGUF="$REF_GGUF" \
  swift test -c release -Xswiftc -enable-testing --filter GradientSmolLM2Tests/testMatchesTransformersOnSmolLM2 \
  2> "$BENCH_OUT/secateur.log" | tee "$BENCH_OUT/secateur.out" | grep -E "^(secateur|ratio|  )" || {
    echo "bench_gradients: the Secateur side failed; see $BENCH_OUT/secateur.out" >&2; exit 2; }
grep -q "passed" "$BENCH_OUT/secateur.out" || { echo "bench_gradients: checks FAILED (see $BENCH_OUT/secateur.out)" >&2; exit 1; }
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"
