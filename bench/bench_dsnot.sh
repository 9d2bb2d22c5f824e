#!/usr/bin/env bash
# DSnoT on SmolLM2-135M (issue 17, done-means 3): Secateur's Wanda and Wanda + DSnoT at 50 % and 70 %,
# and DSnoT's own code (zyxxmu/DSnoT `prune_DSnoT`, imported by bench/wanda_reference.py, float32 on
# CPU) on the same C4 calibration windows; WikiText-2 perplexity 16 × 2048 for each, and the share of
# layer-0 mask positions where Secateur's DSnoT and the reference's agree.
#
# Run from the package root:   bash bench/bench_dsnot.sh
# Needs a checkout of zyxxmu/DSnoT at DSNOT_DIR (default /tmp/dsnot) and python with torch,
# transformers, gguf, safetensors. Environment (optional): SECATEUR_BIN, NSAMPLES (8), SEQLEN (1024),
# WINDOWS (16), SPARSITIES ("0.5 0.7"), PYTHON, BENCH_OUT, SECATEUR_DATA, THREADS (2).
# Checks: DSnoT ppl ≤ Wanda ppl, and |ppl − ppl_ref| / ppl_ref ≤ 2 %. Exit 0 all PASS, 1 a FAIL, 2 a tool failed.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SECATEUR_BIN="${SECATEUR_BIN:-.build/release/secateur}"
NSAMPLES="${NSAMPLES:-8}"; SEQLEN="${SEQLEN:-1024}"; WINDOWS="${WINDOWS:-16}"; THREADS="${THREADS:-2}"
SPARSITIES="${SPARSITIES:-0.5 0.7}"
PYTHON="${PYTHON:-python3}"
DSNOT_DIR="${DSNOT_DIR:-/tmp/dsnot}"
export SECATEUR_DATA="${SECATEUR_DATA:-/work/shared/data}"
REF_GGUF="${REF_GGUF:-$HOME/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf}"
CALIB="${CALIB_DIR:-$HOME/.cache/secateur/calib}/c4_${NSAMPLES}x${SEQLEN}_seed0.i32"
BENCH_OUT="${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench_dsnot.XXXXXX")}"
mkdir -p "$BENCH_OUT" "$(dirname "$CALIB")"
if [[ ! -s "$CALIB" ]]; then
  "$PYTHON" "$SCRIPT_DIR/make_calib_tokens.py" --nsamples "$NSAMPLES" --seqlen "$SEQLEN" --seed 0 \
    --gguf "$REF_GGUF" --out "$CALIB" > "$CALIB.json" || { echo "bench_dsnot: make_calib_tokens failed" >&2; exit 2; }
fi
echo "bench_dsnot: calibration ${NSAMPLES}x${SEQLEN}, eval WikiText-2 ${WINDOWS}x2048, out $BENCH_OUT" >&2
for s in $SPARSITIES; do
  for method in wanda dsnot; do
    tag="${method}_${s}"
    "$SECATEUR_BIN" prune --model smollm2-135m --method "$method" --sparsity "$s" --threads "$THREADS" \
        --calib-tokens "$CALIB" --nsamples "$NSAMPLES" --seqlen "$SEQLEN" --output "$BENCH_OUT/$tag" \
        --json > "$BENCH_OUT/$tag.json" 2> "$BENCH_OUT/$tag.log" || { echo "bench_dsnot: $tag failed ($BENCH_OUT/$tag.log)" >&2; exit 2; }
    "$SECATEUR_BIN" eval ppl --model "$BENCH_OUT/$tag" --dataset wikitext2 --windows "$WINDOWS" --threads "$THREADS" --json \
        > "$BENCH_OUT/$tag.ppl.json" 2>> "$BENCH_OUT/$tag.log" || { echo "bench_dsnot: $tag eval failed" >&2; exit 2; }
    if [[ $method == dsnot ]]; then
      "$PYTHON" - "$BENCH_OUT/$tag" > "$BENCH_OUT/$tag.layer0.json" <<'PY'
import json, sys
from safetensors.numpy import load_file
import glob, numpy as np
out = {}
for f in glob.glob(sys.argv[1] + "/*.safetensors"):
    for k, v in load_file(f).items():
        if k.startswith("model.layers.0.") and k.endswith("_proj.weight"):
            out[k] = (v == 0).astype(np.uint8).ravel().tolist()
json.dump(out, open(sys.argv[1] + ".layer0.masks.json", "w"))
print(json.dumps({"tensors": len(out)}))
PY
    fi
    rm -rf "${BENCH_OUT:?}/$tag"
    echo "done $tag" >&2
  done
  OMP_NUM_THREADS="$THREADS" "$PYTHON" "$SCRIPT_DIR/wanda_reference.py" --method dsnot --sparsity "$s" --calib-tokens "$CALIB" \
      --nsamples "$NSAMPLES" --seqlen "$SEQLEN" --eval-windows "$WINDOWS" --threads "$THREADS" --dsnot-dir "$DSNOT_DIR" \
      --out "$BENCH_OUT/ref_$s" > "$BENCH_OUT/ref_$s.json" 2> "$BENCH_OUT/ref_$s.log" \
    || { echo "bench_dsnot: reference failed ($BENCH_OUT/ref_$s.log)" >&2; exit 2; }
  echo "done ref_$s" >&2
done
"$PYTHON" - "$BENCH_OUT" $SPARSITIES <<'PY'
import json, sys, os
from safetensors.numpy import load_file
out, sps = sys.argv[1], sys.argv[2:]
ppl = lambda p: json.load(open(p))["metrics"]["perplexity"][0]["value"]
ok = True
print("| sparsity | Wanda ppl | DSnoT ppl (Secateur) | DSnoT ppl (reference code) | Δ vs reference | layer-0 mask agreement | DSnoT swaps | check |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for s in sps:
    w, d = ppl(f"{out}/wanda_{s}.ppl.json"), ppl(f"{out}/dsnot_{s}.ppl.json")
    ref = json.load(open(f"{out}/ref_{s}.json"))
    r = ref["ppl"]
    ours = json.load(open(f"{out}/dsnot_{s}.layer0.masks.json"))
    theirs = load_file(f"{out}/ref_{s}/masks_layer0.safetensors")
    agree = total = 0
    for k, v in theirs.items():
        a = ours[k]; b = v.ravel().tolist()
        agree += sum(x == y for x, y in zip(a, b)); total += len(b)
    rec = json.load(open(f"{out}/dsnot_{s}.json"))
    swaps = rec.get("dsnot_swaps", "")
    good = d <= w and abs(d - r) / r <= 0.02
    ok &= good
    print(f"| {s} | {w:.2f} | {d:.2f} | {r:.2f} | {100 * (d - r) / r:+.2f} % | {100 * agree / max(total, 1):.3f} % | {swaps} | {'PASS' if good else 'FAIL'} |")
sys.exit(0 if ok else 1)
PY
