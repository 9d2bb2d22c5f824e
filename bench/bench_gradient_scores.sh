#!/usr/bin/env bash
# Gradient-based and entropy scores beside Wanda (issue 17, done-means 2): SmolLM2-135M pruned to
# 50 % (per row) and 2:4 by wanda, gradient, taylor, gblm and entropy on the same C4 calibration
# windows, each evaluated on WikiText-2 (16 × 2048, the Wanda protocol). One run at a time.
#
# Run from the package root:   bash bench/bench_gradient_scores.sh
# Environment (optional): SECATEUR_BIN (default .build/release/secateur), NSAMPLES (8), SEQLEN (1024),
#   SEED (0), WINDOWS (16), METHODS (default "wanda gradient taylor gblm entropy"), PATTERNS
#   (default "unstructured 2:4"), PYTHON (python3, with transformers + gguf to make the calibration
#   tokens once), BENCH_OUT (default a new temp folder), SECATEUR_DATA (default /work/shared/data).
# Prints a markdown table: method, pattern, sparsity achieved, WikiText-2 ppl, prune seconds, peak RSS.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SECATEUR_BIN="${SECATEUR_BIN:-.build/release/secateur}"
NSAMPLES="${NSAMPLES:-8}"; SEQLEN="${SEQLEN:-1024}"; SEED="${SEED:-0}"; WINDOWS="${WINDOWS:-16}"
METHODS="${METHODS:-wanda gradient taylor gblm entropy}"
PATTERNS="${PATTERNS:-unstructured 2:4}"
PYTHON="${PYTHON:-python3}"
export SECATEUR_DATA="${SECATEUR_DATA:-/work/shared/data}"
REF_GGUF="${REF_GGUF:-$HOME/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf}"
CALIB_DIR="${CALIB_DIR:-$HOME/.cache/secateur/calib}"
BENCH_OUT="${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench_gradient_scores.XXXXXX")}"
mkdir -p "$BENCH_OUT" "$CALIB_DIR"
CALIB="$CALIB_DIR/c4_${NSAMPLES}x${SEQLEN}_seed${SEED}.i32"
if [[ ! -s "$CALIB" ]]; then
  "$PYTHON" "$SCRIPT_DIR/make_calib_tokens.py" --nsamples "$NSAMPLES" --seqlen "$SEQLEN" --seed "$SEED" \
    --gguf "$REF_GGUF" --out "$CALIB" > "$CALIB.json" || { echo "bench_gradient_scores: make_calib_tokens failed" >&2; exit 2; }
fi
echo "bench_gradient_scores: calibration ${NSAMPLES}x${SEQLEN} (C4, seed $SEED), eval WikiText-2 ${WINDOWS}x2048; out $BENCH_OUT" >&2
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$SECATEUR_BIN" eval ppl --model smollm2-135m --dataset wikitext2 --windows "$WINDOWS" --json > "$BENCH_OUT/dense.json" 2> "$BENCH_OUT/dense.log" \
  || { echo "bench_gradient_scores: dense eval failed; see $BENCH_OUT/dense.log" >&2; exit 2; }
for pattern in $PATTERNS; do
  for method in $METHODS; do
    tag="${method}_${pattern/:/of}"
    "$SECATEUR_BIN" prune --model smollm2-135m --method "$method" --pattern "$pattern" --sparsity 0.5 \
        --calib-tokens "$CALIB" --nsamples "$NSAMPLES" --seqlen "$SEQLEN" --output "$BENCH_OUT/$tag" \
        --json > "$BENCH_OUT/$tag.json" 2> "$BENCH_OUT/$tag.log" \
      || { echo "bench_gradient_scores: $tag failed; see $BENCH_OUT/$tag.log" >&2; exit 2; }
    "$SECATEUR_BIN" eval ppl --model "$BENCH_OUT/$tag" --dataset wikitext2 --windows "$WINDOWS" --json \
        > "$BENCH_OUT/$tag.ppl.json" 2>> "$BENCH_OUT/$tag.log" \
      || { echo "bench_gradient_scores: $tag eval failed; see $BENCH_OUT/$tag.log" >&2; exit 2; }
    rm -rf "${BENCH_OUT:?}/$tag"
    echo "done $tag" >&2
  done
done
"$PYTHON" - "$BENCH_OUT" $PATTERNS -- $METHODS <<'PY'
import json, sys, os
out = sys.argv[1]; rest = sys.argv[2:]; k = rest.index("--")
patterns, methods = rest[:k], rest[k + 1:]
def ppl(path):
    return json.load(open(path))["metrics"]["perplexity"][0]["value"]
print(f"dense WikiText-2 ppl: {ppl(os.path.join(out, 'dense.json')):.2f}\n")
print("| method | pattern | sparsity (prunable) | WikiText-2 ppl | prune s (gradients s) | peak RSS MB |")
print("|---|---|---:|---:|---:|---:|")
for p in patterns:
    for m in methods:
        tag = f"{m}_{p.replace(':', 'of')}"
        r = json.load(open(os.path.join(out, tag + ".json")))
        ph = r["seconds_by_phase"]
        prune = sum(v for k, v in ph.items() if k.startswith("prune."))
        grad = ph.get("prune.gradients")
        print(f"| {m} | {p} | {r['sparsity_achieved']:.4f} | {ppl(os.path.join(out, tag + '.ppl.json')):.2f} | "
              f"{prune:.0f}{f' ({grad:.0f})' if grad else ''} | {r['peak_rss_mb']:.0f} |")
PY
