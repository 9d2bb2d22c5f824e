#!/usr/bin/env python3
"""Tokenizes strings with AutoTokenizer from a directory holding a tokenizer.json and
tokenizer_config.json written by Secateur (offline), for the tokenizer-writer tests.

  python scripts/check_tokenizer_json.py DIR STRINGS.json
STRINGS.json: a list of {"text": ...}. Prints one JSON list: the ids of each text, with the
tokenizer's default special tokens (what `tokenizer(text)["input_ids"]` gives).
"""
import json, os, sys
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
from transformers import AutoTokenizer

tok = AutoTokenizer.from_pretrained(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    texts = [item["text"] for item in json.load(f)]
print(json.dumps([tok(t)["input_ids"] for t in texts]))
