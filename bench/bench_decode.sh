#!/usr/bin/env bash
# Batch-1 decode against llama.cpp and the memory-bandwidth bound (issue 15), one run, one
# machine, one model after the other (nothing else may run beside it):
#   1. `secateur bench memory`: the machine's read bandwidth.
#   2. llama.cpp (llama-cpp-python built from the PyPI sdist; bench/export_llamacpp.py speed):
#      SmolLM2-135M in F32 and Q8_0 (written by `secateur export`, the same weights) and the
#      GGUF's own Q4_1 file; 2 threads, prompt 128, 128 decoded tokens, median of 5.
#   3. `secateur bench model` with the same settings: --weights f32, f16, bf16, q8_0, native
#      (the Q4_1 blocks as stored); Wanda 2:4 and Wanda 70 % unstructured in sparse storage,
#      and Wanda 2:4 with its kept values in Q8_0 blocks (--weights q8_0).
#   4. PPL=1 adds WikiText-2 perplexity (16 × 2048) of f32, f16, bf16, q8_0 and native.
# Prints one table (tok/s, ratio to llama.cpp, ratio to our dense of the same value type,
# fraction of the bandwidth bound) and writes every JSON to $WORK.
#
#   PYTHON=/work/venv/bin/python bash bench/bench_decode.sh
# Environment: PYTHON (python3 with llama_cpp, numpy), SECATEUR_BIN, WORK (scratch folder),
#   REPEATS (5), PROMPT (128), DECODE (128), THREADS (2), PPL (0), SKIP_LLAMACPP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
BIN=${SECATEUR_BIN:-.build/release/secateur}
WORK=${WORK:-/tmp/secateur-decode-bench}
REPEATS=${REPEATS:-5}; PROMPT=${PROMPT:-128}; DECODE=${DECODE:-128}; THREADS=${THREADS:-2}
export SECATEUR_DATA=${SECATEUR_DATA:-$(cd .. && pwd)/shared/data}
mkdir -p "$WORK"
Q41=$("$BIN" info --model smollm2-135m --json | "$PY" -c "import json,sys; print(json.load(sys.stdin)['model']['source_path'])")

# Models (not timed).
[ -f "$WORK/dense-f32.gguf" ] || "$BIN" export --format gguf --dtype f32 --output "$WORK/dense-f32.gguf" >&2
[ -f "$WORK/dense-q8_0.gguf" ] || "$BIN" export --format gguf --dtype q8_0 --output "$WORK/dense-q8_0.gguf" >&2
[ -d "$WORK/wanda24" ] || "$BIN" prune --method wanda --pattern 2:4 --nsamples 8 --seqlen 1024 --output "$WORK/wanda24" >&2
[ -d "$WORK/wanda70" ] || "$BIN" prune --method wanda --sparsity 0.7 --nsamples 8 --seqlen 1024 --output "$WORK/wanda70" >&2

"$BIN" bench memory --threads "$THREADS" --json > "$WORK/memory.json"

if [ "${SKIP_LLAMACPP:-0}" != 1 ]; then
  "$PY" -c "import llama_cpp, numpy" || { echo "needs llama-cpp-python and numpy (or SKIP_LLAMACPP=1)" >&2; exit 1; }
  for t in f32 q8_0; do
    "$PY" bench/export_llamacpp.py speed --gguf "$WORK/dense-$t.gguf" --prompt "$PROMPT" --decode "$DECODE" \
      --repeats "$REPEATS" --threads "$THREADS" > "$WORK/llamacpp-$t.json"
  done
  "$PY" bench/export_llamacpp.py speed --gguf "$Q41" --prompt "$PROMPT" --decode "$DECODE" \
    --repeats "$REPEATS" --threads "$THREADS" > "$WORK/llamacpp-q4_1.json"
fi

ours() {  # label, model, extra args...
  local label=$1 model=$2; shift 2
  "$BIN" bench model --model "$model" --prompt-length "$PROMPT" --decode-tokens "$DECODE" --repetitions "$REPEATS" \
    --threads "$THREADS" --json "$@" > "$WORK/ours-$label.json"
  echo "bench_decode: $label done" >&2
}
ours f32 smollm2-135m --weights f32 --sparse-format dense
ours f16 smollm2-135m --weights f16 --sparse-format dense
ours bf16 smollm2-135m --weights bf16 --sparse-format dense
ours q8_0 smollm2-135m --weights q8_0 --sparse-format dense
ours native smollm2-135m --weights native --sparse-format dense
ours wanda24 "$WORK/wanda24" --sparse-format nm
ours wanda70 "$WORK/wanda70" --sparse-format auto
# 2:4 with 8-bit values: the packed 2:4 storage re-encodes its kept values (CSR keeps float32).
ours wanda24-8bit "$WORK/wanda24" --sparse-format nm --weights q8_0
ours wanda24-f16 "$WORK/wanda24" --sparse-format nm --weights f16

if [ "${PPL:-0}" = 1 ]; then
  for w in f32 f16 bf16 q8_0 native; do
    "$BIN" eval ppl --model smollm2-135m --windows 16 --threads "$THREADS" --weights "$w" --json > "$WORK/ppl-$w.json"
  done
  # The decode pass (one token at a time: 8-bit activations in the block kernels) against
  # llama.cpp's perplexity on the same files, 4 windows of 2048.
  for w in q8_0 native; do
    "$BIN" eval ppl --model smollm2-135m --windows 4 --threads "$THREADS" --weights "$w" --pass decode --json > "$WORK/ppl-decode-$w.json"
  done
  if [ "${SKIP_LLAMACPP:-0}" != 1 ]; then
    [ -d "$WORK/dense-hf" ] || "$BIN" export --format hf --output "$WORK/dense-hf" >&2   # its tokenizer.json
    "$PY" - "$SECATEUR_DATA/wikitext2/wiki.test.raw" "$WORK/wikitext2.txt" <<'PYEOF'
import sys   # the text as the wanda protocol joins it (bench/bench_export_llamacpp.sh)
rows = ["" if l.strip() == "" else l for l in open(sys.argv[1], encoding="utf-8", newline="")]
open(sys.argv[2], "w", encoding="utf-8", newline="").write("\n\n".join(rows))
PYEOF
    "$PY" bench/export_llamacpp.py ppl --gguf "$WORK/dense-q8_0.gguf" --tokenizer "$WORK/dense-hf" --text "$WORK/wikitext2.txt" \
      --windows 4 --threads "$THREADS" > "$WORK/llamacpp-ppl-q8_0.json"
    "$PY" bench/export_llamacpp.py ppl --gguf "$Q41" --tokenizer "$WORK/dense-hf" --text "$WORK/wikitext2.txt" \
      --windows 4 --threads "$THREADS" > "$WORK/llamacpp-ppl-native.json"
  fi
fi

"$PY" - "$WORK" <<'PY'
import json, os, sys
w = sys.argv[1]
def load(n):
    p = f"{w}/{n}.json"
    return json.load(open(p)) if os.path.exists(p) else None
mem = load("memory")
print(f"memory read bandwidth {mem['read_gb_per_s']:.1f} GB/s (triad {mem['triad_gb_per_s']:.1f}), {mem['threads']} threads")
lc = {t: load(f"llamacpp-{t}") for t in ("f32", "q8_0", "q4_1")}
rows = [("f32", "dense F32", "f32"), ("f16", "dense F16", None), ("bf16", "dense BF16", None),
        ("q8_0", "dense Q8_0", "q8_0"), ("native", "dense Q4_1 (native)", "q4_1"),
        ("wanda24", "Wanda 2:4", None), ("wanda70", "Wanda 70 %", None),
        ("wanda24-8bit", "Wanda 2:4, 8-bit values", "q8_0"), ("wanda24-f16", "Wanda 2:4, 16-bit values", None)]
print("| model | MB/token | bound tok/s | decode tok/s (min–max) | % of bound | llama.cpp tok/s | ours ÷ llama.cpp | prefill tok/s | llama.cpp prefill |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
base = {}
for key, name, ref in rows:
    r = load(f"ours-{key}")
    if r is None: continue
    bpt = r["decode_bytes_per_token"] / 1e6
    rec = r
    d = rec["decode_tokens_per_second"]; base[key] = d
    l = lc.get(ref) if ref else None
    lt = f"{l['decode_tok_s']:.1f}" if l else "—"
    ratio = f"**{d / l['decode_tok_s']:.2f}×**" if l else "—"
    lp = f"{l['prefill_tok_s']:.1f}" if l else "—"
    print(f"| {name} | {bpt:.1f} | {rec['decode_bound_tokens_per_second']:.1f} | {d:.1f} ({rec['decode_tokens_per_second_min']:.1f}–{rec['decode_tokens_per_second_max']:.1f}) "
          f"| {100 * rec['decode_fraction_of_bound']:.0f} % | {lt} | {ratio} | {rec['prefill_tokens_per_second']:.1f} | {lp} |")
for key, over, name in [("wanda24", "f32", "Wanda 2:4 ÷ dense F32"), ("wanda70", "f32", "Wanda 70 % ÷ dense F32"),
                        ("wanda24-8bit", "q8_0", "Wanda 2:4 8-bit ÷ dense Q8_0"), ("wanda24-f16", "f16", "Wanda 2:4 16-bit ÷ dense F16")]:
    if key in base and over in base:
        print(f"- {name}: {base[key] / base[over]:.2f}×")
ppl = {k: load(f"ppl-{k}") for k in ("f32", "f16", "bf16", "q8_0", "native")}
if ppl["f32"]:
    f = ppl["f32"]["ppl"]
    for k, v in ppl.items():
        if v: print(f"- ppl {k}: {v['ppl']:.4f} ({100 * (v['ppl'] / f - 1):+.3f} % vs f32)")
for k in ("q8_0", "native"):
    ours, theirs = load(f"ppl-decode-{k}"), load(f"llamacpp-ppl-{k}")
    if ours:
        o = ours["ppl"]
        t = f", llama.cpp {theirs['ppl']:.4f} ({100 * (o / theirs['ppl'] - 1):+.3f} %)" if theirs else ""
        print(f"- decode-pass ppl {k} (4 × 2048): {o:.4f}{t}")
PY
