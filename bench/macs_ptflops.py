#!/usr/bin/env python3
"""MACs of a Llama-family model: ptflops (on the transformers model) against `secateur bench model`.

ptflops' pytorch backend counts nn.Linear modules (in × out per token, + out per bias) and,
with functional patching on, torch.matmul calls — eager attention's QKᵀ and P·V over all
T² query–key pairs (the causal mask is applied after the product) — plus one MAC per element
for softmax, SiLU, and elementwise mul/add (norms, RoPE, residuals). Secateur counts linear
layers and QKᵀ/P·V only, over causal pairs T(T+1)/2 by default. This script compares
  1. linear layers: ptflops with functional counting off (modules only) vs Secateur's
     macs_linear_per_token × T (must agree exactly; bias adds aside),
  2. ptflops total vs Secateur with attention over all T² pairs (derived from the causal
     count), the difference being ptflops' elementwise ops.
MACs do not depend on weight values, so the transformers model is built from config.json
with random weights (any HF config: a `secateur prune --output` directory has one).

usage: macs_ptflops.py CONFIG_DIR SECATEUR_JSON [--seqlen 128]
  SECATEUR_JSON: output of `secateur bench model --model M --prompt-length T --json`
"""
import argparse
import json
import sys

import torch
from ptflops import get_model_complexity_info
from transformers import AutoConfig, AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config_dir")
    ap.add_argument("secateur_json")
    ap.add_argument("--seqlen", type=int, default=128)
    a = ap.parse_args()
    T = a.seqlen
    ours = json.load(open(a.secateur_json))
    if ours["prompt_length"] != T:
        sys.exit(f"secateur JSON was measured at prompt length {ours['prompt_length']}, not {T}")

    cfg = AutoConfig.from_pretrained(a.config_dir)
    cfg._attn_implementation = "eager"  # attention as torch.matmul calls that ptflops sees
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager").eval()

    def inputs(_):
        return {"input_ids": torch.zeros(1, T, dtype=torch.long), "use_cache": False}

    with torch.no_grad():
        modules, params = get_model_complexity_info(model, (T,), input_constructor=inputs, as_strings=False,
                                                    print_per_layer_stat=False, backend="pytorch",
                                                    backend_specific_config={"count_functional": False})
        total, _ = get_model_complexity_info(model, (T,), input_constructor=inputs, as_strings=False,
                                             print_per_layer_stat=False, backend="pytorch")

    linear = ours["macs_linear_per_token"] * T
    attention_causal = ours["macs_per_sequence"] - linear
    attention_full = attention_causal * 2 * T // (T + 1)  # T² pairs instead of T(T+1)/2
    ours_full = linear + attention_full
    n_params = sum(p.numel() for p in model.parameters())
    if cfg.tie_word_embeddings:
        pass  # parameters() lists the tied matrix once, as Secateur does
    rows = [
        ("parameters", n_params, ours["params_total"]),
        ("linear-layer MACs (modules only)", modules, linear),
        ("all MACs (ptflops total vs Secateur, full T² attention)", total, ours_full),
    ]
    print(f"sequence length {T}; Secateur causal attention: {ours['macs_per_sequence'] / 1e9:.4f} GMACs per sequence, "
          f"{ours['macs_per_token'] / 1e6:.2f} MMACs per token")
    print(f"{'quantity':58} {'ptflops/torch':>16} {'secateur':>16} {'ratio':>8}")
    for name, ref, got in rows:
        print(f"{name:58} {ref:16,d} {got:16,d} {got / ref:8.5f}")
    print(f"ptflops total − modules (attention matmuls + elementwise): {total - modules:,d}; "
          f"Secateur full attention: {attention_full:,d}")


if __name__ == "__main__":
    main()
