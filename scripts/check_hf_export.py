#!/usr/bin/env python3
"""Loads a model directory written by `secateur export --format hf` with transformers
(offline: AutoModelForCausalLM + AutoTokenizer, float32, CPU) and compares it with Secateur.

  --tokens F   int32 token ids (little-endian) of one sequence
  --logits F   Secateur's float32 logits for them, [len(tokens) x vocab]
  --text F     a UTF-8 text to tokenize (without special tokens)
  --ids-out F  where to write transformers' ids for --text (int32)

Prints one JSON object: max_abs_logit_diff, vocab, tokens, text_ids, tokenizer_class.
"""
import argparse, json, os, sys
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--tokens", required=True)
p.add_argument("--logits", required=True)
p.add_argument("--text")
p.add_argument("--ids-out")
a = p.parse_args()

torch.set_num_threads(2)
tok = AutoTokenizer.from_pretrained(a.model)
model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32).eval()
ids = np.fromfile(a.tokens, dtype="<i4")
ours = np.fromfile(a.logits, dtype="<f4")
with torch.no_grad():
    theirs = model(torch.tensor(ids, dtype=torch.long)[None]).logits[0].float().numpy()
ours = ours.reshape(theirs.shape)
out = {"max_abs_logit_diff": float(np.abs(ours - theirs).max()), "vocab": int(theirs.shape[1]),
       "tokens": int(len(ids)), "tokenizer_class": type(tok).__name__}
if a.text:
    with open(a.text, encoding="utf-8") as f:
        text = f.read()
    text_ids = tok(text, add_special_tokens=False)["input_ids"]
    np.asarray(text_ids, dtype="<i4").tofile(a.ids_out)
    out["text_ids"] = len(text_ids)
print(json.dumps(out))
