"""Seconds to refresh the labeling queue of a large pool after a retrain.

    python -m engine.bench.queue_refresh --suite DEV_SUITE [--pool 10000] [--strategy uncertainty]

A classifier is trained on one task's k=8 file; the pool is the eval texts of every task of
the suite, cycled to --pool texts; a second classifier (more examples) stands for a retrain.
Timings: reading the whole pool (every text through the adapted encoder); the early re-rank
the app shows at once after a retrain (the new head on the previous classifier's features);
and the app's first exact step (the new classifier reads the early queue's first
--candidates texts and ranks them). For the last two: how much of the exact queue's top 50
they find.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from engine.backbone import load_backbone
from engine.bench.environment import describe, environment
from engine.bench.suite import load_suites, read_examples
from engine.classifier import Classifier
from engine.locations import default_meta_checkpoint
from engine.suggestions import suggest

TOP = 50


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, required=True)
    parser.add_argument("--task", default="sst5")
    parser.add_argument("--pool", type=int, default=10_000)
    parser.add_argument("--strategy", default="uncertainty")
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    backbone = load_backbone()
    meta = default_meta_checkpoint(backbone)
    print(describe(environment(args.seed)), flush=True)
    tasks = load_suites([args.suite])
    texts = [
        text if isinstance(text, str) else " ".join(text)
        for task in tasks
        for text in read_examples(task.eval_path).texts
    ]
    pool = (texts * (args.pool // len(texts) + 1))[: args.pool]
    pool = [f"{text} ({i})" for i, text in enumerate(pool)]  # distinct texts
    task = next(t for t in tasks if t.name == args.task)
    train = task.train(0, 8)
    first = Classifier(backbone, meta, max_length=args.max_length).fit(train.texts, train.labels)
    started = time.perf_counter()
    _, features = suggest(first, pool, strategy=args.strategy)
    read = time.perf_counter() - started
    more = task.train(1, 8)
    second = Classifier(backbone, meta, max_length=args.max_length).fit(
        train.texts + more.texts, train.labels + more.labels
    )
    started = time.perf_counter()
    early, _ = suggest(second, pool, strategy=args.strategy, features=features)
    rerank = time.perf_counter() - started
    candidates = [int(i) for i in early.order[: args.candidates]]
    started = time.perf_counter()
    first, _ = suggest(second, [pool[i] for i in candidates], strategy=args.strategy)
    first_exact = time.perf_counter() - started
    exact, _ = suggest(second, pool, strategy=args.strategy)
    best = set(exact.order[:TOP].tolist())
    found_early = len(best & set(early.order[:TOP].tolist()))
    found_first = len(best & {candidates[i] for i in first.order[:TOP]})
    print(
        f"| pool | read all | early re-rank | top {TOP} found | exact on first "
        f"{args.candidates} | top {TOP} found |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {len(pool):,} | {read:.1f} s | {rerank:.2f} s | {found_early} | {first_exact:.1f} s "
        f"| {found_first} |"
    )


if __name__ == "__main__":
    main()
