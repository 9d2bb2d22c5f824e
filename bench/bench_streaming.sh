#!/usr/bin/env bash
# Streaming at scale (issue 16), one run after the other, nothing else beside it:
#   1. Shape-exact random BF16 checkpoints (`secateur make-model --random --byte-tokenizer`) of
#      smollm2-135m, tinyllama-1.1b and llama2-7b (made once, kept in $WORK).
#   2. Cost per parameter: `prune --stream` Wanda 2:4, one-pass order, calibration NSAMPLES ×
#      SEQLEN (8 × 1024) C4 tokens, on each shape; prune seconds per billion parameters.
#   3. llama2-7b: SparseGPT 50 % (one-pass, the same calibration) and structured Taylor 20 %
#      (10 × 64) streamed; WikiText-2 perplexity of the Wanda model over 2 windows of 2048,
#      streamed.
#   4. llama2-7b with `--memory-budget 2G`: must be refused before any work, with the estimate.
# Every run under /usr/bin/time -v: its peak RSS beside the memory plan the run printed before it
# started (the record's memory_plan.estimate_mb). Outputs are deleted after each run (13.5 GB each).
#
#   bash bench/bench_streaming.sh            (STEPS="table ppl taylor budget sparsegpt" by default)
# Environment: SECATEUR_BIN, WORK (/tmp/secateur-streaming), NSAMPLES (8), SEQLEN (1024), STEPS.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SECATEUR_BIN:-$(pwd)/.build/release/secateur}
WORK=${WORK:-/tmp/secateur-streaming}
NSAMPLES=${NSAMPLES:-8}; SEQLEN=${SEQLEN:-1024}
STEPS=${STEPS:-table ppl taylor budget sparsegpt}
export SECATEUR_DATA=${SECATEUR_DATA:-$(cd .. && pwd)/shared/data}
mkdir -p "$WORK"
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

shape_dir() { echo "$WORK/$1"; }
for s in smollm2-135m tinyllama-1.1b llama2-7b; do
  [ -f "$(shape_dir $s)/config.json" ] || "$BIN" make-model --shape "$s" --random --byte-tokenizer --dtype bf16 --output "$(shape_dir $s)" >&2
done

# run NAME ARGS...: runs secateur with --json under /usr/bin/time -v; keeps the JSON, the time log
# and a summary line "name seconds_total prune_seconds peak_mib estimate_mib params".
run() {
  local name=$1; shift
  /usr/bin/time -v -o "$WORK/$name.time" "$BIN" "$@" --json > "$WORK/$name.json" 2> "$WORK/$name.log" || {
    echo "$name failed:" >&2; tail -3 "$WORK/$name.log" >&2; return 1; }
  python3 - "$WORK/$name.json" "$WORK/$name.time" "$name" <<'EOF' | tee -a "$WORK/summary.txt"
import json, re, sys
r = json.load(open(sys.argv[1]))
t = open(sys.argv[2]).read()
peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
cpu = re.search(r"Percent of CPU this job got: (\d+)%", t).group(1)
phases = r.get("seconds_by_phase", {})
prune = sum(v for k, v in phases.items() if k.startswith("prune."))
params = r.get("params_total") or r.get("params_before") or 0
est = (r.get("memory_plan") or {}).get("estimate_mb", 0)
print(f"{sys.argv[3]} total_s={r['seconds_total']:.1f} prune_s={prune:.1f} hash_s={phases.get('hash', 0):.1f} "
      f"peak_mib={peak_kb / 1024:.0f} estimate_mib={est:.0f} cpu={cpu}% params={params}"
      + (f" ppl={r['ppl']:.4f}" if 'ppl' in r else ""))
EOF
}

for step in $STEPS; do
  case $step in
  table)
    for s in smollm2-135m tinyllama-1.1b llama2-7b; do
      run "wanda24-$s" prune --model "$(shape_dir $s)" --stream --method wanda --pattern 2:4 --order one-pass \
        --nsamples "$NSAMPLES" --seqlen "$SEQLEN" --output "$WORK/out-$s"
      [ "$s" = llama2-7b ] && [[ " $STEPS " == *" ppl "* ]] || rm -rf "$WORK/out-$s"
    done ;;
  ppl)
    run "ppl-wanda24-llama2-7b" eval ppl --model "$WORK/out-llama2-7b" --stream --windows 2
    rm -rf "$WORK/out-llama2-7b" ;;
  sparsegpt)
    run "sparsegpt50-llama2-7b" prune --model "$(shape_dir llama2-7b)" --stream --method sparsegpt --sparsity 0.5 \
      --order one-pass --nsamples "$NSAMPLES" --seqlen "$SEQLEN" --output "$WORK/out-sparsegpt"
    rm -rf "$WORK/out-sparsegpt" ;;
  taylor)
    run "taylor20-llama2-7b" prune --model "$(shape_dir llama2-7b)" --stream --structured --method taylor --ratio 0.2 \
      --calib-windows 10 --calib-seqlen 64 --output "$WORK/out-taylor"
    rm -rf "$WORK/out-taylor" ;;
  budget)
    if "$BIN" prune --model "$(shape_dir llama2-7b)" --stream --method wanda --pattern 2:4 --nsamples "$NSAMPLES" \
         --seqlen "$SEQLEN" --output "$WORK/out-budget" --memory-budget 2G > /dev/null 2> "$WORK/budget.log"; then
      echo "budget: NOT refused" | tee -a "$WORK/summary.txt"; exit 1
    fi
    [ ! -e "$WORK/out-budget" ] || { echo "budget: output written" >&2; exit 1; }
    echo "budget refused: $(cat "$WORK/budget.log")" | tee -a "$WORK/summary.txt" ;;
  esac
done
