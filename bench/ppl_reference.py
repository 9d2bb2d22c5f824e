#!/usr/bin/env python3
r"""Reference perplexity for Secateur: Hugging Face transformers on PyTorch CPU.

Protocol (the Wanda / SparseGPT eval code):
  * tokenize the whole test text once with the model's tokenizer
    (default special-token behaviour, return_tensors="pt");
  * nsamples = numel // seqlen (or the first --windows N of them);
  * window i = ids[i*seqlen:(i+1)*seqlen]; logits = model(window).logits;
  * shift by one, CrossEntropyLoss (mean) per window; nll_i = loss_i * seqlen;
  * ppl = exp(sum(nll_i) / (nsamples * seqlen)).

Text construction:
  * wikitext2: rows = each line of wiki.test.raw with its "\n" kept, whitespace-only
    lines become "" (the rows HF datasets yields); text = "\n\n".join(rows).
  * ptb: sentences = line.strip() for each line of ptb.test.txt; text = " ".join(sentences).

The model is loaded from the GGUF file (transformers dequantizes it to float32).
Prints one JSON object on stdout; progress goes to stderr.
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys
import time

DEFAULT_GGUF = os.path.expanduser(
    "~/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def load_text(dataset, data_dir):
    if dataset == "wikitext2":
        path = os.path.join(data_dir, "wikitext2", "wiki.test.raw")
        with open(path, "r", encoding="utf-8", newline="") as f:
            lines = f.read().split("\n")
        # Re-attach the "\n" each line carries (the last element is the empty
        # remainder after the final newline).
        if lines and lines[-1] == "":
            rows = [l + "\n" for l in lines[:-1]]
        else:
            rows = [l + "\n" for l in lines[:-1]] + [lines[-1]]
        rows = ["" if r.strip() == "" else r for r in rows]
        return "\n\n".join(rows), path
    if dataset == "ptb":
        path = os.path.join(data_dir, "ptb", "ptb.test.txt")
        with open(path, "r", encoding="utf-8") as f:
            sentences = [l.strip() for l in f.read().split("\n")]
        # The file ends with "\n": drop the trailing empty remainder only.
        if sentences and sentences[-1] == "":
            sentences = sentences[:-1]
        return " ".join(sentences), path
    raise SystemExit(f"unknown dataset {dataset!r} (wikitext2|ptb; no C4 validation shard is available)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", default=DEFAULT_GGUF, help="path to the GGUF model file")
    ap.add_argument("--dataset", default="wikitext2", choices=["wikitext2", "ptb"])
    ap.add_argument("--seqlen", type=int, default=2048)
    ap.add_argument("--windows", type=int, default=16,
                    help="use only the first N windows (0 = all, i.e. numel // seqlen)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", default=os.environ.get("SECATEUR_DATA", "/work/shared/data"))
    ap.add_argument("--json", action="store_true",
                    help="print only the JSON object on stdout (default also prints it; progress is on stderr)")
    ap.add_argument("--dump-tokens", metavar="FILE",
                    help="write the full token id sequence as little-endian uint32")
    ap.add_argument("--dump-logits", metavar="FILE",
                    help="write window 0's float32 logits at positions 0..3 as JSON")
    ap.add_argument("--profile", action="store_true",
                    help="run torch.profiler over one window after the timed loop and print a breakdown to stderr")
    args = ap.parse_args()

    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(args.threads)
    model_dir, model_file = os.path.split(os.path.abspath(args.gguf))

    text, data_path = load_text(args.dataset, args.data_dir)
    log(f"[ref] text {data_path}: {len(text)} chars, sha256 {hashlib.sha256(text.encode('utf-8')).hexdigest()}")

    # --- tokenizer + tokenization -------------------------------------------------
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(model_dir, gguf_file=model_file)
    t_tok_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    enc = tok(text, return_tensors="pt")
    t_tokenize = time.perf_counter() - t0
    ids = enc.input_ids  # [1, numel]
    numel = ids.numel()
    log(f"[ref] tokenizer {type(tok).__name__} loaded in {t_tok_load:.2f}s; "
        f"{numel} tokens in {t_tokenize:.2f}s; first ids {ids[0, :8].tolist()}")

    if args.dump_tokens:
        with open(args.dump_tokens, "wb") as f:
            f.write(struct.pack(f"<{numel}I", *ids[0].tolist()))
        log(f"[ref] wrote {numel} uint32 token ids to {args.dump_tokens}")

    # --- model load --------------------------------------------------------------
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=model_file, dtype=torch.float32)
    model.eval()
    t_load = time.perf_counter() - t0
    attn_impl = getattr(model.config, "_attn_implementation", None)
    log(f"[ref] model {type(model).__name__} loaded in {t_load:.2f}s (attn_implementation={attn_impl})")

    seqlen = args.seqlen
    total = numel // seqlen
    nsamples = total if args.windows <= 0 else min(args.windows, total)
    if nsamples <= 0:
        raise SystemExit(f"text has {numel} tokens, fewer than seqlen {seqlen}")

    loss_fct = torch.nn.CrossEntropyLoss()
    nlls = []
    with torch.inference_mode():
        # warm-up forward on a short input, not timed
        t0 = time.perf_counter()
        model(ids[:, :128]).logits
        t_warm = time.perf_counter() - t0

        window_secs = []
        t_loop0 = time.perf_counter()
        for i in range(nsamples):
            tw = time.perf_counter()
            inputs = ids[:, i * seqlen:(i + 1) * seqlen]
            lm_logits = model(inputs).logits
            shift_logits = lm_logits[:, :-1, :].contiguous()
            shift_labels = inputs[:, 1:]
            loss = loss_fct(shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1))
            nll = loss.float() * seqlen
            nlls.append(nll.item())
            window_secs.append(time.perf_counter() - tw)
            if i == 0 and args.dump_logits:
                d = {"positions": [0, 1, 2, 3],
                     "input_ids": inputs[0, :4].tolist(),
                     "logits": lm_logits[0, :4, :].float().tolist()}
                with open(args.dump_logits, "w") as f:
                    json.dump(d, f)
            log(f"[ref] window {i + 1}/{nsamples}: nll {nlls[-1] / seqlen:.4f}/token, {window_secs[-1]:.2f}s")
        t_loop = time.perf_counter() - t_loop0

        profile = None
        if args.profile:
            profile = profile_window(model, ids[:, :seqlen], torch)

    ppl = math.exp(sum(nlls) / (nsamples * seqlen))
    tokens = nsamples * seqlen
    out = {
        "tool": "transformers",
        "model": os.path.basename(args.gguf),
        "dataset": args.dataset,
        "seqlen": seqlen,
        "windows": nsamples,
        "windows_available": total,
        "tokens": tokens,
        "text_tokens": numel,
        "ppl": ppl,
        "nll_per_window": nlls,
        "seconds": t_loop,
        "tokens_per_second": tokens / t_loop,
        "window_seconds": window_secs,
        # the fastest window: a less noise-sensitive speed estimate on a shared machine
        "tokens_per_second_best_window": seqlen / min(window_secs),
        "tokenize_seconds": t_tokenize,
        "tokenizer_load_seconds": t_tok_load,
        "model_load_seconds": t_load,
        "warmup_seconds": t_warm,
        "attn_implementation": attn_impl,
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "threads": torch.get_num_threads(),
    }
    if profile is not None:
        out["profile"] = profile
    print(json.dumps(out, indent=None if args.json else 2))


def profile_window(model, window, torch):
    """Profile one forward of `window` and bucket self CPU time by op kind."""
    from torch.profiler import profile, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        model(window).logits
        wall = time.perf_counter() - t0
    # self CPU time (microseconds) per op name
    rows = [(e.key, e.self_cpu_time_total, e.count) for e in prof.key_averages()]
    total_self = sum(r[1] for r in rows)
    gemm_ops = {"aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear", "aten::baddbmm"}
    attn_ops = {"aten::scaled_dot_product_attention", "aten::_scaled_dot_product_flash_attention_for_cpu",
                "aten::_scaled_dot_product_attention_math", "aten::_scaled_dot_product_flash_attention"}
    buckets = {"gemm": 0.0, "attention": 0.0, "other": 0.0}
    for name, us, _ in rows:
        if name in gemm_ops:
            buckets["gemm"] += us
        elif name in attn_ops or "scaled_dot_product" in name:
            buckets["attention"] += us
        else:
            buckets["other"] += us
    top = sorted(rows, key=lambda r: -r[1])[:20]
    log(f"[ref] profiled forward wall {wall:.3f}s (profiler on); self-CPU total {total_self / 1e6:.3f}s")
    log(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))
    return {
        "wall_seconds": wall,
        "self_cpu_seconds_total": total_self / 1e6,
        "buckets_seconds": {k: v / 1e6 for k, v in buckets.items()},
        "buckets_percent": {k: 100.0 * v / total_self for k, v in buckets.items()},
        "top_ops": [{"op": n, "self_cpu_seconds": us / 1e6, "calls": c} for n, us, c in top],
    }


if __name__ == "__main__":
    main()
