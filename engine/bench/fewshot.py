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
from engine.bench.suite import load_suites, read_examples
from engine.families import family_of
from engine.files import atomic_write_text
from engine.formats import MetaCheckpoint
from engine.progress import ProgressCallback, ProgressEvent

log = logging.getLogger(__name__)


@dataclass
class BenchSettings:
    suites: list[Path]  # one or more suite folders (a single Path is taken as one)
    tasks: list[str] | None = None
    shots: list[int] = field(default_factory=lambda: [4, 8, 16])
    splits: list[int] = field(default_factory=lambda: list(range(10)))
    methods: list[str] = field(
        default_factory=lambda: ["meta-adapter", "adapter", "linear-probe", "prototype"]
    )
    max_eval: int | None = None  # eval examples per task (seeded sample); None: all
    max_length: int = 128
    seed: int = 0

    def __post_init__(self):
        if isinstance(self.suites, (str, Path)):
            self.suites = [self.suites]
        self.suites = [Path(suite) for suite in self.suites]

    @classmethod
    def quick(cls, suites: list[Path], **changes) -> BenchSettings:
        """Two tasks, two splits, k=4: a smoke run of a few minutes."""
        return cls(suites, **{"splits": [0, 1], "shots": [4], "max_eval": 200, **changes})


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
    device: str  # timings are only comparable between runs on the same device


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


RUN_KEY = ("task", "method", "k", "split")
# Settings every merged run must share. Suites may differ: runs are told apart by task name.
COMPARABLE = ("max_eval", "max_length", "seed")


def run_bench(
    backbone: Backbone,
    settings: BenchSettings,
    metas: dict[str, MetaCheckpoint | None],
    *,
    progress: ProgressCallback | None = None,
    report_path: Path | None = None,
) -> dict:
    """Run every (task, k, split, method); return the JSON-ready report.

    With `report_path`, the report is rewritten after every run and the runs already in it are
    kept, so a long benchmark that was stopped continues where it was.
    """
    tasks = load_suites(settings.suites, settings.tasks)
    methods, skipped = build_methods(settings.methods, backbone, settings, metas)
    for name, reason in skipped.items():
        log.warning("Skipping %s: %s", name, reason)
    report = {
        "settings": {**asdict(settings), "suites": [str(s.resolve()) for s in settings.suites]},
        "environment": environment(settings.seed, backbone.device),
        "backbone": {"name": backbone.name, "fingerprint": backbone.fingerprint},
        "meta_checkpoints": {
            m.name: [metas[m.name].name, metas[m.name].fingerprint]
            for m in methods
            if metas.get(m.name) is not None
        },
        "skipped": skipped,
        "wall_seconds": 0.0,
        "runs": [],
    }
    if report_path is not None and report_path.exists():
        report = resumed(report, json.loads(report_path.read_text()))
    done = {tuple(r[k] for k in RUN_KEY) for r in report["runs"]}
    total = len(tasks) * len(settings.shots) * len(settings.splits) * len(methods)
    evaluations = {
        task.name: read_examples(task.eval_path).sample(settings.max_eval, settings.seed)
        for task in tasks
    }
    # Split-major, so a benchmark stopped part-way leaves whole splits of every task and k.
    for split in settings.splits:
        for task in tasks:
            evaluation = evaluations[task.name]
            for k in settings.shots:
                todo = [m for m in methods if (task.name, m.name, k, split) not in done]
                train = task.train(split, k) if todo else None
                for method in todo:
                    started = time.perf_counter()
                    result = method.run(train, evaluation)
                    correct = sum(p == t for p, t in zip(result.predictions, evaluation.labels))
                    run = Run(
                        task.name,
                        method.name,
                        k,
                        split,
                        correct / len(evaluation),
                        result.fit_seconds,
                        len(evaluation) / max(result.predict_seconds, 1e-9),
                        result.trainable_parameters,
                        result.saved_bytes,
                        report["environment"]["device"],
                    )
                    report["runs"].append(asdict(run))
                    elapsed = time.perf_counter() - started
                    report["wall_seconds"] = round(report["wall_seconds"] + elapsed, 1)
                    if report_path is not None:
                        save_report(report, report_path)
                    if progress is not None:
                        progress(
                            ProgressEvent(
                                "Benchmark", len(report["runs"]), total, {"accuracy": run.accuracy}
                            )
                        )
    return report


def resumed(fresh: dict, previous: dict) -> dict:
    """`fresh` with the runs of an earlier, comparable report on the same checkpoints."""
    check_comparable([fresh, previous])
    for method, checkpoint in previous["meta_checkpoints"].items():
        if fresh["meta_checkpoints"].get(method, checkpoint) != checkpoint:
            raise ValueError(
                f"The report to continue ran `{method}` with checkpoint {checkpoint}, not "
                f"{fresh['meta_checkpoints'][method]}; write to another --out."
            )
    return {
        **fresh,
        "wall_seconds": previous["wall_seconds"],
        "runs": previous["runs"],
        "meta_checkpoints": {**previous["meta_checkpoints"], **fresh["meta_checkpoints"]},
    }


def merge_reports(reports: list[dict], splits: list[int] | None = None) -> dict:
    """One report from several comparable ones (e.g. methods run in parallel processes),
    keeping only `splits` when given (say, the splits every method has finished). A run in
    several reports (same method, task, split, k) is taken from the last one given, so a
    re-run of part of a grid replaces those numbers."""
    check_comparable(reports)
    runs = {
        tuple(r[k] for k in RUN_KEY): r
        for report in reports
        for r in report["runs"]
        if splits is None or r["split"] in splits
    }
    merged = dict(reports[0])
    merged["settings"] = {
        **reports[0]["settings"],
        "methods": list(dict.fromkeys(m for r in reports for m in r["settings"]["methods"])),
    }
    merged["meta_checkpoints"] = {k: v for r in reports for k, v in r["meta_checkpoints"].items()}
    merged["skipped"] = {k: v for r in reports for k, v in r["skipped"].items()}
    merged["wall_seconds"] = round(sum(r["wall_seconds"] for r in reports), 1)
    merged["runs"] = list(runs.values())
    return merged


def check_comparable(reports: list[dict]) -> None:
    first = reports[0]
    for report in reports[1:]:
        for key in COMPARABLE:
            if report["settings"][key] != first["settings"][key]:
                raise ValueError(
                    f"Reports differ in `{key}` ({first['settings'][key]!r} vs "
                    f"{report['settings'][key]!r}); only comparable runs can be combined."
                )
        if report["backbone"] != first["backbone"]:
            raise ValueError("Reports were made with different backbones.")


def accuracy_table(report: dict) -> str:
    """Markdown: task x method, mean +- std over splits, one block per k, plus the average row."""
    lines = []
    for k in sorted({r["k"] for r in report["runs"]}):
        runs = [r for r in report["runs"] if r["k"] == k]  # merged reports may differ per k
        methods = list(dict.fromkeys(r["method"] for r in runs))
        cell = defaultdict(list)
        for r in runs:
            cell[(r["task"], r["method"])].append(100 * r["accuracy"])
        tasks = list(dict.fromkeys(r["task"] for r in runs))
        splits = len({r["split"] for r in runs})
        lines += [
            f"**k = {k}** (accuracy %, mean ± std over {splits} splits)",
            "",
            "| task | " + " | ".join(methods) + " |",
            "|---" * (len(methods) + 1) + "|",
        ]
        for task in tasks:
            values = [cell[(task, m)] for m in methods]
            lines.append(f"| {task} | " + " | ".join(mean_std(v) for v in values) + " |")
        averages = [
            statistics.mean(statistics.mean(cell[(t, m)]) for t in tasks)
            if all(cell[(t, m)] for t in tasks)
            else None  # a method that misses a task has no comparable average
            for m in methods
        ]
        best = max(a for a in averages if a is not None)
        lines.append(
            "| **average** | "
            + " | ".join(
                "–" if a is None else f"**{a:.1f}**" if a == best else f"{a:.1f}" for a in averages
            )
            + " |"
        )
        lines.append("")
    return "\n".join(lines)


def paired_table(report: dict, reference: str = "meta-adapter") -> str:
    """Markdown: `reference` minus each other method, paired by split.

    Splits are what the methods share (the same examples), so per split the difference of the
    task-averaged accuracies is one paired sample: its mean, its standard error and the
    number of splits `reference` wins tell a real gain from split-to-split noise. Only splits
    where both methods ran every task count."""
    accuracy = {
        (r["method"], r["k"], r["split"], r["task"]): 100 * r["accuracy"] for r in report["runs"]
    }
    methods, splits, tasks = defaultdict(dict), defaultdict(set), defaultdict(set)
    for method, k, split, task in accuracy:
        methods[k][method] = None  # ordered set: methods in the order they were run
        splits[k].add(split)
        tasks[k].add(task)
    rows = []
    for k in sorted(methods):
        if reference not in methods[k]:
            continue
        for other in (m for m in methods[k] if m != reference):
            differences = [
                statistics.mean(
                    accuracy[(reference, k, split, t)] - accuracy[(other, k, split, t)]
                    for t in tasks[k]
                )
                for split in sorted(splits[k])
                if all((m, k, split, t) in accuracy for m in (reference, other) for t in tasks[k])
            ]
            if len(differences) < 2:
                continue
            error = statistics.stdev(differences) / len(differences) ** 0.5
            wins = sum(d > 0 for d in differences)
            rows.append(
                f"| {k} | {other} | {statistics.mean(differences):+.2f} | {error:.2f} "
                f"| {wins}/{len(differences)} |"
            )
    if not rows:
        return ""
    return "\n".join(
        [
            f"Paired by split: {reference} minus each method (accuracy points, mean over tasks)",
            "",
            "| k | method | difference | standard error | splits won |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


PROBE = "linear-probe"
PEERS = ("linear-probe", "setfit", "adapter")  # what a user would pick instead
BELOW_PROBE_LIMIT = 1.0  # accuracy points: a task further below the probe than this is flagged


def family_table(report: dict, reference: str = "meta-adapter") -> str:
    """Markdown, per k: each task and each family (engine/families.py), `reference` minus the
    linear probe and minus the best peer on that task, paired by split; tasks more than
    BELOW_PROBE_LIMIT points below the probe are flagged."""
    accuracy = {
        (r["method"], r["k"], r["split"], r["task"]): 100 * r["accuracy"] for r in report["runs"]
    }
    lines = []
    for k in sorted({r["k"] for r in report["runs"]}):
        rows, by_family = [], defaultdict(lambda: ([], []))
        tasks = dict.fromkeys(r["task"] for r in report["runs"] if r["k"] == k)
        for task in sorted(tasks, key=lambda t: (family_of(t), t)):
            probe = paired_difference(accuracy, reference, PROBE, k, task)
            peers = {peer: paired_difference(accuracy, reference, peer, k, task) for peer in PEERS}
            peers = {peer: lead for peer, lead in peers.items() if lead is not None}
            if probe is None or not peers:
                continue
            best = min(peers, key=lambda peer: peers[peer][0])  # the smallest lead: best peer
            flag = " **below the probe**" if probe[0] < -BELOW_PROBE_LIMIT else ""
            rows.append(
                f"| {family_of(task)} | {task} | {probe[0]:+.2f} ± {probe[1]:.2f} | "
                f"{best} | {peers[best][0]:+.2f} ± {peers[best][1]:.2f} | {probe[2]}{flag} |"
            )
            by_family[family_of(task)][0].append(probe[0])
            by_family[family_of(task)][1].append(peers[best][0])
        if not rows:
            continue
        lines += [
            f"**k = {k}**: {reference} minus the linear probe and minus the best peer of "
            f"{', '.join(PEERS)} on each task (accuracy points, mean ± standard error over "
            "the splits both ran)",
            "",
            "| family | task | vs linear probe | best peer | vs best peer | splits |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            "| family | tasks | vs linear probe | vs best peer |",
            "|---|---|---|---|",
            *(
                f"| {family} | {len(probe)} | {statistics.mean(probe):+.2f} | "
                f"{statistics.mean(peer):+.2f} |"
                for family, (probe, peer) in sorted(by_family.items())
            ),
            "",
        ]
    return "\n".join(lines)


def paired_difference(
    accuracy: dict, reference: str, other: str, k: int, task: str
) -> tuple[float, float, int] | None:
    """(mean, standard error, splits) of `reference` minus `other` on one task, by split."""
    splits = {split for (m, kk, split, t) in accuracy if (m, kk, t) == (reference, k, task)}
    differences = [
        accuracy[(reference, k, split, task)] - accuracy[(other, k, split, task)]
        for split in sorted(splits)
        if (other, k, split, task) in accuracy
    ]
    if not differences:
        return None
    error = statistics.stdev(differences) / len(differences) ** 0.5 if len(differences) > 1 else 0
    return statistics.mean(differences), error, len(differences)


def cost_table(report: dict) -> str:
    runs = report["runs"]
    lines = [
        "| method | trainable params / task | bytes saved / task | fine-tune s / task "
        "| predict texts/s |",
        "|---|---|---|---|---|",
    ]
    for method, device in dict.fromkeys((r["method"], r.get("device", "cpu")) for r in runs):
        mine = [r for r in runs if r["method"] == method and r.get("device", "cpu") == device]
        label = method if device == "cpu" else f"{method} on {device}"
        lines.append(
            f"| {label} | {statistics.mean(r['trainable_parameters'] for r in mine):,.0f} | "
            f"{statistics.mean(r['saved_bytes'] for r in mine):,.0f} | "
            f"{statistics.mean(r['fit_seconds'] for r in mine):.2f} | "
            f"{statistics.mean(r['predict_per_second'] for r in mine):.0f} |"
        )
    return "\n".join(lines)


def render(report: dict) -> str:
    skipped = "".join(f"\nSkipped {n}: {why}" for n, why in report["skipped"].items())
    return (
        f"{accuracy_table(report)}\n{paired_table(report)}\n{family_table(report)}\n"
        f"{cost_table(report)}\n\n"
        f"{describe(report['environment'])}"
        f" | wall {report['wall_seconds']} s{skipped}\n"
    )


def mean_std(values: list[float]) -> str:
    if not values:
        return "–"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} ± {std:.1f}"


def save_report(report: dict, path: Path) -> None:
    atomic_write_text(path, json.dumps(report, indent=2, sort_keys=True))
