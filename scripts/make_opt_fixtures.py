#!/usr/bin/env python3
"""Generate the OPT (transformers' OPTForCausalLM) fixtures in Tests/Fixtures/opt/ (deterministic, seeded).

No real OPT / GPT-2 vocabulary is available offline, so a tiny GPT-2-style byte-level BPE is trained
here with `tokenizers` (ByteLevel pre-tokenizer with add_prefix_space=False, ByteLevel decoder, BPE,
vocab 512 = 4 specials + 256 byte symbols + 252 merges) on WikiText-2 test rows and C4 train documents.
Special tokens are laid out as in facebook/opt-125m: 0 "<s>", 1 "<pad>", 2 "</s>", 3 "<unk>"; the
tokenizer's bos/eos/unk are all "</s>" and pad is "<pad>"; every encoding starts with BOS = 2 and no EOS
is appended. Only "</s>" and "<pad>" are added (special) tokens that are matched inside raw text; "<s>"
and "<unk>" are ordinary vocabulary entries and a literal "<s>" in text is tokenized as bytes.

Outputs (Tests/Fixtures/opt/):
  tokenizer-vocab-merges/   the tokenizer as a facebook/opt-* Hub directory has it:
      vocab.json, merges.txt             (BPE vocabulary and merges, `tokenizers` model.save format)
      tokenizer_config.json              OPT's Hub file: GPT2Tokenizer settings, special tokens as
                                         AddedToken dicts ("__type": "AddedToken"), add_bos_token true
      special_tokens_map.json            bos/eos/unk "</s>", pad "<pad>" (AddedToken dicts)
  tokenizer-json/           the tokenizer as transformers (5.x) GPT2Tokenizer.save_pretrained writes it:
      tokenizer.json                     post_processor TemplateProcessing "</s> $A" (pair "</s> $A </s> $B"),
                                         added_tokens [1 "<pad>", 2 "</s>"] (special, normalized)
      tokenizer_config.json              as written (tokenizer_class GPT2Tokenizer; no add_bos_token key:
                                         the BOS lives in tokenizer.json's post_processor)
  tokenizer_strings.json    list of {"text", "ids", "ids_no_special", "decoded"}, one item per line:
                            66 tricky strings and one C4 validation paragraph of a few hundred words.
                            ids = AutoTokenizer(text)["input_ids"] (with the leading BOS 2),
                            ids_no_special = add_special_tokens=False, decoded = ByteLevel decode of ids
                            (special tokens kept). Checked identical for: GPT2Tokenizer built from
                            vocab.json + merges.txt + tokenizer_config.json, AutoTokenizer on tokenizer.json,
                            the raw `tokenizers` Tokenizer.from_file(tokenizer.json), AutoTokenizer on each
                            model directory, and an independent pure-Python GPT-2 BPE (OpenAI's encoder.py
                            algorithm; transformers 5 has no Python "slow" GPT2Tokenizer any more).

  For each model <name> in MODELS (opt-pre: pre-LayerNorm like opt-125m/1.3b/...; opt-post-proj:
  post-LayerNorm with project_in/project_out like opt-350m):
  <name>/config.json, <name>/model.safetensors -- transformers save_pretrained (float32); the LM head is
                                tied to model.decoder.embed_tokens.weight and not stored
  <name>/vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json (the Hub files above)
      and tokenizer.json (the transformers file above)
  <name>/expected.safetensors  reference outputs, laid out as Tests/Fixtures/tiny/*/expected.safetensors:
      input_ids       I64 [T]      prompt token ids (T = 24): the tokenizer's encoding of PROMPTS[name],
                                   starting with BOS 2
      logits          F32 [T, V]   transformers float32 logits (eager attention) for every prompt position
      next_input_ids  I64 [3]      the next three tokens of the same encoding
      next_logits     F32 [3, V]   logits for those 3 tokens from a second call that reuses the prompt's
                                   KV cache (positions 24..26; next_logits[2] = last position)
    metadata: "tensor_sums" = JSON {hf tensor name: [shape, float64 sum, first value]} for the
    model.safetensors tensors (one metadata key only, so the file is byte-for-byte reproducible).
  <name>/gradients.safetensors  laid out as Tests/Fixtures/gradients/*.safetensors:
      input_ids          I64 [T]        T = 20 tokens of GRAD_TEXT (starts with BOS 2, no <pad>)
      loss               F32 []         model(ids, labels=ids).loss (mean CE over positions 0..T-2)
      grad.<hf name>     F32 [shape]    d loss / d parameter for every named parameter (float32, eager
                                        attention); model.decoder.embed_tokens.weight carries the tied LM
                                        head's share too. Checked against a float64 run.
                                        grad.*.self_attn.k_proj.bias is exactly zero in exact
                                        arithmetic (softmax ignores the per-query shift q.b); the
                                        stored values are rounding noise (|g| ~ 1e-8): compare them
                                        with an absolute tolerance.
    metadata: "format" = "pt".
  <name>/perplexity.json  Wanda-protocol perplexity on a WikiText-2 prefix: rows = wiki.test.raw lines with
      their "\\n" kept, whitespace-only rows -> ""; text = "\\n\\n".join(first num_rows rows), num_rows the
      fewest rows whose joined text has >= 3000 characters; ids = tokenizer(text) (default special tokens,
      so ids[0] = BOS 2); windows = len(ids) // seqlen (seqlen 32, tail dropped); window i =
      ids[i*32:(i+1)*32] run on its own (only window 0 starts with BOS); window_mean_nll[i] = mean
      next-token cross-entropy over its 31 predictions (transformers float32);
      ppl = exp(mean(window_mean_nll)).

Run from the repository root:  python3 scripts/make_opt_fixtures.py
Requires torch, transformers (5.x), tokenizers, safetensors, numpy, regex (a transformers dependency).
Data: $SECATEUR_DATA (default <repo>/../shared/data): wikitext2/wiki.test.raw, c4 train and validation.
"""
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import regex
import torch
import transformers
from safetensors.numpy import load_file
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "opt"
DATA = Path(os.environ.get("SECATEUR_DATA", ROOT.parent / "shared" / "data"))

VOCAB_SIZE = 512
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]  # ids 0..3, as in facebook/opt-*
BOS_ID, PAD_ID = 2, 1
PROMPT_LEN, NEXT_LEN, GRAD_LEN = 24, 3, 20
PPL_CHARS, PPL_SEQLEN = 3000, 32

COMMON = dict(vocab_size=VOCAB_SIZE, num_hidden_layers=2, max_position_embeddings=64,
              activation_function="relu", dropout=0.0, attention_dropout=0.0, layerdrop=0.0,
              enable_bias=True, layer_norm_elementwise_affine=True, tie_word_embeddings=True,
              pad_token_id=PAD_ID, bos_token_id=BOS_ID, eos_token_id=BOS_ID)
MODELS = {
    # opt-125m layout: LayerNorm before attention / FFN, final_layer_norm, no projections.
    "opt-pre": dict(seed=11, kw=dict(COMMON, do_layer_norm_before=True, hidden_size=32,
                                     word_embed_proj_dim=32, ffn_dim=48, num_attention_heads=4)),
    # opt-350m layout: LayerNorm after the residual adds, no final_layer_norm, word embeddings of
    # width 16 projected in (project_in 16 -> 32) and out (project_out 32 -> 16) around the stack.
    "opt-post-proj": dict(seed=12, kw=dict(COMMON, do_layer_norm_before=False, hidden_size=32,
                                           word_embed_proj_dim=16, ffn_dim=40, num_attention_heads=2)),
}
PROMPTS = {
    "opt-pre": "The tower is 324 metres tall, about the same height as an 81-storey building, "
               "and it was the tallest man-made structure in the world for 41 years.",
    "opt-post-proj": "She didn't know what to say, so she smiled and handed him the letter. "
                     "\"It's from your brother,\" she said quietly.",
}
GRAD_TEXT = "In 1998, the band's second album reached number 12 on the charts; critics praised its songs."

TRICKY = [
    "", " ", "  ", "   ", "\n", "\n\n", " \n ", "\t", "\t\tx", "\r\n\r\n",
    "Hello world", " Hello world", "Hello  world", "Hello   world  ", "    leading spaces",
    "trailing spaces    ", "hello\tworld", "tab\t\tsep", "line1\nline2\r\nline3\rline4", "word\n\n\nword",
    "  \n\n  \n", "a \n b", "I'm you're they've we'll she'd it's don't",
    "I'M YOU'RE THEY'VE WE'LL SHE'D IT'S DON'T", "'s 't 're 've 'm 'll 'd", "rock'n'roll o'clock",
    "''''", "'", "12345 678 9", "3.14159", "1,000,000", "$100.00", "2024-11-22T10:00:00Z",
    "version 2.0.1-beta", "x² + y³ = z⁴", "½ ⅓ ¼", "!!!???...", "--- === ***", "(a) [b] {c} <d>",
    "http://example.com/path?q=1&r=2", "user@example.com", "CamelCaseWord snake_case_word",
    "\"quoted\" text", "“curly quotes” and ‘single’ — dash…", "über naïve café résumé", "Ünïcödé ÅÄÖ",
    "e\u0301 combining", "Привет мир", "ελληνικά", "日本語のテキスト", "中文测试，标点。", "한국어 텍스트",
    "😀😃🎉 emoji 👍🏽", "👨\u200d👩\u200d👧 family", "🇺🇸 flag", "a\u00a0b nbsp", "\u3000ideographic space",
    "zero\u200bwidth", "\x00\x01 control", " = Robert Boulter = \n",
    "The quick brown fox jumps over the lazy dog.",
    # Special tokens: "</s>" and "<pad>" are added tokens matched in raw text; "<s>", "<unk>" are not.
    "</s>", "<pad>", "a</s>b<pad>c", "<s> </s> <unk>", " </s> x",
]


# ---------------------------------------------------------------------------------------- data

def wikitext_rows():
    with open(DATA / "wikitext2" / "wiki.test.raw", encoding="utf-8") as f:
        return [row if row.strip() else "" for row in f]  # each row keeps its "\n"


def jsonl_texts(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def training_corpus():
    """About 200 KB of WikiText-2 test rows and 100 KB of C4 train documents (fixed order)."""
    out, n = [], 0
    for row in wikitext_rows():
        if row:
            out.append(row)
            n += len(row)
            if n >= 200_000:
                break
    n = 0
    for doc in jsonl_texts(DATA / "c4" / "c4-train.00000-of-01024.first1000.jsonl"):
        out.append(doc)
        n += len(doc)
        if n >= 100_000:
            break
    return out


def c4_paragraph():
    """The first C4 validation-sample document of 200..400 words (not in the training corpus)."""
    for doc in jsonl_texts(DATA / "c4" / "c4-validation.sample2000.unverified.jsonl"):
        if 200 <= len(doc.split()) <= 400:
            return doc
    raise SystemExit("no C4 validation document of 200..400 words")


def perplexity_text():
    rows = wikitext_rows()
    for k in range(1, len(rows) + 1):
        text = "\n\n".join(rows[:k])
        if len(text) >= PPL_CHARS:
            return text, k
    raise SystemExit("WikiText-2 too short")


# ---------------------------------------------------------------------------------------- tokenizer

def added_token(content):
    return {"content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": True, "__type": "AddedToken"}


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def train_tokenizer(hub_dir, json_dir):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(training_corpus(), trainer=trainer)
    assert tok.get_vocab_size() == VOCAB_SIZE
    assert [tok.token_to_id(s) for s in SPECIALS] == [0, 1, 2, 3]

    os.makedirs(hub_dir)
    tok.model.save(str(hub_dir))  # vocab.json, merges.txt
    # facebook/opt-*'s tokenizer_config.json (key for key as on the Hub; note unk_token is "</s>").
    write_json(hub_dir / "tokenizer_config.json", {
        "errors": "replace", "unk_token": added_token("</s>"), "bos_token": added_token("</s>"),
        "eos_token": added_token("</s>"), "pad_token": added_token("<pad>"), "add_prefix_space": False,
        "add_bos_token": True, "special_tokens_map_file": None, "name_or_path": "patrickvonplaten/opt-30b"})
    stm = {k: {x: v for x, v in added_token(c).items() if x != "__type"}
           for k, c in (("bos_token", "</s>"), ("eos_token", "</s>"), ("pad_token", "<pad>"), ("unk_token", "</s>"))}
    write_json(hub_dir / "special_tokens_map.json", stm)

    # tokenizer.json as transformers writes it: load the Hub files, save_pretrained.
    slow = transformers.GPT2Tokenizer.from_pretrained(str(hub_dir))
    assert slow.add_bos_token and slow.bos_token_id == BOS_ID and slow.pad_token_id == PAD_ID
    slow.save_pretrained(str(json_dir))
    written = sorted(os.listdir(json_dir))
    assert written == ["tokenizer.json", "tokenizer_config.json"], written
    return tok


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class ReferenceBPE:
    """OpenAI GPT-2 encoder.py in pure Python (the old "slow" GPT2Tokenizer), plus transformers'
    added-token split (leftmost-longest match of "</s>" / "<pad>") and OPT's leading BOS."""
    PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def __init__(self, hub_dir):
        with open(hub_dir / "vocab.json", encoding="utf-8") as f:
            self.vocab = json.load(f)
        with open(hub_dir / "merges.txt", encoding="utf-8") as f:
            lines = f.read().split("\n")
        assert lines[0].startswith("#version")
        self.ranks = {tuple(l.split(" ")): i for i, l in enumerate(x for x in lines[1:] if x)}
        self.byte_enc = bytes_to_unicode()
        self.added = {"</s>": 2, "<pad>": 1}

    def bpe(self, word):
        word = list(word)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, math.inf))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        return word

    def encode(self, text, add_bos=True):
        ids = [BOS_ID] if add_bos else []
        i, start = 0, 0
        segments = []
        while i < len(text):
            hit = max((t for t in self.added if text.startswith(t, i)), key=len, default=None)
            if hit:
                segments += [text[start:i], hit]
                i += len(hit)
                start = i
            else:
                i += 1
        segments.append(text[start:])
        for k, seg in enumerate(segments):
            if k % 2 == 1:
                ids.append(self.added[seg])
                continue
            for piece in self.PAT.findall(seg):
                mapped = "".join(self.byte_enc[b] for b in piece.encode("utf-8"))
                ids += [self.vocab[t] for t in self.bpe(mapped)]
        return ids


def tokenizer_strings(hub_dir, json_dir, model_dirs):
    strings = TRICKY + [c4_paragraph()]
    auto = transformers.AutoTokenizer.from_pretrained(str(json_dir))
    raw = Tokenizer.from_file(str(json_dir / "tokenizer.json"))
    slow = transformers.GPT2Tokenizer.from_pretrained(str(hub_dir))
    ref = ReferenceBPE(hub_dir)
    others = [transformers.AutoTokenizer.from_pretrained(str(d)) for d in model_dirs]
    with tempfile.TemporaryDirectory() as tmp:  # the Hub files + config.json, read by AutoTokenizer
        for f in os.listdir(hub_dir):
            shutil.copy(hub_dir / f, tmp)
        shutil.copy(model_dirs[0] / "config.json", tmp)
        others.append(transformers.AutoTokenizer.from_pretrained(tmp))
        assert type(others[-1]).__name__ == "GPT2Tokenizer" and len(others[-1]) == VOCAB_SIZE
        items = []
        for s in strings:
            ids = auto(s)["input_ids"]
            assert ids[:1] == [BOS_ID], (s, ids)
            assert raw.encode(s).ids == ids, (s, raw.encode(s).ids, ids)
            assert slow(s)["input_ids"] == ids, (s, slow(s)["input_ids"], ids)
            assert ref.encode(s) == ids, (s, ref.encode(s), ids)
            for t in others:
                assert t(s)["input_ids"] == ids, (s, t(s)["input_ids"], ids)
            no_special = auto(s, add_special_tokens=False)["input_ids"]
            assert no_special == ids[1:] and ref.encode(s, add_bos=False) == no_special
            decoded = raw.decode(ids, skip_special_tokens=False)
            assert decoded == "</s>" + s, (s, decoded)
            items.append({"text": s, "ids": ids, "ids_no_special": no_special, "decoded": decoded})
    path = OUT / "tokenizer_strings.json"
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(o, ensure_ascii=True, separators=(",", ":")) for o in items) + "\n]\n")
    print(f"tokenizer_strings.json: {len(items)} strings, all tokenizers agree")
    return auto


# ---------------------------------------------------------------------------------------- models

def randomize(model, seed):
    """Weights much larger than OPT's default init (std 0.02, zero biases, unit LayerNorms) so
    logits differ by several units across the vocabulary."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("layer_norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("embed_tokens.weight"):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            elif name.endswith("embed_positions.weight"):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def build(spec):
    torch.manual_seed(spec["seed"])
    config = transformers.OPTConfig(**spec["kw"])
    config.architectures = ["OPTForCausalLM"]
    model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager",
                                                          dtype=torch.float32)
    randomize(model, spec["seed"])
    assert model.lm_head.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr()
    model.eval()
    return model


def load(d, dtype):
    return transformers.AutoModelForCausalLM.from_pretrained(str(d), attn_implementation="eager",
                                                             dtype=dtype).eval()


def kv_cache(out):
    return out.cache if hasattr(out, "cache") else out.past_key_values


def reference_outputs(model, tok, text):
    ids = torch.tensor(tok(text)["input_ids"], dtype=torch.int64)
    assert len(ids) >= PROMPT_LEN + NEXT_LEN and ids[0] == BOS_ID and PAD_ID not in ids.tolist()
    prompt, nxt = ids[:PROMPT_LEN], ids[PROMPT_LEN:PROMPT_LEN + NEXT_LEN]
    with torch.no_grad():
        out = model(prompt[None], use_cache=True)
        out2 = model(nxt[None], cache=kv_cache(out), use_cache=True)
        full = model(torch.cat([prompt, nxt])[None], use_cache=False)
        # OPT derives positions from cumsum(attention_mask) - 1 (+ offset 2); explicit masks and
        # explicit position ids must give the same logits for an unpadded sequence.
        masked = model(torch.cat([prompt, nxt])[None], attention_mask=torch.ones(1, PROMPT_LEN + NEXT_LEN,
                                                                                 dtype=torch.int64))
        pos = model(torch.cat([prompt, nxt])[None], position_ids=torch.arange(PROMPT_LEN + NEXT_LEN)[None])
    logits = out.logits[0].float()
    next_logits = out2.logits[0].float()
    assert torch.allclose(full.logits[0, :PROMPT_LEN], logits, atol=1e-5), "prompt logits mismatch"
    assert torch.allclose(full.logits[0, PROMPT_LEN:], next_logits, atol=1e-5), "kv-cache logits mismatch"
    assert torch.allclose(masked.logits, full.logits, atol=1e-6) and torch.allclose(pos.logits, full.logits, atol=1e-6)
    spread = (logits.max(-1).values - logits.min(-1).values).min().item()
    assert logits.std() > 1.0 and spread > 5.0, f"logits too flat (std {logits.std():.2f}, spread {spread:.2f})"
    return prompt, logits, nxt, next_logits


def loss_and_grads(model, ids):
    model.zero_grad(set_to_none=True)
    out = model(ids[None, :], labels=ids[None, :], use_cache=False)
    out.loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    return out.loss.detach(), grads


def gradients(d, ids):
    m32, m64 = load(d, torch.float32), load(d, torch.float64)
    loss, grads = loss_and_grads(m32, ids)
    loss64, grads64 = loss_and_grads(m64, ids)
    assert abs(loss.item() - loss64.item()) < 1e-5 * abs(loss64.item()), (loss, loss64)
    tensors = {}
    for n, g in grads.items():
        ref = grads64[n]
        err = (g.double() - ref).abs().max().item()
        scale = ref.abs().max().item()
        if n.endswith("k_proj.bias"):
            # q.(k + b) shifts every score of a query by the same q.b, which softmax ignores: this
            # gradient is exactly zero in exact arithmetic, and what is stored is rounding noise.
            assert g.abs().max().item() < 1e-6 and scale < 1e-6, f"{n} should be ~0"
            tensors[f"grad.{n}"] = g.float().contiguous()
            continue
        assert scale > 0, f"{n} has an all-zero gradient"
        # (OPT's eager attention takes its softmax in float32 even in the float64 run.)
        assert err <= 2e-5 * scale, f"float32 gradient of {n} off by {err / scale:.2e}"
        tensors[f"grad.{n}"] = g.float().contiguous()
    tensors["input_ids"] = ids.to(torch.int64).contiguous()
    tensors["loss"] = loss.float().reshape(()).contiguous()
    save_file(tensors, str(d / "gradients.safetensors"), metadata={"format": "pt"})
    return loss.item(), len(grads)


def perplexity(model, tok, d):
    text, num_rows = perplexity_text()
    ids = tok(text)["input_ids"]
    assert ids[0] == BOS_ID
    windows = len(ids) // PPL_SEQLEN
    t = torch.tensor(ids[:windows * PPL_SEQLEN], dtype=torch.int64).reshape(windows, PPL_SEQLEN)
    ce = torch.nn.CrossEntropyLoss()
    nll, nll64 = [], []
    m64 = load(d, torch.float64)
    with torch.no_grad():
        for w in t:
            for m, acc in ((model, nll), (m64, nll64)):
                logits = m(w[None], use_cache=False).logits[0]
                acc.append(ce(logits[:-1], w[1:]).item())
    ppl = math.exp(sum(nll) / windows)
    ppl64 = math.exp(sum(nll64) / windows)
    assert abs(ppl - ppl64) < 1e-4 * ppl64, (ppl, ppl64)
    obj = [("protocol", "wanda"), ("dataset", "wikitext2 test"), ("num_rows", num_rows), ("text", text),
           ("seqlen", PPL_SEQLEN), ("num_tokens", len(ids)), ("windows", windows),
           ("ppl", ppl), ("window_mean_nll", nll), ("ids", ids)]
    with open(d / "perplexity.json", "w", encoding="utf-8") as f:
        f.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=True, separators=(',', ':'))}"
                                   for k, v in obj) + "\n}\n")
    return ppl, windows, len(ids)


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    hub_dir, json_dir = OUT / "tokenizer-vocab-merges", OUT / "tokenizer-json"
    train_tokenizer(hub_dir, json_dir)
    tok_files = [hub_dir / f for f in sorted(os.listdir(hub_dir))] + [json_dir / "tokenizer.json"]
    tok = transformers.AutoTokenizer.from_pretrained(str(json_dir))

    model_dirs = []
    for name, spec in MODELS.items():
        d = OUT / name
        model = build(spec)
        model.save_pretrained(str(d), safe_serialization=True)
        gen = d / "generation_config.json"
        if gen.exists():
            gen.unlink()
        for f in tok_files:
            shutil.copy(f, d)
        model_dirs.append(d)

        saved = load_file(str(d / "model.safetensors"))
        assert "lm_head.weight" not in saved, "tied LM head stored separately"
        reloaded = load(d, torch.float32)
        assert torch.equal(reloaded.lm_head.weight, reloaded.model.decoder.embed_tokens.weight)

        prompt, logits, nxt, next_logits = reference_outputs(model, tok, PROMPTS[name])
        sums = {k: [list(v.shape), float(v.astype(np.float64).sum()), float(v.reshape(-1)[0])]
                for k, v in saved.items()}
        save_file({"input_ids": prompt.contiguous(), "logits": logits.contiguous(),
                   "next_input_ids": nxt.contiguous(), "next_logits": next_logits.contiguous()},
                  str(d / "expected.safetensors"), metadata={"tensor_sums": json.dumps(sums, sort_keys=True)})

        grad_ids = torch.tensor(tok(GRAD_TEXT)["input_ids"][:GRAD_LEN], dtype=torch.int64)
        assert len(grad_ids) == GRAD_LEN and PAD_ID not in grad_ids.tolist()
        loss, n_grads = gradients(d, grad_ids)
        ppl, windows, n_tok = perplexity(model, tok, d)
        print(f"{name}: logits std {logits.std():.3f}, min spread {(logits.max(-1).values - logits.min(-1).values).min():.2f}; "
              f"grad loss {loss:.6f} ({n_grads} tensors); ppl {ppl:.4f} over {windows} windows of {PPL_SEQLEN} "
              f"({n_tok} tokens)")
        for k in sorted(saved):
            print(f"    {k} {list(saved[k].shape)}")
        print("  files: " + ", ".join(f"{f} {os.path.getsize(d / f)}" for f in sorted(os.listdir(d))))

    tokenizer_strings(hub_dir, json_dir, model_dirs)


if __name__ == "__main__":
    main()
