#!/usr/bin/env python3
"""llama.cpp (llama-cpp-python, built from the PyPI sdist) on GGUF files written by
`secateur export`: load, generate, perplexity from llama.cpp's own logits, and speed.

  python bench/export_llamacpp.py ppl   --gguf F --tokenizer DIR --text F --windows 4 --seqlen 2048
  python bench/export_llamacpp.py speed --gguf F --prompt 128 --decode 128 --repeats 5

ppl: token ids from the tokenizer.json Secateur wrote (DIR, via `tokenizers`; the HF export
test shows they equal Secateur's), the first WINDOWS windows of SEQLEN tokens of the text,
each evaluated from a fresh context with logits for every position; perplexity =
exp(mean over windows and positions of -log softmax(logits[i])[token[i+1]]) — the wanda
protocol Secateur's `eval ppl` uses. Also greedy-generates a few tokens to show it runs.
speed: prefill of PROMPT tokens and greedy decode of DECODE tokens (one eval per token),
2 threads, median of REPEATS runs, after one untimed warm-up.
Prints one JSON object.
"""
import argparse, json, math, os, statistics, sys, time
import numpy as np
from llama_cpp import Llama

p = argparse.ArgumentParser()
p.add_argument("mode", choices=["ppl", "speed"])
p.add_argument("--gguf", required=True)
p.add_argument("--tokenizer")
p.add_argument("--text")
p.add_argument("--windows", type=int, default=4)
p.add_argument("--seqlen", type=int, default=2048)
p.add_argument("--prompt", type=int, default=128)
p.add_argument("--decode", type=int, default=128)
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()

if a.mode == "ppl":
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(a.tokenizer, "tokenizer.json"))
    with open(a.text, encoding="utf-8") as f:
        ids = tok.encode(f.read(), add_special_tokens=False).ids
    llm = Llama(model_path=a.gguf, n_ctx=a.seqlen, n_batch=512, n_threads=a.threads,
                logits_all=True, verbose=False)
    gen = llm("The capital of France is", max_tokens=8, temperature=0)["choices"][0]["text"]
    nll, count = 0.0, 0
    t0 = time.time()
    for w in range(a.windows):
        window = ids[w * a.seqlen:(w + 1) * a.seqlen]
        llm.reset()
        llm.eval(window)
        logits = np.asarray(llm.scores[:len(window)], dtype=np.float64)
        m = logits.max(axis=1, keepdims=True)
        logp = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
        nll -= logp[np.arange(len(window) - 1), window[1:]].sum()
        count += len(window) - 1
    print(json.dumps({"gguf": a.gguf, "ppl": math.exp(nll / count), "tokens_scored": count,
                      "windows": a.windows, "seconds": time.time() - t0, "generated": gen}))
else:
    llm = Llama(model_path=a.gguf, n_ctx=a.prompt + a.decode + 8, n_batch=512, n_threads=a.threads,
                n_threads_batch=a.threads, verbose=False)
    prompt = [(7 * i + 100) % 40000 + 200 for i in range(a.prompt)]
    def run():
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        t1 = time.perf_counter()
        for _ in range(a.decode):
            nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            llm.eval([nxt])
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1
    run()
    prefill, decode = [], []
    for _ in range(a.repeats):
        pf, dc = run()
        prefill.append(a.prompt / pf); decode.append(a.decode / dc)
    print(json.dumps({"gguf": a.gguf, "bytes": os.path.getsize(a.gguf),
                      "prefill_tok_s": statistics.median(prefill), "decode_tok_s": statistics.median(decode),
                      "prefill_runs": prefill, "decode_runs": decode}))
