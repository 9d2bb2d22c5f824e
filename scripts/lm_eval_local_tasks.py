"""lm-evaluation-harness (v0.4) tasks over Secateur's LOCAL data files.

lm-eval normally downloads its datasets from the Hugging Face hub. Here the same eight tasks are
pointed at the files in the Secateur data folder (DESIGN.md §2), so that lm-eval and Secateur
score exactly the same documents:

* each local file is converted to the field layout of the HF dataset lm-eval expects
  (a pure field mapping, written as JSON lines to a work folder);
* for each task a small YAML is written that `include`s lm-eval's OWN installed task YAML
  (so doc_to_text / doc_to_choice / doc_to_target / delimiters come from lm-eval itself) and only
  overrides the dataset (`dataset_path: json`, `data_files`), the splits, and the metric list
  (acc and acc_norm for every task, so both can be compared);
* HellaSwag: the local file is klosax's 6-line format, already preprocessed; lm-eval's
  `process_docs` (preprocess + ctx_b capitalisation) cannot be re-applied, so it is replaced by
  one that uses the lines as given (query = line 1, choices = lines 3-6, label = line 2).
  BoolQ: Google's format mapped to SuperGLUE (passage = title + " -- " + passage, label = answer).
  RTE: SuperGLUE val.jsonl mapped to GLUE fields (sentence1/2, entailment -> 0).

The three EXTRA_TASKS keep lm-eval's own metric_list (lambada_openai: perplexity + acc;
truthfulqa_mc1: acc; truthfulqa_mc2: acc from utils.process_results_mc2):
* lambada_openai: OpenAI's lambada_test.jsonl is EleutherAI/lambada_openai `default` as is ({"text"}).
* truthfulqa_mc1/mc2: mc_task.json mapped as HF `truthful_qa` `multiple_choice` does it:
  {"question", "mc1_targets": {"choices": keys, "labels": values}, "mc2_targets": likewise}, keys in
  file order (json.load keeps object order).
"""
import json
import os

TASKS = ["boolq", "hellaswag", "winogrande", "arc_easy", "arc_challenge", "openbookqa", "piqa", "rte"]
EXTRA_TASKS = ["lambada_openai", "truthfulqa_mc1", "truthfulqa_mc2"]

# lm-eval's own YAML for each task (relative to lm_eval/tasks) and the split its docs come from.
LM_EVAL_YAML = {
    "boolq": ("super_glue/boolq/default.yaml", "validation"),
    "hellaswag": ("hellaswag/hellaswag.yaml", "validation"),
    "winogrande": ("winogrande/default.yaml", "validation"),
    "arc_easy": ("arc/arc_easy.yaml", "test"),
    "arc_challenge": ("arc/arc_challenge.yaml", "test"),
    "openbookqa": ("openbookqa/openbookqa.yaml", "test"),
    "piqa": ("piqa/piqa.yaml", "validation"),
    "rte": ("glue/rte/default.yaml", "validation"),
    "lambada_openai": ("lambada/lambada_openai.yaml", "test"),
    "truthfulqa_mc1": ("truthfulqa/truthfulqa_mc1.yaml", "validation"),
    "truthfulqa_mc2": ("truthfulqa/truthfulqa_mc2.yaml", "validation"),
}


def _jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def convert(task, data):
    """Docs of `task` from the local files, in the HF dataset's field layout, file order."""
    if task == "boolq":
        return [{"question": d["question"], "passage": d["title"] + " -- " + d["passage"],
                 "idx": i, "label": int(bool(d["answer"]))}
                for i, d in enumerate(_jsonl(os.path.join(data, "boolq/dev.jsonl")))]
    if task == "rte":
        return [{"sentence1": d["premise"], "sentence2": d["hypothesis"], "idx": d["idx"],
                 "label": 0 if d["label"] == "entailment" else 1}
                for d in _jsonl(os.path.join(data, "rte/val.jsonl"))]
    if task == "winogrande":
        return [{"sentence": d["sentence"], "option1": d["option1"], "option2": d["option2"], "answer": d["answer"]}
                for d in _jsonl(os.path.join(data, "winogrande/dev.jsonl"))]
    if task in ("arc_easy", "arc_challenge"):
        name = "arc_easy/ARC-Easy-Test.jsonl" if task == "arc_easy" else "arc_challenge/ARC-Challenge-Test.jsonl"
        return [{"id": d["id"], "question": d["question"]["stem"],
                 "choices": {"text": [c["text"] for c in d["question"]["choices"]],
                             "label": [c["label"] for c in d["question"]["choices"]]},
                 "answerKey": d["answerKey"]}
                for d in _jsonl(os.path.join(data, name))]
    if task == "openbookqa":
        return [{"id": d["id"], "question_stem": d["question"]["stem"],
                 "choices": {"text": [c["text"] for c in d["question"]["choices"]],
                             "label": [c["label"] for c in d["question"]["choices"]]},
                 "answerKey": d["answerKey"]}
                for d in _jsonl(os.path.join(data, "openbookqa/test.jsonl"))]
    if task == "piqa":
        docs = _jsonl(os.path.join(data, "piqa/valid.jsonl"))
        with open(os.path.join(data, "piqa/valid-labels.lst")) as f:
            labels = [int(l) for l in f.read().split()]
        return [{"goal": d["goal"], "sol1": d["sol1"], "sol2": d["sol2"], "label": l} for d, l in zip(docs, labels)]
    if task == "hellaswag":
        with open(os.path.join(data, "hellaswag/hellaswag_val_full.txt"), encoding="utf-8") as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return [{"query": lines[b], "label": lines[b + 1], "choices": lines[b + 2:b + 6]}
                for b in range(0, len(lines), 6)]
    if task == "lambada_openai":
        return [{"text": d["text"]} for d in _jsonl(os.path.join(data, "lambada/lambada_test.jsonl"))]
    if task in ("truthfulqa_mc1", "truthfulqa_mc2"):
        with open(os.path.join(data, "truthfulqa/mc_task.json"), encoding="utf-8") as f:
            items = json.load(f)

        def targets(obj):
            return {"choices": list(obj.keys()), "labels": list(obj.values())}
        return [{"question": d["question"], "mc1_targets": targets(d["mc1_targets"]), "mc2_targets": targets(d["mc2_targets"])}
                for d in items]
    raise ValueError(task)


UTILS = '''
def hellaswag_as_given(dataset):
    """6-line HellaSwag is already preprocessed: keep query/choices as given; gold = label."""
    return dataset.map(lambda d: {"query": d["query"], "choices": d["choices"], "gold": int(d["label"])})
'''


def write_task_dir(data, out, limit=None):
    """Writes converted data + YAMLs under `out`; returns the include path for TaskManager."""
    import lm_eval
    tasks_root = os.path.join(os.path.dirname(lm_eval.__file__), "tasks")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "local_utils.py"), "w") as f:
        f.write(UTILS)
    for task in TASKS + EXTRA_TASKS:
        docs = convert(task, data)
        if limit is not None:
            docs = docs[:limit]
        data_file = os.path.join(out, f"{task}.jsonl")
        with open(data_file, "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        yaml_rel, split = LM_EVAL_YAML[task]
        lines = [
            f"include: {os.path.join(tasks_root, yaml_rel)}",
            f"task: {task}",
            "tag: []",
            "dataset_path: json",
            "dataset_name: null",
            "dataset_kwargs:",
            "  data_files:",
            f"    {split}: {data_file}",
            "training_split: null",
            "fewshot_split: null",
            f"validation_split: {'validation' if split == 'validation' else 'null'}",
            f"test_split: {'test' if split == 'test' else 'null'}",
        ]
        if task in TASKS:
            lines += ["metric_list:",
                      "  - metric: acc",
                      "    aggregation: mean",
                      "    higher_is_better: true",
                      "  - metric: acc_norm",
                      "    aggregation: mean",
                      "    higher_is_better: true"]
        if task == "hellaswag":
            lines.append("process_docs: !function local_utils.hellaswag_as_given")
        with open(os.path.join(out, f"local_{task}.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return out


def task_manager(data, out, limit=None):
    from lm_eval.tasks import TaskManager
    path = write_task_dir(data, out, limit)
    try:
        return TaskManager(include_path=path, include_defaults=False)
    except TypeError:
        return TaskManager(include_path=path)
