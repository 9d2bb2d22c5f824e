#!/usr/bin/env python3
"""Reference masks of the gradient-based and entropy unstructured scores on a tiny Llama.

Loads Tests/Fixtures/tiny/llama-gqa-untied with transformers (float32, eager attention) and
prunes it in PyTorch the way the reference code does, for four methods and two patterns:

  gradient  score = (1/N) Σ_s |g_s|                  (GBLM-Pruner's ℓ1 gradient accumulation)
  taylor    score = |W ⊙ (1/N) Σ_s g_s|             (first-order Taylor term per weight)
  gblm      score = |W| · √scaler_j + |W| · |G|      (GBLM-Pruner `prune_gblm`, G = √Σ_s (100·g_s)²,
                                                     scaler_j = Wanda's mean over windows of Σ_t x_tj²,
                                                     gathered layer by layer from the pruned model)
  entropy   score = −p ln p,  p = |W_ij| / Σ_k |W_kj| (column shares along the output dimension)

g_s is the gradient of window s's mean next-token loss (labels = input ids) on the dense model.
Patterns: unstructured 50 % per output row (stable ascending sort, the first ⌊cols/2⌋ pruned, as
the reference's `torch.sort(..., stable=True)`), and 2:4 (the 2 lowest of every 4 inputs).

The calibration windows are the test's: window s, position t → token (7s + 13t) mod 48, 4 × 16.

Writes Tests/Fixtures/gradient-scores/llama-gqa-untied.safetensors with, per method and pattern,
  <method>.<pattern>.<hf weight name>   F32  the pruned projection weight (0 where pruned)
Run from the repository root:  python3 scripts/make_gradient_score_fixtures.py
"""
import os

import torch
import transformers
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODEL = os.path.join(ROOT, "Tests", "Fixtures", "tiny", "llama-gqa-untied")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "gradient-scores")
PROJ = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
WINDOWS = [[(s * 7 + t * 13) % 48 for t in range(16)] for s in range(4)]
GBLM_SCALE = 100.0


def load():
    m = transformers.AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32, attn_implementation="eager")
    return m.eval()


def linears(m):
    return {f"model.layers.{i}.{p}.weight": m.get_submodule(f"model.layers.{i}.{p}")
            for i in range(m.config.num_hidden_layers) for p in PROJ}


def gradients(m):
    l1, mean, sq = {}, {}, {}
    for w in WINDOWS:
        m.zero_grad()
        ids = torch.tensor([w])
        m(input_ids=ids, labels=ids).loss.backward()
        for name, lin in linears(m).items():
            g = lin.weight.grad.detach().clone()
            l1[name] = l1.get(name, 0) + g.abs() / len(WINDOWS)
            mean[name] = mean.get(name, 0) + g / len(WINDOWS)
            sq[name] = sq.get(name, 0) + (g * GBLM_SCALE) ** 2
    return l1, mean, {k: v.sqrt() for k, v in sq.items()}


def mask(score, pattern):
    rows, cols = score.shape
    out = torch.zeros_like(score, dtype=torch.bool)
    if pattern == "unstructured":
        idx = torch.sort(score, dim=-1, stable=True)[1][:, : int(cols * 0.5)]
        out.scatter_(1, idx, True)
    else:
        for j in range(0, cols, 4):
            tmp = score[:, j:j + 4]
            out.scatter_(1, j + torch.topk(tmp, 2, dim=1, largest=False)[1], True)
    return out


def wanda_scalers(m, layer):
    """Wanda's scaler_row for every linear of `layer`, from the model as pruned so far."""
    scaler, count, hooks = {}, {}, []
    for p in PROJ:
        name = f"model.layers.{layer}.{p}.weight"
        lin = m.get_submodule(f"model.layers.{layer}.{p}")

        def hook(_, inp, __, name=name):
            x = inp[0].detach().reshape(-1, inp[0].shape[-1]).float()
            n = count.get(name, 0)
            s = scaler.get(name, torch.zeros(x.shape[1]))
            s = s * n / (n + 1) + x.norm(p=2, dim=0) ** 2 / (n + 1)
            scaler[name], count[name] = s, n + 1
        hooks.append(lin.register_forward_hook(hook))
    with torch.no_grad():
        for w in WINDOWS:
            m(input_ids=torch.tensor([w]))
    for h in hooks:
        h.remove()
    return scaler


def main():
    dense = load()
    l1, mean, l2 = gradients(dense)
    out = {}
    for method in ["gradient", "taylor", "gblm", "entropy"]:
        for pattern in ["unstructured", "2of4"]:
            m = load()
            lins = linears(m)
            for layer in range(m.config.num_hidden_layers):
                names = [n for n in lins if n.startswith(f"model.layers.{layer}.")]
                scalers = wanda_scalers(m, layer) if method == "gblm" else None
                for name in names:
                    W = lins[name].weight.data
                    if method == "gradient":
                        s = l1[name]
                    elif method == "taylor":
                        s = (W * mean[name]).abs()
                    elif method == "gblm":
                        s = W.abs() * scalers[name].sqrt().reshape(1, -1) + W.abs() * l2[name].abs()
                    else:
                        p = W.abs() / W.abs().sum(dim=0, keepdim=True)
                        s = torch.where(p > 0, -p * torch.log(p), torch.zeros_like(p))
                    W[mask(s, pattern)] = 0
                    out[f"{method}.{pattern}.{name}"] = W.clone().contiguous()
    os.makedirs(OUT, exist_ok=True)
    save_file(out, os.path.join(OUT, "llama-gqa-untied.safetensors"))
    print(f"wrote {len(out)} tensors")


if __name__ == "__main__":
    main()
