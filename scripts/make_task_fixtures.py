#!/usr/bin/env python3
"""Writes Tests/Fixtures/tasks/<task>.json: the first documents' loglikelihood requests as
lm-evaluation-harness v0.4 builds them (its own task YAMLs and code, zero-shot), over the SAME
local data files Secateur reads (see scripts/lm_eval_local_tasks.py for the field mapping).

Each fixture: {"task", "lm_eval_version", "docs": [{"doc_id", "gold", "requests": [[context,
continuation], ...], "tokens": [[context_ids, continuation_ids], ...]}]}. "tokens" are HFLM's
`_encode_pair` (lm-eval's code) with the SmolLM2-135M tokenizer loaded by transformers from the GGUF;
omitted when that file is absent.

lambada_openai and truthfulqa_mc1/mc2 (L.EXTRA_TASKS) also carry lm-eval's own per-document
metrics for fixed made-up loglikelihoods: "probe": {"loglikelihoods", "is_greedy", "results"} with
"results" what the task's process_results returns for them, and for lambada_openai a top-level
"probe_perplexity" (lm-eval's perplexity aggregation over the probed documents). truthfulqa_mc2
adds the documents whose true answers do not all come first (process_results_mc2 uses the labels).

Usage: python3 scripts/make_task_fixtures.py [--data /work/shared/data] [--docs 5] [--tasks a,b]

Needs: pip install lm-eval (0.4.x); transformers + gguf for the token ids.
"""
import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lm_eval_local_tasks as L  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GGUF = os.path.expanduser("~/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf")


def encoder():
    if not os.path.exists(GGUF):
        return None
    from transformers import AutoTokenizer
    from lm_eval.api.model import TemplateLM
    tok = AutoTokenizer.from_pretrained(os.path.dirname(GGUF), gguf_file=os.path.basename(GGUF))

    class Enc:  # just what TemplateLM._encode_pair uses of HFLM (add_bos_token unset -> tokenizer default)
        backend = "causal"

        def tok_encode(self, s, **kw):
            return tok.encode(s)

    e = Enc()
    return lambda c, x: TemplateLM._encode_pair(e, c, x)


def gold_of(task, doc):
    """lm-eval's ConfigurableTask.process_results gold for multiple_choice."""
    if task.OUTPUT_TYPE == "loglikelihood":
        return 0  # the one request is the target
    if task.multiple_input:
        return task.doc_to_text(doc)
    g = task.doc_to_target(doc)
    choices = task.doc_to_choice(doc)
    if isinstance(g, str):
        g = int(g) if g.isdigit() else choices.index(g)
    return g


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("SECATEUR_DATA", "/work/shared/data"))
    ap.add_argument("--docs", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests/Fixtures/tasks"))
    ap.add_argument("--tasks", default=",".join(L.TASKS + L.EXTRA_TASKS))
    args = ap.parse_args()
    names = [t for t in args.tasks.split(",") if t]
    import lm_eval
    from lm_eval.tasks import get_task_dict
    tm = L.task_manager(args.data, tempfile.mkdtemp(prefix="lmeval_local_"))
    tasks = get_task_dict(names, tm)
    enc = encoder()
    os.makedirs(args.out, exist_ok=True)
    for name in names:
        task = tasks[name]
        extra = name in L.EXTRA_TASKS
        task.build_all_requests(limit=None if name == "truthfulqa_mc2" else args.docs, rank=0, world_size=1)
        keep = set(range(args.docs))
        if name == "truthfulqa_mc2":  # + the documents whose labels are not all 1s then 0s
            for inst in task.instances:
                labels = inst.doc["mc2_targets"]["labels"]
                if labels != sorted(labels, reverse=True):
                    keep.add(inst.doc_id)
        docs = {}
        for inst in sorted(task.instances, key=lambda i: (i.doc_id, i.idx)):
            if inst.doc_id not in keep:
                continue
            d = docs.setdefault(inst.doc_id, {"doc_id": inst.doc_id, "gold": gold_of(task, inst.doc), "requests": []})
            d["_doc"] = inst.doc
            d["requests"].append(list(inst.arguments))
            if enc:
                d.setdefault("tokens", []).append([list(map(int, t)) for t in enc(*inst.arguments)])
        probe_lls = []
        for d in docs.values():
            doc = d.pop("_doc")
            if not extra:
                continue
            if "mc2_targets" in doc:
                d["labels"] = list(doc["mc2_targets" if name == "truthfulqa_mc2" else "mc1_targets"]["labels"])
            # Made-up loglikelihoods (not a model's): distinct, negative, varied per document.
            n = len(d["requests"])
            lls = [-(1.0 + ((7 * d["doc_id"] + 3 * j) % 11) * 0.9 + 0.01 * len(d["requests"][j][1])) for j in range(n)]
            greedy = [(d["doc_id"] + j) % 2 == 0 for j in range(n)]
            results = task.process_results(doc, list(zip(lls, greedy)))
            d["probe"] = {"loglikelihoods": lls, "is_greedy": greedy,
                          "results": {k: float(v) for k, v in results.items()}}
            probe_lls.append(lls[0])
        out = {"task": name, "lm_eval_version": lm_eval.__version__ if hasattr(lm_eval, "__version__") else "0.4",
               "docs": [docs[k] for k in sorted(docs)]}
        if name == "lambada_openai":
            from lm_eval.api.metrics import perplexity
            out["probe_perplexity"] = perplexity(probe_lls)
        with open(os.path.join(args.out, f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False, indent=1)
        print(f"{name}: {len(docs)} docs, {sum(len(d['requests']) for d in docs.values())} requests")


if __name__ == "__main__":
    main()
