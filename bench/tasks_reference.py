#!/usr/bin/env python3
"""lm-evaluation-harness (v0.4, HFLM) on Secateur's tasks over its local data files.

The model is the GGUF loaded by transformers (dequantized to float32), the tasks are lm-eval's own
YAMLs pointed at the local files (scripts/lm_eval_local_tasks.py). Writes
  OUT/lm_eval.json          {"tasks": {task: {"acc", "acc_stderr", "acc_norm", "acc_norm_stderr", "perplexity", "n"}}, "seconds"}
                            (acc_norm only for the eight zero-shot tasks, perplexity only for lambada_openai)
  OUT/lm_eval_samples.jsonl one line per document: task, doc_id, loglikelihoods, is_greedy, acc,
                            acc_norm (same fields as `secateur eval tasks --log-samples`)

Usage: python3 bench/tasks_reference.py --out DIR [--tasks a,b] [--limit 200] [--threads 2] [--batch-size 1]
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))
import lm_eval_local_tasks as L  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tasks", default=",".join(L.TASKS))
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", default="1")
    ap.add_argument("--cache", default=None,
                    help="lm-eval request cache (sqlite) so an interrupted run resumes; timings of a resumed run are meaningless")
    ap.add_argument("--data", default=os.environ.get("SECATEUR_DATA", "/work/shared/data"))
    ap.add_argument("--gguf", default=os.path.expanduser(
        "~/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf"))
    args = ap.parse_args()
    tasks = [t for t in args.tasks.split(",") if t]

    import torch
    torch.set_num_threads(args.threads)
    from transformers import AutoModelForCausalLM, AutoTokenizer
    import lm_eval
    from lm_eval.models.huggingface import HFLM

    d, f = os.path.dirname(args.gguf), os.path.basename(args.gguf)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32).eval()
    bs = args.batch_size if args.batch_size == "auto" else int(args.batch_size)
    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=bs, device="cpu")

    os.makedirs(args.out, exist_ok=True)
    tm = L.task_manager(args.data, os.path.join(args.out, "lm_eval_tasks"))
    t0 = time.time()
    res = lm_eval.simple_evaluate(model=lm, tasks=tasks, task_manager=tm, limit=args.limit, num_fewshot=0, use_cache=args.cache,
                                  log_samples=True)
    seconds = time.time() - t0

    out = {"tasks": {}, "seconds": seconds, "lm_eval_version": getattr(lm_eval, "__version__", "0.4"),
           "threads": args.threads, "batch_size": args.batch_size}
    with open(os.path.join(args.out, "lm_eval_samples.jsonl"), "w") as fs:
        for t in tasks:
            r = res["results"][t]
            samples = sorted(res["samples"][t], key=lambda s: s["doc_id"])
            out["tasks"][t] = {"acc": r["acc,none"], "acc_stderr": r.get("acc_stderr,none"),
                               "acc_norm": r.get("acc_norm,none"), "acc_norm_stderr": r.get("acc_norm_stderr,none"),
                               "perplexity": r.get("perplexity,none"), "n": len(samples)}
            for s in samples:
                resps = [x if isinstance(x[0], (int, float)) else x[0] for x in s["filtered_resps"]]
                lls = [float(x[0]) for x in resps]
                greedy = [bool(x[1]) for x in resps]
                fs.write(json.dumps({"task": t, "doc_id": s["doc_id"], "loglikelihoods": lls, "is_greedy": greedy,
                                     "acc": float(s["acc"]), "acc_norm": s.get("acc_norm"), "target": s.get("target")}) + "\n")
    with open(os.path.join(args.out, "lm_eval.json"), "w") as fo:
        json.dump(out, fo, indent=1)
    print(f"lm-eval: {len(tasks)} tasks, limit {args.limit}, {seconds:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
