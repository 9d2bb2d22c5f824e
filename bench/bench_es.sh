#!/usr/bin/env bash
# Evolutionary mask search on SmolLM2-135M (issue 17, done-means 1): Wanda 2:4 and RIA 2:4 + channel
# permutation, each then refined by `prune --method es` from that start at the same pattern; WikiText-2
# perplexity 16 × 2048 for each. The budget is GENERATIONS per matrix on NSAMPLES × SEQLEN C4
# calibration windows (Secateur's own sampling, seed 0); every run's wall time is printed.
#
# Run from the package root:   bash bench/bench_es.sh
# Environment (optional): SECATEUR_BIN, NSAMPLES (8), SEQLEN (1024), WINDOWS (16), GENERATIONS (100),
# ES_SEED (0), ES_RATE (the CLI's default), ES_ARGS (more es options), ORDER (reference; one-pass: each projection's
# statistics after the ones before it are pruned, for the start and the search alike), STARTS ("wanda ria-permute"), BENCH_OUT, SECATEUR_DATA, THREADS (2).
# Checks per start: ES perplexity < the start's, at least 2 zeros in 4 in every matrix of the record, and the
# same zero count (prunable_zeros) up to 0.001 % (checkpoint zeros can change block with --permute). Exit 0 all PASS, 1 a FAIL, 2 a tool failed.
set -euo pipefail
SECATEUR_BIN="${SECATEUR_BIN:-.build/release/secateur}"
NSAMPLES="${NSAMPLES:-8}"; SEQLEN="${SEQLEN:-1024}"; WINDOWS="${WINDOWS:-16}"; THREADS="${THREADS:-2}"
GENERATIONS="${GENERATIONS:-100}"; ES_SEED="${ES_SEED:-0}"; ORDER="${ORDER:-reference}"
STARTS="${STARTS:-wanda ria-permute}"
export SECATEUR_DATA="${SECATEUR_DATA:-/work/shared/data}"
BENCH_OUT="${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench_es.XXXXXX")}"
mkdir -p "$BENCH_OUT"
RATE_ARGS=()
[[ -n "${ES_RATE:-}" ]] && RATE_ARGS=(--es-rate "$ES_RATE")
read -r -a EXTRA_ES_ARGS <<< "${ES_ARGS:-}"   # more `prune --method es` options, e.g. "--es-rate-floor 0.0005"
echo "bench_es: calibration C4 ${NSAMPLES}x${SEQLEN}, order $ORDER, ${GENERATIONS} generations, eval WikiText-2 ${WINDOWS}x2048, out $BENCH_OUT" >&2

run() {   # tag, prune arguments…
  local tag="$1"; shift
  local t0=$SECONDS
  "$SECATEUR_BIN" prune --model smollm2-135m --pattern 2:4 --order "$ORDER" --threads "$THREADS" --nsamples "$NSAMPLES" --seqlen "$SEQLEN" \
      --output "$BENCH_OUT/$tag" --json "$@" > "$BENCH_OUT/$tag.json" 2> "$BENCH_OUT/$tag.log" \
    || { echo "bench_es: $tag failed ($BENCH_OUT/$tag.log)" >&2; exit 2; }
  local t1=$SECONDS
  "$SECATEUR_BIN" eval ppl --model "$BENCH_OUT/$tag" --dataset wikitext2 --windows "$WINDOWS" --threads "$THREADS" --json \
      > "$BENCH_OUT/$tag.ppl.json" 2>> "$BENCH_OUT/$tag.log" || { echo "bench_es: $tag eval failed" >&2; exit 2; }
  echo "{\"prune_wall_s\": $((t1 - t0)), \"eval_wall_s\": $((SECONDS - t1))}" > "$BENCH_OUT/$tag.wall.json"
  rm -rf "${BENCH_OUT:?}/$tag"
  echo "done $tag (prune $((t1 - t0)) s, eval $((SECONDS - t1)) s)" >&2
}

for start in $STARTS; do
  case "$start" in
    wanda) init=(wanda); extra=() ;;
    ria-permute) init=(ria); extra=(--permute) ;;
    *) echo "bench_es: unknown start $start" >&2; exit 2 ;;
  esac
  run "$start" --method "${init[0]}" "${extra[@]}"
  run "es_$start" --method es --es-init "${init[0]}" "${extra[@]}" --generations "$GENERATIONS" --es-seed "$ES_SEED" "${RATE_ARGS[@]}" "${EXTRA_ES_ARGS[@]}"
done

python3 - "$BENCH_OUT" "$GENERATIONS" "$NSAMPLES" "$SEQLEN" $STARTS <<'PY'
import json, sys
out, gens, ns, sl, starts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
load = lambda p: json.load(open(p))
ppl = lambda t: load(f"{out}/{t}.ppl.json")["metrics"]["perplexity"][0]["value"]
ok = True
print(f"budget: {gens} generations per matrix, C4 calibration {ns} x {sl}")
print("| start (2:4) | start ppl | ES ppl | Δ | zeros (start / ES) | ES error ratio (final / initial; held-out) | ES weights moved | ES prune wall s | check |")
print("|---|---:|---:|---:|---|---:|---:|---:|---|")
for s in starts:
    a, b = load(f"{out}/{s}.json"), load(f"{out}/es_{s}.json")
    pa, pb = ppl(s), ppl(f"es_{s}")
    es = b.get("evolutionary_search") or {}
    za, zb = a["prunable_zeros"], b["prunable_zeros"]
    ratio = es.get("final_error", 0) / max(es.get("initial_error", 1e-30), 1e-30)
    held = es.get("final_held_out_error", 0) / max(es.get("initial_held_out_error") or 1e-30, 1e-30)
    wall = load(f"{out}/es_{s}.wall.json")["prune_wall_s"]
    # Every matrix keeps at least half its weights zero (2:4). The zero counts agree up to the checkpoint's own
    # zeros: with --permute (or another order of later layers' inputs) a zero weight can land in another block.
    half = all(m["zeros"] * 2 >= m["rows"] * m["cols"] for l in b["layers"].values() for m in l.values())
    good = pb < pa and half and abs(za - zb) <= 0.00001 * a["prunable_weights"]
    ok &= good
    print(f"| {s} | {pa:.3f} | {pb:.3f} | {pb - pa:+.3f} | {za} / {zb} | {ratio:.4f}; {held:.4f} | {es.get('changed_weights', '')} | {wall} | {'PASS' if good else 'FAIL'} |")
sys.exit(0 if ok else 1)
PY
