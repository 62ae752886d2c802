"""Fit with many examples per class: accuracy and time against full-batch steps and a probe.

    python -m engine.bench.many_examples --suite DEV_SUITE [--tasks mpqa,mr,subj]
        [--per-class 16,64,256] [--large META_TRAIN/yelp_sentence_polarity]
        [--large-per-class 1000,5000] [--full-batch-up-to 64] [--seed 0] [--out report.json]

Dev-suite tasks: the eval file is shuffled (seed) and halved, examples are drawn per class
from one half and the other half is the test set. `--large` is a folder with `train.jsonl`
and `validation.jsonl` ({"text", "label"} per line) for the 1,000+ per class cases: the dev
suites hold at most 2,000 rows per task. Methods, on the same examples:
- `ours`: `Classifier().fit` as one-click Train runs it (the learned steps on at most
  LEARNED_STEPS_PER_CLASS examples of each class, the head refitted on all);
- `full-batch`: every learned step over every example (the recipe before), up to
  `--full-batch-up-to` per class (beyond that it takes many minutes);
- `linear-probe`: logistic regression on the frozen encoder's features.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from engine.bench.environment import start_bench
from engine.bench.methods import FrozenEmbeddings, LinearProbeMethod
from engine.bench.suite import Examples, load_suites, read_examples
from engine.classifier import LEARNED_STEPS_PER_CLASS, Classifier
from engine.files import atomic_write_text


def per_class_draw(pool: Examples, per_class: int, seed: int) -> Examples | None:
    """`per_class` examples of each class of `pool` (None when a class has fewer)."""
    by_class: dict[str, list[int]] = {}
    for index, label in enumerate(pool.labels):
        by_class.setdefault(label, []).append(index)
    if min(len(rows) for rows in by_class.values()) < per_class:
        return None
    rng = random.Random(seed)
    chosen = sorted(i for rows in by_class.values() for i in rng.sample(rows, per_class))
    return Examples([pool.texts[i] for i in chosen], [pool.labels[i] for i in chosen])


def halves(examples: Examples, seed: int) -> tuple[Examples, Examples]:
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    middle = len(order) // 2
    pick = lambda rows: Examples(  # noqa: E731
        [examples.texts[i] for i in rows], [examples.labels[i] for i in rows]
    )
    return pick(order[:middle]), pick(order[middle:])


def read_jsonl(path: Path) -> Examples:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return Examples([row["text"] for row in rows], [str(row["label"]) for row in rows])


def accuracy(predicted: list[str], truth: list[str]) -> float:
    return sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)


def run_case(backbone, meta, embeddings, name, train, test, args) -> list[dict]:
    rows = []
    per_class = len(train) // len(set(train.labels))
    recipes = {"ours": LEARNED_STEPS_PER_CLASS}
    recipes.update({f"steps on {cap}": cap for cap in args.caps if cap < per_class})
    if per_class <= args.full_batch_up_to:
        recipes["full-batch"] = None
    for method, learned_on in recipes.items():
        classifier = Classifier(
            backbone, meta, max_length=args.max_length, learned_steps_per_class=learned_on
        )
        started = time.perf_counter()
        classifier.fit(train.texts, train.labels)
        seconds = time.perf_counter() - started
        score = accuracy(classifier.predict(test.texts), test.labels)
        rows.append({"method": method, "fit_s": seconds, "accuracy": score})
    probe = LinearProbeMethod(backbone, max_length=args.max_length, embeddings=embeddings)
    embeddings.cache.clear()  # time the probe's encoder pass too, as a user would wait for it
    result = probe.run(train, test)
    rows.append(
        {
            "method": "linear-probe",
            "fit_s": result.fit_seconds,
            "accuracy": accuracy(result.predictions, test.labels),
        }
    )
    for row in rows:
        row.update(task=name, per_class=per_class, examples=len(train), test=len(test))
        print(
            f"{name} {per_class}/class {row['method']}: {100 * row['accuracy']:.1f} "
            f"in {row['fit_s']:.1f} s",
            flush=True,
        )
    return rows


def table(rows: list[dict]) -> str:
    methods = list(dict.fromkeys(row["method"] for row in rows))
    lines = [
        "| task | per class | " + " | ".join(f"{m} acc / s" for m in methods) + " |",
        "| --- | ---: |" + " --- |" * len(methods),
    ]
    cases = dict.fromkeys((row["task"], row["per_class"]) for row in rows)
    for task, per_class in cases:
        cells = []
        for method in methods:
            found = [
                r
                for r in rows
                if (r["task"], r["per_class"], r["method"]) == (task, per_class, method)
            ]
            cells.append(
                f"{100 * found[0]['accuracy']:.1f} / {found[0]['fit_s']:.1f}" if found else "–"
            )
        lines.append(f"| {task} | {per_class} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, action="append", default=[])
    parser.add_argument("--tasks", default="mpqa,mr,subj")
    parser.add_argument("--per-class", default="16,64,256")
    parser.add_argument("--large", type=Path, help="folder with train.jsonl, validation.jsonl")
    parser.add_argument("--large-per-class", default="1000,5000")
    parser.add_argument("--large-test", type=int, default=1000)
    parser.add_argument("--full-batch-up-to", type=int, default=64)
    parser.add_argument(
        "--caps",
        type=lambda v: [int(c) for c in v.split(",") if c],
        default=[],
        help="also run the learned steps on at most this many per class (comma-separated)",
    )
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    backbone, meta, env = start_bench(args.seed)
    embeddings = FrozenEmbeddings(backbone, args.max_length)
    cases = []
    for task in load_suites(args.suite, args.tasks.split(",")) if args.suite else []:
        pool, test = halves(read_examples(task.eval_path), args.seed)
        for per_class in map(int, args.per_class.split(",")):
            cases.append((task.name, per_class_draw(pool, per_class, args.seed), test))
    if args.large:
        pool = read_jsonl(args.large / "train.jsonl")
        test = read_jsonl(args.large / "validation.jsonl").sample(args.large_test, args.seed)
        for per_class in map(int, args.large_per_class.split(",")):
            cases.append((args.large.name, per_class_draw(pool, per_class, args.seed), test))
    rows = []
    for name, train, test in cases:
        if train is None:
            print(f"{name}: too few examples for that many per class; skipped", flush=True)
            continue
        rows += run_case(backbone, meta, embeddings, name, train, test, args)
        if args.out:
            atomic_write_text(args.out, json.dumps({"env": env, "rows": rows}, indent=1))
    print(table(rows))


if __name__ == "__main__":
    main()
