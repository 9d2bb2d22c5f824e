"""Expected Alpaca examples for RecoveryDataTests, computed by LLM-Pruner's own code.

`Prompter` (LLMPruner/utils/prompter.py, alpaca template) and `tokenize` /
`generate_and_tokenize_prompt` (post_training.py, horseee/LLM-Pruner) are copied verbatim below,
run with Hugging Face tokenizers built from the test fixtures' tokenizer.json files.
Run from the package root:  python3 Tests/Fixtures/recovery-data/make_expected.py
(written with transformers 5.24.0, tokenizers 0.23.3).
"""
import json
from types import SimpleNamespace
from transformers import PreTrainedTokenizerFast

alpaca_template = {
    "description": "Template used by Alpaca-LoRA.",
    "prompt_input": "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n",
    "prompt_no_input": "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n",
    "response_split": "### Response:"
}


class Prompter(object):
    def __init__(self):
        self.template = alpaca_template

    def generate_prompt(self, instruction, input=None, label=None):
        if input:
            res = self.template["prompt_input"].format(instruction=instruction, input=input)
        else:
            res = self.template["prompt_no_input"].format(instruction=instruction)
        if label:
            res = f"{res}{label}"
        return res


def make(tokenizer, args):
    prompter = Prompter()

    def tokenize(prompt, add_eos_token=True):
        result = tokenizer(
            prompt,
            truncation=True,
            max_length=args.cutoff_len,
            padding=False,
            return_tensors=None,
        )
        if (
            result["input_ids"][-1] != tokenizer.eos_token_id
            and len(result["input_ids"]) < args.cutoff_len
            and add_eos_token
        ):
            result["input_ids"].append(tokenizer.eos_token_id)
            result["attention_mask"].append(1)

        result["labels"] = result["input_ids"].copy()

        return result

    def generate_and_tokenize_prompt(data_point):
        full_prompt = prompter.generate_prompt(
            data_point["instruction"],
            data_point["input"],
            data_point["output"],
        )
        tokenized_full_prompt = tokenize(full_prompt)
        if not args.train_on_inputs:
            user_prompt = prompter.generate_prompt(
                data_point["instruction"], data_point["input"] if 'input' in data_point.keys() else None,
            )
            tokenized_user_prompt = tokenize(
                user_prompt, add_eos_token=args.add_eos_token
            )
            user_prompt_len = len(tokenized_user_prompt["input_ids"])

            if args.add_eos_token:
                user_prompt_len -= 1

            tokenized_full_prompt["labels"] = [
                -100
            ] * user_prompt_len + tokenized_full_prompt["labels"][
                user_prompt_len:
            ]  # could be sped up, probably
        return tokenized_full_prompt

    return generate_and_tokenize_prompt


tokenizers = {
    "spm_bpe": PreTrainedTokenizerFast(tokenizer_file="Tests/Fixtures/tokenizer/spm_bpe_tokenizer.json",
                                       bos_token="<s>", eos_token="</s>", unk_token="<unk>"),
    "bytelevel_smol": PreTrainedTokenizerFast(tokenizer_file="Tests/Fixtures/tokenizer/bytelevel_smol_tokenizer.json",
                                              eos_token="<|endoftext|>"),
}
# HF `datasets` gives every row every column: a missing "input" is None.
rows = json.load(open("Tests/Fixtures/recovery-data/alpaca-sample.json"))
rows = [{"instruction": r["instruction"], "input": r.get("input"), "output": r["output"]} for r in rows]
configs = [(256, False, False), (256, True, False), (256, False, True),
           (40, False, False), (40, False, True), (100, False, False)]
out = {"cases": []}
for name, tok in tokenizers.items():
    for cutoff, train_on_inputs, add_eos_token in configs:
        f = make(tok, SimpleNamespace(cutoff_len=cutoff, train_on_inputs=train_on_inputs, add_eos_token=add_eos_token))
        out["cases"].append({
            "tokenizer": name, "cutoff": cutoff, "train_on_inputs": train_on_inputs, "add_eos_token": add_eos_token,
            "examples": [{"input_ids": r["input_ids"], "labels": r["labels"]} for r in map(f, rows)],
        })
with open("Tests/Fixtures/recovery-data/alpaca-sample.expected.json", "w") as fh:
    fh.write("{\"cases\": [\n")
    fh.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in out["cases"]))
    fh.write("\n]}\n")
