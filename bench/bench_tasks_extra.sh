#!/usr/bin/env bash
# LAMBADA (lambada_openai) and TruthfulQA (truthfulqa_mc1, truthfulqa_mc2): Secateur `eval tasks`
# vs lm-evaluation-harness v0.4 (HFLM, transformers float32 on the same GGUF weights), same threads,
# same local data files (scripts/lm_eval_local_tasks.py), same documents.
#
# Run from the package root:   bash bench/bench_tasks_extra.sh
#
# Environment (all optional):
#   SECATEUR_BIN   secateur binary                       (default .build/release/secateur)
#   MODEL          secateur model                        (default smollm2-135m)
#   LAMBADA_LIMIT  LAMBADA documents (the first N)       (default 500)
#   TQA_LIMIT      TruthfulQA questions (the first N)    (default 817, all)
#   THREADS        threads for both tools                (default 2)
#   BATCH_SIZE     lm-eval batch size                    (default 8)
#   PYTHON         python interpreter with lm-eval       (default python3)
#   BENCH_OUT      output folder                         (default: a new temp folder)
#   SKIP_REF=1     reuse $BENCH_OUT/{lambada,truthfulqa}/lm_eval*.json*
#   PARTS          which pairs to run, of "lambada truthfulqa" (default both; "" compares the
#                  outputs already in $BENCH_OUT, e.g. after running the two tools side by side)
#   SECATEUR_DATA  data folder for both tools            (default /work/shared/data)
#
# Checks, per task: same n, |acc − acc_ref| ≤ 0.5 points, ≥ 99 % per-document agreement (LAMBADA:
# the same is_greedy verdict; MC1 and MC2: the same argmax choice). Also reported: LAMBADA
# perplexity from both tools, MC2 per-document max |Δ score|, max |Δ loglikelihood|. Timing is not
# a check here. Exit 0 all PASS, 1 a check FAILed, 2 a tool failed.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SECATEUR_BIN="${SECATEUR_BIN:-.build/release/secateur}"
MODEL="${MODEL:-smollm2-135m}"
LAMBADA_LIMIT="${LAMBADA_LIMIT:-500}"
TQA_LIMIT="${TQA_LIMIT:-817}"
THREADS="${THREADS:-2}"
BATCH_SIZE="${BATCH_SIZE:-8}"
PYTHON="${PYTHON:-python3}"
export SECATEUR_DATA="${SECATEUR_DATA:-/work/shared/data}"
BENCH_OUT="${BENCH_OUT:-$(mktemp -d /tmp/bench_tasks_extra.XXXXXX)}"
echo "bench_tasks_extra: lambada limit $LAMBADA_LIMIT, truthfulqa limit $TQA_LIMIT, threads $THREADS, out $BENCH_OUT" >&2
echo "start: $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg) (nproc $(nproc))" >&2

run_pair() {  # name tasks limit
  local dir="$BENCH_OUT/$1"
  mkdir -p "$dir"
  if [ "${SKIP_REF:-0}" != 1 ]; then
    local t0=$(date +%s)
    OMP_NUM_THREADS="$THREADS" "$PYTHON" "$SCRIPT_DIR/tasks_reference.py" --out "$dir" --tasks "$2" \
        --limit "$3" --threads "$THREADS" --batch-size "$BATCH_SIZE" > "$dir/lm_eval.log" 2>&1 \
      || { echo "lm-eval failed; see $dir/lm_eval.log" >&2; exit 2; }
    echo "$1: lm-eval $(( $(date +%s) - t0 )) s" >&2
  fi
  local t1=$(date +%s)
  "$SECATEUR_BIN" eval tasks --model "$MODEL" --tasks "$2" --limit "$3" --threads "$THREADS" --json \
      --log-samples "$dir/secateur_samples.jsonl" > "$dir/secateur.json" 2> "$dir/secateur.log" \
    || { echo "secateur failed; see $dir/secateur.log" >&2; exit 2; }
  echo "$1: secateur $(( $(date +%s) - t1 )) s" >&2
}
PARTS="${PARTS-lambada truthfulqa}"
case " $PARTS " in *" lambada "*) run_pair lambada lambada_openai "$LAMBADA_LIMIT" ;; esac
case " $PARTS " in *" truthfulqa "*) run_pair truthfulqa truthfulqa_mc1,truthfulqa_mc2 "$TQA_LIMIT" ;; esac
echo "end: $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

"$PYTHON" - "$BENCH_OUT" <<'PY'
import json, sys
out = sys.argv[1]
def samples(p):
    d = {}
    for l in open(p):
        s = json.loads(l); d[(s["task"], s["doc_id"])] = s
    return d
def argmax(v): return max(range(len(v)), key=lambda i: (v[i], -i))
ok = True
print("| task | n | acc (Secateur) | acc (lm-eval) | per-doc agreement | max abs Δ loglikelihood | other |")
print("|---|---:|---:|---:|---:|---:|---|")
import os
for sub in ("lambada", "truthfulqa"):
    if not os.path.exists(f"{out}/{sub}/secateur.json"):
        print(f"{sub}: not run"); ok = False; continue
    ref = json.load(open(f"{out}/{sub}/lm_eval.json")); ours = json.load(open(f"{out}/{sub}/secateur.json"))
    rs, os_ = samples(f"{out}/{sub}/lm_eval_samples.jsonl"), samples(f"{out}/{sub}/secateur_samples.jsonl")
    for t, r in ref["tasks"].items():
        o = ours["tasks"][t]
        keys = sorted(k for k in rs if k[0] == t)
        missing = [k for k in keys if k not in os_]
        if missing:
            print(f"{t}: {len(missing)} documents missing from Secateur's samples"); ok = False; continue
        if t == "lambada_openai":
            agree = sum(bool(rs[k]["is_greedy"][0]) == bool(os_[k]["is_greedy"][0]) for k in keys)
        else:
            agree = sum(argmax(rs[k]["loglikelihoods"]) == argmax(os_[k]["loglikelihoods"]) for k in keys)
        dll = max(abs(a - b) for k in keys for a, b in zip(rs[k]["loglikelihoods"], os_[k]["loglikelihoods"]))
        other = ""
        if t == "lambada_openai":
            other = f"perplexity Secateur {o['perplexity']:.4f}, lm-eval {r['perplexity']:.4f}"
        if t == "truthfulqa_mc2":
            dmc2 = max(abs(rs[k]["acc"] - os_[k]["acc"]) for k in keys)
            other = f"MC2 per-doc max abs Δ {dmc2:.2e}"
        d = abs(o["acc"] - r["acc"]) * 100
        good = d <= 0.5 and agree >= 0.99 * len(keys) and o["n"] == r["n"] == len(keys)
        ok &= good
        print(f"| {t} | {r['n']} | {o['acc']:.4f} | {r['acc']:.4f} | {agree}/{len(keys)} | {dll:.2e} | {other} | {'PASS' if good else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
