#!/usr/bin/env bash
# Exported models in llama.cpp (issue 13): SmolLM2-135M dense, Wanda 2:4 and structured
# Taylor 30 % (layers 4-27: non-uniform, GGUF `deci`) exported by `secateur export`, loaded
# and run by llama-cpp-python built from the PyPI sdist (bench/export_llamacpp.py):
#   1. each loads and generates; llama.cpp's perplexity from its own logits on the first
#      WINDOWS WikiText-2 windows of 2048 vs Secateur's `eval ppl` on the same GGUF file
#      (goal: within 1 % at F32, 2 % at Q8_0);
#   Calibration is small (Wanda 8 × 1024 C4 tokens, Taylor CALIB_WINDOWS × 64): the point is the
#   runtimes agreeing on the same files, not the pruned models' quality.
#   2. speed in llama.cpp, 2 threads, prompt 128, 128 decoded tokens, median of 5: the
#      structured export vs the dense export of the same tensor type (F16 and Q8_0; goal
#      >= 1.3x prefill and decode); file sizes.
# Timing runs one after the other; run nothing else beside it.
#
#   PYTHON=/work/venv/bin/python bash bench/bench_export_llamacpp.sh
# Environment: PYTHON (python3, with llama_cpp, tokenizers, numpy), SECATEUR_BIN, WORK (scratch
# folder, default /tmp/secateur-export-bench), WINDOWS (4), CALIB_WINDOWS (32), SECATEUR_DATA,
# PPL=0 (export the files and time them, skipping the perplexity table).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
BIN=${SECATEUR_BIN:-.build/release/secateur}
WORK=${WORK:-/tmp/secateur-export-bench}
WINDOWS=${WINDOWS:-4}
CALIB=${CALIB_WINDOWS:-32}
export SECATEUR_DATA=${SECATEUR_DATA:-$(cd .. && pwd)/shared/data}
mkdir -p "$WORK"
"$PY" -c "import llama_cpp, tokenizers, numpy" || { echo "needs llama-cpp-python, tokenizers, numpy" >&2; exit 1; }

# The WikiText-2 text exactly as Secateur's wanda protocol joins it (rows, blank rows emptied, "\n\n").
"$PY" - "$SECATEUR_DATA/wikitext2/wiki.test.raw" "$WORK/wikitext2.txt" <<'PYEOF'
import sys
rows = []
with open(sys.argv[1], encoding="utf-8", newline="") as f:
    for line in f:
        rows.append("" if line.strip() == "" else line)
open(sys.argv[2], "w", encoding="utf-8", newline="").write("\n\n".join(rows))
PYEOF

[ -d "$WORK/wanda24" ] || "$BIN" prune --method wanda --pattern 2:4 --nsamples 8 --seqlen 1024 --output "$WORK/wanda24" >&2
[ -d "$WORK/taylor30" ] || "$BIN" prune --structured --method taylor --ratio 0.3 --attn-layers 4-27 --mlp-layers 4-27 \
    --calib-windows "$CALIB" --output "$WORK/taylor30" >&2
[ -d "$WORK/dense-hf" ] || "$BIN" export --format hf --output "$WORK/dense-hf" >&2   # its tokenizer.json tokenizes for llama.cpp

declare -A SRC=([dense]=smollm2-135m [wanda24]="$WORK/wanda24" [taylor30]="$WORK/taylor30")
echo "| model | type | arch | MiB | Secateur ppl | llama.cpp ppl | Δ | generates |"
echo "|---|---|---|---:|---:|---:|---:|---|"
for m in dense wanda24 taylor30; do
  for t in f32 q8_0 f16; do
    out="$WORK/$m-$t.gguf"
    arch=$("$BIN" export --model "${SRC[$m]}" --format gguf --dtype "$t" --output "$out" --json \
           | "$PY" -c "import json,sys; print(json.load(sys.stdin)['architecture'])")
    [ "$t" = f16 ] || [ "${PPL:-1}" = 0 ] && continue
    ours=$("$BIN" eval ppl --model "$out" --dataset wikitext2 --windows "$WINDOWS" --json \
           | "$PY" -c "import json,sys; j=json.load(sys.stdin); print(j.get('ppl') or j['metrics']['perplexity'][0]['value'])")
    theirs=$("$PY" bench/export_llamacpp.py ppl --gguf "$out" --tokenizer "$WORK/dense-hf" --text "$WORK/wikitext2.txt" --windows "$WINDOWS")
    "$PY" - "$m" "$t" "$arch" "$out" "$ours" "$theirs" <<'PYEOF'
import json, os, sys
m, t, arch, path, ours, theirs = sys.argv[1:]
j = json.loads(theirs); ours = float(ours)
print(f"| {m} | {t} | {arch} | {os.path.getsize(path)/2**20:.1f} | {ours:.3f} | {j['ppl']:.3f} | {100*(j['ppl']/ours-1):+.2f} % | {j['generated']!r} |")
PYEOF
  done
done

echo
echo "| type | model | MiB | prefill tok/s | decode tok/s | prefill vs dense | decode vs dense |"
echo "|---|---|---:|---:|---:|---:|---:|"
for t in f16 q8_0; do
  d=$("$PY" bench/export_llamacpp.py speed --gguf "$WORK/dense-$t.gguf")
  s=$("$PY" bench/export_llamacpp.py speed --gguf "$WORK/taylor30-$t.gguf")
  "$PY" - "$t" "$d" "$s" <<'PYEOF'
import json, sys
t, d, s = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
for name, j in [("dense", d), ("taylor30 (deci)", s)]:
    print(f"| {t} | {name} | {j['bytes']/2**20:.1f} | {j['prefill_tok_s']:.1f} | {j['decode_tok_s']:.1f} | "
          f"{j['prefill_tok_s']/d['prefill_tok_s']:.2f}x | {j['decode_tok_s']/d['decode_tok_s']:.2f}x |")
PYEOF
done
