#!/usr/bin/env python3
"""Writes the small GGUF fixtures used by Tests/ModelIOTests/GGUF*Tests.swift.

Deterministic (fixed seed); run from the repository root:

    python3 scripts/make_gguf_fixtures.py [--model PATH/TO/SmolLM2-135M-Instruct.Q4_1.gguf]

Outputs in Tests/Fixtures/gguf/:
  types.gguf            one tensor per ggml type (+ a Q2_K tensor we do not decode)
  types_manifest.txt    "name type ne0 ne1 ..." per tensor, in file order
  expected/<name>.f32   gguf-py's dequantization of each tensor, raw little-endian float32
  metadata.gguf         every metadata value type, nested arrays, general.alignment = 64
  tiny_llama.gguf       2-layer llama (GQA, tied, q/k permuted as llama.cpp's converter does,
                        llama3 rope_freqs) + expected/tiny_llama/<hf name>.f32 (HF layout)
  tiny_qwen2.gguf       1-layer qwen2 (q/k/v biases, untied, F16, per-layer head_count array)
                        + expected/tiny_qwen2/<hf name>.f32
  permute.orig.f32 / permute.perm.f32   a [24, 5] matrix and its llama.cpp permute(n_head=3)
  smollm2_rows.f32      selected rows of the real SmolLM2 Q4_1 model (only if it exists)
"""
import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGUFValueType as V
from gguf.quants import quantize, dequantize

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "gguf"
EXP = OUT / "expected"
QK_K = 256
DEFAULT_MODEL = Path.home() / ".cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf"

rng = np.random.default_rng(20240611)


def write_f32(path: Path, a: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.ascontiguousarray(a, dtype="<f4").tofile(path)


def finish(w: gguf.GGUFWriter) -> None:
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def f16_bits(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float16).view(np.uint8)


def random_k_blocks(qtype: T, n_blocks: int) -> np.ndarray:
    """Random but valid K-quant super-blocks: random payload, finite f16 scale fields.
    gguf-py cannot quantize K-quants, so these exercise the decoder on arbitrary bits."""
    size = gguf.GGML_QUANT_SIZES[qtype][1]
    b = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    d = rng.uniform(-0.05, 0.05, size=n_blocks).astype(np.float16)
    if qtype in (T.Q4_K, T.Q5_K):           # f16 d | f16 dmin | ...
        dmin = rng.uniform(-0.02, 0.02, size=n_blocks).astype(np.float16)
        b[:, 0:2] = d.view(np.uint8).reshape(n_blocks, 2)
        b[:, 2:4] = dmin.view(np.uint8).reshape(n_blocks, 2)
    elif qtype == T.Q6_K:                    # ... | f16 d (last two bytes)
        b[:, -2:] = d.view(np.uint8).reshape(n_blocks, 2)
    elif qtype == T.Q2_K:                    # ... | f16 d | f16 dmin (last four bytes)
        b[:, -4:-2] = d.view(np.uint8).reshape(n_blocks, 2)
        b[:, -2:] = d.view(np.uint8).reshape(n_blocks, 2)
    else:
        raise ValueError(qtype)
    return b


def make_types() -> None:
    w = gguf.GGUFWriter(str(OUT / "types.gguf"), "test")
    entries = []  # (name, qtype, ggml dims ne0-first, raw array, expected float32)

    def add(name, qtype, raw, shape_rows_cols):
        w.add_tensor(name, raw, raw_dtype=qtype if qtype not in (T.F32, T.F16) else None)
        exp = dequantize(raw, qtype).astype(np.float32).reshape(shape_rows_cols)
        entries.append((name, qtype, list(reversed(shape_rows_cols)), exp))

    # F32 with a few special values (row-major [3, 8]).
    f32 = rng.standard_normal((3, 8)).astype(np.float32)
    f32.flat[:4] = [0.0, -0.0, 1e-40, -3.0e38]
    add("f32", T.F32, f32, (3, 8))

    # F16 including subnormals, signed zero, infinities, NaN, max and min normal.
    f16 = rng.standard_normal((3, 16)).astype(np.float16)
    f16.flat[:10] = np.array([0.0, -0.0, 6e-8, -6.1e-5, 65504, -65504, np.inf, -np.inf, np.nan, 6.104e-05],
                             dtype=np.float16)
    add("f16", T.F16, f16, (3, 16))

    # BF16 bit patterns: random values plus subnormal, infinities, NaN.
    bf = rng.standard_normal((3, 16)).astype(np.float32).view(np.uint32) >> 16
    bf = bf.astype(np.uint16)
    bf.flat[:6] = [0x0000, 0x8000, 0x0001, 0x7F80, 0xFF80, 0x7FC1]
    add("bf16", T.BF16, bf.view(np.uint8).reshape(3, 32), (3, 16))

    # Legacy quants, quantized by gguf-py from random data; row 0 block 0 all zero (d = 0).
    for qtype, name in [(T.Q4_0, "q4_0"), (T.Q4_1, "q4_1"), (T.Q5_0, "q5_0"), (T.Q5_1, "q5_1"), (T.Q8_0, "q8_0")]:
        x = (rng.standard_normal((4, 64)) * rng.uniform(0.01, 3.0)).astype(np.float32)
        x[0, :32] = 0
        x[1, 32:] += 2.5       # offset block exercises the min of Q4_1/Q5_1
        add(name, qtype, quantize(x, qtype), (4, 64))

    # A 3-D Q8_0 tensor: ggml dims (32, 3, 2).
    x = rng.standard_normal((2, 3, 32)).astype(np.float32)
    q = quantize(x, T.Q8_0)
    w.add_tensor("q8_0_3d", q, raw_dtype=T.Q8_0)
    entries.append(("q8_0_3d", T.Q8_0, [32, 3, 2], dequantize(q, T.Q8_0).astype(np.float32)))

    # K-quants from random valid blocks: 2 rows of 512 (2 super-blocks each).
    for qtype, name in [(T.Q4_K, "q4_k"), (T.Q5_K, "q5_k"), (T.Q6_K, "q6_k")]:
        blocks = random_k_blocks(qtype, 4).reshape(2, -1)
        add(name, qtype, blocks, (2, 512))

    # A type gguf-py knows but we do not decode.
    q2 = random_k_blocks(T.Q2_K, 1).reshape(1, -1)
    w.add_tensor("q2_k", q2, raw_dtype=T.Q2_K)
    entries.append(("q2_k", T.Q2_K, [256, 1], None))

    finish(w)
    with open(OUT / "types_manifest.txt", "w") as f:
        for name, qtype, dims, exp in entries:
            f.write(f"{name} {qtype.name} {' '.join(map(str, dims))}\n")
            if exp is not None:
                write_f32(EXP / f"{name}.f32", exp)


def make_metadata() -> None:
    w = gguf.GGUFWriter(str(OUT / "metadata.gguf"), "test")
    w.add_custom_alignment(64)
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4_000_000_000)
    w.add_int32("t.i32", -2_000_000_000)
    w.add_uint64("t.u64", 18_000_000_000_000_000_000)
    w.add_int64("t.i64", -9_000_000_000_000_000_000)
    w.add_float32("t.f32", 0.1)
    w.add_float64("t.f64", -2.5e300)
    w.add_bool("t.true", True)
    w.add_bool("t.false", False)
    w.add_string("t.str", "héllo, 世界 🌍")
    w.add_key_value("t.empty", "", V.STRING)   # add_string() skips empty strings
    for key, vals, sub in [("t.arr.u8", [0, 255], V.UINT8), ("t.arr.i8", [-128, 127], V.INT8),
                           ("t.arr.u16", [1, 65535], V.UINT16), ("t.arr.i16", [-32768, 5], V.INT16),
                           ("t.arr.u32", [7, 4294967295], V.UINT32), ("t.arr.i32", [-1, 2, -3], V.INT32),
                           ("t.arr.u64", [2**64 - 1], V.UINT64), ("t.arr.i64", [-(2**63), 42], V.INT64),
                           ("t.arr.f32", [1.5, -0.25], V.FLOAT32), ("t.arr.f64", [1e-300, 3.0], V.FLOAT64),
                           ("t.arr.bool", [True, False, True], V.BOOL),
                           ("t.arr.str", ["a", "", "ünï"], V.STRING)]:
        w.add_key_value(key, vals, V.ARRAY, sub_type=sub)
    # Nested arrays: element type ARRAY, inner arrays typed by their first element.
    w.add_key_value("t.nested.ints", [[1, 2], [3, 4, 5]], V.ARRAY)
    w.add_key_value("t.nested.strs", [["x"], ["y", "z"]], V.ARRAY)
    w.add_key_value("t.nested.deep", [[[1.5], [2.5, 3.5]]], V.ARRAY)
    w.add_tensor("a", np.arange(5, dtype=np.float32))
    w.add_tensor("b", np.arange(3, dtype=np.float32) * -1)
    finish(w)


def llama_permute(weights: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp convert_hf_to_gguf LlamaModel.permute (q: n_head, k: n_head_kv)."""
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2)
            .reshape(weights.shape))


def llama3_rope_factors(head_dim, base, factor, low, high, orig):
    """As llama.cpp's converter computes rope_freqs for rope_type llama3."""
    freqs = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
    low_wl, high_wl = orig / low, orig / high
    out = []
    for f in freqs:
        wl = 2 * math.pi / f
        if wl < high_wl:
            out.append(1.0)
        elif wl > low_wl:
            out.append(factor)
        else:
            smooth = (orig / wl - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def make_permute() -> None:
    orig = rng.standard_normal((24, 5)).astype(np.float32)
    write_f32(OUT / "permute.orig.f32", orig)
    write_f32(OUT / "permute.perm.f32", llama_permute(orig, 3))


def make_tiny_llama() -> None:
    hidden, n_head, n_kv, hd, ffn, vocab, layers = 32, 4, 2, 8, 64, 40, 2
    w = gguf.GGUFWriter(str(OUT / "tiny_llama.gguf"), "llama")
    w.add_block_count(layers)
    w.add_context_length(4096)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(ffn)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(500000.0)
    w.add_rope_dimension_count(hd)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"tok{i}" for i in range(vocab)])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    exp = EXP / "tiny_llama"

    def put(gname, hfname, hf, stored=None, qtype=None):
        stored = hf if stored is None else stored
        if qtype is None:
            w.add_tensor(gname, stored)
            write_f32(exp / f"{hfname}.f32", hf)
        else:
            q = quantize(stored, qtype)
            w.add_tensor(gname, q, raw_dtype=qtype)
            write_f32(exp / f"{hfname}.f32", dequantize(q, qtype))

    put("token_embd.weight", "model.embed_tokens.weight", rng.standard_normal((vocab, hidden)).astype(np.float32))
    w.add_tensor("rope_freqs.weight", llama3_rope_factors(hd, 500000.0, 8.0, 1.0, 4.0, 8192))
    for l in range(layers):
        p = f"model.layers.{l}"
        put(f"blk.{l}.attn_norm.weight", f"{p}.input_layernorm.weight", rng.uniform(0.5, 1.5, hidden).astype(np.float32))
        q = rng.standard_normal((n_head * hd, hidden)).astype(np.float32)
        k = rng.standard_normal((n_kv * hd, hidden)).astype(np.float32)
        put(f"blk.{l}.attn_q.weight", f"{p}.self_attn.q_proj.weight", q, llama_permute(q, n_head))
        put(f"blk.{l}.attn_k.weight", f"{p}.self_attn.k_proj.weight", k, llama_permute(k, n_kv))
        put(f"blk.{l}.attn_v.weight", f"{p}.self_attn.v_proj.weight", rng.standard_normal((n_kv * hd, hidden)).astype(np.float32))
        put(f"blk.{l}.attn_output.weight", f"{p}.self_attn.o_proj.weight", rng.standard_normal((hidden, n_head * hd)).astype(np.float32))
        put(f"blk.{l}.ffn_norm.weight", f"{p}.post_attention_layernorm.weight", rng.uniform(0.5, 1.5, hidden).astype(np.float32))
        put(f"blk.{l}.ffn_gate.weight", f"{p}.mlp.gate_proj.weight", rng.standard_normal((ffn, hidden)).astype(np.float32), qtype=T.Q8_0)
        put(f"blk.{l}.ffn_up.weight", f"{p}.mlp.up_proj.weight", rng.standard_normal((ffn, hidden)).astype(np.float32), qtype=T.Q4_0)
        put(f"blk.{l}.ffn_down.weight", f"{p}.mlp.down_proj.weight", rng.standard_normal((hidden, ffn)).astype(np.float32), qtype=T.Q4_1)
    put("output_norm.weight", "model.norm.weight", rng.uniform(0.5, 1.5, hidden).astype(np.float32))
    finish(w)


def make_tiny_qwen2() -> None:
    hidden, n_head, n_kv, hd, ffn, vocab = 32, 4, 2, 8, 48, 36
    w = gguf.GGUFWriter(str(OUT / "tiny_qwen2.gguf"), "qwen2")
    w.add_block_count(1)
    w.add_context_length(32768)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(ffn)
    w.add_key_value("qwen2.attention.head_count", [n_head], V.ARRAY, sub_type=V.UINT32)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(1000000.0)
    w.add_vocab_size(vocab)
    w.add_bos_token_id(5)
    w.add_eos_token_id(7)
    exp = EXP / "tiny_qwen2"

    def put(gname, hfname, hf):
        w.add_tensor(gname, hf)
        write_f32(exp / f"{hfname}.f32", hf.astype(np.float32))

    f16 = lambda *s: rng.standard_normal(s).astype(np.float16)
    put("token_embd.weight", "model.embed_tokens.weight", f16(vocab, hidden))
    put("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight", rng.uniform(0.5, 1.5, hidden).astype(np.float32))
    put("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight", f16(n_head * hd, hidden))
    put("blk.0.attn_q.bias", "model.layers.0.self_attn.q_proj.bias", rng.standard_normal(n_head * hd).astype(np.float32))
    put("blk.0.attn_k.weight", "model.layers.0.self_attn.k_proj.weight", f16(n_kv * hd, hidden))
    put("blk.0.attn_k.bias", "model.layers.0.self_attn.k_proj.bias", rng.standard_normal(n_kv * hd).astype(np.float32))
    put("blk.0.attn_v.weight", "model.layers.0.self_attn.v_proj.weight", f16(n_kv * hd, hidden))
    put("blk.0.attn_v.bias", "model.layers.0.self_attn.v_proj.bias", rng.standard_normal(n_kv * hd).astype(np.float32))
    put("blk.0.attn_output.weight", "model.layers.0.self_attn.o_proj.weight", f16(hidden, n_head * hd))
    put("blk.0.ffn_norm.weight", "model.layers.0.post_attention_layernorm.weight", rng.uniform(0.5, 1.5, hidden).astype(np.float32))
    put("blk.0.ffn_gate.weight", "model.layers.0.mlp.gate_proj.weight", f16(ffn, hidden))
    put("blk.0.ffn_up.weight", "model.layers.0.mlp.up_proj.weight", f16(ffn, hidden))
    put("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight", f16(hidden, ffn))
    put("output_norm.weight", "model.norm.weight", rng.uniform(0.5, 1.5, hidden).astype(np.float32))
    put("output.weight", "lm_head.weight", f16(vocab, hidden))
    finish(w)


# Rows of the real model checked by the SmolLM2 test (keep in sync with GGUFSmolLM2Tests.swift).
SMOL_ROWS = [("token_embd.weight", [0, 1, 2, 100, 49151]),
             ("blk.0.ffn_down.weight", [0, 7, 575]),
             ("blk.29.attn_q.weight", [0, 1, 63, 64, 575])]


def make_smollm2_rows(model: Path) -> None:
    if not model.exists():
        print(f"note: {model} not found; skipping smollm2_rows.f32", file=sys.stderr)
        return
    r = gguf.GGUFReader(str(model))
    by_name = {t.name: t for t in r.tensors}
    rows = []
    for name, idx in SMOL_ROWS:
        t = by_name[name]
        full = dequantize(t.data, t.tensor_type)      # shape (ne1, ne0)
        rows.append(full[idx].astype(np.float32).ravel())
    write_f32(OUT / "smollm2_rows.f32", np.concatenate(rows))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    make_types()
    make_metadata()
    make_permute()
    make_tiny_llama()
    make_tiny_qwen2()
    make_smollm2_rows(args.model)
    print(f"fixtures written to {OUT}")


if __name__ == "__main__":
    main()
