#!/usr/bin/env python3
r"""Calibration windows for the pruning benchmark: Wanda's `get_c4` sampling over the local C4 shard.

Reproduces lib/data.py:get_c4 of github.com/locuslab/wanda (commit 8e8fc87) on the local
1000-document prefix of c4-train.00000-of-01024 (the reference loads the whole shard, ~356k docs,
through `datasets`; the sampling procedure is identical, the pool is smaller):

    random.seed(seed)
    for _ in range(nsamples):
        while True:
            i = random.randint(0, len(traindata) - 1)
            ids = tokenizer(traindata[i]['text']).input_ids      # default special-token behaviour
            if len(ids) > seqlen: break
        i = random.randint(0, len(ids) - seqlen - 1)
        window = ids[i:i + seqlen]

Output: little-endian int32, nsamples x seqlen contiguous, no header.  A JSON summary
(doc indices, start offsets, sha256, number of qualifying docs) goes to stdout; progress to stderr.
"""
import argparse
import hashlib
import json
import os
import random
import struct
import sys

DEFAULT_GGUF = os.path.expanduser(
    "~/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf")
DEFAULT_C4 = "/work/shared/data/c4/c4-train.00000-of-01024.first1000.jsonl"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def load_docs(path):
    docs = []
    with open(path, "r", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                docs.append(json.loads(line)["text"])
    return docs


def sample_windows(docs, tokenize, nsamples, seed, seqlen):
    """Wanda get_c4 sampling. tokenize(text) -> list[int]. Returns (windows, picks)."""
    cache = {}

    def ids_of(k):
        if k not in cache:
            cache[k] = tokenize(docs[k])
        return cache[k]

    random.seed(seed)
    windows, picks = [], []
    for _ in range(nsamples):
        tries = 0
        while True:
            tries += 1
            if tries > 1_000_000:
                raise SystemExit(f"no document with more than {seqlen} tokens")
            k = random.randint(0, len(docs) - 1)
            ids = ids_of(k)
            if len(ids) > seqlen:
                break
        i = random.randint(0, len(ids) - seqlen - 1)
        windows.append(ids[i:i + seqlen])
        picks.append({"doc": k, "doc_tokens": len(ids), "start": i})
    return windows, picks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nsamples", type=int, default=128)
    ap.add_argument("--seqlen", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--gguf", default=DEFAULT_GGUF)
    ap.add_argument("--c4", default=DEFAULT_C4)
    ap.add_argument("--count-qualifying", action="store_true",
                    help="also tokenize every doc and report how many have > seqlen tokens")
    args = ap.parse_args()

    from transformers import AutoTokenizer
    model_dir, model_file = os.path.split(os.path.abspath(args.gguf))
    tok = AutoTokenizer.from_pretrained(model_dir, gguf_file=model_file)
    docs = load_docs(args.c4)
    log(f"[calib] {len(docs)} docs from {args.c4}; tokenizer {type(tok).__name__}")

    def tokenize(text):
        return tok(text).input_ids

    windows, picks = sample_windows(docs, tokenize, args.nsamples, args.seed, args.seqlen)
    flat = [t for w in windows for t in w]
    data = struct.pack(f"<{len(flat)}i", *flat)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "wb") as f:
        f.write(data)
    summary = {
        "out": args.out, "nsamples": args.nsamples, "seqlen": args.seqlen, "seed": args.seed,
        "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
        "docs": len(docs), "picks": picks,
    }
    if args.count_qualifying:
        lens = [len(tokenize(d)) for d in docs]
        summary["qualifying_docs"] = sum(1 for n in lens if n > args.seqlen)
        summary["total_doc_tokens"] = sum(lens)
    log(f"[calib] wrote {args.nsamples}x{args.seqlen} int32 to {args.out} (sha256 {summary['sha256'][:16]}...)")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
