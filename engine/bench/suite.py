"""Few-shot benchmark suites: a folder per task with `*_train_{split}_{k}.json` and `*_eval.json`.

Each file is a JSON list of {"sentence1", "sentence2"?, "label"}; pair tasks become
(sentence1, sentence2) tuples. File prefixes may differ from folder names, so files are
matched by pattern, not by name.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

TRAIN_FILE = re.compile(r"^(?P<prefix>.+)_train_(?P<split>\d+)_(?P<k>\d+)\.json$")


@dataclass
class Examples:
    texts: list  # str, or (str, str) for pair tasks
    labels: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def sample(self, size: int | None, seed: int) -> Examples:
        """A seeded random subset of `size` examples (all of them when size is None)."""
        if size is None or size >= len(self):
            return self
        order = list(range(len(self)))
        random.Random(seed).shuffle(order)
        chosen = sorted(order[:size])
        return Examples([self.texts[i] for i in chosen], [self.labels[i] for i in chosen])


def read_examples(path: Path) -> Examples:
    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    texts = [
        (r["sentence1"], r["sentence2"]) if r.get("sentence2") else r["sentence1"] for r in rows
    ]
    return Examples(texts, [str(r["label"]) for r in rows])


@dataclass
class BenchTask:
    name: str
    eval_path: Path
    train_paths: dict[tuple[int, int], Path] = field(default_factory=dict)  # (split, k) -> file

    def train(self, split: int, k: int) -> Examples:
        if (split, k) not in self.train_paths:
            have = sorted(self.train_paths)
            raise ValueError(
                f"Task `{self.name}` has no train file for split {split}, k={k}; it has {have}."
            )
        return read_examples(self.train_paths[(split, k)])


def load_suite(folder: str | Path, tasks: list[str] | None = None) -> list[BenchTask]:
    """The tasks of a suite folder (all, or those named), each with its eval and train files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"No benchmark suite folder at `{folder}`.")
    found = {}
    for task_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        evals = sorted(task_dir.glob("*_eval.json"))
        trains = {
            (int(m["split"]), int(m["k"])): path
            for path in task_dir.glob("*_train_*_*.json")
            if (m := TRAIN_FILE.match(path.name))
        }
        if not trains:
            continue
        if len(evals) != 1:
            raise ValueError(
                f"Task folder `{task_dir}` needs exactly one *_eval.json file, found {len(evals)}."
            )
        found[task_dir.name] = BenchTask(task_dir.name, evals[0], trains)
    if tasks:
        unknown = sorted(set(tasks) - set(found))
        if unknown:
            raise ValueError(
                f"Unknown task(s) {unknown} in `{folder}`; available: {sorted(found)}."
            )
        return [found[name] for name in tasks]
    if not found:
        raise ValueError(f"`{folder}` holds no task folders with *_train_<split>_<k>.json files.")
    return list(found.values())


def load_suites(folders: list[Path], tasks: list[str] | None = None) -> list[BenchTask]:
    """The tasks of several suites together (all, or those named, from whichever suite)."""
    found: dict[str, BenchTask] = {}
    for folder in folders:
        for task in load_suite(folder):
            if task.name in found:
                first = found[task.name].eval_path.parent.parent
                raise ValueError(
                    f"Task `{task.name}` is in two suites ({first} and {folder}): reports tell "
                    "tasks apart by name only."
                )
            found[task.name] = task
    if not tasks:
        return list(found.values())
    unknown = sorted(set(tasks) - set(found))
    if unknown:
        raise ValueError(f"Unknown task(s) {unknown}; available: {sorted(found)}.")
    return [found[name] for name in tasks]
