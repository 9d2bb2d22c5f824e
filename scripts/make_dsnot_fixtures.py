#!/usr/bin/env python3
"""Reference DSnoT masks on a tiny Llama, from DSnoT's own code (zyxxmu/DSnoT lib/prune.py `prune_DSnoT`).

The reference is imported from --dsnot-dir and run on CPU with the monkeypatches of
bench/wanda_reference.py (stubbed `datasets`, `get_loaders` returning our windows, no device map,
the decoder layer given its rotary embedding); none of its code is copied.

Model: Tests/Fixtures/tiny/llama-gqa-untied (float32). Calibration: the test's 4 windows of 16 tokens,
window s, position t → (7s + 13t) mod 48. Configurations (unstructured 50 %, every projection refined,
`skip_layer no_skip`, threshold 0 so every row keeps swapping, 3 swap rounds so no row runs out of
candidates of the sign it needs — past them the reference's behaviour is not DSnoT's, see DSnoT.swift):
  wanda.<hf weight name>      initial method wanda
  magnitude.<hf weight name>  initial method magnitude
each the pruned float32 projection weight.

Run from the repository root:  python3 scripts/make_dsnot_fixtures.py --dsnot-dir /tmp/dsnot
"""
import argparse
import contextlib
import os
import sys
import types

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "bench"))
import wanda_reference as W  # noqa: E402

MODEL = os.path.join(ROOT, "Tests", "Fixtures", "tiny", "llama-gqa-untied")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "dsnot")
WINDOWS = [[(s * 7 + t * 13) % 48 for t in range(16)] for s in range(4)]
CYCLES, THRESHOLD = 3, 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsnot-dir", default="/tmp/dsnot")
    args = ap.parse_args()
    import torch
    import transformers
    from safetensors.torch import save_file
    prune = W.import_wanda(args.dsnot_dir, torch)
    calib = []
    for w in WINDOWS:
        inp = torch.tensor([w])
        tar = inp.clone(); tar[:, :-1] = -100
        calib.append((inp, tar))
    prune.get_loaders = lambda *a, **k: (calib, None)
    out = {}
    for init in ["wanda", "magnitude"]:
        model = transformers.AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32, attn_implementation="eager").eval()
        model.seqlen = 16
        model.hf_device_map = {}
        W.patch_decoder_layer(model)
        rargs = types.SimpleNamespace(sparsity_ratio=0.5, nsamples=len(calib), seed=0, initial_method=init,
                                      max_cycle_time=CYCLES, without_DSnoT=False, update_threshold=THRESHOLD,
                                      pow_of_var_regrowing=1.0, pow_of_var_pruning=1.0, skip_layer="no_skip",
                                      skip_sub_layer="no_skip", without_same_sign=True, get_time_overhead=False)
        with contextlib.redirect_stdout(sys.stderr):
            prune.prune_DSnoT(rargs, model, None, torch.device("cpu"), prune_n=0, prune_m=0)
        for i, layer in enumerate(model.model.layers):
            for name, m in layer.named_modules():
                if type(m) is torch.nn.Linear:
                    out[f"{init}.model.layers.{i}.{name}.weight"] = m.weight.data.clone().contiguous()
    os.makedirs(OUT, exist_ok=True)
    save_file(out, os.path.join(OUT, "llama-gqa-untied.safetensors"))
    print(f"wrote {len(out)} tensors")


if __name__ == "__main__":
    main()
