"""Would a held-out check between the adapted classifier and a frozen-feature head pay?

    python -m engine.bench.safeguard --suite DEV_SUITE [--suite DEV_SUITE_2] [--k 16]
        [--splits 0-4] [--max-eval 200] [--max-length 64] [--out results.json]

With 16 or more examples per class, `Classifier.fit` sets a quarter aside to choose the step
count and knows the adapted model's accuracy there. A logistic regression on frozen features
(the linear probe) could be scored on the same quarter at the cost of one forward pass, and
used instead when it does better there (issue 14, item 7). For every task, k and split this
measures: the adapted classifier as Train makes it (eval accuracy and held-out accuracy), and
two frozen-feature heads, each fitted on the three quarters (held-out accuracy) and on all
examples (eval accuracy): on the backbone's own features (`raw`, what the benchmark's linear
probe uses) and on the features with the meta-learned adapter start phi_0 (`phi0`, which a
classifier file can hold as it is). It prints what choosing by the held-out quarter would
have scored, per suite, paired with the adapted classifier.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from engine.bench.environment import start_bench
from engine.bench.methods import LINEAR_PROBE_C, FrozenEmbeddings
from engine.bench.suite import load_suites, read_examples
from engine.classifier import Classifier, held_out_fold
from engine.cli_options import whole_numbers
from engine.files import atomic_write_text

HEADS = ("raw", "phi0")
MARGINS = (0.0, 0.05)  # the frozen head must beat the adapted one on the quarter by this much


def probe_accuracy(train_x, train_y, test_x, test_y) -> float:
    model = LogisticRegression(C=LINEAR_PROBE_C, max_iter=2000).fit(train_x, train_y)
    return float((model.predict(test_x) == np.asarray(test_y)).mean())


def run_case(backbone, meta, embeddings, task, k, split, max_eval, max_length, seed):
    train = task.train(split, k)
    held = held_out_fold(list(train.texts), list(train.labels))
    if not held:
        return None
    evaluation = read_examples(task.eval_path).sample(max_eval, seed)
    labels, eval_labels = np.array(train.labels), np.array(evaluation.labels)
    adapted = Classifier(backbone, meta, max_length=max_length).fit(train.texts, train.labels)
    row = {
        "task": task.name,
        "suite": task.eval_path.parent.parent.name,
        "k": k,
        "split": split,
        "adapted": {
            "eval": float((np.array(adapted.predict(evaluation.texts)) == eval_labels).mean()),
            "held_out": adapted.training["held_out"]["accuracy"],
        },
    }
    start = Classifier(backbone, meta, max_length=max_length)
    start.fit(train.texts, train.labels, steps=0)  # phi_0 in the adapters, no step taken
    support = np.setdiff1d(np.arange(len(labels)), held)
    for head, features in (("raw", embeddings), ("phi0", start.embed)):
        train_x, eval_x = features(list(train.texts)), features(list(evaluation.texts))
        row[head] = {
            "held_out": probe_accuracy(
                train_x[support], labels[support], train_x[held], labels[held]
            ),
            "eval": probe_accuracy(train_x, labels, eval_x, eval_labels),
        }
    return row


def frozen_wins(row: dict, head: str, margin: float) -> bool:
    """Whether the frozen head beats the adapted one on the held-out quarter by `margin`."""
    return row[head]["held_out"] > row["adapted"]["held_out"] + margin


def summary_table(rows: list[dict]) -> str:
    columns = ["adapted", *HEADS, *(f"{h} guard +{m:.2f}" for h in HEADS for m in MARGINS)]
    lines = [
        "| suite | k | cases | " + " | ".join(columns) + " |",
        "| --- | ---: | ---: |" + " ---: |" * len(columns),
    ]
    for suite in sorted({row["suite"] for row in rows}):
        for k in sorted({row["k"] for row in rows}):
            cases = [row for row in rows if row["suite"] == suite and row["k"] == k]
            if not cases:
                continue
            adapted = [row["adapted"]["eval"] for row in cases]
            cells = [f"{100 * statistics.mean(adapted):.1f}"]
            for head in HEADS:
                cells.append(f"{100 * statistics.mean(row[head]['eval'] for row in cases):.1f}")
            for head in HEADS:
                for margin in MARGINS:
                    switched = [row for row in cases if frozen_wins(row, head, margin)]
                    gain = 100 * sum(r[head]["eval"] - r["adapted"]["eval"] for r in switched)
                    gain /= len(cases)
                    cells.append(f"{gain:+.2f} ({len(switched)} switched)")
            lines.append(f"| {suite} | {k} | {len(cases)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, action="append", required=True)
    parser.add_argument("--tasks", help="comma-separated task names (default: all)")
    parser.add_argument("--k", type=whole_numbers(1), default=[16])
    parser.add_argument("--splits", type=whole_numbers(0), default=[0, 1, 2, 3, 4])
    parser.add_argument("--max-eval", type=int, default=200)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="JSON file with every case (kept as it goes)")
    args = parser.parse_args(argv)
    backbone, meta, env = start_bench(args.seed)
    embeddings = FrozenEmbeddings(backbone, args.max_length)
    tasks = load_suites(args.suite, args.tasks.split(",") if args.tasks else None)
    rows = []
    for split in args.splits:
        for task in tasks:
            for k in args.k:
                row = run_case(
                    backbone,
                    meta,
                    embeddings,
                    task,
                    k,
                    split,
                    args.max_eval,
                    args.max_length,
                    args.seed,
                )
                if row is None:
                    continue
                rows.append(row)
                cells = " ".join(
                    f"{name} {100 * row[name]['held_out']:.0f}/{100 * row[name]['eval']:.0f}"
                    for name in ("adapted", *HEADS)
                )
                print(f"{task.name} k={k} split={split} (held-out/eval): {cells}", flush=True)
                if args.out:
                    atomic_write_text(args.out, json.dumps({"env": env, "rows": rows}, indent=1))
    print(summary_table(rows))


if __name__ == "__main__":
    main()
