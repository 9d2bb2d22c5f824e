#!/usr/bin/env bash
# Structured pruning: the LLM-Pruner reference code (bench/llmpruner_reference.py, which imports
# github.com/horseee/LLM-Pruner from $LLM_PRUNER_DIR) vs `secateur prune --structured --ratio-mode layer`
# (LLM-Pruner's per-layer meaning of the ratio), block-wise on the same layers, same model, same
# WikiText-2 windows; prints both perplexities and parameter counts.
#
# Run from the package root:   bash bench/bench_llmpruner.sh [taylor|l2|l1|random]
#
# Environment (all optional):
#   SECATEUR_BIN    secateur binary             (default .build/release/secateur)
#   MODEL           secateur model              (default smollm2-135m)
#   REF_GGUF        GGUF for the reference      (default ~/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf)
#   LLM_PRUNER_DIR  extracted LLM-Pruner snapshot (default /tmp/llm-pruner)
#   RATIO           per-layer pruning ratio     (default 0.2)
#   LAYERS          first-last pruned layer, inclusive (default 4-27: LLM-Pruner's 4..<30 of 32 scaled to 30)
#   WINDOWS         eval windows of 2048 tokens (default 16)
#   THREADS         threads for both tools      (default 2)
#   PYTHON          (default python3)
#   BENCH_OUT       output folder (default: a new temp folder): reference.json, secateur.json, logs
#   SKIP_REF=1 / SKIP_SECATEUR=1   reuse the JSON already in $BENCH_OUT
#
# Exit status: 0 both ran, 2 a tool failed or its output could not be read.
set -euo pipefail

METHOD="${1:-taylor}"
case "$METHOD" in taylor|l2|l1|random) ;; *) echo "usage: bench/bench_llmpruner.sh [taylor|l2|l1|random]" >&2; exit 2;; esac
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SECATEUR_BIN="${SECATEUR_BIN:-.build/release/secateur}"
MODEL="${MODEL:-smollm2-135m}"
REF_GGUF="${REF_GGUF:-$HOME/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf}"
LLM_PRUNER_DIR="${LLM_PRUNER_DIR:-/tmp/llm-pruner}"
RATIO="${RATIO:-0.2}"
LAYERS="${LAYERS:-4-27}"
WINDOWS="${WINDOWS:-16}"
THREADS="${THREADS:-2}"
PYTHON="${PYTHON:-python3}"
BENCH_OUT="${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench_llmpruner.XXXXXX")}"
mkdir -p "$BENCH_OUT"
FIRST="${LAYERS%-*}"; LAST="${LAYERS#*-}"
echo "bench_llmpruner: $METHOD, per-layer ratio $RATIO, layers $FIRST-$LAST, $WINDOWS windows; output in $BENCH_OUT" >&2

if [[ "${SKIP_REF:-0}" != 1 ]]; then
  "$PYTHON" "$SCRIPT_DIR/llmpruner_reference.py" --gguf "$REF_GGUF" --llm-pruner-dir "$LLM_PRUNER_DIR" \
    --pruner-type "$METHOD" --pruning-ratio "$RATIO" --layer-start "$FIRST" --layer-end "$((LAST + 1))" \
    --windows "$WINDOWS" --threads "$THREADS" > "$BENCH_OUT/reference.json" 2> "$BENCH_OUT/reference.log" \
    || { echo "bench_llmpruner: reference failed; see $BENCH_OUT/reference.log" >&2; tail -5 "$BENCH_OUT/reference.log" >&2; exit 2; }
fi
if [[ "${SKIP_SECATEUR:-0}" != 1 ]]; then
  "$SECATEUR_BIN" prune --model "$MODEL" --structured --method "$METHOD" --ratio "$RATIO" --ratio-mode layer \
    --attn-layers "$LAYERS" --mlp-layers "$LAYERS" --eval wikitext2 --windows "$WINDOWS" --threads "$THREADS" \
    --json > "$BENCH_OUT/secateur.json" 2> "$BENCH_OUT/secateur.log" \
    || { echo "bench_llmpruner: secateur failed; see $BENCH_OUT/secateur.log" >&2; tail -5 "$BENCH_OUT/secateur.log" >&2; exit 2; }
fi

jq -e . "$BENCH_OUT/reference.json" > /dev/null && jq -e . "$BENCH_OUT/secateur.json" > /dev/null \
  || { echo "bench_llmpruner: unreadable JSON in $BENCH_OUT" >&2; exit 2; }
jq -r '"reference (LLM-Pruner \(.pruner_type) \(.taylor // "")): params \(.params_before) -> \(.params_after) (GQA-equivalent; ratio \(.ratio_actual * 100 | . * 100 | round / 100) %), expanded-MHA model \(.params_before_expanded) -> \(.params_after_expanded) (\(.ratio_actual_expanded * 100 | . * 100 | round / 100) %); ppl \(.ppl_pruned) over \(.windows) windows; prune \(.prune_seconds | round) s"' \
  "$BENCH_OUT/reference.json"
jq -r '"secateur (\(.method), --ratio-mode layer): params \(.params_before) -> \(.params_after) (ratio \(.ratio_actual * 100 | . * 100 | round / 100) %); ppl dense \([.metrics.perplexity[] | select(.stage == \"dense\") | .value][0]), pruned \([.metrics.perplexity[] | select(.stage == \"pruned\") | .value][0]); prune \(.seconds) s"' \
  "$BENCH_OUT/secateur.json"
