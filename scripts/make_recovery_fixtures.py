#!/usr/bin/env python3
"""Reference fixtures for pruning recovery (LoRA, label masking, distillation, AdamW fine-tuning).

Models (MODELS below): llama = Tests/Fixtures/tiny/llama-gqa-untied (LlamaForCausalLM, untied head),
opt = Tests/Fixtures/opt/opt-pre (OPTForCausalLM, LM head tied to model.decoder.embed_tokens.weight).
All models are loaded with attn_implementation="eager" and model.eval() (every dropout is 0 anyway);
gradients stay on. Every reference is computed in float64 from float32-exact inputs (the stored
float32 weights / adapters / ids, widened) and stored as float32; the one-shot quantities (logits,
losses, gradients) are also recomputed in float32 and checked against the float64 values, and the
optimizer runs are rerun in float32 and compared loosely (their errors are printed).

Losses are computed here as in transformers' ForCausalLMLoss: logits[:-1] against labels[1:], mean
over targets that are not -100 (transformers' own loss upcasts to float32, so it is used only to
cross-check the float32 run).

Outputs (Tests/Fixtures/recovery/), for each model <name> in {llama, opt}:

  <name>-pruned/   save_pretrained (float32, safetensors) of the source model after 2:4 magnitude
      pruning of every decoder-layer projection weight (llama: q_proj k_proj v_proj o_proj gate_proj
      up_proj down_proj; opt: q_proj k_proj v_proj out_proj fc1 fc2): in each row, in consecutive
      groups of 4 columns, the 2 entries of smallest |w| are set to 0 (ties: the lower column first).
      Embeddings, norms, biases and the LM head are untouched. Tokenizer files of the source are copied.
  <name>-lora/     PEFT save_pretrained (adapter_config.json, adapter_model.safetensors) of
      LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=<projections above>, bias="none",
      task_type="CAUSAL_LM") on <name>-pruned, with every lora_A overwritten by N(0,1)*0.1 and every
      lora_B by N(0,1)*0.05 (float32 draws from one torch.Generator, seed LORA_SEED[name], taken in
      named_parameters order, A then B per module). adapter_config's base_model_name_or_path is the
      relative path "Tests/Fixtures/recovery/<name>-pruned", target_modules is written in the order above
      (PEFT stores a set), and PEFT's generated README.md is removed.
      These adapters are the initial state of everything below that uses an adapter.

  <name>.safetensors  (F32 unless noted; <key> = PEFT's saved key = the named_parameter name without
                       ".default", e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight,
                       exactly the keys of <name>-lora/adapter_model.safetensors;
                       <hf name> = the HF named_parameter name of the plain model)
    input_ids           I64 [24]        seeded tokens in [0, vocab)
    lora.logits         [24, V]         PeftModel(pruned, adapter) logits on input_ids
    lora.loss           []              mean next-token CE, labels = input_ids
    lora.grad.<key>     [shape]         d lora.loss / d each lora_A / lora_B
    label.labels        I64 [24]        input_ids with positions 0..7 set to -100
    label.loss          []              same CE with label.labels (mean over the 16 kept targets 8..23)
    label.grad.<key>    [shape]         d label.loss / d each adapter tensor
    kd.ce               []              distillation, no adapter: student = pruned model (all
                                        parameters trainable), teacher = dense source model;
                                        mean CE of the student over positions 0..22
    kd.kl               []              mean over positions 0..22 of KL(p_teacher || p_student),
                                        p = softmax(logits / tau), tau = 2 (sum over vocab)
    kd.loss             []              (1 - w) * ce + w * tau^2 * kl, w = 0.5
    kd.grad.<hf name>   [shape]         d kd.loss / d every student named_parameter
    steps.input_ids     I64 [5, 24]     one seeded window per optimizer step (batch 1)
    lora.steps.loss     [5]             5 AdamW steps on the adapters from the initial state:
    lora.steps.lr       [5]               AdamW(lr=1e-2, betas (0.9, 0.999), eps 1e-8, wd 0.01),
    lora.steps.norm     [5]               get_linear_schedule_with_warmup(warmup 2, total 5); each
                                          step: zero_grad, loss on steps.input_ids[i], backward,
                                          norm = clip_grad_norm_(adapters, 1.0) (pre-clip norm),
                                          lr = scheduler.get_last_lr()[0], opt.step(), scheduler.step()
                                          (so lr[0] = 0: the first step moves nothing but Adam's m, v)
    lora.final.<key>    [shape]         the adapter tensors after the 5 steps
    lora.merged.<hf name> [out, in]     for each adapted base weight W (pruned):
                                        W + (W != 0) * (B @ A * lora_alpha / r) with the final adapters
    full.steps.loss     [5]             5 steps of masked full fine-tuning from the pruned model (no
    full.steps.lr       [5]               adapter): every named_parameter trainable in one AdamW group,
    full.steps.norm     [5]               lr=1e-3, wd 0.01, same schedule/clipping/windows; after
                                          backward the pruned projections' grads are multiplied by
                                          their 2:4 masks (before clipping: norm is that of the masked
                                          grads). Pruned entries stay exactly 0 (asserted).
    full.final.<hf name> [shape]        every named_parameter after the 5 steps
  metadata: "format" = "pt".

  adamw.safetensors  (model-independent, F32, computed in float64)
    p0          [37]      seeded N(0,1) start
    grads       [6, 37]   seeded N(0,1) gradients, grads[i] used at step i
    p6          [37]      after 6 steps of AdamW(lr=0.05, betas (0.9, 0.999), eps 1e-8,
                          weight_decay 0.1, amsgrad=False), constant lr
    lrs.linear  [10]      lr multipliers (peak 1.0) for steps 0..9 of get_linear_schedule_with_warmup,
    lrs.cosine  [10]        get_cosine_schedule_with_warmup (num_cycles 0.5) and
    lrs.constant [10]       get_constant_schedule_with_warmup, warmup 3, total 10, each read with
                            get_last_lr()[0] before that step's scheduler.step()
    clip.g      [50]      seeded N(0,1) * 3
    clip.max    []        1.0
    clip.norm   []        the pre-clip L2 norm clip_grad_norm_ returns
    clip.out    [50]      the clipped gradient

Quirks: OPT's named_parameters list the tied embedding once (model.decoder.embed_tokens.weight, whose
gradient carries the LM head's share) and no lm_head.weight; they include
model.decoder.embed_positions.weight and the final_layer_norm. Llama's include lm_head.weight.

Run from the repository root:  python3 scripts/make_recovery_fixtures.py
Generated with torch 2.13.0+cpu, transformers 5.24.0, peft 0.21.2, safetensors 0.8.0, accelerate 1.15.0.
"""
import json
import os
import shutil

import torch
import torch.nn.functional as F
import transformers
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file, save_file

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT_REL = os.path.join("Tests", "Fixtures", "recovery")
OUT = os.path.join(ROOT, OUT_REL)

MODELS = {
    "llama": (os.path.join(ROOT, "Tests", "Fixtures", "tiny", "llama-gqa-untied"),
              ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
    "opt": (os.path.join(ROOT, "Tests", "Fixtures", "opt", "opt-pre"),
            ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]),
}
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                   "merges.txt", "tokenizer.model"]
SEED = {"llama": 0, "opt": 1}  # offsets for the per-model seeds below
LORA_SEED = {n: 7100 + k for n, k in SEED.items()}
T, STEPS, N_IGNORED = 24, 5, 8
RANK, ALPHA = 4, 8
TAU, KD_W = 2.0, 0.5
# OPT's k_proj bias has exactly zero gradient in exact arithmetic (softmax ignores a per-query shift);
# float32 gives rounding noise there, which AdamW turns into steps of up to ~lr/10.
K_BIAS = "self_attn.k_proj.bias"


# ---------------------------------------------------------------- helpers

def load(path, dtype):
    return transformers.AutoModelForCausalLM.from_pretrained(
        path, attn_implementation="eager", dtype=dtype).eval()


def is_projection(name, targets):
    parts = name.split(".")
    return ".layers." in name and parts[-1] == "weight" and parts[-2] in targets


def prune_24(w):
    """Mask (1 = kept) of 2:4 magnitude pruning along rows; ties prune the lower column first."""
    rows, cols = w.shape
    assert cols % 4 == 0
    g = w.abs().reshape(rows, cols // 4, 4)
    order = torch.sort(g, dim=-1, stable=True).indices
    mask = torch.ones_like(g, dtype=torch.bool)
    mask.scatter_(-1, order[..., :2], False)
    return mask.reshape(rows, cols)


assert prune_24(torch.tensor([[1.0, -1.0, 1.0, 1.0, 0.5, -3.0, 0.2, 2.0]])).tolist() == \
    [[False, False, True, True, False, True, False, True]]


def ce(logits, labels):
    return F.cross_entropy(logits[:-1], labels[1:], ignore_index=-100)


def logits_of(model, ids):
    return model(input_ids=ids[None, :], use_cache=False).logits[0]


def seeded_ids(vocab, shape, seed):
    return torch.randint(0, vocab, shape, generator=torch.Generator().manual_seed(seed))


def lora_params(peft_model):
    """[(saved key, parameter)] of every adapter tensor, in named_parameters order."""
    out = [(n.replace(".default", ""), p) for n, p in peft_model.named_parameters() if ".lora_" in n]
    assert out and all(p.requires_grad for _, p in out)
    return out


def load_lora(pruned_dir, lora_dir, dtype):
    m = PeftModel.from_pretrained(load(pruned_dir, dtype), lora_dir, is_trainable=True).eval()
    for n, p in m.named_parameters():
        assert p.dtype == dtype, (n, p.dtype)
    return m


def check(name, what, x32, x64, rel, atol=None):
    """Relative (to the max |x64|) float32 error; with atol, an absolute bound instead (returns 0)."""
    err = (x32.double() - x64).abs().max().item()
    scale = x64.abs().max().item()
    if atol is not None:
        assert err <= atol, f"{name}: float32 {what} off by {err:.2e} (absolute bound {atol:.0e})"
        return 0.0
    assert err <= rel * max(scale, 1e-30), f"{name}: float32 {what} off by {err / scale:.2e} (scale {scale:.2e})"
    return err / max(scale, 1e-30)


def train(model, params, lr, windows, masks):
    """The 5-step AdamW run of the docstring; masks = [(param, mask)] applied to grads."""
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    sched = transformers.get_linear_schedule_with_warmup(opt, num_warmup_steps=2, num_training_steps=STEPS)
    losses, lrs, norms = [], [], []
    for ids in windows:
        opt.zero_grad(set_to_none=True)
        loss = ce(logits_of(model, ids), ids)
        loss.backward()
        for p, m in masks:
            p.grad.mul_(m)
        norm = torch.nn.utils.clip_grad_norm_(params, 1.0)
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
        losses.append(loss.item())
        norms.append(norm.item())
    return torch.tensor(losses, dtype=torch.float64), torch.tensor(lrs, dtype=torch.float64), \
        torch.tensor(norms, dtype=torch.float64)


# ---------------------------------------------------------------- per model

def make_model(name):
    src, targets = MODELS[name]
    pruned_dir = os.path.join(OUT, f"{name}-pruned")
    lora_dir = os.path.join(OUT, f"{name}-lora")
    k = SEED[name]

    # 1. pruned model (float32 on disk)
    dense = load(src, torch.float32)
    masks = {}
    with torch.no_grad():
        for n, p in dense.named_parameters():
            if is_projection(n, targets):
                masks[n] = prune_24(p)
    n_layers = dense.config.num_hidden_layers
    assert len(masks) == n_layers * len(targets), sorted(masks)
    pruned = load(src, torch.float32)
    with torch.no_grad():
        for n, p in pruned.named_parameters():
            if n in masks:
                p.mul_(masks[n])
                assert torch.equal(p != 0, masks[n]), n
    shutil.rmtree(pruned_dir, ignore_errors=True)
    pruned.save_pretrained(pruned_dir, safe_serialization=True)
    for f in TOKENIZER_FILES:
        if os.path.exists(os.path.join(src, f)):
            shutil.copy(os.path.join(src, f), os.path.join(pruned_dir, f))

    # 2. LoRA adapters with non-zero B, saved with PEFT
    cfg = LoraConfig(r=RANK, lora_alpha=ALPHA, lora_dropout=0.0, target_modules=targets, bias="none",
                     task_type="CAUSAL_LM")
    peft32 = get_peft_model(load(pruned_dir, torch.float32), cfg)
    gen = torch.Generator().manual_seed(LORA_SEED[name])
    with torch.no_grad():
        for n, p in peft32.named_parameters():
            if ".lora_A." in n:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
            elif ".lora_B." in n:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    peft32.peft_config["default"].base_model_name_or_path = os.path.join(OUT_REL, f"{name}-pruned")
    shutil.rmtree(lora_dir, ignore_errors=True)
    peft32.save_pretrained(lora_dir)
    if os.path.exists(os.path.join(lora_dir, "README.md")):
        os.remove(os.path.join(lora_dir, "README.md"))
    # PEFT keeps target_modules as a set (its JSON order follows the string hash seed): write it in
    # the order given, so the file is reproducible.
    cfg_path = os.path.join(lora_dir, "adapter_config.json")
    with open(cfg_path) as f:
        adapter_cfg = json.load(f)
    assert sorted(adapter_cfg["target_modules"]) == sorted(targets)
    adapter_cfg["target_modules"] = list(targets)
    with open(cfg_path, "w") as f:
        json.dump(adapter_cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    init = {key: p.detach().clone() for key, p in lora_params(peft32)}
    saved = load_file(os.path.join(lora_dir, "adapter_model.safetensors"))
    assert sorted(saved) == sorted(init), (sorted(saved), sorted(init))
    for key in init:
        assert torch.equal(saved[key], init[key]), key
    del peft32

    vocab = dense.config.vocab_size
    ids = seeded_ids(vocab, (T,), 8100 + k)
    labels = ids.clone()
    labels[:N_IGNORED] = -100
    tensors = {"input_ids": ids.clone(), "label.labels": labels}

    # 3a. adapter forward/backward, plain and label-masked
    m64 = load_lora(pruned_dir, lora_dir, torch.float64)
    m32 = load_lora(pruned_dir, lora_dir, torch.float32)
    for key, p in lora_params(m64):
        assert torch.equal(p.detach().float(), init[key]), key
    for prefix, lab in (("lora", ids), ("label", labels)):
        res = {}
        for tag, m in (("64", m64), ("32", m32)):
            m.zero_grad(set_to_none=True)
            logits = logits_of(m, ids)
            loss = ce(logits, lab)
            loss.backward()
            res[tag] = (logits.detach(), loss.detach(), {key: p.grad.detach().clone() for key, p in lora_params(m)})
        # transformers' own loss (float32 run) agrees with ours
        hf = m32(input_ids=ids[None], labels=lab[None], use_cache=False).loss.detach()
        assert abs(hf.item() - res["32"][1].item()) < 1e-6 * abs(hf.item()), (name, prefix, hf, res["32"][1])
        (lg64, l64, g64), (lg32, l32, g32) = res["64"], res["32"]
        check(name, f"{prefix} logits", lg32, lg64, 1e-5)
        check(name, f"{prefix} loss", l32, l64, 1e-5)
        worst = max(check(name, f"{prefix} grad {key}", g32[key], g64[key], 1e-4) for key in g64)
        assert all(g.abs().max() > 0 for g in g64.values()), f"{name}: zero adapter gradient"
        if prefix == "lora":
            tensors["lora.logits"] = lg64.float()
        tensors[f"{prefix}.loss"] = l64.float().reshape(())
        for key, g in g64.items():
            tensors[f"{prefix}.grad.{key}"] = g.float()
        print(f"{name} {prefix}: loss={l64.item():.6f}  adapters={len(g64)}  worst f32 grad rel err={worst:.1e}")
    del m64, m32

    # 3b. distillation: pruned student (all trainable) vs dense teacher
    res = {}
    for tag, dtype in (("64", torch.float64), ("32", torch.float32)):
        student, teacher = load(pruned_dir, dtype), load(src, dtype)
        with torch.no_grad():
            t_logits = logits_of(teacher, ids)[:-1]
        s_logits_full = logits_of(student, ids)
        cross = ce(s_logits_full, ids)
        s_logits = s_logits_full[:-1]
        log_pt = F.log_softmax(t_logits / TAU, dim=-1)
        log_ps = F.log_softmax(s_logits / TAU, dim=-1)
        kl = (log_pt.exp() * (log_pt - log_ps)).sum(-1).mean()
        loss = (1 - KD_W) * cross + KD_W * TAU * TAU * kl
        loss.backward()
        res[tag] = (cross.detach(), kl.detach(), loss.detach(),
                    {n: p.grad.detach().clone() for n, p in student.named_parameters()})
    (c64, k64, l64, g64), (c32, k32, l32, g32) = res["64"], res["32"]
    check(name, "kd.ce", c32, c64, 1e-5)
    check(name, "kd.kl", k32, k64, 1e-4)
    check(name, "kd.loss", l32, l64, 1e-5)
    worst = max(check(name, f"kd grad {n}", g32[n], g64[n], 1e-4, 1e-7 if K_BIAS in n else None) for n in g64)
    tensors["kd.ce"], tensors["kd.kl"], tensors["kd.loss"] = (x.float().reshape(()) for x in (c64, k64, l64))
    for n, g in g64.items():
        tensors[f"kd.grad.{n}"] = g.float()
    print(f"{name} kd: ce={c64.item():.6f} kl={k64.item():.6f} loss={l64.item():.6f} "
          f"params={len(g64)} worst f32 grad rel err={worst:.1e}")
    kd_names = list(g64)

    # 3c. five LoRA steps
    windows = seeded_ids(vocab, (STEPS, T), 8200 + k)
    tensors["steps.input_ids"] = windows.clone()
    runs = {}
    for tag, dtype in (("64", torch.float64), ("32", torch.float32)):
        m = load_lora(pruned_dir, lora_dir, dtype)
        params = [p for _, p in lora_params(m)]
        stats = train(m, params, 1e-2, windows, [])
        final = {key: p.detach().clone() for key, p in lora_params(m)}
        runs[tag] = (stats, final)
    (st64, fin64), (st32, fin32) = runs["64"], runs["32"]
    for i, what in enumerate(("loss", "lr", "norm")):
        tensors[f"lora.steps.{what}"] = st64[i].float()
    e_loss = check(name, "lora.steps.loss", st32[0], st64[0], 1e-5)
    e_fin = max(check(name, f"lora.final {key}", fin32[key], fin64[key], 1e-3) for key in fin64)
    for key, v in fin64.items():
        tensors[f"lora.final.{key}"] = v.float()
    base64 = load(pruned_dir, torch.float64)
    base_w = dict(base64.named_parameters())
    merged_count = 0
    for n in masks:
        module = "base_model.model." + n[: -len(".weight")]
        a, b = fin64[module + ".lora_A.weight"], fin64[module + ".lora_B.weight"]
        w = base_w[n].detach()
        delta = b @ a * (ALPHA / RANK)
        tensors[f"lora.merged.{n}"] = (w + (w != 0) * delta).float()
        merged_count += 1
    # PEFT's own (unmasked) merge agrees with W + B A alpha / r
    m = load_lora(pruned_dir, lora_dir, torch.float64)
    with torch.no_grad():
        for key, p in lora_params(m):
            p.copy_(fin64[key])
    unmasked = dict(m.merge_and_unload().named_parameters())
    for n in masks:
        module = "base_model.model." + n[: -len(".weight")]
        ref = base_w[n].detach() + fin64[module + ".lora_B.weight"] @ fin64[module + ".lora_A.weight"] * (ALPHA / RANK)
        assert torch.allclose(unmasked[n].detach(), ref, rtol=0, atol=1e-12), n
    print(f"{name} lora steps: loss={[round(x, 5) for x in st64[0].tolist()]} lr={st64[1].tolist()} "
          f"norm={[round(x, 5) for x in st64[2].tolist()]}  f32 loss rel err={e_loss:.1e} "
          f"final rel err={e_fin:.1e}  merged={merged_count}")

    # 3d. five masked full fine-tuning steps
    runs = {}
    for tag, dtype in (("64", torch.float64), ("32", torch.float32)):
        m = load(pruned_dir, dtype)
        named = dict(m.named_parameters())
        params = list(named.values())
        stats = train(m, params, 1e-3, windows, [(named[n], masks[n].to(dtype)) for n in masks])
        for n in masks:
            assert torch.all(named[n].detach()[~masks[n]] == 0), f"{name}: pruned entry of {n} moved"
        runs[tag] = (stats, {n: p.detach().clone() for n, p in named.items()})
    (st64, fin64), (st32, fin32) = runs["64"], runs["32"]
    assert list(fin64) == kd_names
    for i, what in enumerate(("loss", "lr", "norm")):
        tensors[f"full.steps.{what}"] = st64[i].float()
    e_loss = check(name, "full.steps.loss", st32[0], st64[0], 1e-5)
    e_fin = max(check(name, f"full.final {n}", fin32[n], fin64[n], 1e-4) for n in fin64 if K_BIAS not in n)
    e_kb = max([(fin32[n].double() - fin64[n]).abs().max().item() for n in fin64 if K_BIAS in n], default=0.0)
    assert e_kb < 1e-3, e_kb
    for n, v in fin64.items():
        tensors[f"full.final.{n}"] = v.float()
    print(f"{name} full steps: loss={[round(x, 5) for x in st64[0].tolist()]} "
          f"norm={[round(x, 5) for x in st64[2].tolist()]}  f32 loss rel err={e_loss:.1e} final rel err={e_fin:.1e} "
          f"k_proj.bias abs err={e_kb:.1e}")

    tensors = {n: t.contiguous() for n, t in tensors.items()}
    save_file(tensors, os.path.join(OUT, f"{name}.safetensors"), metadata={"format": "pt"})
    print(f"{name}: {len(tensors)} tensors, params={kd_names}")


# ---------------------------------------------------------------- optimizer-only checks

def make_adamw():
    g = torch.Generator().manual_seed(9100)
    p0 = torch.randn(37, generator=g)
    grads = torch.randn(6, 37, generator=g)
    p = torch.nn.Parameter(p0.double().clone())
    opt = torch.optim.AdamW([p], lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1, amsgrad=False)
    for i in range(6):
        opt.zero_grad()
        p.grad = grads[i].double().clone()
        opt.step()
    tensors = {"p0": p0, "grads": grads, "p6": p.detach().float()}

    for kind, make in (
        ("linear", lambda o: transformers.get_linear_schedule_with_warmup(o, 3, 10)),
        ("cosine", lambda o: transformers.get_cosine_schedule_with_warmup(o, 3, 10)),
        ("constant", lambda o: transformers.get_constant_schedule_with_warmup(o, 3)),
    ):
        o = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        s = make(o)
        lrs = []
        for _ in range(10):
            lrs.append(s.get_last_lr()[0])
            o.step()
            s.step()
        tensors[f"lrs.{kind}"] = torch.tensor(lrs, dtype=torch.float32)

    g = torch.Generator().manual_seed(9200)
    cg = torch.randn(50, generator=g) * 3
    q = torch.nn.Parameter(torch.zeros(50, dtype=torch.float64))
    q.grad = cg.double().clone()
    norm = torch.nn.utils.clip_grad_norm_([q], 1.0)
    assert abs(norm.item() - cg.double().norm().item()) < 1e-12
    tensors.update({"clip.g": cg, "clip.max": torch.tensor(1.0), "clip.norm": norm.float().reshape(()),
                    "clip.out": q.grad.float()})
    tensors = {n: t.to(torch.float32).contiguous() for n, t in tensors.items()}
    save_file(tensors, os.path.join(OUT, "adamw.safetensors"), metadata={"format": "pt"})
    print(f"adamw: lrs.linear={tensors['lrs.linear'].tolist()}\n       lrs.cosine={tensors['lrs.cosine'].tolist()}"
          f"\n       lrs.constant={tensors['lrs.constant'].tolist()}  clip.norm={norm.item():.6f}")


def main():
    transformers.utils.logging.disable_progress_bar()
    os.chdir(ROOT)
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    for name in MODELS:
        make_model(name)
    make_adamw()


if __name__ == "__main__":
    main()
