#!/usr/bin/env python3
"""Writes Tests/Fixtures/tiny/llama-gqa-tied-v700: the tiny llama-gqa-tied model with its
vocabulary widened to 700 rows, so that the byte-level tokenizer fixture
(Tests/Fixtures/tokenizer/bytelevel_smol_tokenizer.json, 700 tokens) can drive it on real text.
Rows 0-47 of the embedding are the original model's; rows 48-699 are seeded N(0, 0.02²).
Used by the CLI run-record tests (eval ppl, eval tasks, generate on a model that loads in
milliseconds). Needs numpy only."""
import json, os, struct
import numpy as np

root = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "tiny")
src, dst = os.path.join(root, "llama-gqa-tied"), os.path.join(root, "llama-gqa-tied-v700")
VOCAB = 700

raw = open(os.path.join(src, "model.safetensors"), "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
body = raw[8 + n:]
tensors = {}
for name, info in header.items():
    if name == "__metadata__":
        continue
    a, b = info["data_offsets"]
    tensors[name] = np.frombuffer(body[a:b], dtype="<f4").reshape(info["shape"])

emb = tensors["model.embed_tokens.weight"]
rng = np.random.default_rng(0)
extra = (rng.standard_normal((VOCAB - emb.shape[0], emb.shape[1])) * 0.02).astype("<f4")
tensors["model.embed_tokens.weight"] = np.concatenate([emb, extra])

out_header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
for name in sorted(tensors):
    t = np.ascontiguousarray(tensors[name], dtype="<f4")
    out_header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + t.nbytes]}
    blobs.append(t.tobytes()); offset += t.nbytes
h = json.dumps(out_header, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
os.makedirs(dst, exist_ok=True)
with open(os.path.join(dst, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h)
    for b in blobs: f.write(b)

config = json.load(open(os.path.join(src, "config.json")))
config["vocab_size"] = VOCAB
json.dump(config, open(os.path.join(dst, "config.json"), "w"), indent=2)
print("wrote", dst)
