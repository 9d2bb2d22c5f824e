#!/usr/bin/env python3
"""Fixtures for the GGUF export tests: one float32 matrix and its bytes as gguf-py's
quantizer (gguf.quants.quantize, llama.cpp's reference rounding) stores it as F16, BF16,
Q8_0 and Q4_0. The rows mix random normals with the cases rounding rules decide: an
all-zero block, a block whose largest |x| appears with both signs (Q4_0 keeps the first),
products that land exactly on .5 after scaling (Q8_0 rounds halves away from zero),
float32 values halfway between two bfloat16/float16 values, and tiny and huge magnitudes.

Usage: python scripts/make_export_fixtures.py  (needs numpy and gguf)
Writes Tests/Fixtures/export/quant_{input.f32,f16.bin,bf16.bin,q8_0.bin,q4_0.bin}.
"""
import os
import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "export")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(13)
rows, cols = 8, 96
x = rng.standard_normal((rows, cols)).astype(np.float32)
x[1, 0:32] = 0                                      # all-zero block
x[2, 0:32] = rng.uniform(-1, 1, 32); x[2, 3] = 1.5; x[2, 17] = -1.5   # |max| tie, + first
x[2, 32:64] = rng.uniform(-1, 1, 32); x[2, 40] = -2.0; x[2, 50] = 2.0  # |max| tie, - first
# Q8_0 halves: amax 127 → d = 1, id = 1, so x·id = x exactly.
x[3, 0:32] = np.array([127.0] + [k + 0.5 for k in range(-15, 16)], dtype=np.float32)[:32]
# bf16 / f16 halfway values (round to nearest even decides).
x[4, 0:16] = (np.array([0x3F808000, 0x3F818000, 0xBF808000, 0x40490000 | 0x8000] * 4, dtype=np.uint32)).view(np.float32)
x[4, 16:32] = np.float32(1.0) + np.float32(2.0 ** -11) * np.arange(16, dtype=np.float32)
x[5] *= np.float32(1e-6)                            # tiny
x[6] *= np.float32(3e3)                             # large (f16 overflow past 65504 on some)
x[6, 5] = np.float32(70000.0)
x.tofile(os.path.join(out, "quant_input.f32"))
for name, t in [("f16", T.F16), ("bf16", T.BF16), ("q8_0", T.Q8_0), ("q4_0", T.Q4_0)]:
    q = quantize(x, t)
    q.tofile(os.path.join(out, f"quant_{name}.bin"))
    print(name, q.shape, q.dtype)
