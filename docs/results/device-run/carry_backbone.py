"""Write the backbone bundle for the GPU benchmark runs: every weight of the embedded MiniLM
exactly (float32), except that the word-embedding matrix keeps only the rows the dev-suite
benchmark looks up. The device machine takes at most 64 MiB per call; the model is 91 MB.

    python docs/results/device-run/carry_backbone.py ../shared/data/dev_suite OUT_DIR

Tensors are byte-shuffled before xz (float exponents compress well): 62 MB -> 52 MB.
"""

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from transformers import AutoTokenizer

from engine.backbone import default_backbone_dir
from engine.bench.suite import load_suite, read_examples

MAX_LENGTH, MAX_EVAL, SEED = 64, 200, 0  # the benchmark's settings


def used_token_ids(suite: str, tokenizer) -> list[int]:
    """Every id the benchmark can look up: train files of all splits and k, the seeded eval
    sample, as our methods encode them (pairs) and as SetFit does (`[SEP]`-joined)."""
    ids = set(tokenizer.all_special_ids)
    for task in load_suite(suite):
        texts = list(read_examples(task.eval_path).sample(MAX_EVAL, SEED).texts)
        for split in range(10):
            for k in (4, 8, 16):
                texts += list(task.train(split, k).texts)
        pairs = [t for t in texts if isinstance(t, tuple)]
        joined = [t for t in texts if not isinstance(t, tuple)] + [" [SEP] ".join(t) for t in pairs]
        encodings = tokenizer(joined, truncation=True, max_length=MAX_LENGTH)["input_ids"]
        if pairs:
            first, second = [a for a, _ in pairs], [b for _, b in pairs]
            encodings += tokenizer(first, second, truncation=True, max_length=MAX_LENGTH)[
                "input_ids"
            ]
        for encoding in encodings:
            ids.update(encoding)
    return sorted(ids)


def write_backbone(ids: list[int], out: str | Path, xz_threads: int = 2) -> dict:
    """OUT_DIR: the model folder's files, `planes.safetensors.xz` (every weight but the
    word embeddings, plus the rows `ids` of those) and `carried.json`; returns the latter."""
    source, out = default_backbone_dir(), Path(out)
    shutil.copytree(source, out, ignore=shutil.ignore_patterns("model.safetensors", "*.md"))
    weights = load_file(source / "model.safetensors")
    name = next(n for n in weights if n.endswith("word_embeddings.weight"))
    full = weights.pop(name)
    ids = np.array(ids)
    weights["carried.rows"], weights["carried.ids"] = np.ascontiguousarray(full[ids]), ids
    info = {
        "embedding_name": name,
        "shape": list(full.shape),
        "rows": len(ids),
        "rows_sha256": hashlib.sha256(weights["carried.rows"].tobytes()).hexdigest(),
    }
    (out / "carried.json").write_text(json.dumps(info))
    planes = {
        n: a.view(np.uint8).reshape(-1, a.dtype.itemsize).T.copy() for n, a in weights.items()
    }
    layout = {n: [str(a.dtype), list(a.shape)] for n, a in weights.items()}
    save_file(planes, str(out / "planes.safetensors"), metadata={"tensors": json.dumps(layout)})
    xz = ["xz", f"-T{xz_threads}", "-6", "-f", str(out / "planes.safetensors")]
    subprocess.run(xz, check=True)
    return info


def main(suite: str, out: str) -> None:
    ids = used_token_ids(suite, AutoTokenizer.from_pretrained(default_backbone_dir()))
    info = write_backbone(ids, out)
    print(f"{info['rows']} of {info['shape'][0]} embedding rows carried")


if __name__ == "__main__":
    main(*sys.argv[1:3])
