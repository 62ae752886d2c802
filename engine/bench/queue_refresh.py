"""Seconds to refresh the labeling queue of a large pool after a retrain.

    python -m engine.bench.queue_refresh --suite DEV_SUITE [--pool 10000] [--strategy uncertainty]

A classifier is trained on one task's k=8 file; the pool is the eval texts of every task of
the suite, cycled to --pool texts. Three timings: reading the pool (every text through the
adapted encoder, what a new classifier needs), re-ranking on kept features after a head-only
change, and the early re-rank the app shows right after a retrain (the new classifier's head
on the previous classifier's features), with how much of the exact queue's top 50 it finds.
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
    exact, _ = suggest(second, pool, strategy=args.strategy)
    overlap = len(set(early.order[:TOP]) & set(exact.order[:TOP]))
    header = (
        f"| pool | read the pool (new classifier) | re-rank on kept features | early top {TOP} |"
    )
    print(header)
    print("| ---: | ---: | ---: | ---: |")
    print(f"| {len(pool):,} | {read:.1f} s | {rerank:.2f} s | {overlap} of {TOP} |")


if __name__ == "__main__":
    main()
