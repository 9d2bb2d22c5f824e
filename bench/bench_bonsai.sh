#!/usr/bin/env bash
# Bonsai beside structured Taylor on SmolLM2-135M (issue 17, done-means 4): both remove 30 % of the
# whole model's parameters from the attention groups and MLP channels of layers 4-27 (the same
# block-mode allocation, so the same shapes), with the same calibration (C4, 10 × 64 tokens, seed 0,
# LLM-Pruner's default); Taylor from one backward per window, Bonsai from forward passes of
# BONSAI_MASKS sub-models per round in rounds of 5 % (Bonsai's defaults: 200 and 0.05).
# Each pruned model: WikiText-2 and PTB perplexity (`eval ppl --windows 16`: 16 windows of 2048) and
# the study's five tasks (`eval tasks --tasks boolq,hellaswag,winogrande,arc_challenge,openbookqa
# --limit 200`, the metric each task reports: acc_norm for hellaswag/arc_challenge/openbookqa, acc for
# boolq/winogrande), their mean; and the prune's wall seconds.
#
# Run from the package root:   bash bench/bench_bonsai.sh
# A Bonsai sub-model costs a forward of every calibration token (and the 49k-word head): about 2–3 s
# here, so 200 per round × 6 rounds is an hour or more; BONSAI_MASKS=40 keeps it to minutes.
# METHODS (default "taylor bonsai") picks the structured criteria; `METHODS="taylor l0"` runs L0's
# Hard Concrete gates (L0_STEPS, default 100) on the same allocation and calibration; with L0_TARGET
# (e.g. layers=26,hidden=512,intermediate=1216) L0 prunes to that shape instead (Sheared LLaMA's
# targeted pruning: every layer, the residual width and whole layers too), not to the 30 % allocation.
# Environment (optional): SECATEUR_BIN, METHODS, BONSAI_MASKS (200), L0_STEPS (100), L0_TARGET, WINDOWS (16),
# LIMIT (200), THREADS (2), BENCH_OUT, SECATEUR_DATA; L0_EXTRA_ARGS: more words for the l0 prune
# (e.g. "--l0-lora-rank 8" to train LoRA adapters with the gates). Output: $BENCH_OUT/bonsai.md (the table) and the run records.
# Bonsai's reference code (ldery/Bonsai) is not run: it needs CUDA (`.cuda()` throughout its score
# model) and a patched transformers modelling file, and wandb.
set -euo pipefail
SECATEUR_BIN="${SECATEUR_BIN:-.build/release/secateur}"
METHODS="${METHODS:-taylor bonsai}"; L0_STEPS="${L0_STEPS:-100}"
BONSAI_MASKS="${BONSAI_MASKS:-200}"; WINDOWS="${WINDOWS:-16}"; LIMIT="${LIMIT:-200}"; THREADS="${THREADS:-2}"
export SECATEUR_DATA="${SECATEUR_DATA:-/work/shared/data}"
BENCH_OUT="${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench_bonsai.XXXXXX")}"
TASKS=boolq,hellaswag,winogrande,arc_challenge,openbookqa
mkdir -p "$BENCH_OUT"
echo "bench_bonsai: out $BENCH_OUT" >&2
# Rerunning with the same BENCH_OUT reuses every step whose output is there (a method's
# tasks record means that method is done).
for method in $METHODS; do
  [[ -s "$BENCH_OUT/$method.tasks.json" ]] && { echo "reusing $method" >&2; continue; }
  extra=(); [[ $method == bonsai ]] && extra=(--bonsai-masks "$BONSAI_MASKS"); [[ $method == l0 ]] && { extra=(--l0-steps "$L0_STEPS"); read -r -a l0x <<< "${L0_EXTRA_ARGS:-}"; extra+=(${l0x[@]+"${l0x[@]}"}); }
  if [[ ! -d "$BENCH_OUT/$method" || ! -s "$BENCH_OUT/$method.json" ]]; then
  start=$(date +%s)
  size=(--ratio 0.3 --attn-layers 4-27 --mlp-layers 4-27)
  [[ $method == l0 && -n "${L0_TARGET:-}" ]] && size=(--l0-target "$L0_TARGET")
  "$SECATEUR_BIN" prune --model smollm2-135m --structured --method "$method" "${size[@]}" \
      --threads "$THREADS" --output "$BENCH_OUT/$method" --json "${extra[@]}" > "$BENCH_OUT/$method.json" 2> "$BENCH_OUT/$method.log" \
    || { echo "bench_bonsai: $method prune failed ($BENCH_OUT/$method.log)" >&2; exit 2; }
  echo $(( $(date +%s) - start )) > "$BENCH_OUT/$method.seconds"
  fi
  for ds in wikitext2 ptb; do
    [[ -s "$BENCH_OUT/$method.$ds.json" ]] && continue
    "$SECATEUR_BIN" eval ppl --model "$BENCH_OUT/$method" --dataset "$ds" --windows "$WINDOWS" --threads "$THREADS" --json \
        > "$BENCH_OUT/$method.$ds.json" 2>> "$BENCH_OUT/$method.log" || { echo "bench_bonsai: $method $ds failed" >&2; exit 2; }
  done
  "$SECATEUR_BIN" eval tasks --model "$BENCH_OUT/$method" --tasks "$TASKS" --limit "$LIMIT" --threads "$THREADS" --json \
      > "$BENCH_OUT/$method.tasks.json" 2>> "$BENCH_OUT/$method.log" || { echo "bench_bonsai: $method tasks failed" >&2; exit 2; }
  rm -rf "${BENCH_OUT:?}/$method"
  echo "done $method" >&2
done
python3 - "$BENCH_OUT" "$BONSAI_MASKS" "$WINDOWS" "$LIMIT" "$METHODS" "$L0_STEPS" <<'PY' | tee "$BENCH_OUT/bonsai.md"
import json, sys
out, masks, windows, limit, methods, l0_steps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].split(), sys.argv[6]
def load(p): return json.load(open(f"{out}/{p}"))
def ppl(j, dataset):
    if j.get("ppl") is not None:
        return float(j["ppl"])
    return next(m["value"] for m in (j.get("metrics") or {}).get("perplexity", []) if m.get("dataset") == dataset)
NORM = ("hellaswag", "arc_challenge", "openbookqa")
def task_values(j):
    per = j.get("tasks")
    if not isinstance(per, dict):
        per = {m["task"]: dict(m, metric=m.get("reported")) for m in (j.get("metrics") or {}).get("tasks", [])}
    vals = []
    for t in ["boolq", "hellaswag", "winogrande", "arc_challenge", "openbookqa"]:
        m = per[t].get("metric") or per[t].get("reported") or ("acc_norm" if t in NORM else "acc")
        vals.append(float(per[t][m]))
    return vals
print(f"| method | params after | ratio | prune s | WikiText-2 | PTB | boolq | hellaswag | winogrande | arc_c | obqa | average |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for method in methods:
    rec = load(f"{method}.json")
    vals = task_values(load(f"{method}.tasks.json"))
    avg = sum(vals) / len(vals)
    fmt = lambda v: "—" if v is None else f"{100 * v:.1f}"
    seconds = open(f"{out}/{method}.seconds").read().strip()
    label = {"bonsai": f" ({masks} sub-models/round)", "l0": f" ({l0_steps} steps)"}.get(method, "")
    print(f"| {method}{label} | {rec.get('params_after')} | "
          f"{100 * rec.get('ratio_actual', 0):.2f} % | {seconds} | {ppl(load(f'{method}.wikitext2.json'), 'wikitext2'):.2f} | "
          f"{ppl(load(f'{method}.ptb.json'), 'ptb'):.2f} | " + " | ".join(fmt(v) for v in vals) + f" | {fmt(avg)} |")
print(f"\nWikiText-2/PTB: `eval ppl --windows {windows}` (2048 tokens each); tasks: `eval tasks --limit {limit}`.")
PY
