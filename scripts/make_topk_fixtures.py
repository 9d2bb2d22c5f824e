#!/usr/bin/env python3
"""Fixture for `--ties torch`: which of equal values torch.topk(largest=False) picks on CPU.

Writes Tests/Fixtures/topk/ties.json: for each (n, m), groups of m values drawn from a few levels (so most
groups hold ties) and the sorted indices torch.topk(group, n, largest=False) returns, the call the Wanda
reference code makes for every N:M group (lib/prune.py). Run: python3 scripts/make_topk_fixtures.py
"""
import json
import os

import torch

torch.manual_seed(0)
out = {"torch_version": torch.__version__, "cases": []}
for n, m in [(2, 4), (1, 4), (3, 4), (4, 8), (2, 8), (6, 8)]:
    levels = torch.randint(0, 3, (400, m)).float() * 0.25        # 3 levels: ties in almost every group
    idx = torch.topk(levels, n, dim=1, largest=False)[1]
    out["cases"].append({"n": n, "m": m, "values": levels.flatten().tolist(),
                         "chosen": [sorted(r) for r in idx.tolist()]})
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "topk", "ties.json")
with open(path + ".tmp", "w") as f:
    json.dump(out, f)
os.replace(path + ".tmp", path)
print(f"wrote {path}")
