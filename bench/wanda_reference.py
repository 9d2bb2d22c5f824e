#!/usr/bin/env python3
r"""Reference pruning for Secateur: the Wanda repository's own prune functions, run on CPU.

Runs prune_magnitude / prune_wanda / prune_sparsegpt from github.com/locuslab/wanda (lib/prune.py,
lib/sparsegpt.py, lib/layerwrapper.py; tested at commit 8e8fc87) imported from --wanda-dir.
None of the Wanda code is copied here; it is imported and adapted only by monkeypatching:

  * `datasets` is stubbed in sys.modules (lib/data.py imports load_dataset at module level;
    it is never called because get_loaders is replaced);
  * lib.prune.get_loaders -> returns the calibration windows read from --calib-tokens
    (int32 LE, N x seqlen, as written by make_calib_tokens.py), each as (inp, tar) with
    tar[:, :-1] = -100 exactly like get_c4;
  * torch.Tensor.cuda -> identity (prune_magnitude's unstructured threshold sort calls .cuda());
  * torch.cuda.synchronize / torch.cuda.empty_cache -> no-ops (SparseGPT.fasterprune, prune_*);
  * model.hf_device_map = {} (the reference reads it; the model is loaded without a device map);
  * LlamaDecoderLayer.forward -> computes position_embeddings = model.model.rotary_emb(h, position_ids)
    when the caller passes none (the reference calls layer(x, attention_mask=..., position_ids=...)
    as transformers <= 4.35 allowed; transformers >= 4.48 needs the rotary (cos, sin) passed in).
    The decoder layer of transformers 5 returns a tensor, so the reference's `layer(...)[0]`
    takes batch row 0: same [seqlen, hidden] result as indexing the old tuple.

Model: the GGUF file, dequantized by transformers to float32, on CPU (the reference uses float16 on
GPU).  model.seqlen = --seqlen.  Evaluation: WikiText-2 test, the first --eval-windows windows of
seqlen tokens (Wanda eval_ppl_wikitext protocol), ppl = exp(mean window loss).

Writes DIR/masks_layer0.safetensors (uint8, 1 = weight is zero after pruning, HF names and
[out, in] layout), DIR/weights_layer0.safetensors (the pruned float32 layer-0 weights) and
DIR/result.json; prints the JSON on stdout, the reference's own prints go to stderr.
"""
import argparse
import contextlib
import json
import math
import os
import resource
import sys
import time
import types

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_GGUF = os.path.expanduser(
    "~/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf")
LAYER0 = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
          "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def read_calib(path, seqlen, nsamples, torch):
    import numpy as np
    a = np.fromfile(path, dtype="<i4")
    if a.size % seqlen:
        raise SystemExit(f"{path}: {a.size} tokens is not a multiple of seqlen {seqlen}")
    n_file = a.size // seqlen
    n = n_file if nsamples <= 0 else nsamples
    if n > n_file:
        raise SystemExit(f"{path} holds {n_file} windows of {seqlen}, asked for {n}")
    a = a[: n * seqlen].reshape(n, seqlen).astype("int64")
    loader = []
    for r in range(n):
        inp = torch.from_numpy(a[r:r + 1].copy())
        tar = inp.clone()
        tar[:, :-1] = -100
        loader.append((inp, tar))
    return loader


def import_wanda(wanda_dir, torch):
    if not os.path.isfile(os.path.join(wanda_dir, "lib", "prune.py")):
        raise SystemExit(f"--wanda-dir {wanda_dir}: lib/prune.py not found (check out locuslab/wanda there)")
    if "datasets" not in sys.modules:
        stub = types.ModuleType("datasets")

        def _no_load_dataset(*a, **k):
            raise RuntimeError("datasets.load_dataset is stubbed out; calibration comes from --calib-tokens")
        stub.load_dataset = _no_load_dataset
        sys.modules["datasets"] = stub
    sys.path.insert(0, wanda_dir)
    import lib.prune as wprune  # noqa: E402
    # CPU patches (see module docstring)
    torch.Tensor.cuda = lambda self, *a, **k: self
    torch.cuda.synchronize = lambda *a, **k: None
    torch.cuda.empty_cache = lambda *a, **k: None
    return wprune


def patch_decoder_layer(model):
    from transformers.models.llama import modeling_llama
    cls = modeling_llama.LlamaDecoderLayer
    if getattr(cls, "_wbench_patched", False):
        return
    orig = cls.forward
    rotary = model.model.rotary_emb

    def forward(self, hidden_states, attention_mask=None, position_ids=None, past_key_values=None,
                use_cache=False, position_embeddings=None, **kwargs):
        if position_embeddings is None:
            if position_ids is None:
                import torch
                position_ids = torch.arange(hidden_states.shape[1], device=hidden_states.device).unsqueeze(0)
            position_embeddings = rotary(hidden_states, position_ids=position_ids)
        return orig(self, hidden_states, attention_mask=attention_mask, position_ids=position_ids,
                    past_key_values=past_key_values, use_cache=use_cache,
                    position_embeddings=position_embeddings, **kwargs)
    cls.forward = forward
    cls._wbench_patched = True


def eval_wikitext2(model, tok, seqlen, windows, data_dir, torch):
    sys.path.insert(0, SCRIPT_DIR)
    from ppl_reference import load_text
    text, _ = load_text("wikitext2", data_dir)
    ids = tok(text, return_tensors="pt").input_ids
    total = ids.numel() // seqlen
    n = total if windows <= 0 else min(windows, total)
    loss_fct = torch.nn.CrossEntropyLoss()
    losses = []
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(n):
            inputs = ids[:, i * seqlen:(i + 1) * seqlen]
            lm_logits = model(inputs).logits
            shift_logits = lm_logits[:, :-1, :].contiguous()
            shift_labels = inputs[:, 1:]
            loss = loss_fct(shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1))
            losses.append(float(loss))
            log(f"[eval] window {i + 1}/{n}: loss {losses[-1]:.4f}")
    # Wanda: exp(sum(loss_i * seqlen) / (n * seqlen)) == exp(mean(loss_i))
    return math.exp(sum(losses) / n), losses, n, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", required=True, choices=["magnitude", "wanda", "sparsegpt", "dsnot", "dense"])
    ap.add_argument("--dsnot-dir", default="/tmp/dsnot",
                    help="zyxxmu/DSnoT checkout (same lib/ layout as Wanda's); --method dsnot runs its prune_DSnoT")
    ap.add_argument("--dsnot-init", default="wanda", choices=["wanda", "magnitude", "sparsegpt"])
    ap.add_argument("--dsnot-cycles", type=int, default=50)
    ap.add_argument("--dsnot-threshold", type=float, default=0.1)
    ap.add_argument("--dsnot-skip", default="mlp", choices=["no_skip", "mlp", "self_attn"])
    ap.add_argument("--sparsity", type=float, default=0.5)
    ap.add_argument("--pattern", default="unstructured", choices=["unstructured", "2:4", "4:8"])
    ap.add_argument("--calib-tokens", help="int32 LE windows (make_calib_tokens.py); needed for wanda/sparsegpt")
    ap.add_argument("--nsamples", type=int, default=0, help="calibration windows to use (0 = all in the file)")
    ap.add_argument("--seqlen", type=int, default=2048, help="calibration window length (model.seqlen)")
    ap.add_argument("--eval-seqlen", type=int, default=2048)
    ap.add_argument("--eval-windows", type=int, default=16, help="0 = no evaluation")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--save-all-masks", action="store_true",
                    help="also write DIR/masks_all.safetensors (every layer's uint8 zero mask) to locate divergence")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                    help="arithmetic of the calibration forwards and scores (float64: the same algorithm with less "
                         "rounding, to measure how far rounding alone moves the result); evaluation is always float32")
    ap.add_argument("--wanda-dir", default="/tmp/wanda")
    ap.add_argument("--gguf", default=DEFAULT_GGUF)
    ap.add_argument("--data-dir", default=os.environ.get("SECATEUR_DATA", "/work/shared/data"))
    args = ap.parse_args()

    import numpy as np
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from safetensors.torch import save_file

    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    repo = args.dsnot_dir if args.method == "dsnot" else args.wanda_dir
    wprune = import_wanda(repo, torch) if args.method != "dense" else None

    prune_n, prune_m = 0, 0
    if args.pattern != "unstructured":
        assert args.sparsity == 0.5, "sparsity ratio must be 0.5 for structured N:M sparsity"  # as main.py
        prune_n, prune_m = map(int, args.pattern.split(":"))

    # main.py seeds these before loading
    np.random.seed(args.seed)
    torch.random.manual_seed(args.seed)

    model_dir, model_file = os.path.split(os.path.abspath(args.gguf))
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=model_file, dtype=torch.float32)
    if args.dtype == "float64":
        model = model.double()
    model.eval()
    tok = AutoTokenizer.from_pretrained(model_dir, gguf_file=model_file)
    t_load = time.perf_counter() - t0
    model.seqlen = args.seqlen
    model.hf_device_map = {}
    patch_decoder_layer(model)
    log(f"[ref] loaded in {t_load:.1f}s; attn={getattr(model.config, '_attn_implementation', None)}")

    # pre-existing zeros in the prunable linears (the reference's check_sparsity counts them too)
    from torch import nn
    lin = {}
    for i, layer in enumerate(model.model.layers):
        for name, m in layer.named_modules():
            if type(m) is nn.Linear:
                lin[f"model.layers.{i}.{name}.weight"] = m
    total = sum(m.weight.numel() for m in lin.values())
    zero_before = {k: (m.weight.data == 0) for k, m in lin.items()}
    zeros_before = sum(int(z.sum()) for z in zero_before.values())

    calib = None
    nsamples = 0
    if args.method != "dense":
        if args.method in ("wanda", "sparsegpt", "dsnot"):
            if not args.calib_tokens:
                raise SystemExit("--calib-tokens is required for wanda/sparsegpt/dsnot")
            calib = read_calib(args.calib_tokens, args.seqlen, args.nsamples, torch)
            nsamples = len(calib)
        elif args.calib_tokens:
            nsamples = len(read_calib(args.calib_tokens, args.seqlen, args.nsamples, torch))

        def get_loaders(name, nsamples=128, seed=0, seqlen=2048, tokenizer=None):
            # DSnoT's prune_DSnoT asks for seqlen=2048 whatever model.seqlen is; its buffers use model.seqlen.
            assert seqlen == args.seqlen or args.method == "dsnot", (seqlen, args.seqlen)
            assert nsamples == len(calib), (nsamples, len(calib))
            return calib, None
        wprune.get_loaders = get_loaders

        rargs = types.SimpleNamespace(sparsity_ratio=args.sparsity, nsamples=nsamples, seed=args.seed,
                                      use_variant=False, prune_method=args.method,
                                      sparsity_type=args.pattern,
                                      # DSnoT's main.py arguments (its defaults unless given)
                                      initial_method=args.dsnot_init, max_cycle_time=args.dsnot_cycles,
                                      without_DSnoT=False, update_threshold=args.dsnot_threshold,
                                      pow_of_var_regrowing=1.0, pow_of_var_pruning=1.0,
                                      skip_layer=args.dsnot_skip, skip_sub_layer="no_skip",
                                      without_same_sign=True, get_time_overhead=False)
        dev = torch.device("cpu")
        fn = {"magnitude": wprune.prune_magnitude, "wanda": wprune.prune_wanda,
              "sparsegpt": wprune.prune_sparsegpt, "dsnot": getattr(wprune, "prune_DSnoT", None)}[args.method]
        log(f"[ref] pruning: {args.method} {args.pattern} {args.sparsity} nsamples={nsamples} seqlen={args.seqlen}")
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):
            fn(rargs, model, tok, dev, prune_n=prune_n, prune_m=prune_m)
        t_prune = time.perf_counter() - t0
        log(f"[ref] pruned in {t_prune:.1f}s")
        with contextlib.redirect_stdout(sys.stderr):
            sparsity_ref = wprune.check_sparsity(model)
    else:
        t_prune = 0.0
        sparsity_ref = zeros_before / total
    rss_after_prune = rss_mb()
    if args.dtype == "float64":
        model = torch.nn.Module.float(model)   # (PreTrainedModel.float refuses GGUF-loaded models) float32 weights hold the float64 pruned values exactly (they came from float32)

    zeros_after = 0
    newly_zero = 0
    preexisting_still_zero = 0
    for k, m in lin.items():
        z = m.weight.data == 0
        zeros_after += int(z.sum())
        newly_zero += int((z & ~zero_before[k]).sum())
        preexisting_still_zero += int((z & zero_before[k]).sum())

    masks = {}
    weights = {}
    for name in LAYER0:
        k = f"model.layers.0.{name}.weight"
        w = lin[k].weight.data
        masks[k] = (w == 0).to(torch.uint8).contiguous()
        weights[k] = w.detach().clone().contiguous()
    save_file(masks, os.path.join(args.out, "masks_layer0.safetensors"))
    save_file(weights, os.path.join(args.out, "weights_layer0.safetensors"))
    if args.save_all_masks:
        save_file({k: (m.weight.data == 0).to(torch.uint8).contiguous() for k, m in lin.items()},
                  os.path.join(args.out, "masks_all.safetensors"))

    def result(ppl, losses, n_eval, t_eval):
        return {
            "tool": "wanda-reference",
            "wanda_commit": "8e8fc87b4a2f9955baa7e76e64d5fce7fa8724a6",
            "method": args.method,
            "pattern": args.pattern,
            "sparsity_requested": args.sparsity if args.method != "dense" else 0.0,
            "sparsity_achieved": sparsity_ref,
            "sparsity_achieved_excl_preexisting_zeros": newly_zero / total,
            "prunable_params": total,
            "zeros_before": zeros_before,
            "zeros_after": zeros_after,
            "preexisting_zeros_still_zero": preexisting_still_zero,
            "newly_zeroed": newly_zero,
            "nsamples": nsamples,
            "seqlen": args.seqlen,
            "calib_tokens": os.path.abspath(args.calib_tokens) if args.calib_tokens else None,
            "seed": args.seed,
            "prune_seconds": t_prune,
            "load_seconds": t_load,
            "ppl": ppl,
            "eval_windows": n_eval,
            "eval_seqlen": args.eval_seqlen,
            "eval_losses": losses,
            "eval_seconds": t_eval,
            "torch_version": torch.__version__,
            "transformers_version": transformers.__version__,
            "threads": torch.get_num_threads(),
            "peak_rss_mb_after_prune": rss_after_prune,
            "peak_rss_mb": rss_mb(),
            "model": os.path.basename(args.gguf),
            "dtype": args.dtype,
        }

    def write(res):
        with open(os.path.join(args.out, "result.json"), "w") as f:
            json.dump(res, f, indent=2)

    # written once before evaluation (ppl null) so a long or interrupted eval keeps the prune figures
    write(result(None, [], 0, 0.0))
    if args.eval_windows > 0:
        ppl, losses, n_eval, t_eval = eval_wikitext2(model, tok, args.eval_seqlen, args.eval_windows,
                                                     args.data_dir, torch)
        log(f"[ref] wikitext2 ppl {ppl:.4f} over {n_eval} windows ({t_eval:.1f}s)")
        res = result(ppl, losses, n_eval, t_eval)
        write(res)
    else:
        res = result(None, [], 0, 0.0)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
