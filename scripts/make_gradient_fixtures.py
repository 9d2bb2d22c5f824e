#!/usr/bin/env python3
"""Reference gradients of the next-token loss for the tiny models of Tests/Fixtures/tiny/.

For each tiny model <name> (made by scripts/make_tiny_models.py) this loads
Tests/Fixtures/tiny/<name>/ with transformers in float32 (eager attention), runs
    loss = model(input_ids, labels=input_ids).loss      # mean CE over positions 0..T-2
    loss.backward()
and writes Tests/Fixtures/gradients/<name>.safetensors:

  input_ids          I64 [T]        window A (T = 20)
  loss               F32 []         its loss
  grad.<hf name>     F32 [shape]    d loss / d parameter, for every named parameter
                                    (tied models: model.embed_tokens.weight carries the
                                    LM head's share too, since it is the same tensor)
and, for the models in TWO_WINDOW, a second window B (T = 13) for the accumulation test:
  b.input_ids, b.loss, b.grad.<hf name>
and, for the models in SHORTEST_WINDOW, the shortest window there is (T = 2, one prediction):
  c.input_ids, c.loss, c.grad.<hf name>

The float32 gradients are checked here against a float64 run of the same model, so a
reference that is itself imprecise is caught before it becomes a fixture.

Run from the repository root:  python3 scripts/make_gradient_fixtures.py
Requires torch, transformers (5.x), safetensors.
"""
import os

import torch
import transformers
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TINY = os.path.join(ROOT, "Tests", "Fixtures", "tiny")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "gradients")

# GQA with untied and tied heads, llama3 RoPE scaling, Mistral (head_dim != hidden/heads),
# Qwen2 (q/k/v biases, tied head).
MODELS = ["llama-gqa-untied", "llama-gqa-tied", "llama3-ropescaling", "mistral", "qwen2"]
TWO_WINDOW = {"llama-gqa-tied", "qwen2"}
SHORTEST_WINDOW = {"llama-gqa-untied"}
LEN_A, LEN_B, LEN_C = 20, 13, 2


def load(name, dtype):
    return transformers.AutoModelForCausalLM.from_pretrained(
        os.path.join(TINY, name), attn_implementation="eager", dtype=dtype).eval()


def loss_and_grads(model, ids):
    model.zero_grad(set_to_none=True)
    out = model(ids[None, :], labels=ids[None, :], use_cache=False)
    out.loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    return out.loss.detach(), grads


def window(vocab, length, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (length,), generator=g)


def main():
    os.makedirs(OUT, exist_ok=True)
    for k, name in enumerate(MODELS):
        m32 = load(name, torch.float32)
        m64 = load(name, torch.float64)
        vocab = m32.config.vocab_size
        tensors = {}
        windows = [("", window(vocab, LEN_A, 2000 + k))]
        if name in TWO_WINDOW:
            windows.append(("b.", window(vocab, LEN_B, 3000 + k)))
        if name in SHORTEST_WINDOW:
            windows.append(("c.", window(vocab, LEN_C, 4000 + k)))
        for prefix, ids in windows:
            loss, grads = loss_and_grads(m32, ids)
            loss64, grads64 = loss_and_grads(m64, ids)
            assert abs(loss.item() - loss64.item()) < 1e-5 * abs(loss64.item()), (name, loss, loss64)
            for n, g in grads.items():
                ref = grads64[n]
                err = (g.double() - ref).abs().max().item()
                scale = ref.abs().max().item()
                # With T = 2 the only prediction comes from position 0, whose attention is
                # softmax over one key: q and k get exactly zero gradient there.
                assert scale > 0 or prefix == "c.", f"{name}: {n} has an all-zero gradient"
                assert err <= 1e-5 * scale, f"{name}: float32 gradient of {n} off by {err / scale:.2e}"
                tensors[f"{prefix}grad.{n}"] = g.float().contiguous()
            tensors[f"{prefix}input_ids"] = ids.to(torch.int64).contiguous()
            tensors[f"{prefix}loss"] = loss.float().reshape(()).contiguous()
            print(f"{name}{' (' + prefix + ')' if prefix else ''}: T={len(ids)} loss={loss.item():.6f} "
                  f"tensors={len(grads)}")
        save_file(tensors, os.path.join(OUT, f"{name}.safetensors"), metadata={"format": "pt"})


if __name__ == "__main__":
    main()
