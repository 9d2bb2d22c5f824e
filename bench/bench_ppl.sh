#!/usr/bin/env bash
# Perplexity benchmark: Secateur CLI vs Hugging Face transformers (PyTorch CPU), in one run
# on the same machine, same model, same data, same windows.
#
# Run from the package root:   bash bench/bench_ppl.sh
#
# Environment (all optional):
#   SECATEUR_BIN   secateur binary             (default .build/release/secateur)
#   MODEL          secateur model name         (default smollm2-135m)
#   REF_GGUF       GGUF file for the reference (default ~/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf)
#   DATASET        wikitext2 | ptb             (default wikitext2)
#   WINDOWS        number of windows           (default 16)
#   SEQLEN         window length               (default 2048)
#   THREADS        torch threads for the reference (default 2)
#   PYTHON         python interpreter          (default python3)
#   BENCH_OUT      folder for the two JSON outputs and logs (default: a new temp folder)
#   SKIP_REF=1     do not run the reference; reuse $BENCH_OUT/transformers.json
#   SECATEUR_DATA  data folder, passed through to both tools (default /work/shared/data in the reference)
#
# Needs: python3 with torch, transformers, gguf, accelerate (transformers requires accelerate to
# load a GGUF file: `pip install accelerate`).
#
# Exit status: 0 both checks PASS, 1 a check FAILed, 2 a tool failed or its output could not be read.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SECATEUR_BIN="${SECATEUR_BIN:-.build/release/secateur}"
MODEL="${MODEL:-smollm2-135m}"
REF_GGUF="${REF_GGUF:-$HOME/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf}"
DATASET="${DATASET:-wikitext2}"
WINDOWS="${WINDOWS:-16}"
SEQLEN="${SEQLEN:-2048}"
THREADS="${THREADS:-2}"
PYTHON="${PYTHON:-python3}"
BENCH_OUT="${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench_ppl.XXXXXX")}"
mkdir -p "$BENCH_OUT"

if [[ ! -x "$SECATEUR_BIN" ]]; then
  echo "bench_ppl: secateur binary not found at $SECATEUR_BIN (build it: swift build -c release, or set SECATEUR_BIN)" >&2
  exit 2
fi

echo "== machine: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"
echo "== outputs in $BENCH_OUT"

# The machine's sgemm rate on a forward-pass shape, the ceiling we judge GFLOP/s against.
"$SECATEUR_BIN" bench gemm --json > "$BENCH_OUT/gemm.json"

# (a) Secateur
SEC_CMD=("$SECATEUR_BIN" eval ppl --model "$MODEL" --dataset "$DATASET" --windows "$WINDOWS" --seqlen "$SEQLEN" --json)
echo "== (a) ${SEC_CMD[*]}"
if ! "${SEC_CMD[@]}" > "$BENCH_OUT/secateur.json" 2> "$BENCH_OUT/secateur.log"; then
  echo "bench_ppl: secateur failed; last lines of its stderr:" >&2
  tail -n 20 "$BENCH_OUT/secateur.log" >&2
  exit 2
fi

# (b) transformers reference
REF_CMD=("$PYTHON" "$SCRIPT_DIR/ppl_reference.py" --gguf "$REF_GGUF" --dataset "$DATASET"
         --windows "$WINDOWS" --seqlen "$SEQLEN" --threads "$THREADS" --json)
if [[ "${SKIP_REF:-0}" != "1" ]] && ! "$PYTHON" -c "import torch, transformers, gguf, accelerate" 2>/dev/null; then
  echo "== installing the reference's Python packages" >&2
  "$PYTHON" -m pip install --quiet torch==2.13.0+cpu transformers tokenizers gguf accelerate >&2 || \
    "$PYTHON" -m pip install --quiet torch transformers tokenizers gguf accelerate >&2
fi
if [[ "${SKIP_REF:-0}" == "1" ]]; then
  echo "== (b) skipped (SKIP_REF=1), reusing $BENCH_OUT/transformers.json"
else
  echo "== (b) ${REF_CMD[*]}"
  if ! "${REF_CMD[@]}" > "$BENCH_OUT/transformers.json" 2> "$BENCH_OUT/transformers.log"; then
    echo "bench_ppl: reference failed; last lines of its stderr:" >&2
    tail -n 20 "$BENCH_OUT/transformers.log" >&2
    exit 2
  fi
fi

"$SECATEUR_BIN" bench gemm --json >> "$BENCH_OUT/gemm.json"

# Compare
"$PYTHON" - "$BENCH_OUT/secateur.json" "$BENCH_OUT/transformers.json" "$BENCH_OUT/gemm.json" <<'PY'
import json, sys

def load(path):
    """Read a tool's JSON object: the whole stdout, else the last line that is a JSON object."""
    text = open(path, encoding="utf-8").read()
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
    sys.exit(f"bench_ppl: no JSON object in {path}")

try:
    s = load(sys.argv[1])
    t = load(sys.argv[2])
    for name, d in (("secateur", s), ("transformers", t)):
        for k in ("ppl", "tokens_per_second", "seconds", "tokens", "windows", "seqlen"):
            if k not in d:
                sys.exit(f"bench_ppl: {name} JSON lacks {k!r}")
except SystemExit as e:
    print(e, file=sys.stderr)
    sys.exit(2)

for k in ("dataset", "seqlen", "windows", "tokens"):
    if k in s and k in t and s[k] != t[k]:
        print(f"WARNING: {k} differs: secateur {s[k]!r} vs transformers {t[k]!r}")

ps, pt = float(s["ppl"]), float(t["ppl"])
ts, tt = float(s["tokens_per_second"]), float(t["tokens_per_second"])
rel = abs(ps - pt) / pt * 100.0
ratio = ts / tt

print()
print(f"{'':14s}{'ppl':>12s}{'tokens/s':>12s}{'seconds':>10s}{'tokens':>9s}")
print(f"{'secateur':14s}{ps:12.4f}{ts:12.1f}{float(s['seconds']):10.2f}{int(s['tokens']):9d}")
print(f"{'transformers':14s}{pt:12.4f}{tt:12.1f}{float(t['seconds']):10.2f}{int(t['tokens']):9d}"
      f"   (torch {t.get('torch_version')}, transformers {t.get('transformers_version')}, threads {t.get('threads')})")
print()
print(f"speed ratio secateur/transformers: {ratio:.3f}x")
# sgemm measured before and after the runs; the machine's rate is the better of the two.
gemm = max(json.loads(l)["gflops_per_second"] for l in open(sys.argv[3]) if l.strip())
achieved = float(s.get("gflops_per_second", 0))
fpt = float(s.get("flops_per_token", 0))
print(f"forward FLOPs/token at seqlen {s['seqlen']}: {fpt/1e6:.1f} M (causal attention counted once)")
print(f"achieved: secateur {achieved:.1f} GFLOP/s, transformers {fpt*tt/1e9:.1f} GFLOP/s; "
      f"machine sgemm {gemm:.1f} GFLOP/s -> secateur at {achieved/gemm*100:.0f} % of sgemm")
print(f"ppl relative difference: {rel:.4f} %  (secateur {ps:.6f} vs transformers {pt:.6f})")
ok_ppl = rel <= 0.1
ok_speed = ratio >= 1.0
print(f"{'PASS' if ok_ppl else 'FAIL'}: ppl within 0.1 %")
print(f"{'PASS' if ok_speed else 'FAIL'}: speed ratio >= 1.0")
sys.exit(0 if (ok_ppl and ok_speed) else 1)
PY
