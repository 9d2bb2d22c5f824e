#!/usr/bin/env python3
"""Reference for the backward-pass benchmark (bench/bench_gradients.sh): transformers on
PyTorch CPU, float32, the same GGUF dequantized by transformers.

For each window length T in --lengths: a window of T pseudo-random token ids (seeded),
loss = model(ids, labels=ids).loss, loss.backward(), timed as the best of --reps runs after
one warm-up (forward + backward, gradients zeroed outside the timing). Writes one
safetensors file (--out) with, per T (prefix "T<T>."):
  input_ids I64 [T], loss F32 [], seconds F32 []
  grad.<hf name> for the norms of every layer, the final norm, all projections of layers
  0, mid and last, and embed_rows = the embedding gradient rows of embed_row_ids
  (the tied head's share included; the whole 49152 × 576 matrix would be 113 MB).
"""
import argparse
import os
import time

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--lengths", default="64,256")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(a.gguf), gguf_file=os.path.basename(a.gguf),
                                                 dtype=torch.float32, attn_implementation="eager")
    model.train(False)
    n = model.config.num_hidden_layers
    keep_layers = {0, n // 2, n - 1}
    tensors = {}
    for T in [int(x) for x in a.lengths.split(",")]:
        ids = torch.randint(0, model.config.vocab_size, (1, T), generator=torch.Generator().manual_seed(T))
        best = float("inf")
        for rep in range(a.reps + 1):
            model.zero_grad(set_to_none=True)
            t0 = time.perf_counter()
            loss = model(ids, labels=ids, use_cache=False).loss
            loss.backward()
            dt = time.perf_counter() - t0
            if rep > 0:
                best = min(best, dt)
        p = f"T{T}."
        tensors[p + "input_ids"] = ids[0].to(torch.int64).contiguous()
        tensors[p + "loss"] = loss.detach().float().reshape(()).contiguous()
        tensors[p + "seconds"] = torch.tensor(best, dtype=torch.float32)
        for name, param in model.named_parameters():
            if name == "model.embed_tokens.weight":
                rows = torch.unique(ids[0])[:8]
                tensors[p + "embed_row_ids"] = rows.to(torch.int64).contiguous()
                tensors[p + "grad.embed_rows"] = param.grad[rows].contiguous()
                continue
            parts = name.split(".")
            in_kept_layer = len(parts) > 2 and parts[1] == "layers" and int(parts[2]) in keep_layers
            if name.endswith("norm.weight") or in_kept_layer:
                tensors[p + "grad." + name] = param.grad.detach().contiguous()
        print(f"transformers T={T}: loss {loss.item():.6f}, {best:.3f} s per window (forward + backward)", flush=True)
    save_file(tensors, a.out)


if __name__ == "__main__":
    main()
