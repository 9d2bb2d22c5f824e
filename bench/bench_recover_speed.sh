#!/usr/bin/env bash
# Recovery fine-tuning speed and memory: `secateur recover --method lora` vs transformers + PEFT
# (bench/recover_reference.py: PyTorch CPU, float32, LoRA r=8 alpha=16 dropout 0.05 on
# q,k,v,o,gate,up,down, AdamW, linear schedule, clip 1.0), same model, same C4 windows, same
# batch shape, same threads, same machine, run ONE AFTER THE OTHER (never together).
#
# Run from the package root:   bash bench/bench_recover_speed.sh
#
# How the two sides are made comparable:
#   * the same work: both train UNTIMED + STEPS steps of BATCH_SIZE windows of SEQLEN tokens,
#     on the same windows in the same order (C4 train shard tokenized, EOS between documents,
#     cut into consecutive windows, shuffled with secateur's SplitMix64 Fisher-Yates by SEED,
#     VAL_WINDOWS held out; recover_reference.py's docstring has the rule), with the same
#     adapters, optimizer, schedule and clipping; the check `same_work` compares trainable
#     parameters and tokens trained; the first step's loss (base model on batch 0, the
#     adapters' B = 0) shows whether the data really are the same (INFO, not a gate);
#   * speed: the reference runs UNTIMED (default 1) step(s) first without timing them and
#     times the next STEPS; Secateur runs all UNTIMED + STEPS steps (--steps N+1) and its
#     tokens_per_second (training tokens / training seconds) counts every step, its first
#     one included. The gated ratio (Secateur tokens/s / PEFT tokens/s, goal >= 1.5) is thus
#     conservative for Secateur; the like-for-like ratio against the reference with its
#     warm-up step counted (tokens_per_second_incl_untimed) is printed beside it;
#   * memory: both are the whole process's peak RSS in MiB (Secateur's run record
#     peak_rss_mb; the reference's getrusage ru_maxrss, KiB -> MiB), model load and data
#     included on both sides (goal: Secateur / PEFT <= 0.7). The reference's training-phase
#     peak and its RSS after loading are printed for context. No --eval and no --output are
#     given to secateur, so neither side evaluates perplexity or writes a model;
#     --val-windows VAL_WINDOWS (default 0) keeps validation passes out of it too.
#
# Environment (all optional):
#   SECATEUR_BIN   secateur binary                      (default .build/release/secateur)
#   MODEL          secateur model                       (default smollm2-135m)
#   REF_GGUF       GGUF for the reference               (default ~/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf)
#   SEQLEN (S, default 256)  BATCH_SIZE (B, default 8)  STEPS (N timed steps, default 8)
#   UNTIMED        reference warm-up steps not timed    (default 1; Secateur runs --steps N+UNTIMED)
#   THREADS        torch threads / secateur --threads   (default 2)
#   LR (1e-4)  LR_WARMUP (schedule warm-up steps, 0)  SEED (0)  VAL_WINDOWS (0)
#   ATTN           reference attention implementation   (default sdpa, transformers' default)
#   SEC_EXTRA_ARGS extra arguments for secateur recover (word-split)
#   PYTHON         python interpreter                   (default python3)
#   SECATEUR_DATA  data folder for both                 (default /work/shared/data)
#   BENCH_OUT      output folder (default: a new temp folder): reference.json/.log,
#                  secateur.json/.log, compare.json
#   SKIP_REF=1     reuse $BENCH_OUT/reference.json      SKIP_SECATEUR=1  reuse $BENCH_OUT/secateur.json
#   ROUNDS         pairs of runs, alternated reference, Secateur, reference, ... (default 1). This
#                  machine's speed drifts by about 15 % over minutes, so one pair can land on either
#                  side of the goal; with ROUNDS > 1 the speed check takes the median of the
#                  rounds' ratios (each round's ratio from a reference run and the Secateur run
#                  straight after it), and every round is printed. Rounds after the first write
#                  reference.rN.json / secateur.rN.json.
#
# Needs: python3 with torch, transformers, peft, gguf, accelerate.
# Exit status: 0 all checks PASS, 1 a check FAILed, 2 a tool failed or its output could not be read.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SECATEUR_BIN="${SECATEUR_BIN:-.build/release/secateur}"
MODEL="${MODEL:-smollm2-135m}"
REF_GGUF="${REF_GGUF:-$HOME/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf}"
SEQLEN="${SEQLEN:-256}"
BATCH_SIZE="${BATCH_SIZE:-8}"
STEPS="${STEPS:-8}"
UNTIMED="${UNTIMED:-1}"
THREADS="${THREADS:-2}"
LR="${LR:-1e-4}"
LR_WARMUP="${LR_WARMUP:-0}"
SEED="${SEED:-0}"
VAL_WINDOWS="${VAL_WINDOWS:-0}"
ATTN="${ATTN:-sdpa}"
PYTHON="${PYTHON:-python3}"
export SECATEUR_DATA="${SECATEUR_DATA:-/work/shared/data}"
BENCH_OUT="${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench_recover_speed.XXXXXX")}"
mkdir -p "$BENCH_OUT"
SEC_STEPS=$((STEPS + UNTIMED))
ROUNDS="${ROUNDS:-1}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench_recover_speed: ROUNDS must be a positive integer, not '$ROUNDS'" >&2; exit 2; }
read -r -a SEC_EXTRA <<< "${SEC_EXTRA_ARGS:-}"

loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a; }
echo "== machine: $(nproc) cores, load average: $(loadavg)"
echo "== LoRA r=8 on q,k,v,o,gate,up,down; seqlen $SEQLEN, batch $BATCH_SIZE, $SEC_STEPS steps ($UNTIMED untimed in the reference), threads $THREADS; outputs in $BENCH_OUT"

for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
SUFFIX=""; (( ROUND > 1 )) && SUFFIX=".r$ROUND"
(( ROUNDS > 1 )) && echo "== round $ROUND of $ROUNDS"
# --- (a) reference: transformers + PEFT ----------------------------------------------------------
if [[ "${SKIP_REF:-0}" == 1 ]]; then
  echo "== (a) reference skipped (SKIP_REF=1), reusing $BENCH_OUT/reference.json"
else
  if ! "$PYTHON" -c "import torch, transformers, peft, gguf, accelerate" 2>/dev/null; then
    echo "bench_recover_speed: the reference needs torch, transformers, peft, gguf, accelerate (pip install ...)" >&2
    exit 2
  fi
  REF_CMD=("$PYTHON" "$SCRIPT_DIR/recover_reference.py" --gguf "$REF_GGUF" --threads "$THREADS"
           --seqlen "$SEQLEN" --batch-size "$BATCH_SIZE" --steps "$STEPS" --untimed-steps "$UNTIMED"
           --lr "$LR" --weight-decay 0 --lr-warmup "$LR_WARMUP" --max-grad-norm 1
           --rank 8 --alpha 16 --dropout 0.05 --seed "$SEED" --val-windows "$VAL_WINDOWS"
           --data-dir "$SECATEUR_DATA" --attn-implementation "$ATTN" --json)
  echo "== (a) ${REF_CMD[*]}"
  if ! OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS" "${REF_CMD[@]}" > "$BENCH_OUT/reference$SUFFIX.json" 2> "$BENCH_OUT/reference$SUFFIX.log"; then
    echo "bench_recover_speed: reference failed; last lines of its stderr:" >&2
    tail -n 20 "$BENCH_OUT/reference$SUFFIX.log" >&2
    exit 2
  fi
fi
echo "== load average between the runs: $(loadavg)"

# --- (b) Secateur ----------------------------------------------------------------------------------
if [[ "${SKIP_SECATEUR:-0}" == 1 ]]; then
  echo "== (b) secateur skipped (SKIP_SECATEUR=1), reusing $BENCH_OUT/secateur.json"
else
  if [[ ! -x "$SECATEUR_BIN" ]]; then
    echo "bench_recover_speed: secateur binary not found at $SECATEUR_BIN (swift build -c release, or set SECATEUR_BIN)" >&2
    exit 2
  fi
  SEC_CMD=("$SECATEUR_BIN" recover --model "$MODEL" --threads "$THREADS" --method lora --rank 8 --alpha 16
           --dropout 0.05 --targets q,k,v,o,gate,up,down --data c4 --data-dir "$SECATEUR_DATA"
           --seqlen "$SEQLEN" --batch-size "$BATCH_SIZE" --steps "$SEC_STEPS" --lr "$LR" --weight-decay 0
           --schedule linear --warmup-steps "$LR_WARMUP" --max-grad-norm 1 --seed "$SEED" --val-windows "$VAL_WINDOWS"
           ${SEC_EXTRA[@]+"${SEC_EXTRA[@]}"} --json)
  echo "== (b) ${SEC_CMD[*]}"
  if ! "${SEC_CMD[@]}" > "$BENCH_OUT/secateur$SUFFIX.json" 2> "$BENCH_OUT/secateur$SUFFIX.log"; then
    echo "bench_recover_speed: secateur recover failed; last lines of its stderr:" >&2
    tail -n 20 "$BENCH_OUT/secateur$SUFFIX.log" >&2
    exit 2
  fi
fi
echo "== load average after: $(loadavg)"
done

# --- compare -----------------------------------------------------------------------------------------
"$PYTHON" - "$BENCH_OUT" "$SEQLEN" "$BATCH_SIZE" "$SEC_STEPS" "$ROUNDS" <<'PY'
import json, math, os, statistics, sys
out, S, B, steps, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

def die(msg):
    print(f"bench_recover_speed: {msg}", file=sys.stderr); sys.exit(2)

def load(path):
    """A tool's JSON object: the whole file, else its last line that is a JSON object."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        die(f"cannot read {path}: {e}")
    try:
        obj = json.loads(text)
        if isinstance(obj, dict):
            return obj
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    die(f"no JSON object in {path}")

sec = load(os.path.join(out, "secateur.json"))
ref = load(os.path.join(out, "reference.json"))
for name, d, keys in (("secateur", sec, ("tokens_per_second", "peak_rss_mb", "trainable_parameters", "history")),
                      ("reference", ref, ("tokens_per_second", "peak_rss_mb", "trainable_parameters", "train_loss"))):
    missing = [k for k in keys if d.get(k) is None]
    if missing:
        die(f"{name} JSON lacks {missing}")

hist = sec["history"]
ts, tr = float(sec["tokens_per_second"]), float(ref["tokens_per_second"])
tr_all = ref.get("tokens_per_second_incl_untimed")
ms, mr = float(sec["peak_rss_mb"]), float(ref["peak_rss_mb"])
speed, mem = ts / tr, ms / mr
sec_tokens = sec.get("tokens_seen")
sec_seconds = sec.get("train_seconds")
if sec_seconds is None and sec_tokens:
    sec_seconds = sec_tokens / ts
want_tokens = steps * B * S

print()
print(f"{'':20s}{'tokens/s':>11s}{'peak RSS MiB':>14s}{'train s':>10s}{'tokens':>10s}{'trainable':>12s}")
print(f"{'secateur':20s}{ts:11.1f}{ms:14.1f}{(sec_seconds or float('nan')):10.2f}{(sec_tokens or 0):10d}{int(sec['trainable_parameters']):12d}"
      f"   ({steps} steps, all timed; whole run {sec.get('seconds_total', float('nan')):.1f} s)")
print(f"{'transformers+peft':20s}{tr:11.1f}{mr:14.1f}{float(ref['seconds']):10.2f}{int(ref['tokens_timed']):10d}{int(ref['trainable_parameters']):12d}"
      f"   ({ref['steps_timed']} timed after {ref['steps_untimed']} untimed; torch {ref.get('torch_version')}, "
      f"transformers {ref.get('transformers_version')}, peft {ref.get('peft_version')}, {ref.get('attn_implementation')}, "
      f"threads {ref.get('threads')})")
print(f"reference memory: after load {ref.get('rss_mb_after_load') or float('nan'):.0f} MiB, peak before training "
      f"{ref.get('peak_rss_mb_before_train') or float('nan'):.0f} MiB, training-phase peak {ref.get('peak_rss_mb_train') or float('nan'):.0f} MiB")
if tr_all:
    print(f"reference with its untimed step(s) counted: {tr_all:.1f} tokens/s -> like-for-like ratio {ts / tr_all:.3f}x (INFO)")
if ref.get("tokens_per_second_median_step"):
    print(f"reference median step: {ref['tokens_per_second_median_step']:.1f} tokens/s")

ls = [x.get("loss") for x in hist.get("steps") or []]
lr_ = ref["train_loss"]
print("loss per step (secateur / reference):")
for i in range(max(len(ls), len(lr_))):
    a = f"{ls[i]:.6f}" if i < len(ls) and ls[i] is not None else "-"
    b = f"{lr_[i]:.6f}" if i < len(lr_) else "-"
    print(f"  step {i + 1:3d}  {a:>10s}  {b:>10s}" + ("   (reference: untimed)" if i < ref["steps_untimed"] else ""))
same_data = None
if ls and ls[0] is not None and lr_:
    rel0 = abs(ls[0] - lr_[0]) / abs(lr_[0])
    same_data = rel0 <= 1e-3
    print(f"INFO same_data: step-1 loss (the base model on batch 0) differs by {rel0 * 100:.4f} % "
          + ("-> same windows in the same order" if same_data else
             "-> the two sides did NOT train on the same first batch (speed still compares the same shapes)"))

res = {"secateur_tokens_per_second": ts, "reference_tokens_per_second": tr,
       "reference_tokens_per_second_incl_untimed": tr_all, "speed_ratio": speed,
       "speed_ratio_like_for_like": ts / tr_all if tr_all else None,
       "secateur_peak_rss_mb": ms, "reference_peak_rss_mb": mr, "rss_ratio": mem,
       "reference_peak_rss_mb_train": ref.get("peak_rss_mb_train"),
       "secateur_tokens": sec_tokens, "expected_tokens": want_tokens,
       "trainable_parameters": [sec["trainable_parameters"], ref["trainable_parameters"]],
       "same_data": same_data, "checks": {}}
fail = False
def check(name, ok, text):
    global fail
    res["checks"][name] = bool(ok)
    fail = fail or not ok
    print(f"{'PASS' if ok else 'FAIL'} {name}: {text}")
print()
same_params = int(sec["trainable_parameters"]) == int(ref["trainable_parameters"])
same_tokens = sec_tokens == want_tokens and int(ref["tokens_total"]) == want_tokens
check("same_work", same_params and same_tokens,
      f"trainable parameters {sec['trainable_parameters']} vs {ref['trainable_parameters']}; tokens trained "
      f"{sec_tokens} vs {ref['tokens_total']} (expected {steps} x {B} x {S} = {want_tokens})")
if rounds == 1:
    check("speed", speed >= 1.5, f"Secateur / PEFT tokens/s = {ts:.1f} / {tr:.1f} = {speed:.3f}x (goal >= 1.5)")
else:
    per_round = []
    print(f"rounds (reference run, then Secateur straight after): {'round':>5s}{'secateur':>10s}{'reference':>11s}{'ratio':>8s}{'like-for-like':>15s}")
    for r in range(1, rounds + 1):
        sfx = "" if r == 1 else f".r{r}"
        sr, rr = load(os.path.join(out, f"secateur{sfx}.json")), load(os.path.join(out, f"reference{sfx}.json"))
        a, b = float(sr["tokens_per_second"]), float(rr["tokens_per_second"])
        b_all = rr.get("tokens_per_second_incl_untimed")
        per_round.append({"secateur_tokens_per_second": a, "reference_tokens_per_second": b, "ratio": a / b,
                          "ratio_like_for_like": a / b_all if b_all else None})
        lfl = f"{a / b_all:.3f}x" if b_all else "-"
        print(f"{'':55s}{r:5d}{a:10.1f}{b:11.1f}{a / b:7.3f}x{lfl:>15s}")
    speed = statistics.median(x["ratio"] for x in per_round)
    res["rounds"] = per_round
    res["speed_ratio_median"] = speed
    listed = ", ".join("%.3f" % x["ratio"] for x in per_round)
    check("speed", speed >= 1.5, f"median over {rounds} rounds of Secateur / PEFT tokens/s = {speed:.3f}x "
          f"(rounds: {listed}; goal >= 1.5)")
check("memory", mem <= 0.7, f"Secateur / PEFT peak RSS = {ms:.0f} / {mr:.0f} MiB = {mem:.3f} (goal <= 0.7)")
json.dump(res, open(os.path.join(out, "compare.json"), "w"), indent=2)
sys.exit(1 if fail else 0)
PY
