"""One-click fine-tune time (3 classes x 8 examples), its quality estimate, and predict speed.

    python -m engine.bench.speed_finetune [--suite DEV_SUITE] [--task sick_e] [--shots 8]
        [--repeats 3] [--peers full-finetune,setfit]

Fine-tunes on `TASK_train_0_{shots}.json` (a 3-class task gives 3 x 8 examples; with 16 shots
fit also sets a quarter aside to choose its step count) with the default meta checkpoint,
then on the same examples plus one long text (users paste those: the fit must not pay for it
on every row), then the quality estimate the app runs after Train, then the named peers on
the same examples, and prints each one's median wall
time with its ratio to ours; then predict throughput (texts/s) at batch 1 and 32.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from engine.backbone import load_backbone
from engine.bench.environment import describe, environment
from engine.bench.methods import FullFinetuneMethod, MethodUnavailable, SetFitMethod
from engine.bench.suite import read_examples
from engine.classifier import Classifier
from engine.evaluation import cross_validate, quick_estimate_settings
from engine.locations import default_meta_checkpoint

DEFAULT_SUITE = Path("/work/shared/data/dev_suite")
LONG_TEXT_TOKENS = 400  # words of the long example; fit truncates it to --max-length tokens


def long_example(text, words: int):
    """A text (or pair) of about `words` words, made from `text` repeated."""
    first = text[0] if isinstance(text, tuple) else text
    long = " ".join((first.split() * words)[:words])
    return (long, text[1]) if isinstance(text, tuple) else long


def median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=DEFAULT_SUITE)
    parser.add_argument("--task", default="sick_e")
    parser.add_argument("--shots", type=int, default=8, help="examples per class (a k file)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peers", default="full-finetune,setfit")
    parser.add_argument("--texts", type=int, default=256, help="texts for the throughput runs")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)

    backbone = load_backbone(device="cpu")
    meta = default_meta_checkpoint(backbone)
    train = read_examples(args.suite / args.task / f"{args.task}_train_0_{args.shots}.json")
    evaluation = read_examples(next((args.suite / args.task).glob("*_eval.json")))
    evaluation = evaluation.sample(args.texts, args.seed)
    classifier = Classifier(backbone, meta, max_length=args.max_length)
    ours = median_seconds(lambda: classifier.fit(train.texts, train.labels), args.repeats)
    steps = classifier.training["steps"]
    folds, fixed_steps = quick_estimate_settings(classifier.training)
    estimate = median_seconds(
        lambda: cross_validate(
            train.texts,
            train.labels,
            backbone=backbone,
            meta=meta,
            folds=folds,
            steps=fixed_steps,
            max_length=args.max_length,
        ),
        args.repeats,
    )
    long_text = long_example(train.texts[0], LONG_TEXT_TOKENS)
    with_long = median_seconds(
        lambda: classifier.fit([*train.texts, long_text], [*train.labels, train.labels[0]]),
        args.repeats,
    )

    rows = [
        ("meta-adapter (ours)", ours, "1.0x"),
        (f"ours, plus one {LONG_TEXT_TOKENS}-token text", with_long, f"{with_long / ours:.2f}x"),
        (
            f"quality estimate after it ({folds} folds, {fixed_steps} steps)",
            estimate,
            f"{estimate / ours:.2f}x",
        ),
    ]
    peers = {
        "full-finetune": lambda: FullFinetuneMethod(backbone, max_length=args.max_length),
        "setfit": lambda: SetFitMethod(backbone, max_length=args.max_length, seed=args.seed),
    }
    for name in filter(None, args.peers.split(",")):
        try:
            method = peers[name]()
        except MethodUnavailable as reason:
            rows.append((name, None, f"skipped: {reason}"))
            continue
        seconds = statistics.median(
            method.run(train, evaluation.sample(8, 0)).fit_seconds for _ in range(args.repeats)
        )
        rows.append((name, seconds, f"{seconds / ours:.1f}x slower"))

    classes = len(set(train.labels))
    print(
        f"Fine-tune, {classes} classes x {args.shots} examples ({args.task}), "
        f"median of {args.repeats}, steps run {steps}, "
        f"meta checkpoint {meta.name!r}{'' if meta.trained else ' (untrained)'}\n"
    )
    print("| method | seconds | vs ours |\n|---|---|---|")
    for name, seconds, ratio in rows:
        print(f"| {name} | {'–' if seconds is None else f'{seconds:.2f}'} | {ratio} |")

    print(
        f"\nPredict throughput, torch eager, {len(evaluation)} texts of {args.task}, max length "
        f"{args.max_length}\n\n| batch | texts/s |\n|---|---|"
    )
    for batch_size in (1, 32):
        texts = evaluation.texts[: 64 if batch_size == 1 else None]
        seconds = median_seconds(
            lambda texts=texts, size=batch_size: classifier.predict_proba(texts, batch_size=size),
            args.repeats,
        )
        print(f"| {batch_size} | {len(texts) / seconds:.1f} |")
    print(f"\n{describe(environment(args.seed))}")


if __name__ == "__main__":
    main()
