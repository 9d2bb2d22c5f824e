#!/usr/bin/env python3
r"""Run the LLM-Pruner reference code (Ma, Fang & Wang, NeurIPS 2023; github.com/horseee/LLM-Pruner)
block-wise on SmolLM2-135M on the CPU, then measure WikiText-2 perplexity with the protocol
of bench/ppl_reference.py, so that Secateur's `prune --structured --ratio-mode layer` can be
compared with it on the same model.

The reference is NOT copied here: it is imported from an extracted snapshot
(--llm-pruner-dir, default /tmp/llm-pruner; make it with
`git --git-dir=<mirror of horseee/LLM-Pruner> archive HEAD | tar -x -C /tmp/llm-pruner`)
and its own `hf_prune.main(args)` runs, with only these substitutions, each forced by
the environment:

  * model: hf_prune builds LLM-Pruner's own LlamaForCausalLM (written for transformers
    4.28 and Llama-1). That class has no grouped-query attention (k_proj/v_proj are
    num_heads*head_dim wide) and a hard-coded RoPE base 10000. SmolLM2-135M has 9 query
    heads sharing 3 key/value heads and rope_theta 100000. Loading its weights as they
    are fails (the error is recorded in the JSON as "load_as_is_error"). So each key/value
    head is repeated for the query heads that share it (exactly what GQA computes, so the
    function is unchanged; checked against transformers' logits), the rotary tables are
    rebuilt with the model's rope_theta, and lm_head is tied to embed_tokens as in
    SmolLM2. Consequence: the reference prunes per query head, with the head's own copy of
    k/v; the parameter counts it reports are of this expanded model. We also report the
    GQA-equivalent counts (a key/value head is kept while any query head that shares it is).
  * tokenizer: hf_prune calls LlamaTokenizer.from_pretrained(base_model); here the GGUF's
    tokenizer through AutoTokenizer.
  * calibration text: hf_prune draws 10 examples of 64 tokens from BookCorpus through
    `datasets.load_dataset`; BookCorpus is not available offline, so LLM-Pruner's own
    get_c4 sampler runs instead, its load_dataset fed from the local C4 train shard
    ($SECATEUR_DATA/c4/c4-train.00000-of-01024.first1000.jsonl).
  * evaluation: hf_prune's PPLMetric (its own loaders, 128-token windows) is replaced by the
    bench/ppl_reference.py protocol (WikiText-2, 2048-token windows, first --windows).
  * CPU: --device cpu --eval_device cpu (hf_prune then keeps float32); the CUDA memory
    report at the end returns 0.

Prints one JSON object on stdout; progress (and LLM-Pruner's log) goes to stderr.
"""
import argparse
import json
import math
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_GGUF = os.path.expanduser(
    "~/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def expanded_state_dict(hf_model, n_heads, n_kv, head_dim):
    """The GQA model's weights with every key/value head repeated for its query heads
    (query head h reads kv head h // (n_heads / n_kv), as transformers' repeat_kv)."""
    group = n_heads // n_kv
    sd = {}
    for name, t in hf_model.state_dict().items():
        if name.endswith("k_proj.weight") or name.endswith("v_proj.weight"):
            hidden = t.shape[1]
            t = t.view(n_kv, head_dim, hidden).repeat_interleave(group, dim=0).reshape(n_heads * head_dim, hidden)
        sd[name] = t.detach().clone()
    return sd


def evaluate_ppl(model, ids, seqlen, nsamples, torch):
    """bench/ppl_reference.py's protocol: mean next-token cross-entropy per window × seqlen."""
    loss_fct = torch.nn.CrossEntropyLoss()
    nlls = []
    with torch.inference_mode():
        for i in range(nsamples):
            t0 = time.perf_counter()
            inputs = ids[:, i * seqlen:(i + 1) * seqlen]
            logits = model(inputs).logits
            loss = loss_fct(logits[:, :-1, :].reshape(-1, logits.size(-1)), inputs[:, 1:].reshape(-1))
            nlls.append(loss.float().item() * seqlen)
            log(f"[llmp] window {i + 1}/{nsamples}: nll {nlls[-1] / seqlen:.4f}/token, {time.perf_counter() - t0:.1f}s")
    return math.exp(sum(nlls) / (nsamples * seqlen))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", default=DEFAULT_GGUF)
    ap.add_argument("--llm-pruner-dir", default=os.environ.get("LLM_PRUNER_DIR", "/tmp/llm-pruner"))
    ap.add_argument("--data-dir", default=os.environ.get("SECATEUR_DATA", "/work/shared/data"))
    ap.add_argument("--pruner-type", default="taylor", choices=["taylor", "l2", "l1", "random"])
    ap.add_argument("--taylor", default="param_first")
    ap.add_argument("--pruning-ratio", type=float, default=0.2)
    # LLM-Pruner's Llama-7B defaults are layers 3..<31 of 32 (hf_prune.py); its README's
    # block-wise recipe uses 4..<30. Secateur scales the latter to 30 layers: 4..<28.
    ap.add_argument("--layer-start", type=int, default=4)
    ap.add_argument("--layer-end", type=int, default=28, help="exclusive")
    ap.add_argument("--num-examples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=42, help="hf_prune.py's default seed")
    ap.add_argument("--windows", type=int, default=16)
    ap.add_argument("--seqlen", type=int, default=2048)
    ap.add_argument("--eval-dense", action="store_true", help="also evaluate the expanded dense model")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(args.threads)
    sys.path.insert(0, HERE)
    from ppl_reference import load_text

    root = os.path.abspath(args.llm_pruner_dir)
    if not os.path.isfile(os.path.join(root, "hf_prune.py")):
        raise SystemExit(f"no LLM-Pruner snapshot at {root} (hf_prune.py missing); extract one there "
                         "with `git --git-dir=<mirror> archive HEAD | tar -x -C {root}`")
    sys.path.insert(0, root)
    import hf_prune
    import LLMPruner.datasets.example_samples as example_samples
    from LLMPruner.models.hf_llama import modeling_llama as lp_llama

    model_dir, model_file = os.path.split(os.path.abspath(args.gguf))
    result = {"reference": "horseee/LLM-Pruner hf_prune.py (block-wise)", "pruner_type": args.pruner_type,
              "taylor": args.taylor if args.pruner_type == "taylor" else None,
              "pruning_ratio": args.pruning_ratio, "layers": [args.layer_start, args.layer_end - 1],
              "calibration": f"C4 train shard (BookCorpus unavailable), {args.num_examples} x 64 tokens",
              "transformers": transformers.__version__, "torch": torch.__version__}

    # --- the model, through transformers (GQA) ------------------------------------------
    tok = AutoTokenizer.from_pretrained(model_dir, gguf_file=model_file)
    hf_model = AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=model_file, dtype=torch.float32)
    hf_model.eval()
    cfg = hf_model.config
    n_heads, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads
    head_dim = cfg.hidden_size // n_heads
    rope_theta = getattr(cfg, "rope_theta", None) or (getattr(cfg, "rope_parameters", None) or {}).get("rope_theta")
    log(f"[llmp] {type(hf_model).__name__}: {cfg.num_hidden_layers} layers, {n_heads} heads / {n_kv} kv heads, "
        f"rope_theta {rope_theta}")

    # --- LLM-Pruner's own Llama class, weights as they are: record why it fails ------------
    lp_cfg = transformers.LlamaConfig(**{k: v for k, v in cfg.to_dict().items()
                                         if k not in ("architectures", "model_type", "transformers_version")})
    lp_cfg.max_position_embeddings = max(args.seqlen, 2048)
    try:
        probe = lp_llama.LlamaForCausalLM(lp_cfg)
        probe.load_state_dict(hf_model.state_dict(), strict=False)
        result["load_as_is_error"] = None
    except Exception as e:  # the GQA shape mismatch
        msg = str(e).strip().splitlines()
        result["load_as_is_error"] = f"{type(e).__name__}: " + " | ".join(l.strip() for l in msg[:3])
    log(f"[llmp] LLM-Pruner LlamaForCausalLM with the GQA weights as they are: {result['load_as_is_error']}")

    # --- the same function with k/v repeated per query head ------------------------------
    def build_expanded():
        m = lp_llama.LlamaForCausalLM(lp_cfg)
        for layer in m.model.layers:  # LLM-Pruner's rotary class hard-codes base 10000
            layer.self_attn.rotary_emb = lp_llama.LlamaRotaryEmbedding(
                head_dim, max_position_embeddings=lp_cfg.max_position_embeddings, base=rope_theta)
        sd = expanded_state_dict(hf_model, n_heads, n_kv, head_dim)
        if "lm_head.weight" not in sd:
            sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
        missing, unexpected = m.load_state_dict(sd, strict=False)
        missing = [k for k in missing if "rotary_emb" not in k]
        if missing or unexpected:
            raise SystemExit(f"expanded load: missing {missing}, unexpected {unexpected}")
        if getattr(cfg, "tie_word_embeddings", False):
            m.lm_head.weight = m.model.embed_tokens.weight
        m.eval()
        return m

    check_ids = tok("The quick brown fox jumps over the lazy dog near the river bank.", return_tensors="pt").input_ids
    probe = build_expanded()
    with torch.inference_mode():
        diff = (probe(check_ids).logits - hf_model(check_ids).logits).abs().max().item()
    result["expanded_vs_transformers_max_abs_logit_diff"] = diff
    log(f"[llmp] expanded LLM-Pruner model vs transformers: max |logit diff| {diff:.2e} on {check_ids.shape[1]} tokens")
    if diff > 1e-3:
        raise SystemExit(f"expanded model does not reproduce transformers' logits (max diff {diff})")
    del probe

    text, _ = load_text("wikitext2", args.data_dir)
    ids = tok(text, return_tensors="pt").input_ids
    nsamples = min(args.windows, ids.numel() // args.seqlen)
    result["windows"] = nsamples

    # --- substitutions into hf_prune's globals (see the module docstring) ----------------
    class ModelFactory:
        @staticmethod
        def from_pretrained(*_a, **_k):
            return build_expanded()

    class TokenizerFactory:
        @staticmethod
        def from_pretrained(*_a, **_k):
            return tok

    c4_path = os.path.join(args.data_dir, "c4", "c4-train.00000-of-01024.first1000.jsonl")
    with open(c4_path, encoding="utf-8") as f:
        c4_rows = [json.loads(l) for l in f if l.strip()]
    example_samples.load_dataset = lambda *_a, **_k: c4_rows
    hf_prune.get_examples = lambda _name, tokenizer, n, seq_len=128: example_samples.get_c4(tokenizer, n, seq_len)
    hf_prune.LlamaForCausalLM = ModelFactory
    hf_prune.LlamaTokenizer = TokenizerFactory
    torch.cuda.memory_allocated = lambda *_a, **_k: 0

    captured = {}
    t_start = [time.perf_counter()]

    def ppl_metric(model, _tokenizer, _datasets, *_a, **_k):
        # hf_prune calls this once after pruning (and before, only with --test_before_train).
        captured["prune_seconds"] = time.perf_counter() - t_start[0]
        captured["model"] = model
        t0 = time.perf_counter()
        captured["ppl"] = evaluate_ppl(model, ids, args.seqlen, nsamples, torch)
        captured["eval_seconds"] = time.perf_counter() - t0
        return {"wikitext2": captured["ppl"]}

    hf_prune.PPLMetric = ppl_metric

    dense = build_expanded()
    params_expanded_before = sum(p.numel() for p in dense.parameters())
    params_gqa_before = sum(p.numel() for p in hf_model.parameters())
    if args.eval_dense:
        t0 = time.perf_counter()
        result["ppl_dense"] = evaluate_ppl(dense, ids, args.seqlen, nsamples, torch)
        result["eval_dense_seconds"] = time.perf_counter() - t0
    del dense

    hp_args = argparse.Namespace(
        base_model=model_dir, save_ckpt_log_name="smollm2_135m_prune", pruning_ratio=args.pruning_ratio,
        pruner_type=args.pruner_type, temperature=1.0, top_p=0.95, max_seq_len=128,
        channel_wise=False, block_wise=True, layer_wise=False, layer=12,
        block_attention_layer_start=args.layer_start, block_attention_layer_end=args.layer_end,
        block_mlp_layer_start=args.layer_start, block_mlp_layer_end=args.layer_end,
        iterative_steps=1, grouping_strategy="sum", global_pruning=False, taylor=args.taylor,
        num_examples=args.num_examples, device="cpu", test_before_train=False, eval_device="cpu",
        test_after_train=False, seed=args.seed, save_model=False,
        torch_version=float(".".join(torch.__version__.split(".")[:2])))

    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="llmp-log-") as logdir:
        os.chdir(logdir)  # hf_prune's logger writes prune_log/ under the working directory
        try:
            t_start[0] = time.perf_counter()
            hf_prune.main(hp_args)
        finally:
            os.chdir(cwd)

    model = captured["model"]
    params_expanded_after = sum(p.numel() for p in model.parameters())
    # GQA-equivalent size: the default torch_pruning Linear handler only slices rows, so each
    # surviving query head is found by matching its rows against the dense q_proj; kv head g
    # is kept while any query head of its group (h // group == g) is, and counts once.
    group = n_heads // n_kv
    hidden = cfg.hidden_size
    gqa_after = params_gqa_before
    per_layer = []
    for li, layer in enumerate(model.model.layers):
        dense_q = hf_model.model.layers[li].self_attn.q_proj.weight.detach().view(n_heads, head_dim, hidden)
        pruned_q = layer.self_attn.q_proj.weight.detach().view(-1, head_dim, hidden)
        kept = [int((dense_q - h).abs().flatten(1).sum(1).argmin()) for h in pruned_q]
        kv_kept = sorted({h // group for h in kept})
        inter = layer.mlp.gate_proj.weight.shape[0]
        per_layer.append({"layer": li, "heads": len(kept), "kv_groups": len(kv_kept), "intermediate": inter})
        gqa_after -= (n_heads - len(kept)) * head_dim * hidden * 2     # q rows + o columns
        gqa_after -= (n_kv - len(kv_kept)) * head_dim * hidden * 2     # k and v rows
        gqa_after -= (cfg.intermediate_size - inter) * hidden * 3      # gate, up rows + down columns
    result.update({
        "params_before_expanded": params_expanded_before, "params_after_expanded": params_expanded_after,
        "ratio_actual_expanded": 1 - params_expanded_after / params_expanded_before,
        "params_before": params_gqa_before,
        "params_after": gqa_after,
        "ratio_actual": 1 - gqa_after / params_gqa_before,
        "ppl_pruned": captured["ppl"], "prune_seconds": captured["prune_seconds"],
        "eval_seconds": captured["eval_seconds"], "per_layer": per_layer,
    })
    print(json.dumps(result))


if __name__ == "__main__":
    main()
