"""How honest and how fast each quality-estimate recipe is, against the true eval accuracy.

    python -m engine.bench.quality_estimate --suite DEV_SUITE [--suite DEV_SUITE_2]
        [--k 4,8,16] [--splits 0,1] [--max-eval 200] [--recipes full,fixed5,fixed3,fixed2]
        [--out results.json]

For every task, k and split: train the classifier as one-click Train does (time T), score it
on the task's eval file (the truth), then run each recipe's cross-validation on the same
training examples and record its accuracy estimate and time. Recipes: `full` is 5-fold with
each fold choosing its own step count (the estimate before this benchmark); `fixedF` is F
folds, each fold running the step count the full fit chose; `fixedF@x` the same with x times
that count (rounded, at least 1). Prints, per k, each recipe's mean
signed error (estimate minus truth), mean absolute error and median time over T.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from engine.bench.environment import start_bench
from engine.bench.suite import load_suites, read_examples
from engine.classifier import Classifier
from engine.evaluation import cross_validate, not_enough_reason
from engine.files import atomic_write_text

DEFAULT_RECIPES = "full,fixed5,fixed3,fixed2"


def recipe_settings(recipe: str, trained_steps: int) -> tuple[int, int | None]:
    """(folds, steps) of a recipe name."""
    if recipe == "full":
        return 5, None
    folds, _, share = recipe.removeprefix("fixed").partition("@")
    if recipe.startswith("fixed") and folds.isdigit():
        try:
            return int(folds), max(1, round(float(share or 1) * trained_steps))
        except ValueError:
            pass
    raise ValueError(f"Unknown recipe {recipe!r}: use full, fixedF or fixedF@x (F folds).")


def run_case(backbone, meta, task, k: int, split: int, max_eval: int, recipes, seed: int):
    train = task.train(split, k)
    if not_enough_reason(train.labels):
        return None
    truth_set = read_examples(task.eval_path).sample(max_eval, seed)
    started = time.perf_counter()
    classifier = Classifier(backbone, meta).fit(train.texts, train.labels)
    train_seconds = time.perf_counter() - started
    predicted = classifier.predict(truth_set.texts)
    truth = sum(p == t for p, t in zip(predicted, truth_set.labels)) / len(truth_set)
    row = {"task": task.name, "k": k, "split": split, "truth": truth, "train_s": train_seconds}
    for recipe in recipes:
        folds, steps = recipe_settings(recipe, classifier.training["steps"])
        started = time.perf_counter()
        report = cross_validate(
            train.texts,
            train.labels,
            backbone=backbone,
            meta=meta,
            classes=classifier.labels,
            folds=folds,
            steps=steps,
            seed=seed,
        )
        row[recipe] = {"estimate": report.accuracy, "seconds": time.perf_counter() - started}
    return row


def summary_table(rows: list[dict], recipes: list[str]) -> str:
    lines = [
        "| k | recipe | cases | mean error (pts) | mean abs error (pts) | median time / train |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for k in sorted({row["k"] for row in rows}):
        cases = [row for row in rows if row["k"] == k]
        for recipe in recipes:
            errors = [100 * (row[recipe]["estimate"] - row["truth"]) for row in cases]
            ratio = statistics.median(row[recipe]["seconds"] / row["train_s"] for row in cases)
            absolute = statistics.mean(abs(error) for error in errors)
            lines.append(
                f"| {k} | {recipe} | {len(cases)} | {statistics.mean(errors):+.1f} | "
                f"{absolute:.1f} | {ratio:.2f}x |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, action="append", required=True)
    parser.add_argument("--tasks", help="comma-separated task names (default: all)")
    parser.add_argument("--k", default="4,8,16")
    parser.add_argument("--splits", default="0,1")
    parser.add_argument("--max-eval", type=int, default=200)
    parser.add_argument("--recipes", default=DEFAULT_RECIPES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="JSON file with every case (kept as it goes)")
    args = parser.parse_args(argv)
    recipes = args.recipes.split(",")
    backbone, meta, env = start_bench(args.seed)
    tasks = load_suites(args.suite, args.tasks.split(",") if args.tasks else None)
    rows = []
    for k in (int(value) for value in args.k.split(",")):
        for task in tasks:
            for split in (int(value) for value in args.splits.split(",")):
                row = run_case(backbone, meta, task, k, split, args.max_eval, recipes, args.seed)
                if row is None:
                    continue
                rows.append(row)
                estimates = " ".join(f"{r} {100 * row[r]['estimate']:.0f}" for r in recipes)
                print(
                    f"{task.name} k={k} split={split}: truth {100 * row['truth']:.0f}, "
                    f"{estimates} (train {row['train_s']:.1f} s)",
                    flush=True,
                )
                if args.out:
                    atomic_write_text(args.out, json.dumps({"env": env, "rows": rows}, indent=1))
    print(summary_table(rows, recipes))


if __name__ == "__main__":
    main()
