"""Peak memory of the app's work: one trained classifier, then a 5-fold quality estimate.

    python -m engine.bench.memory [--suite DEV_SUITE] [--task sick_e] [--shots 8] [--folds 5]

Linux only (reads VmRSS and VmHWM from /proc/self/status; the peak is reset between phases
through /proc/self/clear_refs). Prints resident memory after loading the backbone, after
fitting one classifier (what the app holds once Train is done), and the peak while a
`--folds`-fold cross-validation runs beside it, with the backbone's own weight size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from engine.backbone import load_backbone
from engine.bench.environment import describe, environment
from engine.bench.suite import read_examples
from engine.classifier import Classifier
from engine.evaluation import cross_validate
from engine.locations import default_meta_checkpoint

STATUS = Path("/proc/self/status")
MB = 1024 * 1024


def memory_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak since the last reset) of this process, in MB."""
    for line in STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / MB
    raise RuntimeError(f"{STATUS} has no {field}: this benchmark needs Linux.")


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=Path("/work/shared/data/dev_suite"))
    parser.add_argument("--task", default="sick_e")
    parser.add_argument("--shots", type=int, default=8)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)

    backbone = load_backbone(device="cpu")
    weights = sum(t.numel() * t.element_size() for t in backbone.model.state_dict().values())
    meta = default_meta_checkpoint(backbone)
    loaded = memory_mb("VmRSS")
    train = read_examples(args.suite / args.task / f"{args.task}_train_0_{args.shots}.json")
    classifier = Classifier(backbone, meta).fit(train.texts, train.labels)
    one = memory_mb("VmRSS")
    reset_peak()
    cross_validate(train.texts, train.labels, backbone=backbone, meta=meta, folds=args.folds)
    peak = memory_mb("VmHWM")
    assert classifier.is_fitted  # held beside the estimate, as the app holds it

    print(f"{args.task}, {args.shots} examples per class, {args.folds}-fold estimate\n")
    print("| measure | MB |\n| --- | ---: |")
    print(f"| backbone weights (float32) | {weights / MB:.0f} |")
    print(f"| resident after loading the backbone and meta-adapters | {loaded:.0f} |")
    print(f"| resident with one trained classifier | {one:.0f} |")
    print(f"| peak during the {args.folds}-fold estimate beside it | {peak:.0f} |")
    print(f"| peak over one classifier | {peak - one:.0f} |")
    print(f"\n{describe(environment(args.seed))}")


if __name__ == "__main__":
    main()
