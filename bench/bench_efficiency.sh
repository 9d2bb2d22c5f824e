#!/usr/bin/env bash
# Efficiency benchmark: prunes SmolLM2-135M three ways (Wanda 50 %, Wanda 2:4, Wanda 70 %
# unstructured; structured 30 % when this secateur has `prune --structured`) and runs
# `secateur bench model` on the dense model and each pruned one in the same run, on the same
# machine, one after the other. Prints the motivating-study table (params left, GMACs,
# memory, ratio) and prefill/decode speed ratios against dense, with the targets of issue 6:
# decode ≥ 1.3× for 2:4, ≥ 1.5× for 70 %, ≥ 1.25× prefill and decode for structured 30 %.
# Then compares the MAC count with ptflops (bench/macs_ptflops.py) on the dense model.
#
# Run from the package root:   bash bench/bench_efficiency.sh
# Environment (all optional):
#   SECATEUR_BIN  (default .build/release/secateur)   MODEL (default smollm2-135m)
#   BENCH_OUT     output folder (default a new temp folder): pruned models, one JSON per run, table.txt
#   NSAMPLES (8)  SEQLEN (512): calibration of the pruning (small, to keep it quick)
#   PROMPT_LENGTH (128)  DECODE_TOKENS (64)  REPETITIONS (5)  SPARSE_FORMAT (auto)
#   SKIP_PRUNE=1  reuse the pruned models already in $BENCH_OUT
#   PYTHON (python3); SKIP_PTFLOPS=1 skips the ptflops comparison (needs `pip install ptflops`)
# Dense runs twice (first and last); its faster median is the baseline, so drift on a shared
# machine cannot inflate the ratios.
# Exit status: 0 all targets met, 1 a target missed, 2 a tool failed.
set -euo pipefail
SECATEUR_BIN="${SECATEUR_BIN:-.build/release/secateur}"
MODEL="${MODEL:-smollm2-135m}"
BENCH_OUT="${BENCH_OUT:-$(mktemp -d /tmp/bench_efficiency.XXXXXX)}"
NSAMPLES="${NSAMPLES:-8}"; SEQLEN="${SEQLEN:-512}"
PROMPT_LENGTH="${PROMPT_LENGTH:-128}"; DECODE_TOKENS="${DECODE_TOKENS:-64}"; REPETITIONS="${REPETITIONS:-5}"
SPARSE_FORMAT="${SPARSE_FORMAT:-auto}"
PYTHON="${PYTHON:-python3}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$BENCH_OUT"
echo "bench_efficiency: output in $BENCH_OUT" >&2

prune() {  # name, extra args...
  local name="$1"; shift
  if [[ "${SKIP_PRUNE:-}" == 1 && -d "$BENCH_OUT/$name" ]]; then return 0; fi
  "$SECATEUR_BIN" prune --model "$MODEL" --nsamples "$NSAMPLES" --seqlen "$SEQLEN" --output "$BENCH_OUT/$name" "$@" \
    > "$BENCH_OUT/$name.prune.log" 2>&1 || { echo "bench_efficiency: prune $name failed (see $BENCH_OUT/$name.prune.log)" >&2; exit 2; }
}

MODELS=(wanda50 wanda24 wanda70)
prune wanda50 --method wanda --sparsity 0.5
prune wanda24 --method wanda --sparsity 0.5 --pattern 2:4
prune wanda70 --method wanda --sparsity 0.7
probe="$("$SECATEUR_BIN" prune --structured --model /nonexistent 2>&1 || true)"
if grep -qi "unknown option" <<< "$probe"; then
  echo "bench_efficiency: this secateur has no 'prune --structured'; structured 30 % skipped" >&2
else
  prune struct30 --structured --method taylor --ratio 0.3 --attn-layers 4-27 --mlp-layers 4-27
  MODELS+=(struct30)
fi

bench() {  # label, model, format
  "$SECATEUR_BIN" bench model --model "$2" --sparse-format "$3" --prompt-length "$PROMPT_LENGTH" \
    --decode-tokens "$DECODE_TOKENS" --repetitions "$REPETITIONS" --json > "$BENCH_OUT/$1.json" \
    2> "$BENCH_OUT/$1.log" || { echo "bench_efficiency: bench $1 failed (see $BENCH_OUT/$1.log)" >&2; exit 2; }
  echo "bench_efficiency: $1 done" >&2
}
bench dense "$MODEL" dense
for m in "${MODELS[@]}"; do bench "$m" "$BENCH_OUT/$m" "$SPARSE_FORMAT"; done
# Control: the dense model held in CSR (density 1): how much of a ratio is the kernel, not sparsity.
bench dense_as_csr "$MODEL" csr
bench dense_again "$MODEL" dense

status=0
"$PYTHON" - "$BENCH_OUT" "${MODELS[@]}" <<'PY' | tee "$BENCH_OUT/table.txt" || status=$?
import json, sys
out, models = sys.argv[1], sys.argv[2:]
load = lambda n: json.load(open(f"{out}/{n}.json"))
d1, d2 = load("dense"), load("dense_again")
base = {k: max(d1[k], d2[k]) for k in ("prefill_tokens_per_second", "decode_tokens_per_second")}
names = {"dense": "dense", "dense_as_csr": "dense held as CSR (control)", "wanda50": "Wanda 50 % unstructured",
         "wanda24": "Wanda 2:4", "wanda70": "Wanda 70 % unstructured", "struct30": "structured 30 %"}
print(f"prompt {d1['prompt_length']} tokens, decode {d1['decode_tokens']} tokens, {d1['repetitions']} repetitions, "
      f"{d1['threads']} threads; dense baseline = faster of two dense runs "
      f"(decode {d1['decode_tokens_per_second']:.2f} / {d2['decode_tokens_per_second']:.2f} tok/s)")
print(f"| model | storage | params left | GMACs/token (non-zero) | weights MB | RSS MB (peak) | prefill tok/s | ratio | decode tok/s (min–max) | ratio | J/token ({d1['energy_source']}) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
rows = {}
for n in ["dense", "dense_as_csr"] + models:
    r = load(n); rows[n] = r
    pr = r["prefill_tokens_per_second"] / base["prefill_tokens_per_second"]
    dr = r["decode_tokens_per_second"] / base["decode_tokens_per_second"]
    r["pr"], r["dr"] = pr, dr
    storage = ", ".join(f"{k} {v}" for k, v in sorted(r["storage"].items()))
    print(f"| {names[n]} | {storage} | {r['params_nonzero'] / 1e6:.1f} M / {r['params_total'] / 1e6:.1f} M "
          f"({100 * r['params_nonzero'] / d1['params_total']:.0f} %) | {r['macs_per_token'] / 1e9:.3f} ({r['macs_per_token_nonzero'] / 1e9:.3f}) "
          f"| {r['weights_bytes'] / 1e6:.0f} | {(r.get('rss_bytes') or 0) / 1e6:.0f} ({r['peak_rss_bytes'] / 1e6:.0f}) | {r['prefill_tokens_per_second']:.1f} | {pr:.2f}× "
          f"| {r['decode_tokens_per_second']:.2f} ({r['decode_tokens_per_second_min']:.2f}–{r['decode_tokens_per_second_max']:.2f}) "
          f"| {dr:.2f}× | {r['energy_joules_per_token']:.3f} |")
targets = [("wanda24", "decode", 1.3), ("wanda70", "decode", 1.5), ("struct30", "decode", 1.25), ("struct30", "prefill", 1.25)]
ok = True
for n, what, t in targets:
    if n not in rows: print(f"target {names[n]} {what} ≥ {t}×: SKIPPED (model not built)"); continue
    v = rows[n]["dr" if what == "decode" else "pr"]
    res = "PASS" if v >= t else "FAIL"; ok &= v >= t
    print(f"target {names[n]} {what} ≥ {t}×: {v:.2f}× {res}")
sys.exit(0 if ok else 1)
PY
if [[ "${SKIP_PTFLOPS:-}" != 1 ]]; then
  "$PYTHON" "$SCRIPT_DIR/macs_ptflops.py" "$BENCH_OUT/wanda50" "$BENCH_OUT/dense.json" --seqlen "$PROMPT_LENGTH" \
    | tee "$BENCH_OUT/ptflops.txt" || { echo "bench_efficiency: ptflops comparison failed" >&2; exit 2; }
fi
exit $status
