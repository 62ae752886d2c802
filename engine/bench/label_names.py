"""Class names as knowledge: accuracy at k = 0, 1, 2, 4 with and without the names.

    python -m engine.bench.label_names --suite DEV_SUITE --suite DEV_SUITE_2 [--splits 0,1,2]
        [--k 1,2,4] [--weights 0,1] [--max-eval 300] [--out report.json]

Per task, split and k: the first k examples of each class of the split's k = 4 file train
`Classifier(name_weight=w).fit` (w = 0: names unused; w = 1: each class's name counts as one
more example in the head's start), scored on a seeded sample of the eval file. k = 0 is the
names alone: `fit` with no examples (the adapted encoder's head from the names), and the
cold-start queue's zero-shot (`engine.suggestions.NamePrior`: the frozen encoder, each text
against the names). Prints the mean per suite, paired by split; an existing --out continues.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from engine.bench.environment import start_bench
from engine.bench.suite import Examples, load_suites, read_examples
from engine.classifier import Classifier
from engine.files import atomic_write_text
from engine.suggestions import NamePrior


def first_per_class(train: Examples, k: int) -> Examples:
    seen: dict[str, int] = {}
    chosen = []
    for index, label in enumerate(train.labels):
        if seen.get(label, 0) < k:
            seen[label] = seen.get(label, 0) + 1
            chosen.append(index)
    return Examples([train.texts[i] for i in chosen], [train.labels[i] for i in chosen])


def accuracy(probabilities, labels: list[str], truth: list[str]) -> float:
    return sum(labels[i] == t for i, t in zip(probabilities.argmax(1), truth)) / len(truth)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, action="append", required=True)
    parser.add_argument("--splits", default="0,1,2")
    parser.add_argument("--k", default="1,2,4")
    parser.add_argument("--weights", default="0,1")
    parser.add_argument("--max-eval", type=int, default=300)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    backbone, meta, env = start_bench(args.seed)
    rows = json.loads(args.out.read_text())["rows"] if args.out and args.out.exists() else []
    done = {(r["task"], r["split"], r["k"], r["weight"]) for r in rows}
    suite_of = {task.name: folder.name for folder in args.suite for task in load_suites([folder])}
    for task in load_suites(args.suite):
        evaluation = read_examples(task.eval_path)
        classes = sorted(set(evaluation.labels))
        evaluation = evaluation.sample(args.max_eval, args.seed)
        cases = [(0, 0, None)] + [
            (split, k, w)
            for split in map(int, args.splits.split(","))
            for k in map(int, args.k.split(","))
            for w in map(float, args.weights.split(","))
            if k > 0 or (w > 0 and split == 0)  # k = 0: one case, the names' weight is moot
        ]
        for split, k, weight in cases:
            if (task.name, split, k, weight) in done:
                continue
            if weight is None:
                prior = NamePrior(backbone, classes, max_length=args.max_length)
                probabilities = prior.probabilities_of(prior.embed(evaluation.texts))
            else:
                train = first_per_class(task.train(split, 4), k)  # k = 0: the names alone
                classifier = Classifier(
                    backbone, meta, max_length=args.max_length, name_weight=weight
                )
                classifier.fit(train.texts, train.labels, classes=classes)
                probabilities = classifier.predict_proba(evaluation.texts)
            score = accuracy(probabilities, classes, evaluation.labels)
            rows.append(
                {
                    "task": task.name,
                    "suite": suite_of[task.name],
                    "split": split,
                    "k": k,
                    "weight": weight,
                    "accuracy": score,
                }
            )
            print(f"{task.name} split {split} k={k} names {weight}: {100 * score:.1f}", flush=True)
            if args.out:
                atomic_write_text(args.out, json.dumps({"env": env, "rows": rows}, indent=1))
    print(table(rows))


def table(rows: list[dict]) -> str:
    """Mean accuracy per suite and k for each name weight, over the (task, split) cases every
    weight finished, and the paired difference of each weight against none."""
    weights = sorted({r["weight"] for r in rows if r["k"] > 0})
    lines = [
        "| suite | k | " + " | ".join(f"names x {w:g}" for w in weights) + " | names - none |",
        "| --- | ---: |" + " ---: |" * (len(weights) + 1),
    ]
    for suite in sorted({r["suite"] for r in rows}):
        zero = [r for r in rows if r["suite"] == suite and r["k"] == 0]
        for weight, kind in ((None, "frozen encoder"), (1.0, "adapted encoder, fit")):
            scores = [r["accuracy"] for r in zero if r["weight"] == weight]
            if scores:
                mean = 100 * statistics.mean(scores)
                lines.append(f"| {suite} | 0 | names only ({kind}): {mean:.1f} |")
        for k in sorted({r["k"] for r in rows if r["k"] > 0}):
            by_case: dict[tuple, dict[float, float]] = {}
            for r in rows:
                if r["suite"] == suite and r["k"] == k:
                    by_case.setdefault((r["task"], r["split"]), {})[r["weight"]] = r["accuracy"]
            full = [case for case in by_case.values() if set(weights) <= set(case)]
            if not full:
                continue
            means = [100 * statistics.mean(case[w] for case in full) for w in weights]
            gain = 100 * statistics.mean(case[weights[-1]] - case[weights[0]] for case in full)
            cells = " | ".join(f"{m:.1f}" for m in means)
            lines.append(f"| {suite} | {k} | {cells} | {gain:+.2f} ({len(full)} cases) |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
