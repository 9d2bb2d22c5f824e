#!/usr/bin/env python3
"""Generate the tokenizer test fixtures in Tests/Fixtures/tokenizer/.

Reference: Hugging Face `tokenizers` / `transformers` (tested with tokenizers 0.23.3, transformers 5.23,
gguf 0.19). The Swift tokenizer must reproduce these ids exactly.

Inputs:
  * SmolLM2 GGUF: $SECATEUR_HOME/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf
    (default SECATEUR_HOME=~/.cache/secateur)
  * data: $SECATEUR_DATA (default <repo>/../shared/data): WikiText-2 test, PTB test, C4 shard.

Outputs (Tests/Fixtures/tokenizer/):
  smollm2_gguf_tokenizer.json   tokenizer.ggml.* metadata of the SmolLM2 GGUF (tokens, types, merges, ids)
  smollm2_wikitext2_test.u16    ids (little-endian uint16) of "\\n\\n".join(WikiText-2 test rows)
  smollm2_ptb_test.u16          ids of " ".join(stripped PTB test lines)
  smollm2_c4_200.u16            ids of the first 200 C4 documents, concatenated (lengths in manifest)
  smollm2_strings.json          tricky strings: ids, HF decode
  spm_bpe_tokenizer.json        a small Llama-2-style BPE (byte fallback) tokenizer trained here
  spm_bpe_strings.json          its ids for tricky strings + data lines
  spm_llama_gguf_tokenizer.json that vocabulary as llama-type GGUF metadata (tokens/scores/types, no merges)
  spm_llama_gguf_strings.json   ids of the tokenizer transformers builds from that GGUF
  pretokenizer_splits.json      GPT-2, Llama-3, Qwen2 and GPT-4o regex splits of the tricky strings
  bytelevel_{smol,llama3}_tokenizer.json / _strings.json  small byte-level tokenizer.json files + ids
  unicode_classes.json          L / N / whitespace / other class of every scalar, as seen by the
                                GPT-2 ByteLevel regex of `tokenizers` (Oniguruma), run-length encoded
  manifest.json                 text hashes, token counts, C4 document lengths, HF timings

Run: python3 scripts/make_tokenizer_fixtures.py
"""
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "tokenizer"
HOME = Path(os.environ.get("SECATEUR_HOME", Path.home() / ".cache" / "secateur"))
DATA = Path(os.environ.get("SECATEUR_DATA", ROOT.parent / "shared" / "data"))
MODEL_DIR = HOME / "models" / "smollm2-135m"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def sha256(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def dump_json(name, obj, compact=False):
    path = OUT / name
    with open(path, "w", encoding="utf-8") as f:
        if isinstance(obj, list):  # one compact item per line
            f.write("[\n" + ",\n".join(json.dumps(o, ensure_ascii=True, separators=(",", ":")) for o in obj) + "\n]")
        elif compact:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"  {name}: {path.stat().st_size} bytes")


def write_u16(name, ids):
    arr = np.asarray(ids, dtype=np.int64)
    assert arr.min() >= 0 and arr.max() < 65536
    arr.astype("<u2").tofile(OUT / name)
    print(f"  {name}: {len(ids)} ids, {(OUT / name).stat().st_size} bytes")


# ---------------------------------------------------------------- data texts (same rules as the Swift tests)

def wikitext_text():
    with open(DATA / "wikitext2" / "wiki.test.raw", encoding="utf-8") as f:
        rows = [row if row.strip() else "" for row in f]
    return "\n\n".join(rows), rows


def ptb_text():
    with open(DATA / "ptb" / "ptb.test.txt", encoding="utf-8") as f:
        return " ".join(line.strip() for line in f)


def c4_docs(n):
    docs = []
    with open(DATA / "c4" / "c4-train.00000-of-01024.first1000.jsonl", encoding="utf-8") as f:
        for line in f:
            docs.append(json.loads(line)["text"])
            if len(docs) == n:
                break
    return docs


TRICKY = [
    "", " ", "  ", "\n", "\n\n", " \n ", "\t", "Hello world", " Hello world", "Hello  world",
    "Hello   world  ", "hello\tworld", "tab\t\tsep", "line1\nline2\r\nline3\rline4",
    "I'm you're they've we'll she'd it's I'M YOU'RE THEY'VE", "don't 's 's' ''''",
    "12345 678 9", "3.14159", "1,000,000", "$100.00", "version 2.0.1-beta", "2024-11-22T10:00:00Z",
    "über naïve café résumé", "Ünïcödé ÅÄÖ", "日本語のテキスト", "中文测试，标点。", "한국어 텍스트",
    "Привет мир", "مرحبا بالعالم", "שלום עולם", "ελληνικά", "हिन्दी", "ภาษาไทย",
    "😀😃🎉 emoji 👍🏽 family 👨\u200d👩\u200d👧", "🇺🇸 flag", "a\u00a0b nbsp", "zero\u200bwidth",
    "e\u0301 combining", "ℌ𝔢𝔩𝔩𝔬 math", "x² + y³ = z⁴", "½ ⅓ ¼", "Ⅻ roman", "٣٤٥ arabic digits",
    "<|endoftext|>", "a<|im_start|>b<|im_end|>c", " <|im_start|>user\nHi<|im_end|>\n", "<s> </s> <unk>",
    "x<s>y</s>z", "    leading spaces", "trailing spaces    ", "\u3000ideographic space",
    "mixed\u2028separator", "ſ long s's", "!!!???...", "--- === ***", "http://example.com/path?q=1&r=2",
    "user@example.com", "CamelCaseWord snake_case_word", "\x00\x01 control", "\ufeffBOM", "a\u0085b NEL",
    "\u000bvt\u000cff", "  \n\n  \n", "a \n b", "word\n\n\nword", "   ", "\r\n\r\n", "'",
    "The quick brown fox jumps over the lazy dog.", "“curly quotes” and ‘single’ — dash…",
    "<tool>call</tool>", "▁already▁spaced", "<0x41> literal byte token", "\U0010FFFF\U000E0001 private",
]


def write_class_table(runs):
    """Sources/ModelIO/Tokenizer/OnigurumaClasses.swift: the letter/number/whitespace runs, so the Swift
    tokenizer classes scalars exactly like the Oniguruma build inside `tokenizers`, whatever Unicode
    version the Swift runtime has."""
    code = {"L": 1, "N": 2, "S": 4}
    items = [(a, b, code[c]) for a, b, c in runs if c != "P"]
    lines = []
    for k in range(0, len(items), 6):
        lines.append("        " + " ".join(f"0x{a:X}, 0x{b:X}, {c}," for a, b, c in items[k:k + 6]))
    src = (
        "// Generated by scripts/make_tokenizer_fixtures.py from HF tokenizers "
        "(Oniguruma's \\p{L}, \\p{N}, \\s). Do not edit.\n\n"
        "enum OnigurumaClasses {\n"
        "    /// Flat (first, last, class) triples, sorted; class 1 = \\p{L}, 2 = \\p{N}, 4 = \\s.\n"
        "    /// Scalars not listed are [^\\s\\p{L}\\p{N}].\n"
        "    static let runs: [UInt32] = [\n" + "\n".join(lines) + "\n    ]\n}\n")
    path = ROOT / "Sources" / "ModelIO" / "Tokenizer" / "OnigurumaClasses.swift"
    path.write_text(src, encoding="utf-8")
    print(f"  {path.relative_to(ROOT)}: {len(items)} runs")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import AutoTokenizer
    import gguf

    manifest = {"generator": "scripts/make_tokenizer_fixtures.py"}
    import tokenizers, transformers
    from importlib.metadata import version
    manifest["versions"] = {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
                            "gguf": version("gguf")}

    # ------------------------------------------------------------ SmolLM2 GGUF metadata
    print("SmolLM2 GGUF metadata")
    reader = gguf.GGUFReader(str(MODEL_DIR / GGUF_NAME))

    def field(name):
        f = reader.fields.get(name)
        if f is None:
            return None
        return f.contents()

    meta = {
        "model": field("tokenizer.ggml.model"),
        "pre": field("tokenizer.ggml.pre"),
        "tokens": field("tokenizer.ggml.tokens"),
        "token_type": field("tokenizer.ggml.token_type"),
        "merges": field("tokenizer.ggml.merges"),
        "bos_token_id": field("tokenizer.ggml.bos_token_id"),
        "eos_token_id": field("tokenizer.ggml.eos_token_id"),
        "unknown_token_id": field("tokenizer.ggml.unknown_token_id"),
        "padding_token_id": field("tokenizer.ggml.padding_token_id"),
        "add_bos_token": field("tokenizer.ggml.add_bos_token"),
        "add_eos_token": field("tokenizer.ggml.add_eos_token"),
        "add_space_prefix": field("tokenizer.ggml.add_space_prefix"),
        "architecture": field("general.architecture"),
    }
    if field("tokenizer.ggml.scores") is not None:
        meta["scores"] = field("tokenizer.ggml.scores")
    dump_json("smollm2_gguf_tokenizer.json", meta, compact=True)

    tok = AutoTokenizer.from_pretrained(str(MODEL_DIR), gguf_file=GGUF_NAME)

    def ids_of(text):
        return tok(text)["input_ids"]

    # ------------------------------------------------------------ data sets
    print("SmolLM2 data fixtures")
    wiki, rows = wikitext_text()
    t0 = time.perf_counter()
    wiki_ids = ids_of(wiki)
    wiki_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    tok.backend_tokenizer.encode(wiki)
    wiki_time_backend = time.perf_counter() - t0
    write_u16("smollm2_wikitext2_test.u16", wiki_ids)
    ptb = ptb_text()
    ptb_ids = ids_of(ptb)
    write_u16("smollm2_ptb_test.u16", ptb_ids)
    docs = c4_docs(200)
    c4_ids = [ids_of(d) for d in docs]
    write_u16("smollm2_c4_200.u16", [i for d in c4_ids for i in d])
    manifest["smollm2"] = {
        "wikitext2_test": {"chars": len(wiki), "sha256": sha256(wiki), "rows": len(rows), "tokens": len(wiki_ids),
                           "hf_seconds_transformers_call": wiki_time, "hf_seconds_backend_encode": wiki_time_backend},
        "ptb_test": {"chars": len(ptb), "sha256": sha256(ptb), "tokens": len(ptb_ids)},
        "c4_200": {"documents": len(docs), "lengths": [len(d) for d in c4_ids],
                   "sha256": [sha256(d) for d in docs]},
    }
    strings = []
    for s in TRICKY + rows[:40] + docs[:3]:
        ids = ids_of(s)
        strings.append({"text": s, "ids": ids, "ids_no_special": tok(s, add_special_tokens=False)["input_ids"],
                        "decoded": tok.backend_tokenizer.decode(ids, skip_special_tokens=False)})
    dump_json("smollm2_strings.json", strings)

    # ------------------------------------------------------------ pre-tokenizer splits
    print("pre-tokenizer splits")
    gpt2_re = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
    llama3_re = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
    from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_PRE_TOKENIZER_SPLITS
    qwen2_re = GGUF_PRE_TOKENIZER_SPLITS["qwen2"]
    gpt4o_re = GGUF_PRE_TOKENIZER_SPLITS["gpt-4o"]
    assert GGUF_PRE_TOKENIZER_SPLITS["llama-bpe"] == llama3_re
    extra = ["'S 'T 'RE 'Ve 'lL 'D 'ſ", "a1234567b", " 1 22 333 4444", "x\n\n y\r\n\r\n  z", "  \n  a",
             "foo!!\n\nbar", " ?!\r\n", "\t\tx", "a  \t b", "über.\n\n\n", "ab12cd  ", "…\n"]
    splits = []
    for s in TRICKY + extra + rows[:60]:
        item = {"text": s}
        for name, pat in (("gpt2", gpt2_re), ("llama3", llama3_re), ("qwen2", qwen2_re), ("gpt4o", gpt4o_re)):
            pt = pre_tokenizers.Split(Regex(pat), behavior="isolated")
            item[name] = [p for p, _ in pt.pre_tokenize_str(s)]
        splits.append(item)
    dump_json("pretokenizer_splits.json", splits)

    # ------------------------------------------------------------ unicode classes as Oniguruma sees them
    print("unicode classes")
    bl = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    codepoints = [c for c in range(0x110000) if not (0xD800 <= c <= 0xDFFF)]
    classes = {}
    chunk = 50000
    for k in range(0, len(codepoints), chunk):
        part = codepoints[k:k + chunk]
        text = "".join("a" + chr(c) + chr(c) + "1" + "\x00" for c in part)
        pieces = [p for p, _ in pre_tokenizers.Split(Regex(gpt2_re), behavior="isolated").pre_tokenize_str(text)]
        # Reconstruct each group "a c c 1 \0": classify from how it was cut.
        # L: "acc","1\0"   N: "a","cc1","\0"   other: "a","cc","1","\0" (\0 joins "cc" run? no: "1" between)
        # whitespace: "a","c","c","1","\0" (\s+(?!\S) takes one, \s+ the other)
        i = 0
        for c in part:
            ch = chr(c)
            if c == 0x20:  # " 1" joins the number: "a", " ", " 1"
                assert pieces[i:i + 3] == ["a", " ", " 1"], pieces[i:i + 4]
                cls = "S"; i += 3
            elif pieces[i] == "a" + ch + ch:
                cls = "L"; i += 1
                assert pieces[i] == "1", (hex(c), pieces[i:i + 4]); i += 1
            elif pieces[i] == "a" and pieces[i + 1] == ch + ch + "1":
                cls = "N"; i += 2
            elif pieces[i] == "a" and pieces[i + 1] == ch + ch and pieces[i + 2] == "1":
                cls = "P"; i += 3
            elif pieces[i] == "a" and pieces[i + 1] == ch and pieces[i + 2] == ch and pieces[i + 3] == "1":
                cls = "S"; i += 4
            else:
                raise RuntimeError(f"cannot classify U+{c:04X}: {pieces[i:i + 5]!r}")
            assert pieces[i] == "\x00", (hex(c), pieces[i:i + 3])
            i += 1
            classes[c] = cls
    runs = []
    prev = None
    for c in codepoints:
        cl = classes[c]
        if runs and cl == runs[-1][2] and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c, cl])
    write_class_table(runs)
    dump_json("unicode_classes.json", {"note": "[first, last, class] with class L letter, N number, "
                                               "S whitespace, P other; surrogates omitted", "runs": runs},
              compact=True)

    # ------------------------------------------------------------ SentencePiece-style BPE with byte fallback
    print("SentencePiece-style BPE")
    train_lines = []
    with open(DATA / "ptb" / "ptb.valid.txt", encoding="utf-8") as f:
        train_lines += [l.strip() for l in f][:1500]
    train_lines += [d for d in c4_docs(400)[300:400]]
    train_lines += ["café über naïve résumé Ünïcödé", "日本語 中文 テキスト", "Привет мир"] * 3
    spm = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    spm.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    spm.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=True)
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<unk>", "<s>", "</s>"],
                                  limit_alphabet=120, show_progress=False)
    spm.train_from_iterator(train_lines, trainer)
    j = json.loads(spm.to_str())
    old_vocab = j["model"]["vocab"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = 3 + b
    for t, i in sorted(old_vocab.items(), key=lambda kv: kv[1]):
        if t not in vocab:
            vocab[t] = len(vocab)
    j["model"]["vocab"] = vocab
    j["added_tokens"] = [
        {"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True} for t in ("<unk>", "<s>", "</s>")]
    j["pre_tokenizer"] = None
    j["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    j["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
        {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    spm_json = json.dumps(j, ensure_ascii=False, separators=(",", ":"))
    (OUT / "spm_bpe_tokenizer.json").write_text(spm_json + "\n", encoding="utf-8")
    print(f"  spm_bpe_tokenizer.json: {(OUT / 'spm_bpe_tokenizer.json').stat().st_size} bytes")
    spm = Tokenizer.from_str(spm_json)
    spm_inputs = TRICKY + rows[:60] + [l.strip() for l in open(DATA / "ptb" / "ptb.test.txt", encoding="utf-8")][:40] \
        + docs[:5]
    spm_strings = []
    for s in spm_inputs:
        enc = spm.encode(s)
        spm_strings.append({"text": s, "ids": enc.ids, "ids_no_special": spm.encode(s, add_special_tokens=False).ids,
                            "decoded": spm.decode(enc.ids, skip_special_tokens=False)})
    dump_json("spm_bpe_strings.json", spm_strings)

    # ------------------------------------------------------------ that vocabulary as a llama-type GGUF
    print("llama-type GGUF from the SentencePiece vocabulary")
    id_to_tok = {i: t for t, i in vocab.items()}
    tokens = [id_to_tok[i] for i in range(len(vocab))] + ["<tool>"]
    types = [2, 3, 3] + [6] * 256 + [1] * (len(vocab) - 259) + [4]
    scores = [0.0] * 259 + [-float(i) for i in range(len(vocab) - 259)] + [0.0]
    gmeta = {"model": "llama", "pre": "default", "tokens": tokens, "token_type": types, "scores": scores,
             "bos_token_id": 1, "eos_token_id": 2, "unknown_token_id": 0, "add_bos_token": True,
             "add_eos_token": False, "add_space_prefix": True, "architecture": "llama"}
    with tempfile.TemporaryDirectory() as d:
        w = gguf.GGUFWriter(os.path.join(d, "tok.gguf"), "llama")
        w.add_context_length(128)
        w.add_embedding_length(8)
        w.add_block_count(1)
        w.add_feed_forward_length(16)
        w.add_head_count(1)
        w.add_head_count_kv(1)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre("default")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
        w.add_add_bos_token(True)
        w.add_add_eos_token(False)
        w.add_add_space_prefix(True)
        w.add_tensor("token_embd.weight", np.zeros((len(tokens), 8), dtype=np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        ltok = AutoTokenizer.from_pretrained(d, gguf_file="tok.gguf")
    dump_json("spm_llama_gguf_tokenizer.json", gmeta, compact=True)
    g_strings = []
    for s in spm_inputs:
        ids = ltok(s)["input_ids"]
        g_strings.append({"text": s, "ids": ids, "ids_no_special": ltok(s, add_special_tokens=False)["input_ids"],
                          "decoded": ltok.backend_tokenizer.decode(ids, skip_special_tokens=False)})
    dump_json("spm_llama_gguf_strings.json", g_strings)
    lj = json.loads(ltok.backend_tokenizer.to_str())
    manifest["spm_llama_gguf"] = {"added_tokens": [(a["id"], a["content"], a["special"]) for a in lj["added_tokens"]],
                                  "unk_token_in_model": lj["model"].get("unk_token"),
                                  "merges": len(lj["model"]["merges"])}

    # ------------------------------------------------------------ small byte-level tokenizer.json files
    print("byte-level BPE tokenizer.json (SmolLM style and Llama-3 style)")
    bl_tok = Tokenizer(models.BPE())
    bl_tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                    pre_tokenizers.ByteLevel(add_prefix_space=False)])
    bl_tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bl_tok.train_from_iterator(train_lines, trainer)
    j = json.loads(bl_tok.to_str())
    j["post_processor"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    variants = {"smol": j}
    j3 = json.loads(json.dumps(j))
    j3["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": llama3_re}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    j3["model"]["ignore_merges"] = True
    j3["post_processor"] = {"type": "TemplateProcessing",
                            "single": [{"SpecialToken": {"id": "<|im_start|>", "type_id": 0}},
                                       {"Sequence": {"id": "A", "type_id": 0}}],
                            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                            "special_tokens": {"<|im_start|>": {"id": "<|im_start|>", "ids": [1],
                                                                 "tokens": ["<|im_start|>"]}}}
    variants["llama3"] = j3
    for name, jj in variants.items():
        js = json.dumps(jj, ensure_ascii=False, separators=(",", ":"))
        fname = f"bytelevel_{name}_tokenizer.json"
        (OUT / fname).write_text(js + "\n", encoding="utf-8")
        print(f"  {fname}: {(OUT / fname).stat().st_size} bytes")
        t = Tokenizer.from_str(js)
        out = []
        for s in TRICKY + rows[:30] + docs[:3]:
            ids = t.encode(s).ids
            out.append({"text": s, "ids": ids, "ids_no_special": t.encode(s, add_special_tokens=False).ids,
                        "decoded": t.decode(ids, skip_special_tokens=False)})
        dump_json(f"bytelevel_{name}_strings.json", out)

    dump_json("manifest.json", manifest)


if __name__ == "__main__":
    sys.exit(main())
