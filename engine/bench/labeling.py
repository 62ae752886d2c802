"""Simulated labeling: does a strategy reach with fewer labels what random order reaches?

    python -m engine.bench.labeling --suite DEV_SUITE [--suite DEV_SUITE_2] [--tasks a,b]
        [--strategies uncertainty,diverse,random] [--seeds 0,1,2,3,4] [--budget 32]
        [--batch 4] [--pool 400] [--test 300] [--out results.json (continued if it exists)]
    python -m engine.bench.labeling --suite DEV_SUITE --suite DEV_SUITE_2 --report A.json B.json

Per task and seed: the eval file is shuffled and halved; one half is the unlabeled pool
(its labels hidden from the strategy), the other the test set. Labeling starts from 2
examples per class of the task's split-0 k=4 train file. Each round the strategy queues the
pool with the current classifier, the first `--batch` texts get their true labels, and the
classifier retrains. Accuracy on the test half is recorded after 8, 16 and 32 labels (and
every --batch in between); the table is the mean over tasks and seeds. Also times the queue
refresh of the pool after a retrain. `--report` prints the tables of finished runs, one per
suite and one for both, from the JSON files of one or more (stopped or parallel) runs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from engine.bench.environment import start_bench
from engine.bench.suite import load_suites, read_examples
from engine.classifier import Classifier
from engine.files import atomic_write_text
from engine.suggestions import suggest

REPORTED_LABELS = (8, 16, 32)
START_PER_CLASS = 2


def halves(texts: list, labels: list[str], seed: int, pool_size: int, test_size: int):
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    middle = len(order) // 2
    pool, test = order[:middle][:pool_size], order[middle:][:test_size]
    return (
        [texts[i] for i in pool],
        [labels[i] for i in pool],
        [texts[i] for i in test],
        [labels[i] for i in test],
    )


def start_examples(task) -> tuple[list, list[str]]:
    train = task.train(0, 4)
    texts, labels, seen = [], [], {}
    for text, label in zip(train.texts, train.labels, strict=True):
        if seen.get(label, 0) < START_PER_CLASS:
            seen[label] = seen.get(label, 0) + 1
            texts.append(text)
            labels.append(label)
    return texts, labels


def simulate(backbone, meta, task, strategy: str, seed: int, args) -> dict:
    evaluation = read_examples(task.eval_path)
    pool_texts, pool_labels, test_texts, test_labels = halves(
        evaluation.texts, evaluation.labels, seed, args.pool, args.test
    )
    texts, labels = start_examples(task)
    classes = sorted(set(evaluation.labels))
    curve, refresh_seconds = {}, []
    remaining = list(range(len(pool_texts)))
    while True:
        classifier = Classifier(backbone, meta, max_length=args.max_length)
        classifier.fit(texts, labels, classes=classes)
        acquired = len(texts) - len(classes) * START_PER_CLASS
        predicted = classifier.predict(test_texts)
        curve[acquired] = sum(p == t for p, t in zip(predicted, test_labels)) / len(test_labels)
        if acquired >= args.budget or not remaining:
            break
        started = time.perf_counter()
        queue, _ = suggest(
            classifier, [pool_texts[i] for i in remaining], strategy=strategy, seed=seed
        )
        refresh_seconds.append(time.perf_counter() - started)
        chosen = [remaining[i] for i in queue.order[: args.batch]]
        texts += [pool_texts[i] for i in chosen]
        labels += [pool_labels[i] for i in chosen]
        remaining = [i for i in remaining if i not in set(chosen)]
    return {
        "task": task.name,
        "strategy": strategy,
        "seed": seed,
        "curve": curve,
        "refresh_s": refresh_seconds,
        "pool": len(pool_texts),
    }


def summary_table(rows: list[dict], strategies: list[str]) -> str:
    """Mean accuracy per strategy over the (task, seed) cases that every strategy finished,
    so a stopped run does not compare strategies on different tasks."""
    finished = [
        case
        for case in dict.fromkeys((row["task"], row["seed"]) for row in rows)
        if all(
            any((r["task"], r["seed"], r["strategy"]) == (*case, s) for r in rows)
            for s in strategies
        )
    ]
    lines = [
        "| strategy | " + " | ".join(f"acc @ {n} labels" for n in REPORTED_LABELS) + " | runs |",
        "| --- | " + " | ".join("---:" for _ in REPORTED_LABELS) + " | ---: |",
    ]
    for strategy in strategies:
        runs = [
            row
            for row in rows
            if row["strategy"] == strategy and (row["task"], row["seed"]) in finished
        ]
        cells = []
        for labels in REPORTED_LABELS:
            values = [run["curve"][labels] for run in runs if labels in run["curve"]]
            cells.append(f"{100 * statistics.mean(values):.1f}" if values else "–")
        lines.append(f"| {strategy} | " + " | ".join(cells) + f" | {len(runs)} |")
    return "\n".join(lines)


def report(paths: list[Path], suites: list[Path]) -> str:
    """Tables per suite and for both, from the rows of several runs' JSON files."""
    rows = [row for path in paths for row in json.loads(path.read_text(encoding="utf-8"))["rows"]]
    for row in rows:  # JSON turned the curve's label counts into strings
        row["curve"] = {int(n): accuracy for n, accuracy in row["curve"].items()}
    # A case run again (a stopped run's last task, redone) counts once: its later run.
    rows = list({(r["task"], r["seed"], r["strategy"]): r for r in rows}.values())
    strategies = list(dict.fromkeys(row["strategy"] for row in rows))
    suite_of = {task.name: folder.name for folder in suites for task in load_suites([folder])}
    parts = []
    for suite in [*dict.fromkeys(suite_of.values()), "both suites"]:
        chosen = [r for r in rows if suite == "both suites" or suite_of.get(r["task"]) == suite]
        tasks = sorted({r["task"] for r in chosen})
        parts.append(f"{suite} ({len(tasks)} tasks: {', '.join(tasks)})\n\n")
        parts.append(summary_table(chosen, strategies) + "\n\n")
    parts.append(task_table(rows, strategies) + "\n")
    return "".join(parts)


def task_table(rows: list[dict], strategies: list[str]) -> str:
    """Per task: accuracy at 16 and 32 labels for each strategy, mean over its seeds."""
    lines = [
        "| task | seeds | " + " | ".join(f"{s} @ 16 / 32" for s in strategies) + " |",
        "| --- | ---: |" + " --- |" * len(strategies),
    ]
    for task in sorted({row["task"] for row in rows}):
        cells, seeds = [], set()
        for strategy in strategies:
            runs = [r for r in rows if r["task"] == task and r["strategy"] == strategy]
            seeds |= {r["seed"] for r in runs}
            means = [
                statistics.mean(r["curve"][n] for r in runs) if runs else None for n in (16, 32)
            ]
            cells.append(" / ".join("–" if m is None else f"{100 * m:.0f}" for m in means))
        lines.append(f"| {task} | {len(seeds)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, action="append", required=True)
    parser.add_argument("--tasks", help="comma-separated task names (default: all)")
    parser.add_argument("--strategies", default="uncertainty,diverse,random")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--budget", type=int, default=32, help="labels to acquire")
    parser.add_argument("--batch", type=int, default=4, help="labels per round")
    parser.add_argument("--pool", type=int, default=400, help="at most this many pool texts")
    parser.add_argument("--test", type=int, default=300, help="at most this many test texts")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument(
        "--out",
        type=Path,
        help="JSON file with every run, kept as it goes; an existing one is continued",
    )
    parser.add_argument("--report", type=Path, nargs="+", help="print the tables of these runs")
    args = parser.parse_args(argv)
    if args.report:
        print(report(args.report, args.suite))
        return
    strategies = args.strategies.split(",")
    seeds = [int(seed) for seed in args.seeds.split(",")]
    backbone, meta, env = start_bench(seeds[0])
    # An existing --out is continued: the cases it holds are not run again.
    rows = json.loads(args.out.read_text())["rows"] if args.out and args.out.exists() else []
    done = {(row["task"], row["seed"], row["strategy"]) for row in rows}
    for task in load_suites(args.suite, args.tasks.split(",") if args.tasks else None):
        for seed in seeds:
            for strategy in strategies:
                if (task.name, seed, strategy) in done:
                    continue
                row = simulate(backbone, meta, task, strategy, seed, args)
                rows.append(row)
                curve = " ".join(f"{n}:{100 * a:.0f}" for n, a in row["curve"].items())
                print(f"{task.name} seed {seed} {strategy}: {curve}", flush=True)
                if args.out:
                    atomic_write_text(args.out, json.dumps({"env": env, "rows": rows}, indent=1))
    print(summary_table(rows, strategies))
    refresh = [s for row in rows for s in row["refresh_s"]]
    if refresh:
        print(f"queue refresh: median {statistics.median(refresh):.2f} s per round")


if __name__ == "__main__":
    main()
