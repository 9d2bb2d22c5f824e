#!/usr/bin/env bash
# Zero-shot task benchmark: Secateur `eval tasks` vs lm-evaluation-harness v0.4 (HFLM, transformers
# float32 on the same GGUF weights), in one run, same threads, same local data files, same documents.
#
# Run from the package root:   bash bench/bench_tasks.sh
#
# Environment (all optional):
#   SECATEUR_BIN  secateur binary                 (default .build/release/secateur)
#   MODEL         secateur model                  (default smollm2-135m)
#   TASKS         comma-separated tasks           (default all eight)
#   LIMIT         documents per task              (default 200)
#   THREADS       threads for both tools          (default 2)
#   BATCH_SIZE    lm-eval batch size              (default 8)
#   PYTHON        python interpreter              (default python3)
#   BENCH_OUT     output folder                   (default: a new temp folder)
#   LM_EVAL_CACHE lm-eval request cache path: an interrupted reference run resumes (its time is then not comparable)
#   SKIP_REF=1    reuse $BENCH_OUT/lm_eval.json and lm_eval_samples.jsonl
#   SECATEUR_DATA data folder for both tools      (default /work/shared/data)
#
# Needs: pip install lm-eval (0.4.x), torch, transformers, gguf, accelerate.
# Checks: |acc - acc_ref| and |acc_norm - acc_norm_ref| <= 0.5 points per task, >= 99 % per-document
# prediction agreement, Secateur >= 2x faster. Exit 0 all PASS, 1 a check FAILed, 2 a tool failed.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SECATEUR_BIN="${SECATEUR_BIN:-.build/release/secateur}"
MODEL="${MODEL:-smollm2-135m}"
TASKS="${TASKS:-boolq,hellaswag,winogrande,arc_easy,arc_challenge,openbookqa,piqa,rte}"
LIMIT="${LIMIT:-200}"
THREADS="${THREADS:-2}"
BATCH_SIZE="${BATCH_SIZE:-8}"
PYTHON="${PYTHON:-python3}"
export SECATEUR_DATA="${SECATEUR_DATA:-/work/shared/data}"
BENCH_OUT="${BENCH_OUT:-$(mktemp -d /tmp/bench_tasks.XXXXXX)}"
mkdir -p "$BENCH_OUT"
echo "bench_tasks: tasks=$TASKS limit=$LIMIT threads=$THREADS out=$BENCH_OUT" >&2
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-min load average; nproc $(nproc))" >&2

if [ "${SKIP_REF:-0}" != 1 ]; then
  OMP_NUM_THREADS="$THREADS" "$PYTHON" "$SCRIPT_DIR/tasks_reference.py" --out "$BENCH_OUT" --tasks "$TASKS" \
      --limit "$LIMIT" --threads "$THREADS" --batch-size "$BATCH_SIZE" ${LM_EVAL_CACHE:+--cache "$LM_EVAL_CACHE"} > "$BENCH_OUT/lm_eval.log" 2>&1 \
    || { echo "lm-eval failed; see $BENCH_OUT/lm_eval.log" >&2; exit 2; }
fi
start=$(date +%s.%N)
"$SECATEUR_BIN" eval tasks --model "$MODEL" --tasks "$TASKS" --limit "$LIMIT" --threads "$THREADS" --json \
    --log-samples "$BENCH_OUT/secateur_samples.jsonl" > "$BENCH_OUT/secateur.json" 2> "$BENCH_OUT/secateur.log" \
  || { echo "secateur failed; see $BENCH_OUT/secateur.log" >&2; exit 2; }
end=$(date +%s.%N)
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

"$PYTHON" - "$BENCH_OUT" "$start" "$end" <<'PY'
import json, sys
out, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
ref = json.load(open(f"{out}/lm_eval.json")); ours = json.load(open(f"{out}/secateur.json"))
def samples(p):
    d = {}
    for l in open(p):
        s = json.loads(l); d[(s["task"], s["doc_id"])] = s
    return d
rs, os_ = samples(f"{out}/lm_eval_samples.jsonl"), samples(f"{out}/secateur_samples.jsonl")
def argmax(v): return max(range(len(v)), key=lambda i: (v[i], -i))
ok = True
print(f"| task | n | acc (Secateur) | acc (lm-eval) | acc_norm (Secateur) | acc_norm (lm-eval) | pred agreement | acc_norm agreement | max |Δll| |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
tot_agree = tot = 0
for t, r in ref["tasks"].items():
    o = ours["tasks"][t]
    keys = [k for k in rs if k[0] == t]
    agree = sum(argmax(rs[k]["loglikelihoods"]) == argmax(os_[k]["loglikelihoods"]) for k in keys)
    agree_n = sum(rs[k]["acc_norm"] == os_[k]["acc_norm"] for k in keys)
    dll = max(abs(a - b) for k in keys for a, b in zip(rs[k]["loglikelihoods"], os_[k]["loglikelihoods"]))
    tot_agree += agree; tot += len(keys)
    d1, d2 = abs(o["acc"] - r["acc"]) * 100, abs(o["acc_norm"] - r["acc_norm"]) * 100
    good = d1 <= 0.5 and d2 <= 0.5 and agree >= 0.99 * len(keys) and o["n"] == r["n"]
    ok &= good
    print(f"| {t} | {r['n']} | {o['acc']:.4f} | {r['acc']:.4f} | {o['acc_norm']:.4f} | {r['acc_norm']:.4f} | "
          f"{agree}/{len(keys)} | {agree_n}/{len(keys)} | {dll:.2e} | {'PASS' if good else 'FAIL'}")
ts, tr = end - start, ref["seconds"]
print(f"\nprediction agreement overall: {tot_agree}/{tot} ({100 * tot_agree / max(tot, 1):.2f} %)")
print(f"time: Secateur {ts:.1f} s (whole CLI run incl. model load) vs lm-eval {tr:.1f} s (simple_evaluate, model preloaded); "
      f"ratio {tr / ts:.2f}x  {'PASS' if tr / ts >= 2 else 'FAIL'}")
print(f"average (reported metrics): Secateur {ours['average']:.4f}")
ok &= tr / ts >= 2
sys.exit(0 if ok else 1)
PY
