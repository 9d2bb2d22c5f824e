#!/usr/bin/env python3
r"""Reference for the recovery fine-tuning speed benchmark (bench/bench_recover_speed.sh):
LoRA training as PEFT users run it — transformers + PEFT on PyTorch CPU, float32.

Model: the GGUF file (transformers dequantizes it to float32; --gguf, default the cached
SmolLM2-135M-Instruct.Q4_1.gguf), attention implementation as transformers chooses by
default (sdpa; --attn-implementation), model.train(), use_cache=False, no gradient
checkpointing. torch.set_num_threads(--threads, default 2).

Adapters: peft.LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, bias="none",
task_type="CAUSAL_LM", target_modules=q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj).
Optimizer: torch.optim.AdamW(trainable parameters, lr 1e-4, weight_decay 0; torch's default
betas (0.9, 0.999) and eps 1e-8), transformers.get_linear_schedule_with_warmup(
num_warmup_steps=--lr-warmup, num_training_steps=--untimed-steps + --steps),
torch.nn.utils.clip_grad_norm_(trainable, 1.0) before every optimizer step.

Data (the rule of Secateur's `recover --data c4`, RecoveryTextCorpus + RecoverySplit):
  1. documents = the `text` of every non-blank line of the C4 train shard
     ($SECATEUR_DATA/c4/c4-train.00000-of-01024.first1000.jsonl, or the first of
     c4-train.00000-of-01024.jsonl/.json that exists); empty texts skipped;
  2. each document tokenized with the GGUF's Hugging Face tokenizer, `tokenizer(text).input_ids`
     (its own special tokens: none for SmolLM2, add_bos_token is false), followed by EOS
     (the GGUF's tokenizer.ggml.eos_token_id, which is the tokenizer's eos_token_id) unless it
     already ends with EOS or every encoding starts with EOS (OPT); all concatenated in file order;
  3. cut into consecutive non-overlapping windows of --seqlen tokens, the tail dropped;
  4. the windows shuffled as RecoverySplit does (Fisher–Yates driven by SplitMix64(--seed):
     for i = n-1 down to 1, swap i with next() % (i+1)); the first --val-windows are held
     out; the training windows are the rest, in that order.
  5. the trainer's own shuffle per epoch (Trainer.permutation): sequence q of the run (q = k*B + j
     for batch k, row j) is training window perm_e[q mod n], n training windows, e = q div n,
     perm_e = the same Fisher–Yates on 0..n-1 driven by SplitMix64(seed XOR
     (0xA0761D6478BD642F * (e+1) mod 2^64)).
  Batch k (k = 0, 1, ...) = those B windows stacked as one [B, seqlen] tensor; labels =
  input_ids (transformers shifts them: B*(seqlen-1) targets, mean loss). The check that both
  sides train on the same windows is the first step's loss: the adapters' B matrices start at
  zero, so step 1's loss is the base model's loss on batch 0 on both sides (dropout only acts
  inside the zero adapter path).

Timing: --untimed-steps (default 1) full training steps run first (forward, backward,
clip, optimizer and scheduler step on batches 0..u-1) and are NOT counted: they pay
one-off allocation and thread-pool start-up. Then --steps N steps (batches u..u+N-1) are
timed with time.perf_counter around the whole loop: forward + loss, backward, gradient
clipping, AdamW step, scheduler step, zero_grad(set_to_none=True), loss.item().
Model load, tokenization and the data cut are outside the timing.
tokens_per_second = N * B * seqlen / seconds (every position of a window counted as a
training token, as Secateur's tokens_seen counts them).
tokens_per_second_incl_untimed = (u + N) * B * seqlen / (untimed seconds + seconds): the
same run with its warm-up step(s) counted, the like-for-like figure for a tool that times
all of its steps.

Memory (Linux): peak_rss_mb = the whole process's peak resident set, MiB, from
resource.getrusage(RUSAGE_SELF).ru_maxrss (KiB on Linux) — imports, model load and training
all included. Before the first training step ru_maxrss is read (peak_rss_mb_before_train)
and the kernel's high-water mark is reset (writing "5" to /proc/self/clear_refs); at the end
VmHWM is the peak of the training phase alone (peak_rss_mb_train), and peak_rss_mb is the
largest of the two ru_maxrss readings and VmHWM (the reset also lowers what ru_maxrss
reports later, so the reading before it is kept).

Prints one JSON object on stdout; progress goes to stderr.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

DEFAULT_GGUF = os.path.expanduser(
    "~/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf")
C4_TRAIN_FILES = ["c4/c4-train.00000-of-01024.first1000.jsonl",
                  "c4/c4-train.00000-of-01024.jsonl", "c4/c4-train.00000-of-01024.json"]
MASK64 = (1 << 64) - 1


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class SplitMix64:
    """Secateur's SeededRNG (Compute/SeededRNG.swift)."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def permutation(count, seed):
    """RecoverySplit.permutation: 0..<count shuffled by Fisher–Yates with SplitMix64(seed)."""
    return fisher_yates(count, SplitMix64(seed))


def epoch_permutation(count, seed, epoch):
    """Trainer.permutation: the training windows' order in epoch `epoch` (0-based)."""
    return fisher_yates(count, SplitMix64(seed ^ ((0xA0761D6478BD642F * (epoch + 1)) & MASK64)))


def fisher_yates(count, rng):
    p = list(range(count))
    i = count - 1
    while i > 0:
        j = rng.next() % (i + 1)
        p[i], p[j] = p[j], p[i]
        i -= 1
    return p


def rss_kib(field):
    """VmRSS / VmHWM of this process in KiB (None where /proc is unavailable)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def mib(kib):
    return None if kib is None else kib / 1024.0


def load_c4_documents(data_dir, c4_path):
    path = c4_path
    if path is None:
        for rel in C4_TRAIN_FILES:
            cand = os.path.join(data_dir, rel)
            if os.path.exists(cand):
                path = cand
                break
    if path is None:
        raise SystemExit(f"no C4 train shard under {data_dir} (looked for {', '.join(C4_TRAIN_FILES)})")
    docs = []
    with open(path, "rb") as f:
        for raw in f.read().split(b"\n"):
            if all(c in b" \r\t" for c in raw):  # blank lines skipped, as JSONLines does
                continue
            docs.append(json.loads(raw)["text"])
    return path, docs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", default=DEFAULT_GGUF)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seqlen", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--steps", type=int, default=8, help="timed training steps N")
    ap.add_argument("--untimed-steps", type=int, default=1, help="warm-up training steps run first and not timed")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--lr-warmup", type=int, default=0, help="warm-up steps of the linear learning-rate schedule")
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16)
    ap.add_argument("--dropout", type=float, default=0.05)
    ap.add_argument("--targets", default="q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")
    ap.add_argument("--seed", type=int, default=0, help="seed of the window shuffle (as secateur --seed) and of torch")
    ap.add_argument("--val-windows", type=int, default=0, help="windows held out first, never trained on (as secateur --val-windows)")
    ap.add_argument("--data-dir", default=os.environ.get("SECATEUR_DATA", "/work/shared/data"))
    ap.add_argument("--c4", default=None, help="C4 train JSON-lines file (default: the shard in --data-dir)")
    ap.add_argument("--attn-implementation", default="sdpa", help="sdpa (transformers' default) or eager")
    ap.add_argument("--json", action="store_true", help="print the JSON on one line")
    a = ap.parse_args()

    t_start = time.perf_counter()
    import torch
    import transformers
    import peft
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, get_linear_schedule_with_warmup

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model_dir, model_file = os.path.split(os.path.abspath(a.gguf))

    # --- data: documents -> EOS-separated stream -> windows -> seeded split ------------------
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(model_dir, gguf_file=model_file)
    c4_path, docs = load_c4_documents(a.data_dir, a.c4)
    docs = [d for d in docs if d]
    eos = tok.eos_token_id
    prefix = tok("").input_ids
    separated = eos is not None and len(prefix) > 0 and prefix[0] == eos
    encoded = tok(docs).input_ids
    stream = []
    for ids in encoded:
        ids = list(ids)
        if eos is not None and not separated and (not ids or ids[-1] != eos):
            ids.append(eos)
        stream.extend(ids)
    S, B = a.seqlen, a.batch_size
    n_windows = len(stream) // S
    order = permutation(n_windows, a.seed)
    train_order = order[a.val_windows:]
    steps_total = a.untimed_steps + a.steps
    need = steps_total * B
    if need > len(train_order):
        raise SystemExit(f"{steps_total} steps x batch {B} need {need} windows; the C4 shard gives "
                         f"{len(train_order)} training windows of {S} tokens")
    n_train, epoch_orders = len(train_order), {}

    def window_of(q):  # the run's q-th training sequence (step 5 above)
        e = q // n_train
        if e not in epoch_orders:
            epoch_orders[e] = epoch_permutation(n_train, a.seed, e)
        return train_order[epoch_orders[e][q % n_train]]

    batches = []
    for k in range(steps_total):
        idx = [window_of(k * B + j) for j in range(B)]
        batches.append(torch.tensor([stream[i * S:(i + 1) * S] for i in idx], dtype=torch.long))
    t_data = time.perf_counter() - t0
    log(f"[ref] {len(docs)} C4 docs ({c4_path}) -> {len(stream)} tokens -> {n_windows} windows of {S}; "
        f"{len(train_order)} for training (seed {a.seed}, {a.val_windows} held out); "
        f"first batch windows {[window_of(j) for j in range(B)]}; data {t_data:.1f}s")

    # --- model + adapters ---------------------------------------------------------------------
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=model_file, dtype=torch.float32,
                                                 attn_implementation=a.attn_implementation)
    model.config.use_cache = False
    cfg = LoraConfig(r=a.rank, lora_alpha=a.alpha, lora_dropout=a.dropout, bias="none", task_type="CAUSAL_LM",
                     target_modules=[t.strip() for t in a.targets.split(",") if t.strip()])
    model = get_peft_model(model, cfg)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in trainable)
    n_total = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(trainable, lr=a.lr, weight_decay=a.weight_decay)
    sched = get_linear_schedule_with_warmup(opt, num_warmup_steps=a.lr_warmup, num_training_steps=steps_total)
    t_load = time.perf_counter() - t0
    log(f"[ref] model {type(model.base_model.model).__name__} + LoRA r={a.rank} alpha={a.alpha}: "
        f"{n_trainable} trainable of {n_total} parameters; load {t_load:.1f}s "
        f"(attn_implementation={model.config._attn_implementation})")

    def step(x):
        loss = model(input_ids=x, labels=x, use_cache=False).loss
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(trainable, a.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        return loss.item(), float(gnorm)

    # --- memory bookkeeping before training -----------------------------------------------------
    rss_after_load = rss_kib("VmRSS")
    peak_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm_reset = False
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        hwm_reset = True
    except OSError as e:
        log(f"[ref] cannot reset the RSS high-water mark ({e}); peak_rss_mb_train will be null")

    # --- untimed warm-up step(s), then the timed steps ----------------------------------------
    losses, gnorms, lrs = [], [], []
    t0 = time.perf_counter()
    for k in range(a.untimed_steps):
        lrs.append(sched.get_last_lr()[0])
        l, g = step(batches[k])
        losses.append(l); gnorms.append(g)
        log(f"[ref] step {k + 1}/{steps_total} (untimed warm-up): loss {l:.6f}")
    t_untimed = time.perf_counter() - t0

    step_seconds = []
    t_loop = time.perf_counter()
    for k in range(a.untimed_steps, steps_total):
        ts = time.perf_counter()
        lrs.append(sched.get_last_lr()[0])
        l, g = step(batches[k])
        step_seconds.append(time.perf_counter() - ts)
        losses.append(l); gnorms.append(g)
        log(f"[ref] step {k + 1}/{steps_total}: loss {l:.6f}, {step_seconds[-1]:.2f}s")
    seconds = time.perf_counter() - t_loop

    peak_end_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm_train = rss_kib("VmHWM") if hwm_reset else None
    tokens = a.steps * B * S
    out = {
        "tool": "transformers+peft",
        "model": os.path.basename(a.gguf),
        "method": "lora",
        "rank": a.rank, "alpha": a.alpha, "dropout": a.dropout,
        "targets": cfg.target_modules if isinstance(cfg.target_modules, list) else sorted(cfg.target_modules),
        "optimizer": "AdamW", "lr": a.lr, "weight_decay": a.weight_decay, "schedule": "linear",
        "lr_warmup": a.lr_warmup, "max_grad_norm": a.max_grad_norm,
        "seqlen": S, "batch_size": B,
        "steps_timed": a.steps, "steps_untimed": a.untimed_steps, "steps_total": steps_total,
        "tokens_timed": tokens, "tokens_total": steps_total * B * S,
        "seconds": seconds,
        "tokens_per_second": tokens / seconds if seconds > 0 else None,
        "step_seconds": step_seconds,
        "tokens_per_second_median_step": B * S / statistics.median(step_seconds) if step_seconds else None,
        "untimed_seconds": t_untimed,
        "tokens_per_second_incl_untimed": steps_total * B * S / (t_untimed + seconds) if (t_untimed + seconds) > 0 else None,
        "train_loss": losses,  # every step, the untimed ones first
        "grad_norm": gnorms,   # before clipping
        "lr_per_step": lrs,
        "trainable_parameters": n_trainable,
        "total_parameters": n_total,
        "peak_rss_mb": mib(max(peak_before_kib, peak_end_kib, hwm_train or 0)),
        "peak_rss_mb_before_train": mib(peak_before_kib),
        "peak_rss_mb_train": mib(hwm_train),
        "rss_mb_after_load": mib(rss_after_load),
        "model_load_seconds": t_load,
        "data_seconds": t_data,
        "seconds_total": time.perf_counter() - t_start,
        "data": {"file": os.path.abspath(c4_path), "documents": len(docs), "stream_tokens": len(stream), "windows": n_windows,
                 "train_windows": len(train_order), "val_windows": a.val_windows, "seed": a.seed,
                 "eos_token_id": eos, "eos_separated_by_prefix": separated,
                 "window_indices": train_order[:need], "first_window_head": batches[0][0, :8].tolist()},
        "attn_implementation": model.config._attn_implementation,
        "threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "peft_version": peft.__version__,
    }
    log(f"[ref] {a.steps} timed steps: {seconds:.2f}s, {out['tokens_per_second']:.1f} tokens/s; "
        f"peak RSS {out['peak_rss_mb']:.0f} MiB (training phase {out['peak_rss_mb_train'] or float('nan'):.0f} MiB)")
    print(json.dumps(out, indent=None if a.json else 2))


if __name__ == "__main__":
    main()
