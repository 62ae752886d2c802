"""Meta-training speed: episodes per second for first vs second order, with and without
meta-adapters, on the shipped recipe's episode shape.

    python -m engine.bench.speed_metatrain --tasks ../shared/data/meta_train
        [--unlabeled ../shared/data/unlabeled] [--steps 6] [--meta-batch 4] [--threads 2]

Each variant runs `--steps` outer steps of the real loop (`engine.metatrain.metatrain`, same
sampler and seeds) into a temporary folder; the first step is a warm-up and is not timed.
Prints a markdown table with each variant's ratio to the shipped (first-order) recipe.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from engine.backbone import load_backbone
from engine.bench.environment import describe, environment
from engine.finetune import Order
from engine.locations import user_cache_dir
from engine.metatrain import MetaTrainConfig, metatrain
from engine.tasks import EpisodeShape, build_sampler

SHIPPED_SHAPE = EpisodeShape((2, 5), (2, 8), 4)
VARIANTS = (  # (label, order, train meta-adapters)
    ("first order, meta-adapters (shipped)", Order.FIRST, True),
    ("first order, no meta-adapters (MAML-Adapters)", Order.FIRST, False),
    ("second order, meta-adapters", Order.SECOND, True),
)


def episodes_per_second(backbone, sampler, config: MetaTrainConfig) -> float:
    """Timed over steps 2..N of a fresh run (step 1 warms up caches and allocators)."""
    stamps = []
    with tempfile.TemporaryDirectory() as folder:
        metatrain(
            backbone,
            sampler,
            config,
            Path(folder),
            resume=False,
            progress=lambda event: stamps.append(time.perf_counter()),
        )
    return (len(stamps) - 1) * config.meta_batch / (stamps[-1] - stamps[0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=Path, nargs="+", required=True)
    parser.add_argument("--unlabeled", type=Path, nargs="*", default=[])
    parser.add_argument("--steps", type=int, default=6, help="outer steps per variant (>= 2)")
    parser.add_argument("--meta-batch", type=int, default=4)
    parser.add_argument("--inner-steps", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=48)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error("--steps must be at least 2 (the first step is not timed)")
    torch.set_num_threads(args.threads)
    lam = 0.5 if args.unlabeled else 1.0  # the shipped mix; tasks only without text

    rows = []
    for label, order, meta_adapters in VARIANTS:
        # The fused attention kernel has no double backward: second order needs eager attention.
        attention = "eager" if order is Order.SECOND else "sdpa"
        backbone = load_backbone(device="cpu", attn_implementation=attention)
        sampler, _ = build_sampler(
            backbone,
            task_dirs=args.tasks,
            unlabeled=args.unlabeled,
            shape=SHIPPED_SHAPE,
            lam=lam,
            cache_dir=user_cache_dir(),
            seed=args.seed,
        )
        config = MetaTrainConfig(
            outer_steps=args.steps,
            meta_batch=args.meta_batch,
            inner_steps=args.inner_steps,
            order=order,
            lam=lam,
            shape=SHIPPED_SHAPE,
            max_length=args.max_length,
            checkpoint_every=args.steps,
            seed=args.seed,
            train_meta_adapters=meta_adapters,
        )
        rows.append((label, episodes_per_second(backbone, sampler, config)))

    shipped = rows[0][1]
    print(
        f"Meta-training speed: N {SHIPPED_SHAPE.n_way}, k {SHIPPED_SHAPE.k_shot}, "
        f"q {SHIPPED_SHAPE.query} per class, {args.max_length} tokens, S = {args.inner_steps}, "
        f"meta-batch {args.meta_batch}, {args.steps - 1} timed outer steps per variant\n"
    )
    print("| variant | episodes/s | s/episode | vs shipped |\n|---|---:|---:|---:|")
    for label, rate in rows:
        print(f"| {label} | {rate:.2f} | {1 / rate:.2f} | {rate / shipped:.2f}x |")
    print(f"\n{describe(environment(args.seed))}")


if __name__ == "__main__":
    main()
