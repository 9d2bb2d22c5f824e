#!/usr/bin/env python3
"""Print PEFT's logits for a base model + LoRA adapter, as JSON, to check adapters written by Secateur.

Usage: python3 scripts/check_peft_adapter.py BASE_DIR ADAPTER_DIR [--ids FILE] [--len 24] [--seed 0]
  BASE_DIR     a transformers model directory (loaded float32, eager attention)
  ADAPTER_DIR  a PEFT adapter directory (adapter_config.json + adapter_model.safetensors)
  --ids FILE   a safetensors file whose "input_ids" (1-D int64) are run, e.g.
               Tests/Fixtures/recovery/llama.safetensors; else --len seeded tokens (torch.Generator(seed))
Prints {"input_ids": [...], "logits": [[...] per position]} (float32 values) to stdout.
Requires torch, transformers, peft, safetensors (see scripts/make_recovery_fixtures.py for versions).
"""
import argparse
import json

import torch
import transformers
from peft import PeftModel
from safetensors.torch import load_file

ap = argparse.ArgumentParser()
ap.add_argument("base")
ap.add_argument("adapter")
ap.add_argument("--ids")
ap.add_argument("--len", type=int, default=24)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()

transformers.utils.logging.disable_progress_bar()
base = transformers.AutoModelForCausalLM.from_pretrained(args.base, attn_implementation="eager", dtype=torch.float32)
model = PeftModel.from_pretrained(base, args.adapter).eval()
if args.ids:
    ids = load_file(args.ids)["input_ids"].to(torch.int64).reshape(-1)
else:
    ids = torch.randint(0, base.config.vocab_size, (args.len,), generator=torch.Generator().manual_seed(args.seed))
with torch.no_grad():
    logits = model(input_ids=ids[None], use_cache=False).logits[0]
print(json.dumps({"input_ids": ids.tolist(), "logits": logits.tolist()}))
