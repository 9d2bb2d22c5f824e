#!/usr/bin/env python3
"""Generate the tiny reference models in Tests/Fixtures/tiny/ (deterministic, seeded).

For each model <name>:
  <name>/config.json, <name>/model.safetensors  -- transformers save_pretrained (float32)
  <name>/expected.safetensors                   -- reference outputs (see below)
  <name>/model.gguf                             -- F32 GGUF laid out like llama.cpp's
                                                   convert_hf_to_gguf.py (no tokenizer)
and llama-gqa-untied/model-f16.gguf (2-D weights F16, 1-D tensors F32, like --outtype f16).

expected.safetensors tensors:
  input_ids       I64 [T]      prompt token ids (T = 24)
  logits          F32 [T, V]   transformers float32 logits for every prompt position
  next_input_ids  I64 [3]      three more tokens
  next_logits     F32 [3, V]   logits for those 3 tokens from a second call that reuses the
                               prompt's past_key_values (next_logits[2] = last position)
metadata: "tensor_sums" = JSON {hf tensor name: [shape, float64 sum, first value]} for the
model.safetensors tensors. (One metadata key only: the Python writer orders metadata keys
at random, and a single key keeps the files byte-for-byte reproducible.)

Also Tests/Fixtures/safetensors/python-dtypes.safetensors: small tensors of known values
in several dtypes, written by the Python safetensors package (see make_dtype_fixture).

Run from the repository root:  python3 scripts/make_tiny_models.py
Requires torch, transformers (5.x), safetensors, gguf, numpy.
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import torch
import transformers
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file as save_torch

import gguf

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "tiny")
DTYPE_FIXTURE = os.path.join(ROOT, "Tests", "Fixtures", "safetensors", "python-dtypes.safetensors")

PROMPT_LEN = 24
NEXT_LEN = 3

# Deliberately small, and varied: GQA ratios 2:1, head_dim both = and != hidden/heads,
# tied and untied heads, llama3 RoPE scaling whose thresholds fall inside head_dim 16.
MODELS = {
    "llama-gqa-untied": dict(
        cls="LlamaForCausalLM", cfg=transformers.LlamaConfig, seed=1,
        kw=dict(hidden_size=32, intermediate_size=40, num_attention_heads=4, num_key_value_heads=2,
                head_dim=8, num_hidden_layers=2, vocab_size=48, rms_norm_eps=1e-5,
                rope_theta=10000.0, tie_word_embeddings=False, max_position_embeddings=128,
                bos_token_id=1, eos_token_id=2)),
    "llama-gqa-tied": dict(
        cls="LlamaForCausalLM", cfg=transformers.LlamaConfig, seed=2,
        kw=dict(hidden_size=32, intermediate_size=40, num_attention_heads=4, num_key_value_heads=2,
                head_dim=8, num_hidden_layers=2, vocab_size=48, rms_norm_eps=1e-6,
                rope_theta=10000.0, tie_word_embeddings=True, max_position_embeddings=128,
                bos_token_id=1, eos_token_id=2)),
    "llama3-ropescaling": dict(
        cls="LlamaForCausalLM", cfg=transformers.LlamaConfig, seed=3,
        # head_dim 16, theta 10000: wavelengths 6.3, 19.9, 62.8, 199, ... against thresholds
        # 64/4 = 16 and 64/1 = 64, so unscaled, smoothed and fully scaled bands all occur.
        kw=dict(hidden_size=32, intermediate_size=40, num_attention_heads=2, num_key_value_heads=1,
                head_dim=16, num_hidden_layers=2, vocab_size=48, rms_norm_eps=1e-5,
                rope_theta=10000.0, tie_word_embeddings=False, max_position_embeddings=512,
                rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                  high_freq_factor=4.0, original_max_position_embeddings=64),
                bos_token_id=1, eos_token_id=[2, 3])),
    "mistral": dict(
        cls="MistralForCausalLM", cfg=transformers.MistralConfig, seed=4,
        # head_dim 16 with hidden 32 / 4 heads: q_proj is [64, 32] (head_dim != hidden/heads).
        kw=dict(hidden_size=32, intermediate_size=40, num_attention_heads=4, num_key_value_heads=2,
                head_dim=16, num_hidden_layers=2, vocab_size=48, rms_norm_eps=1e-5,
                rope_theta=1000000.0, tie_word_embeddings=False, max_position_embeddings=256,
                sliding_window=None, bos_token_id=1, eos_token_id=2)),
    "qwen2": dict(
        cls="Qwen2ForCausalLM", cfg=transformers.Qwen2Config, seed=5,
        kw=dict(hidden_size=32, intermediate_size=40, num_attention_heads=4, num_key_value_heads=2,
                num_hidden_layers=2, vocab_size=48, rms_norm_eps=1e-6,
                rope_theta=1000000.0, tie_word_embeddings=True, max_position_embeddings=256,
                use_sliding_window=False, bos_token_id=46, eos_token_id=47)),
}
F16_VARIANT = "llama-gqa-untied"


def randomize(model, seed):
    """Weights much larger than the default init so logits are far from uniform."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def build(name, spec):
    torch.manual_seed(spec["seed"])
    config = spec["cfg"](**spec["kw"])
    config.architectures = [spec["cls"]]
    model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager",
                                                          dtype=torch.float32)
    randomize(model, spec["seed"])
    if config.tie_word_embeddings:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    model.eval()
    return model


def reference_outputs(model, vocab, seed):
    g = torch.Generator().manual_seed(1000 + seed)
    ids = torch.randint(0, vocab, (1, PROMPT_LEN), generator=g)
    nxt = torch.randint(0, vocab, (1, NEXT_LEN), generator=g)
    with torch.no_grad():
        out = model(ids, use_cache=True)
        out2 = model(nxt, past_key_values=out.past_key_values, use_cache=True)
        full = model(torch.cat([ids, nxt], dim=1), use_cache=False)
    logits = out.logits[0].float()
    next_logits = out2.logits[0].float()
    # Cached and uncached computations must agree, or the reference itself is suspect.
    assert torch.allclose(full.logits[0, :PROMPT_LEN], logits, atol=1e-5), "prompt logits mismatch"
    assert torch.allclose(full.logits[0, PROMPT_LEN:], next_logits, atol=1e-5), "kv-cache logits mismatch"
    assert logits.std() > 0.5, "logits too flat for a sensitive test"
    return ids[0], logits, nxt[0], next_logits


# ---------------------------------------------------------------------------------------
# GGUF, as llama.cpp's convert_hf_to_gguf.py lays it out (metadata, names, Q/K permutation)

def permute_qk(w, n_head, n_head_kv):
    """The converter's `permute`: HF stores each head's rotary halves as [first half |
    second half]; llama.cpp's rope (non-NeoX, arch llama) wants them interleaved."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


def llama3_rope_factors(hp):
    """rope_freqs.weight: per-frequency divisors. The converter reads
    original_max_position_embeddings from the top level of config.json (default 8192);
    transformers reads it from the rope parameters. We use the rope parameters' value so
    the GGUF computes what transformers computes (for real Llama 3.x both are 8192)."""
    rp = hp["rope_parameters"]
    base = rp.get("rope_theta", 10000.0)
    dim = hp.get("head_dim") or hp["hidden_size"] // hp["num_attention_heads"]
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor = rp.get("factor", 8.0)
    low = rp.get("low_freq_factor", 1.0)
    high = rp.get("high_freq_factor", 4.0)
    old_ctx = rp.get("original_max_position_embeddings", 8192)
    low_wavelen = old_ctx / low
    high_wavelen = old_ctx / high
    out = []
    for f in freqs.tolist():
        wavelen = 2 * math.pi / f
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(factor)
        else:
            smooth = (old_ctx / wavelen - low) / (high - low)
            out.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def write_gguf(model_dir, path, f16=False):
    with open(os.path.join(model_dir, "config.json")) as f:
        hp = json.load(f)
    hf_arch = hp["architectures"][0]
    arch_name = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2"}[hf_arch]
    arch = {"llama": gguf.MODEL_ARCH.LLAMA, "qwen2": gguf.MODEL_ARCH.QWEN2}[arch_name]
    n_layer = hp["num_hidden_layers"]
    n_head = hp["num_attention_heads"]
    n_head_kv = hp.get("num_key_value_heads") or n_head
    rope = hp.get("rope_parameters") or {}

    w = gguf.GGUFWriter(path, gguf.MODEL_ARCH_NAMES[arch])
    # TextModel.set_gguf_parameters
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name(os.path.basename(model_dir))
    w.add_block_count(n_layer)
    w.add_context_length(hp["max_position_embeddings"])
    w.add_embedding_length(hp["hidden_size"])
    w.add_feed_forward_length(hp["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_rope_freq_base(rope.get("rope_theta", 10000.0))
    w.add_layer_norm_rms_eps(hp["rms_norm_eps"])
    if hp.get("head_dim") is not None:
        w.add_key_length(hp["head_dim"])
        w.add_value_length(hp["head_dim"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if f16 else gguf.LlamaFileType.ALL_F32)
    if arch_name == "llama":
        # LlamaModel.set_gguf_parameters
        w.add_vocab_size(hp["vocab_size"])
        w.add_rope_dimension_count(hp.get("head_dim") or hp["hidden_size"] // n_head)
    if rope.get("rope_type") == "linear":
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(rope["factor"])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    tmap = gguf.get_tensor_name_map(arch, n_layer)
    tensors = []
    if arch_name == "llama" and rope.get("rope_type") == "llama3":
        tensors.append((gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight", llama3_rope_factors(hp)))
    from safetensors.numpy import load_file
    hf = load_file(os.path.join(model_dir, "model.safetensors"))
    for name in sorted(hf):
        data = hf[name].astype(np.float32)
        if arch_name == "llama":
            if name.endswith(("q_proj.weight", "q_proj.bias")):
                data = permute_qk(data, n_head, n_head)
            if name.endswith(("k_proj.weight", "k_proj.bias")):
                data = permute_qk(data, n_head, n_head_kv)
        new = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
        assert new is not None, name
        tensors.append((new, data))
    for new, data in tensors:
        if f16 and data.ndim >= 2:
            data = data.astype(np.float16)
        w.add_tensor(new, np.ascontiguousarray(data))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def gguf_forward(path, ids):
    """Independent numpy forward pass over a GGUF in llama.cpp's semantics: arch llama
    rotates interleaved pairs (2i, 2i+1) of the permuted Q/K rows (and divides each
    frequency by rope_freqs when present); arch qwen2 rotates halves (NeoX style)."""
    r = gguf.GGUFReader(path)
    arch = r.fields["general.architecture"].contents()
    kv = lambda k: r.fields[f"{arch}.{k}"].contents()
    t = {x.name: np.array(x.data, dtype=np.float64).reshape([int(d) for d in reversed(x.shape)]) for x in r.tensors}
    n_layer, n_head, n_kv = kv("block_count"), kv("attention.head_count"), kv("attention.head_count_kv")
    eps, base = kv("attention.layer_norm_rms_epsilon"), kv("rope.freq_base")
    hd = t["blk.0.attn_q.weight"].shape[0] // n_head
    inv = base ** (-np.arange(0, hd, 2) / hd)
    if "rope_freqs.weight" in t:
        inv = inv / t["rope_freqs.weight"]
    T = len(ids)
    ang = np.arange(T)[:, None] * inv[None, :]            # [T, hd/2]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]

    def rope(x):                                           # x [T, heads, hd]
        if arch == "qwen2":
            a, b = x[..., :hd // 2], x[..., hd // 2:]
            return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)
        a, b = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2], out[..., 1::2] = a * cos - b * sin, a * sin + b * cos
        return out

    def norm(x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w

    def lin(x, name):
        y = x @ t[name + ".weight"].T
        return y + t[name + ".bias"] if name + ".bias" in t else y

    x = t["token_embd.weight"][ids]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(n_layer):
        p = f"blk.{l}."
        h = norm(x, t[p + "attn_norm.weight"])
        q = rope(lin(h, p + "attn_q").reshape(T, n_head, hd))
        k = rope(lin(h, p + "attn_k").reshape(T, n_kv, hd))
        v = lin(h, p + "attn_v").reshape(T, n_kv, hd)
        heads = []
        for i in range(n_head):
            j = i // (n_head // n_kv)
            s = q[:, i] @ k[:, j].T / math.sqrt(hd) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            heads.append((s / s.sum(-1, keepdims=True)) @ v[:, j])
        x = x + lin(np.concatenate(heads, axis=-1), p + "attn_output")
        h = norm(x, t[p + "ffn_norm.weight"])
        g = lin(h, p + "ffn_gate")
        x = x + lin(g / (1 + np.exp(-g)) * lin(h, p + "ffn_up"), p + "ffn_down")
    x = norm(x, t["output_norm.weight"])
    return x @ t.get("output.weight", t["token_embd.weight"]).T


# ---------------------------------------------------------------------------------------

def make_dtype_fixture():
    """Known values in several dtypes, written by the Python safetensors package."""
    f32 = (np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5) * np.float32(0.75)
    f16 = np.array([[1.0, -2.0], [0.5, 65504.0], [6.1035156e-05, -0.0]], dtype=np.float16)
    bf16 = torch.tensor([3.140625, -1.0e-3, 1.0e30, 0.0], dtype=torch.bfloat16)
    tensors = {
        "f32": torch.from_numpy(f32),
        "f16": torch.from_numpy(f16),
        "bf16": bf16,
        "i64": torch.tensor([[-3, 0], [7, 123456789012]], dtype=torch.int64),
        "i32": torch.tensor([-1, 2, 2147483647], dtype=torch.int32),
        "u8": torch.tensor([0, 1, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True], dtype=torch.bool),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
        "empty": torch.zeros((0, 4), dtype=torch.float32),
        "weird \"name\"/é": torch.tensor([1.0], dtype=torch.float32),
    }
    os.makedirs(os.path.dirname(DTYPE_FIXTURE), exist_ok=True)
    save_torch(tensors, DTYPE_FIXTURE, metadata={"format": "pt"})


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    make_dtype_fixture()
    os.makedirs(OUT, exist_ok=True)
    for name, spec in MODELS.items():
        d = os.path.join(OUT, name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        model = build(name, spec)
        model.save_pretrained(d, safe_serialization=True)
        for extra in ("generation_config.json",):
            p = os.path.join(d, extra)
            if os.path.exists(p):
                os.remove(p)
        ids, logits, nxt, next_logits = reference_outputs(model, spec["kw"]["vocab_size"], spec["seed"])

        from safetensors.numpy import load_file
        sums = {k: [list(v.shape), float(v.astype(np.float64).sum()), float(v.reshape(-1)[0])]
                for k, v in load_file(os.path.join(d, "model.safetensors")).items()}
        save_torch({"input_ids": ids.contiguous(), "logits": logits.contiguous(),
                    "next_input_ids": nxt.contiguous(), "next_logits": next_logits.contiguous()},
                   os.path.join(d, "expected.safetensors"),
                   metadata={"tensor_sums": json.dumps(sums, sort_keys=True)})
        write_gguf(d, os.path.join(d, "model.gguf"))
        err = np.abs(gguf_forward(os.path.join(d, "model.gguf"), ids.numpy()) - logits.numpy()).max()
        assert err < 1e-4, f"{name}: GGUF forward differs from transformers by {err}"
        if name == F16_VARIANT:
            write_gguf(d, os.path.join(d, "model-f16.gguf"), f16=True)
            err16 = np.abs(gguf_forward(os.path.join(d, "model-f16.gguf"), ids.numpy()) - logits.numpy()).max()
            assert err16 < 0.05, f"{name}: F16 GGUF forward differs from transformers by {err16}"
            print(f"{name}: F16 GGUF max |logit error| {err16:.2e}")
        print(f"{name}: GGUF numpy forward max |logit error| {err:.2e}")
        print(f"{name}: logits std {logits.std():.3f}, files: "
              + ", ".join(f"{f} {os.path.getsize(os.path.join(d, f))}" for f in sorted(os.listdir(d))))


if __name__ == "__main__":
    main()
