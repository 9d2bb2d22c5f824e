#!/usr/bin/env bash
# Recovery study on SmolLM2-135M: how much of what pruning cost does `secateur recover` win back?
#
#   (a) Wanda 2:4            secateur prune --method wanda --pattern 2:4
#   (b) structured Taylor    secateur prune --structured --method taylor --ratio 0.3 --attn-layers 4-27 --mlp-layers 4-27
# each recovered with
#   (i)  LoRA r=8 (alpha 16, dropout 0.05, q,k,v,o,gate,up,down) on C4 windows
#   (ii) the same LoRA + distillation from the dense model (--teacher, KL at --kd-temperature 2, --kd-weight 0.5)
# with at most MAX_TOKENS (256,000) training tokens per run: --seqlen 256 --batch-size 8 --steps 125
# = 256,000 tokens, lr 2e-4, --val-windows 16 --eval-every 25.
#
# The dense model, both pruned models and the four recovered models are each measured the same way:
# WikiText-2 and PTB perplexity (`eval ppl --windows 16 --json`: wanda protocol, 16 windows of 2048)
# and five zero-shot tasks (`eval tasks --tasks boolq,hellaswag,winogrande,arc_challenge,openbookqa
# --limit 200 --json`). Per task the metric the tasks command reports (its `metric` field:
# acc_norm for hellaswag, arc_challenge, openbookqa; acc for boolq, winogrande — the metric
# bench/bench_tasks.sh's "average (reported metrics)" takes, as in the LLM-Pruner/Wanda tables);
# the average is the mean of the five.
#
# Output in $BENCH_OUT:
#   recovery.md                 one Markdown table per pruning (rows: dense, pruned, +LoRA, +LoRA+KD;
#                               columns: tokens, train seconds, WikiText-2, PTB, five tasks, average)
#                               with the checks; summary.json (all numbers and checks)
#   curves_<name>.csv           each recovery's training and validation loss per step (from the run
#                               record's history): step,tokens,train_loss,validation_loss
#   models/<name>/              pruned and recovered model directories
#   runs/<name>.<step>.json     every run record (+ .log stderr, + .cmd the exact command line)
#
# Checks (PASS/FAIL; exit 1 on any FAIL):
#   ppl_lowered:<run>        every recovery lowers WikiText-2 ppl below its pruned model's
#   tasks_not_lowered:<run>  no recovery lowers the five-task average below its pruned model's
#                            (minus TASK_TOLERANCE points, default 0)
#   kd_gap_closed:b          (b) LoRA+KD closes >= 40 % of the log-ppl gap:
#                            ln p_pruned - ln p_recovered >= 0.4 (ln p_pruned - ln p_dense) (WikiText-2)
#   zeros_kept:<run>         the run record's zeros_lost == 0 (pruned weights stay zero; an addition
#                            to the study's checks, it is the command's contract)
#   token_budget:<run>       the run record's tokens_seen <= MAX_TOKENS
#
# Rerunning: a step whose run record exists, parses, and was made by the same command line
# (runs/<name>.<step>.cmd) is reused, not redone; redoing a pruning or a recovery deletes the
# records that depend on it. FORCE=1 redoes everything. SKIP_PRUNE=1, SKIP_RECOVER=1, SKIP_PPL=1,
# SKIP_TASKS=1 never run that kind of step: an existing record is reused even if the command
# changed, a missing one leaves its cells empty ("—") and its checks SKIP (SKIP_TASKS=1 without
# records: no task columns measured at all).
#
# Run from the package root:   bash bench/bench_recovery_quality.sh
# Environment (all optional):
#   SECATEUR_BIN (.build/release/secateur)   MODEL (smollm2-135m)   TEACHER (default MODEL)
#   THREADS (secateur --threads; default: the commands' default, all cores)
#   SEQLEN (256)  BATCH_SIZE (8)  STEPS (125)  LR (2e-4)  VAL_WINDOWS (16)  EVAL_EVERY (25)
#   RANK (8)  ALPHA (16)  DROPOUT (0.05)  SEED (0)  KD_TEMPERATURE (2)  KD_WEIGHT (0.5)
#   MAX_TOKENS (256000: STEPS x BATCH_SIZE x SEQLEN above it is refused)
#   RECOVER_EVAL (wikitext2: recover's own before/after perplexity, 16 x 2048, compared with
#                 `eval ppl` of the saved model as a consistency INFO; empty to skip it)
#   RECOVER_EXTRA_ARGS (extra words for every recover run, e.g. "--schedule cosine --warmup 10")
#   NSAMPLES, CALIB_SEQLEN (Wanda calibration; default: secateur prune's, 128 x 2048)
#   PPL_WINDOWS (16)  TASKS (boolq,hellaswag,winogrande,arc_challenge,openbookqa)  LIMIT (200)
#   TASK_TOLERANCE (0, points)   PRUNINGS ("a b": which prunings to run)
#   SECATEUR_DATA (/work/shared/data)  PYTHON (python3)
#   BENCH_OUT (default: a new temp folder; set it to resume a study)
#
# Exit status: 0 all checks PASS, 1 a check FAILed, 2 a tool failed or its output could not be read.
set -euo pipefail

SECATEUR_BIN="${SECATEUR_BIN:-.build/release/secateur}"
MODEL="${MODEL:-smollm2-135m}"
TEACHER="${TEACHER:-$MODEL}"
THREADS="${THREADS:-}"
SEQLEN="${SEQLEN:-256}"
BATCH_SIZE="${BATCH_SIZE:-8}"
STEPS="${STEPS:-125}"
LR="${LR:-2e-4}"
VAL_WINDOWS="${VAL_WINDOWS:-16}"
EVAL_EVERY="${EVAL_EVERY:-25}"
RANK="${RANK:-8}"
ALPHA="${ALPHA:-16}"
DROPOUT="${DROPOUT:-0.05}"
SEED="${SEED:-0}"
KD_TEMPERATURE="${KD_TEMPERATURE:-2}"
KD_WEIGHT="${KD_WEIGHT:-0.5}"
MAX_TOKENS="${MAX_TOKENS:-256000}"
RECOVER_EVAL="${RECOVER_EVAL-wikitext2}"
PPL_WINDOWS="${PPL_WINDOWS:-16}"
TASKS="${TASKS:-boolq,hellaswag,winogrande,arc_challenge,openbookqa}"
LIMIT="${LIMIT:-200}"
TASK_TOLERANCE="${TASK_TOLERANCE:-0}"
PRUNINGS="${PRUNINGS:-a b}"
PYTHON="${PYTHON:-python3}"
export SECATEUR_DATA="${SECATEUR_DATA:-/work/shared/data}"
BENCH_OUT="${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench_recovery_quality.XXXXXX")}"
RUNS="$BENCH_OUT/runs"
MODELS="$BENCH_OUT/models"
mkdir -p "$RUNS" "$MODELS"
read -r -a RECOVER_EXTRA <<< "${RECOVER_EXTRA_ARGS:-}"
THREAD_ARGS=()
[[ -n "$THREADS" ]] && THREAD_ARGS=(--threads "$THREADS")

TOKENS_PER_RUN=$((STEPS * BATCH_SIZE * SEQLEN))
if (( TOKENS_PER_RUN > MAX_TOKENS )); then
  echo "bench_recovery_quality: STEPS x BATCH_SIZE x SEQLEN = $TOKENS_PER_RUN training tokens, over MAX_TOKENS $MAX_TOKENS" >&2
  exit 2
fi
if [[ ! -x "$SECATEUR_BIN" ]]; then
  echo "bench_recovery_quality: secateur binary not found at $SECATEUR_BIN (swift build -c release, or set SECATEUR_BIN)" >&2
  exit 2
fi

loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a; }
LOAD_BEFORE="$(loadavg)"
STARTED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "== machine: $(nproc) cores, load average: $LOAD_BEFORE"
echo "== recovery study: $STEPS steps x $BATCH_SIZE x $SEQLEN = $TOKENS_PER_RUN tokens per run, lr $LR; outputs in $BENCH_OUT"

valid_json() {  # $1: file -> 0 when it holds a JSON object (whole file or its last object line)
  [[ -s "$1" ]] && "$PYTHON" - "$1" <<'PY' 2>/dev/null
import json, sys
t = open(sys.argv[1], encoding="utf-8").read()
try:
    ok = isinstance(json.loads(t), dict)
except ValueError:
    ok = any(l.strip().startswith("{") and isinstance(json.loads(l), dict) for l in t.splitlines()[-1:])
sys.exit(0 if ok else 1)
PY
}

RAN=0   # set by step(): 1 when the step actually ran
# step KIND NAME.STEP DIR -- command...
#   KIND: PRUNE, RECOVER, PPL or TASKS (SKIP_<KIND>=1 never runs it); DIR: the model directory the
#   command writes ("" for none), emptied before the command runs.
step() {
  local kind="$1" id="$2" dir="$3"; shift 4
  local json="$RUNS/$id.json" cmdfile="$RUNS/$id.cmd" log="$RUNS/$id.log"
  local cmd; cmd="$(printf '%q ' "$@")"
  RAN=0
  local skip_var="SKIP_$kind"
  if [[ "${!skip_var:-0}" == 1 ]]; then
    if valid_json "$json"; then echo "   reuse  $id (SKIP_$kind=1)"; else echo "   skip   $id (SKIP_$kind=1, no record)"; fi
    return 0
  fi
  if [[ "${FORCE:-0}" != 1 ]] && valid_json "$json" && [[ -f "$cmdfile" && "$(cat "$cmdfile")" == "$cmd" ]]; then
    echo "   reuse  $id"
    return 0
  fi
  echo "   run    $id: $cmd"
  rm -f "$json" "$cmdfile"
  [[ -n "$dir" ]] && rm -rf "$dir"
  local t0=$SECONDS
  if ! "$@" > "$json.tmp" 2> "$log"; then
    echo "bench_recovery_quality: step $id failed; last lines of $log:" >&2
    tail -n 20 "$log" >&2
    rm -f "$json.tmp"
    exit 2
  fi
  mv "$json.tmp" "$json"
  printf '%s' "$cmd" > "$cmdfile"
  echo "          done in $((SECONDS - t0)) s (load average $(loadavg))"
  RAN=1
}

drop() {  # drop NAME STEP...: those records are stale (the model they came from changed)
  local name="$1" s; shift
  for s in "$@"; do rm -f "$RUNS/$name.$s.json" "$RUNS/$name.$s.cmd"; done
}

evaluate() {  # NAME MODEL-PATH
  local name="$1" path="$2"
  step PPL "$name.wikitext2" "" -- "$SECATEUR_BIN" eval ppl --model "$path" --dataset wikitext2 --windows "$PPL_WINDOWS" \
    --data-dir "$SECATEUR_DATA" ${THREAD_ARGS[@]+"${THREAD_ARGS[@]}"} --json
  step PPL "$name.ptb" "" -- "$SECATEUR_BIN" eval ppl --model "$path" --dataset ptb --windows "$PPL_WINDOWS" \
    --data-dir "$SECATEUR_DATA" ${THREAD_ARGS[@]+"${THREAD_ARGS[@]}"} --json
  step TASKS "$name.tasks" "" -- "$SECATEUR_BIN" eval tasks --model "$path" --tasks "$TASKS" --limit "$LIMIT" \
    --data-dir "$SECATEUR_DATA" ${THREAD_ARGS[@]+"${THREAD_ARGS[@]}"} --json
}

recover() {  # NAME PRUNED-PATH [extra recover args...]
  local name="$1" src="$2"; shift 2
  local out="$MODELS/$name"
  local eval_args=()
  [[ -n "$RECOVER_EVAL" ]] && eval_args=(--eval "$RECOVER_EVAL" --windows "$PPL_WINDOWS")
  step RECOVER "$name.recover" "$out" -- "$SECATEUR_BIN" recover --model "$src" --method lora --rank "$RANK" \
    --alpha "$ALPHA" --dropout "$DROPOUT" --data c4 --data-dir "$SECATEUR_DATA" --seqlen "$SEQLEN" \
    --batch-size "$BATCH_SIZE" --steps "$STEPS" --lr "$LR" --val-windows "$VAL_WINDOWS" --eval-every "$EVAL_EVERY" \
    --seed "$SEED" ${eval_args[@]+"${eval_args[@]}"} "$@" ${RECOVER_EXTRA[@]+"${RECOVER_EXTRA[@]}"} \
    ${THREAD_ARGS[@]+"${THREAD_ARGS[@]}"} --output "$out" --json
  [[ $RAN == 1 ]] && drop "$name" wikitext2 ptb tasks
  evaluate "$name" "$out"
}

prune_and_recover() {  # LETTER NAME [prune args...]
  local letter="$1" name="$2"; shift 2
  local out="$MODELS/$name"
  echo "== ($letter) $name"
  step PRUNE "$name.prune" "$out" -- "$SECATEUR_BIN" prune --model "$MODEL" "$@" --data-dir "$SECATEUR_DATA" \
    ${THREAD_ARGS[@]+"${THREAD_ARGS[@]}"} --output "$out" --json
  if [[ $RAN == 1 ]]; then
    # Everything measured on or trained from the old pruned model is stale.
    drop "$name" wikitext2 ptb tasks
    drop "${name}_lora" recover wikitext2 ptb tasks
    drop "${name}_lorakd" recover wikitext2 ptb tasks
  fi
  evaluate "$name" "$out"
  recover "${name}_lora" "$out"
  recover "${name}_lorakd" "$out" --teacher "$TEACHER" --kd-temperature "$KD_TEMPERATURE" --kd-weight "$KD_WEIGHT"
}

echo "== dense ($MODEL)"
evaluate dense "$MODEL"
CALIB_ARGS=()
[[ -n "${NSAMPLES:-}" ]] && CALIB_ARGS+=(--nsamples "$NSAMPLES")
[[ -n "${CALIB_SEQLEN:-}" ]] && CALIB_ARGS+=(--seqlen "$CALIB_SEQLEN")
for p in $PRUNINGS; do
  case "$p" in
    a) prune_and_recover a wanda24 --method wanda --pattern 2:4 ${CALIB_ARGS[@]+"${CALIB_ARGS[@]}"} ;;
    b) prune_and_recover b taylor30 --structured --method taylor --ratio 0.3 --attn-layers 4-27 --mlp-layers 4-27 ;;
    *) echo "bench_recovery_quality: unknown pruning '$p' in PRUNINGS (a, b)" >&2; exit 2 ;;
  esac
done
LOAD_AFTER="$(loadavg)"
echo "== load average after: $LOAD_AFTER"

# --- report ----------------------------------------------------------------------------------------
"$PYTHON" - "$BENCH_OUT" "$PRUNINGS" "$TASKS" "$MAX_TOKENS" "$TASK_TOLERANCE" "$BATCH_SIZE" "$SEQLEN" \
  "$LOAD_BEFORE" "$LOAD_AFTER" "$STARTED" "$STEPS" "$LR" "$VAL_WINDOWS" "$EVAL_EVERY" "$RANK" "$ALPHA" \
  "$KD_TEMPERATURE" "$KD_WEIGHT" "$TEACHER" "$LIMIT" "$PPL_WINDOWS" "$MODEL" <<'PY'
import csv, json, math, os, sys
(out, prunings, tasks, max_tokens, task_tol, B, S, load_before, load_after, started, steps, lr, val_windows,
 eval_every, rank, alpha, kd_t, kd_w, teacher, limit, ppl_windows, model) = sys.argv[1:]
prunings, tasks = prunings.split(), tasks.split(",")
max_tokens, task_tol, B, S = int(max_tokens), float(task_tol), int(B), int(S)
runs = os.path.join(out, "runs")
NORM = ("hellaswag", "arc_challenge", "openbookqa")  # the tasks whose average takes acc_norm (eval tasks --help)

def die(msg):
    print(f"bench_recovery_quality: {msg}", file=sys.stderr); sys.exit(2)

def record(name, stepname):
    """The run record of a step, or None where it was not run (SKIP_*)."""
    path = os.path.join(runs, f"{name}.{stepname}.json")
    if not os.path.exists(path):
        return None
    text = open(path, encoding="utf-8").read()
    try:
        obj = json.loads(text)
        if isinstance(obj, dict):
            return obj
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        if line.strip().startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    die(f"no JSON object in {path}")

def ppl(name, dataset):
    r = record(name, dataset)
    if r is None:
        return None
    if r.get("ppl") is not None:
        return float(r["ppl"])
    vals = [m["value"] for m in (r.get("metrics") or {}).get("perplexity", []) if m.get("dataset") == dataset]
    return float(vals[-1]) if vals else None

def task_values(name):
    """task -> (value, metric) of the metric the tasks command reports; and the mean of the five."""
    r = record(name, "tasks")
    if r is None:
        return None, None, None
    per = r.get("tasks")
    if not isinstance(per, dict):  # fall back on the run record's metrics list
        per = {m["task"]: dict(m, metric=m.get("reported")) for m in (r.get("metrics") or {}).get("tasks", [])}
    vals = {}
    for t in tasks:
        if t not in per:
            die(f"{name}: tasks record lacks {t}")
        m = per[t].get("metric") or per[t].get("reported") or ("acc_norm" if t in NORM else "acc")
        vals[t] = (float(per[t][m]), m)
    avg = sum(v for v, _ in vals.values()) / len(vals)
    if r.get("average") is not None and abs(float(r["average"]) - avg) > 1e-9:
        print(f"WARNING {name}: the record's average {r['average']} differs from the mean of the five {avg}")
    return vals, avg, {t: per[t].get("n") for t in tasks}

def training(name):
    r = record(name, "recover")
    if r is None:
        return None
    h = r.get("history") or {}
    tokens = r.get("tokens_seen")
    tps = r.get("tokens_per_second")
    secs = r.get("train_seconds")
    before = after = None
    for m in (r.get("metrics") or {}).get("perplexity", []):
        if m.get("stage") == "before_recovery": before = m
        if m.get("stage") == "recovered": after = m
    val = h.get("validations") or []
    return {"tokens": tokens, "seconds": secs, "tokens_per_second": tps, "zeros_lost": r.get("zeros_lost"),
            "zeros_before": r.get("zeros_before"), "zeros_after": r.get("zeros_after"),
            "trainable_parameters": r.get("trainable_parameters"), "peak_rss_mb": r.get("peak_rss_mb"),
            "seconds_total": r.get("seconds_total"), "history": h,
            "val_first": val[0] if val else None, "val_last": val[-1] if val else None,
            "val_best": min(val, key=lambda v: v["loss"]) if val else None,
            "ppl_before_recovery": before, "ppl_recovered": after}

def write_curves(name, h):
    rows = {}
    for x in h.get("steps") or []:
        rows.setdefault(int(x["step"]), {})["train_loss"] = x["loss"]
    for v in h.get("validations") or []:
        rows.setdefault(int(v["step"]), {})["validation_loss"] = v["loss"]
    path = os.path.join(out, f"curves_{name}.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "tokens", "train_loss", "validation_loss"])
        for stp in sorted(rows):
            w.writerow([stp, stp * B * S, rows[stp].get("train_loss", ""), rows[stp].get("validation_loss", "")])
    return path

def fmt(x, spec):
    return "—" if x is None else format(x, spec)

LABEL = {"a": ("wanda24", "Wanda 2:4"), "b": ("taylor30", "structured Taylor 30 %, layers 4-27")}
summary = {"settings": {"model": model, "teacher": teacher, "steps": int(steps), "batch_size": B, "seqlen": S,
                        "tokens_per_run": int(steps) * B * S, "lr": float(lr), "val_windows": int(val_windows),
                        "eval_every": int(eval_every), "rank": int(rank), "alpha": float(alpha),
                        "kd_temperature": float(kd_t), "kd_weight": float(kd_w), "tasks": tasks, "limit": int(limit),
                        "ppl_windows": int(ppl_windows), "max_tokens": max_tokens},
           "started": started, "load_average_before": load_before, "load_average_after": load_after,
           "models": {}, "checks": {}}
fail = False
lines_checks = []
def check(name, ok, text):
    global fail
    if ok is None:
        line = f"SKIP {name}: {text}"
    else:
        summary["checks"][name] = bool(ok)
        fail = fail or not ok
        line = f"{'PASS' if ok else 'FAIL'} {name}: {text}"
    print(line); lines_checks.append(line)

def measure(name):
    vals, avg, ns = task_values(name)
    m = {"wikitext2": ppl(name, "wikitext2"), "ptb": ppl(name, "ptb"),
         "tasks": {t: v for t, (v, _) in vals.items()} if vals else None,
         "task_metrics": {t: mt for t, (_, mt) in vals.items()} if vals else None,
         "task_n": ns, "average": avg}
    summary["models"][name] = m
    return m

md = ["# Recovery study: SmolLM2-135M", "",
      f"Started {started}; load average before {load_before}, after {load_after}. Recovery: LoRA r={rank} "
      f"(alpha {alpha}) on q,k,v,o,gate,up,down, C4 train windows of {S} tokens, batch {B}, {steps} steps "
      f"= {int(steps) * B * S:,} tokens, lr {lr}, {val_windows} held-out windows evaluated every {eval_every} steps; "
      f"+KD: the same with distillation from {teacher} (temperature {kd_t}, weight {kd_w}). Perplexity: "
      f"`eval ppl`, wanda protocol, {ppl_windows} windows of 2048. Tasks: `eval tasks --limit {limit}`, "
      f"the metric each task reports (acc_norm for hellaswag, arc_challenge, openbookqa; acc otherwise), in %.", ""]
dense = measure("dense")
for p in prunings:
    base, label = LABEL[p]
    pruned = measure(base)
    rows = [("dense", None, dense), (f"pruned ({label})", None, pruned)]
    trains = {}
    for suffix, rlabel in (("lora", "+LoRA"), ("lorakd", "+LoRA+KD")):
        name = f"{base}_{suffix}"
        tr = training(name)
        trains[name] = tr
        m = measure(name)
        if tr is not None:
            m["training"] = {k: v for k, v in tr.items() if k != "history"}
            m["curves"] = write_curves(name, tr["history"])
        rows.append((rlabel, tr, m))
    known = dense.get("task_metrics") or pruned.get("task_metrics") or {}
    task_heads = [f"{t} ({known.get(t) or ('acc_norm' if t in NORM else 'acc')})" for t in tasks]
    md += [f"## ({p}) {label}", "",
           "| model | tokens | train s | WikiText-2 | PTB | " + " | ".join(task_heads) + " | average |",
           "|---|---:|---:|---:|---:|" + "---:|" * len(tasks) + "---:|"]
    for rl, tr, m in rows:
        tv = m.get("tasks") or {}
        md.append(f"| {rl} | {fmt(tr and tr['tokens'], ',d') if tr else '0'} | {fmt(tr and tr['seconds'], '.0f') if tr else '—'} | "
                  f"{fmt(m['wikitext2'], '.2f')} | {fmt(m['ptb'], '.2f')} | "
                  + " | ".join(fmt(tv.get(t) * 100 if tv.get(t) is not None else None, '.1f') for t in tasks)
                  + f" | {fmt(m['average'] * 100 if m['average'] is not None else None, '.2f')} |")
    md.append("")
    # checks and notes for this pruning
    pd, pp = dense["wikitext2"], pruned["wikitext2"]
    for suffix, rl in (("lora", "+LoRA"), ("lorakd", "+LoRA+KD")):
        name = f"{base}_{suffix}"
        m, tr = summary["models"][name], trains[name]
        pr = m["wikitext2"]
        if pr is not None and pp is not None:
            check(f"ppl_lowered:{name}", pr < pp, f"WikiText-2 {pp:.3f} -> {pr:.3f}")
        else:
            check(f"ppl_lowered:{name}", None, "WikiText-2 perplexity not measured")
        if m["average"] is not None and pruned["average"] is not None:
            d = (m["average"] - pruned["average"]) * 100
            ns = [n for n in (m["task_n"] or {}).values() if n] or [int(limit)] * len(tasks)
            # at most this standard error (p = 0.5 everywhere, the two models' answers taken as independent)
            se = 100 * math.sqrt(2 * sum(0.25 / n for n in ns)) / len(ns)
            check(f"tasks_not_lowered:{name}", d >= -task_tol,
                  f"five-task average {pruned['average'] * 100:.2f} -> {m['average'] * 100:.2f} ({d:+.2f} points; "
                  f"tolerance {task_tol} points; one standard error of such a difference is at most ~{se:.1f} points at this --limit)")
        else:
            check(f"tasks_not_lowered:{name}", None, "task averages not measured")
        if tr is not None:
            zl = tr["zeros_lost"]
            check(f"zeros_kept:{name}", zl == 0, f"zeros before {tr['zeros_before']}, after {tr['zeros_after']}, lost {zl}")
            check(f"token_budget:{name}", tr["tokens"] is not None and tr["tokens"] <= max_tokens,
                  f"{tr['tokens']} training tokens (at most {max_tokens})")
        else:
            check(f"zeros_kept:{name}", None, "no recover run record")
        if pr is not None and pp is not None and pd is not None and pp > pd:
            closed = (math.log(pp) - math.log(pr)) / (math.log(pp) - math.log(pd))
            m["log_ppl_gap_closed"] = closed
            if p == "b" and suffix == "lorakd":
                check("kd_gap_closed:b", closed >= 0.4,
                      f"ln {pp:.3f} - ln {pr:.3f} = {math.log(pp) - math.log(pr):.4f} vs 0.4 x (ln {pp:.3f} - ln {pd:.3f}) = "
                      f"{0.4 * (math.log(pp) - math.log(pd)):.4f}: {closed * 100:.1f} % of the log-ppl gap closed (need >= 40 %)")
        elif p == "b" and suffix == "lorakd":
            check("kd_gap_closed:b", None, "perplexities not measured")
    notes = []
    for suffix, rl in (("lora", "+LoRA"), ("lorakd", "+LoRA+KD")):
        name = f"{base}_{suffix}"
        m, tr = summary["models"][name], trains[name]
        if tr is None:
            continue
        s = f"- {rl}: {fmt(tr['tokens_per_second'], '.0f')} training tokens/s, peak RSS {fmt(tr['peak_rss_mb'], '.0f')} MiB, " \
            f"{fmt(tr['trainable_parameters'], ',d')} trainable parameters, zeros lost {tr['zeros_lost']}"
        if m.get("log_ppl_gap_closed") is not None:
            s += f", {m['log_ppl_gap_closed'] * 100:.1f} % of the WikiText-2 log-ppl gap closed"
        if tr["val_first"] and tr["val_last"]:
            s += (f"; validation loss {tr['val_first']['loss']:.4f} (step {tr['val_first']['step']}) -> "
                  f"{tr['val_last']['loss']:.4f} (step {tr['val_last']['step']}), best {tr['val_best']['loss']:.4f} "
                  f"(step {tr['val_best']['step']})")
        s += f"; curves in `curves_{name}.csv`"
        rec = tr["ppl_recovered"]
        if rec is not None and m["wikitext2"] is not None and rec.get("dataset") == "wikitext2":
            rel = abs(rec["value"] - m["wikitext2"]) / m["wikitext2"]
            s += f"; recover's own WikiText-2 after training {rec['value']:.3f} vs `eval ppl` of the saved model {m['wikitext2']:.3f} ({rel * 100:.4f} %)"
            if rel > 1e-4:
                print(f"WARNING {name}: the saved model's WikiText-2 ppl differs from the in-process value by {rel * 100:.4f} %")
        notes.append(s)
    md += notes + [""]

md += ["## Checks", "", "```"] + lines_checks + ["```", ""]
open(os.path.join(out, "recovery.md"), "w").write("\n".join(md))
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
print()
print("\n".join(md))
print(f"\nwritten: {os.path.join(out, 'recovery.md')}, {os.path.join(out, 'summary.json')}")
sys.exit(1 if fail else 0)
PY
