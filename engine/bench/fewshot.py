"""`fewshot bench`: every method on the same splits of a suite, accuracy and cost side by side."""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine.backbone import Backbone
from engine.bench.environment import describe, environment
from engine.bench.methods import (
    FrozenEmbeddings,
    FullFinetuneMethod,
    HoulsbyAdapterMethod,
    LinearProbeMethod,
    MamlAdapterMethod,
    MetaAdapterMethod,
    Method,
    MethodUnavailable,
    PrototypeMethod,
    SetFitMethod,
)
from engine.bench.suite import load_suite
from engine.files import atomic_write_text
from engine.formats import MetaCheckpoint
from engine.progress import ProgressCallback, ProgressEvent

log = logging.getLogger(__name__)


@dataclass
class BenchSettings:
    suite: Path
    tasks: list[str] | None = None
    shots: list[int] = field(default_factory=lambda: [4, 8, 16])
    splits: list[int] = field(default_factory=lambda: list(range(10)))
    methods: list[str] = field(
        default_factory=lambda: ["meta-adapter", "adapter", "linear-probe", "prototype"]
    )
    max_eval: int | None = None  # eval examples per task (seeded sample); None: all
    max_length: int = 128
    seed: int = 0

    @classmethod
    def quick(cls, suite: Path, **changes) -> BenchSettings:
        """Two tasks, two splits, k=4: a smoke run of a few minutes."""
        return cls(suite, **{"splits": [0, 1], "shots": [4], "max_eval": 200, **changes})


@dataclass
class Run:
    task: str
    method: str
    k: int
    split: int
    accuracy: float
    fit_seconds: float
    predict_per_second: float
    trainable_parameters: int
    saved_bytes: int


def build_methods(
    names: list[str],
    backbone: Backbone,
    settings: BenchSettings,
    metas: dict[str, MetaCheckpoint | None],
) -> tuple[list[Method], dict[str, str]]:
    """The methods that can run here, and why each other one cannot."""
    embeddings = FrozenEmbeddings(backbone, settings.max_length)
    makers = {
        "meta-adapter": lambda: MetaAdapterMethod(
            backbone, max_length=settings.max_length, meta=metas.get("meta-adapter")
        ),
        "maml-adapter": lambda: MamlAdapterMethod(
            backbone, max_length=settings.max_length, meta=metas.get("maml-adapter")
        ),
        "adapter": lambda: HoulsbyAdapterMethod(backbone, max_length=settings.max_length),
        "full-finetune": lambda: FullFinetuneMethod(backbone, max_length=settings.max_length),
        "linear-probe": lambda: LinearProbeMethod(
            backbone, max_length=settings.max_length, embeddings=embeddings
        ),
        "prototype": lambda: PrototypeMethod(
            backbone, max_length=settings.max_length, embeddings=embeddings
        ),
        "setfit": lambda: SetFitMethod(
            backbone, max_length=settings.max_length, seed=settings.seed
        ),
    }
    unknown = [n for n in names if n not in makers]
    if unknown:
        raise ValueError(f"Unknown method(s) {unknown}; choose from {', '.join(makers)}.")
    methods, skipped = [], {}
    for name in names:
        try:
            methods.append(makers[name]())
        except MethodUnavailable as reason:
            skipped[name] = str(reason)
    return methods, skipped


def run_bench(
    backbone: Backbone,
    settings: BenchSettings,
    metas: dict[str, MetaCheckpoint | None],
    *,
    progress: ProgressCallback | None = None,
) -> dict:
    """Run every (task, k, split, method); return the JSON-ready report."""
    tasks = load_suite(settings.suite, settings.tasks)
    methods, skipped = build_methods(settings.methods, backbone, settings, metas)
    for name, reason in skipped.items():
        log.warning("Skipping %s: %s", name, reason)
    runs, started = [], time.perf_counter()
    total = len(tasks) * len(settings.shots) * len(settings.splits) * len(methods)
    for task in tasks:
        from engine.bench.suite import read_examples

        evaluation = read_examples(task.eval_path).sample(settings.max_eval, settings.seed)
        for k in settings.shots:
            for split in settings.splits:
                train = task.train(split, k)
                for method in methods:
                    result = method.run(train, evaluation)
                    correct = sum(p == t for p, t in zip(result.predictions, evaluation.labels))
                    runs.append(
                        Run(
                            task.name,
                            method.name,
                            k,
                            split,
                            correct / len(evaluation),
                            result.fit_seconds,
                            len(evaluation) / max(result.predict_seconds, 1e-9),
                            result.trainable_parameters,
                            result.saved_bytes,
                        )
                    )
                    if progress is not None:
                        progress(
                            ProgressEvent(
                                "Benchmark", len(runs), total, {"accuracy": runs[-1].accuracy}
                            )
                        )
    return {
        "settings": {**asdict(settings), "suite": str(settings.suite)},
        "environment": environment(settings.seed),
        "backbone": {"name": backbone.name, "fingerprint": backbone.fingerprint},
        "meta_checkpoints": {n: (m.name, m.fingerprint) for n, m in metas.items() if m is not None},
        "skipped": skipped,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "runs": [asdict(r) for r in runs],
    }


def accuracy_table(report: dict) -> str:
    """Markdown: task x method, mean +- std over splits, one block per k, plus the average row."""
    runs = report["runs"]
    methods = list(dict.fromkeys(r["method"] for r in runs))
    lines = []
    for k in sorted({r["k"] for r in runs}):
        cell = defaultdict(list)
        for r in runs:
            if r["k"] == k:
                cell[(r["task"], r["method"])].append(100 * r["accuracy"])
        tasks = list(dict.fromkeys(r["task"] for r in runs))
        lines += [
            f"**k = {k}** (accuracy %, mean ± std over splits)",
            "",
            "| task | " + " | ".join(methods) + " |",
            "|---" * (len(methods) + 1) + "|",
        ]
        for task in tasks:
            values = [cell[(task, m)] for m in methods]
            lines.append(f"| {task} | " + " | ".join(mean_std(v) for v in values) + " |")
        averages = [statistics.mean(statistics.mean(cell[(t, m)]) for t in tasks) for m in methods]
        best = max(averages)
        lines.append(
            "| **average** | "
            + " | ".join(f"**{a:.1f}**" if a == best else f"{a:.1f}" for a in averages)
            + " |"
        )
        lines.append("")
    return "\n".join(lines)


def cost_table(report: dict) -> str:
    runs = report["runs"]
    lines = [
        "| method | trainable params / task | bytes saved / task | fine-tune s / task "
        "| predict texts/s |",
        "|---|---|---|---|---|",
    ]
    for method in dict.fromkeys(r["method"] for r in runs):
        mine = [r for r in runs if r["method"] == method]
        lines.append(
            f"| {method} | {statistics.mean(r['trainable_parameters'] for r in mine):,.0f} | "
            f"{statistics.mean(r['saved_bytes'] for r in mine):,.0f} | "
            f"{statistics.mean(r['fit_seconds'] for r in mine):.2f} | "
            f"{statistics.mean(r['predict_per_second'] for r in mine):.0f} |"
        )
    return "\n".join(lines)


def render(report: dict) -> str:
    skipped = "".join(f"\nSkipped {n}: {why}" for n, why in report["skipped"].items())
    return (
        f"{accuracy_table(report)}\n{cost_table(report)}\n\n{describe(report['environment'])}"
        f" | wall {report['wall_seconds']} s{skipped}\n"
    )


def mean_std(values: list[float]) -> str:
    if not values:
        return "–"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} ± {std:.1f}"


def save_report(report: dict, path: Path) -> None:
    atomic_write_text(path, json.dumps(report, indent=2, sort_keys=True))
