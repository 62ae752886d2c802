"""`fewshot`: the command line over the engine API."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from engine.about import version_line
from engine.cli_options import (
    MAX_SEED,
    MAX_THREADS,
    device,
    existing,
    names_from,
    real_number,
    to_write,
    whole_number,
    whole_numbers,
)
from engine.files import describe_os_error
from engine.progress import LONG_RUN_SECONDS, Cancelled, ProgressEvent, TimeLeft, duration_words

if TYPE_CHECKING:
    from engine.tables import TableFormat

# The engine's user errors (FormatError, TableError, BackboneError) are ValueErrors; naming
# them here would import torch and pandas before `--help` could answer.
USER_ERRORS = (ValueError, FileNotFoundError)
DEFAULT_BACKBONE_HELP = "embedded default (all-MiniLM-L6-v2), a local model folder, or a hub id"
EXIT_USER_ERROR = 2
TOKENS = whole_number(8, 8192)  # what a classifier file may hold (engine.formats)
WIDTH = whole_number(1, 4096)
SEED = whole_number(0, MAX_SEED)
THREADS = whole_number(1, MAX_THREADS)
EXIT_CANCELLED = 130


def progress_bar(description: str, *, stopping: str = "Ctrl-C stops it", clock=time.monotonic):
    """A callback drawing a tqdm bar on stderr from ProgressEvents. Once per run, when the work
    left passes LONG_RUN_SECONDS (known from the first step), one plain line says how long it
    will take and what `stopping` it does: a bar's ETA is easy to miss, and hours are not."""
    from tqdm import tqdm

    bar = tqdm(desc=description, unit="step", file=sys.stderr, leave=False)
    time_left, announced, stage = TimeLeft(clock), False, None

    def update(event: ProgressEvent) -> None:
        nonlocal announced, stage
        if event.stage != stage:  # a new stage: its own name, count and pace
            if stage is not None:
                bar.reset()
            bar.set_description(event.stage, refresh=False)
        stage, bar.unit = event.stage, event.unit
        seconds = time_left.update(event)
        if not announced and seconds is not None and seconds > LONG_RUN_SECONDS:
            announced = True
            bar.write(f"This will take {duration_words(seconds)} ({stopping}).", file=sys.stderr)
        bar.total = event.total or None
        bar.n = event.done
        bar.set_postfix({k: f"{v:.4g}" for k, v in event.metrics.items()}, refresh=False)
        bar.refresh()

    return update


def load_meta_option(folder: str | None, backbone):
    """The checkpoint named by --meta, else the active one, warning on stderr if untrained."""
    from engine.formats import load_meta_checkpoint
    from engine.locations import active_meta_checkpoint

    if folder is not None:
        return load_meta_checkpoint(folder, backbone=backbone)
    active = active_meta_checkpoint(backbone)
    if active.warning:
        print(f"fewshot: warning: {active.warning}", file=sys.stderr)
    return active.checkpoint


def cmd_train(args) -> int:
    from engine.tables import check_columns, read_table
    from engine.training_data import check_training_data, describe_duplicates

    # The data is checked before the model loads (seconds): a mistake shows at once.
    frame = read_table(args.examples, table_format=table_format_option(args))
    check_columns(frame, [args.text_col, args.label_col], args.examples)
    texts, labels = frame[args.text_col], frame[args.label_col]
    blank = {column: frame[column].str.strip() == "" for column in (args.text_col, args.label_col)}
    usable = ~blank[args.text_col] & ~blank[args.label_col]
    for column, is_blank in blank.items():
        empty = [int(i) + 2 for i in frame.index[is_blank]]  # header is row 1
        if empty:
            print(
                f"fewshot train: skipping {len(empty)} row(s) with an empty {column!r} cell "
                f"(rows {', '.join(map(str, empty[:8]))}{', ...' if len(empty) > 8 else ''}).",
                file=sys.stderr,
            )
    rows = [int(i) + 2 for i in frame.index[usable]]
    texts, labels = texts[usable].tolist(), labels[usable].tolist()
    check_training_data(texts, labels, None)
    duplicates = describe_duplicates(texts, rows)
    if duplicates:
        print(f"fewshot train: note: {duplicates}", file=sys.stderr)

    from engine.backbone import load_backbone
    from engine.classifier import Classifier

    use_threads(None)
    backbone = load_backbone(args.backbone, device=args.device)
    meta = load_meta_option(args.meta, backbone)
    classifier = Classifier(backbone, meta, max_length=args.max_length)
    stopping = "Ctrl-C stops it and keeps the previous classifier"
    classifier.fit(texts, labels, progress=progress_bar("Fine-tuning", stopping=stopping))
    path = classifier.save(args.output)
    size_kb = path.stat().st_size / 1024
    print(
        f"Trained on {len(texts)} examples, {len(classifier.labels)} classes "
        f"({', '.join(classifier.labels)}) in {classifier.training['seconds']} s; "
        f"wrote {path} ({size_kb:.0f} KB)."
    )
    held_out = classifier.training.get("held_out")
    if held_out:
        print(
            f"Ran {classifier.training['steps']} steps, the count that did best on "
            f"{held_out['examples']} set-aside examples ({held_out['accuracy']:.0%} right)."
        )
    stepped_on = classifier.training["stepped_on"]
    if stepped_on < len(texts):
        print(
            f"The adapters learned from {stepped_on} of the examples (at most "
            f"{classifier.learned_steps_per_class} per class); the output layer from all of them."
        )
    return 0


def cmd_predict(args) -> int:
    from engine.classifier import Classifier

    use_threads(None)
    classifier = Classifier.load(args.classifier)
    texts = list(args.texts) or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not texts:
        raise ValueError("No texts to classify: pass them as arguments or on standard input.")
    probabilities = classifier.predict_proba(texts)
    for text, row in zip(texts, probabilities):
        best = int(row.argmax())
        if args.json:
            scores = dict(zip(classifier.labels, map(float, row)))
            print(json.dumps({"text": text, "label": classifier.labels[best], "scores": scores}))
        else:
            print(f"{classifier.labels[best]}\t{row[best]:.3f}\t{text}")
    return 0


def cmd_info(args) -> int:
    if args.classifier is None:
        return print_installation(args)
    from engine.formats import read_classifier_file

    content = read_classifier_file(args.classifier)
    size_kb = Path(args.classifier).stat().st_size / 1024
    parameters = sum(t.numel() for t in content.tensors.values())
    lines = [
        f"Classifier file   {args.classifier} ({size_kb:.0f} KB, {parameters:,} parameters)",
        f"Labels            {', '.join(content.labels)}",
        f"Backbone          {content.backbone} (fingerprint {content.backbone_fingerprint})",
        f"Meta-adapters     {content.meta_name} (fingerprint {content.meta_fingerprint})"
        + (
            ""
            if content.meta_trained
            else "  UNTRAINED: identity meta-adapters and default step sizes"
        ),
        f"Pooling           {content.pooling}, max length {content.max_length} tokens",
        f"Created           {content.created}",
        f"Training          {json.dumps(content.training, sort_keys=True)}",
        f"Format version    {content.format_version}",
    ]
    print("\n".join(lines))
    return 0


def print_installation(args) -> int:
    from engine.about import describe_installation
    from engine.backbone import load_backbone
    from engine.locations import active_meta_checkpoint

    backbone = load_backbone(args.backbone, device=args.device)
    print("\n".join(describe_installation(backbone, active_meta_checkpoint(backbone)).lines()))
    return 0


def cmd_metatrain(args) -> int:
    import shutil

    from engine.adapters import AdapterConfig
    from engine.backbone import load_backbone
    from engine.distributed import init_distributed, main_first, rank_device
    from engine.finetune import Order
    from engine.formats import load_meta_checkpoint
    from engine.locations import user_cache_dir, user_meta_root
    from engine.metatrain import MetaTrainConfig, check_resumable, metatrain
    from engine.tasks import (
        EpisodeShape,
        TaskSampling,
        build_sampler,
        validation_episodes,
        without_families,
    )

    use_threads(args.threads)
    order = Order.FIRST if args.first_order else Order.SECOND
    out = Path(args.out) if args.out else user_meta_root() / args.name
    # Under torchrun: process r on cuda:LOCAL_RANK (or the CPU), before any model loads.
    device = rank_device(args.device)
    ranks = init_distributed(device)
    with main_first(ranks):  # the others look at --out only once rank 0 has cleared it
        if args.restart and ranks.is_main and out.exists():
            shutil.rmtree(out)
    shape = EpisodeShape(tuple(args.n_way), tuple(args.k_shot), args.query)
    config = MetaTrainConfig(
        outer_steps=args.steps,
        meta_batch=args.meta_batch,
        inner_steps=args.inner_steps,
        order=order,
        lam=args.lam,
        task_sampling=args.task_sampling,
        shape=shape,
        max_length=args.max_length,
        lr=args.lr,
        alpha_lr=args.alpha_lr,
        checkpoint_every=args.checkpoint_every,
        validate_every=args.validate_every,
        validation_episodes=args.validation_episodes,
        seed=args.seed,
        adapter=AdapterConfig(adapter_width=args.adapter_width, meta_width=args.meta_width),
        train_meta_adapters=not args.no_meta_adapters,
    )
    check_resumable(out, config)  # a damaged or other run in --out: now, not after the data
    tasks = [Path(p) for p in args.tasks or []]
    if args.leave_out_family:
        tasks = without_families(tasks, args.leave_out_family)
    # The data take minutes to read before the first step: say what is happening meanwhile.
    stage = json_stage if args.json_progress else print_stage()
    stage = stage if ranks.is_main else lambda event: None  # one voice under torchrun
    stage(ProgressEvent("Loading the backbone", 0, 0))
    # Second order on CPU needs eager attention: the fused kernel has no double backward.
    attention = "eager" if order is Order.SECOND else "sdpa"
    backbone = load_backbone(args.backbone, device=device, attn_implementation=attention)
    # A wrong --init fails here, before the slow part (indexing text for SMLMT).
    init = load_meta_checkpoint(args.init, backbone=backbone) if args.init else None
    unlabeled = [Path(p) for p in args.unlabeled or []]
    with main_first(ranks):  # rank 0 writes the word index and clusters, the others read them
        sampler, data = build_sampler(
            backbone,
            task_dirs=tasks,
            unlabeled=unlabeled,
            shape=shape,
            lam=args.lam,
            cache_dir=user_cache_dir(),
            num_clusters=args.clusters,
            seed=args.seed,
            sampling=TaskSampling(args.task_sampling),
            progress=stage,
        )
    validation = validation_episodes(tasks, shape, args.validation_episodes, args.seed)
    argv = sys.argv[1:] if args.argv is None else args.argv
    # shlex: the GUI reads the command back to resume a run, paths with spaces included.
    command = shlex.join(["fewshot", *argv])
    description = {"command": command, "data": data, "backbone": backbone.name}
    stage(ProgressEvent("Running the first step", 0, 0))
    stopping = "Ctrl-C stops it; the last checkpoint saved is kept: run again to resume"
    if not ranks.is_main:  # one bar under torchrun: the others report nothing
        emit = None
    elif args.json_progress:
        emit = json_progress
    else:
        emit = progress_bar("Meta-training", stopping=stopping)
    try:
        result = metatrain(
            backbone,
            sampler,
            config,
            out,
            name=args.name,
            validation=validation,
            description=description,
            init=init,
            progress=emit,
        )
    except Exception as error:
        if args.json_progress:  # the app shows this message as it is
            message = describe_os_error(error) if isinstance(error, OSError) else str(error)
            print(json.dumps({"event": "error", "message": message}), flush=True)
        raise
    if not ranks.is_main:
        return 0
    if args.json_progress:
        print(json.dumps({"event": "done", "checkpoint": str(result.folder)}), flush=True)
    else:
        print(f"Wrote meta-adapter checkpoint {result.folder} ({result.checkpoint.fingerprint}).")
    return 0


def cmd_bench(args) -> int:
    from engine.backbone import load_backbone
    from engine.bench.fewshot import BenchSettings, render, run_bench
    from engine.bench.suite import load_suites
    from engine.formats import load_meta_checkpoint

    chosen = {
        "tasks": args.tasks.split(",") if args.tasks else None,
        **({"shots": args.k} if args.k else {}),
        **({"splits": args.splits} if args.splits else {}),
        **({"methods": args.methods} if args.methods else {}),
        **({"max_eval": args.max_eval} if args.max_eval else {}),
        "max_length": args.max_length,
        "seed": args.seed,
    }
    suites = [Path(suite) for suite in args.suite]
    if args.quick:
        settings = BenchSettings.quick(suites, **chosen)
        settings.tasks = settings.tasks or [task.name for task in load_suites(suites)][:2]
    else:
        settings = BenchSettings(suites, **chosen)
    use_threads(args.threads)
    backbone = load_backbone(args.backbone, device=args.device)
    metas = {
        "meta-adapter": load_meta_option(args.meta, backbone),
        "maml-adapter": load_meta_checkpoint(args.maml_meta, backbone=backbone)
        if args.maml_meta
        else None,
    }
    report = run_bench(
        backbone,
        settings,
        metas,
        progress=progress_bar("Benchmark"),
        report_path=Path(args.out) if args.out else None,
    )
    print(render(report))
    return 0


def cmd_bench_report(args) -> int:
    from engine.bench.fewshot import merge_reports, render, save_report

    report = merge_reports([read_report(path) for path in args.reports], args.splits)
    if args.out:
        save_report(report, Path(args.out))
    print(render(report))
    return 0


def read_report(path: str) -> dict:
    """A report that `fewshot bench --out` wrote, else a ValueError saying what it is not."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"`{path}` is not a JSON report of `fewshot bench` ({error}).") from error
    if not isinstance(report, dict) or not {"settings", "runs"} <= set(report):
        raise ValueError(f"`{path}` is not a report of `fewshot bench --out` (no settings, runs).")
    return report


def json_progress(event: ProgressEvent) -> None:
    """One JSON line per step on stdout, for the GUI's QProcess."""
    print(
        json.dumps(
            {"event": "progress", "step": event.done, "total": event.total, **event.metrics}
        ),
        flush=True,
    )


def json_stage(event: ProgressEvent) -> None:
    """One JSON line per event of the stages before the first step (total 0: unknown)."""
    print(
        json.dumps(
            {"event": "stage", "stage": event.stage, "done": event.done, "total": event.total}
        ),
        flush=True,
    )


def print_stage():
    """A callback naming each new stage on stderr: one line per stage, not per event."""
    shown: set[str] = set()

    def update(event: ProgressEvent) -> None:
        if event.stage not in shown:
            shown.add(event.stage)
            print(f"{event.stage}…", file=sys.stderr, flush=True)

    return update


def cmd_export(args) -> int:
    from engine.classifier import Classifier
    from engine.onnx import ExportError, export_onnx

    use_threads(None)
    classifier = Classifier.load(args.classifier)
    try:
        report = export_onnx(classifier, args.onnx, int8=args.int8, progress=progress_bar("Export"))
    except ExportError as error:
        print(f"fewshot export: error: {error}", file=sys.stderr)
        return 1
    files = ", ".join(f"{name} ({size / 1e6:.1f} MB)" for name, size in report.files.items())
    print(f"Wrote {report.folder}: {files}.")
    print(f"Max probability difference ONNX vs torch: {report.max_prob_diff:.2g}.")
    if report.int8:
        print(
            f"int8 model agrees with fp32 on {report.int8_argmax_agreement:.0%} of probe texts; "
            "predictions from this folder use it by default."
        )
    return 0


def cmd_classify_csv(args) -> int:
    from engine.batch import check_paths, classify_csv, load_predictor

    check_paths(Path(args.input), Path(args.output))  # now, not after the model has loaded
    if not Path(args.model).is_dir():
        use_threads(args.threads)
    predictor = load_predictor(args.model, threads=args.threads)
    report = classify_csv(
        args.input,
        args.output,
        text_column=args.text_col,
        predictor=predictor,
        table_format=table_format_option(args),
        chunk_rows=args.chunk_rows,
        batch_size=args.batch_size,
        progress=progress_bar("Classifying", stopping="Ctrl-C stops it and writes nothing"),
    )
    empty = f" ({report.empty_rows} with empty text left blank)" if report.empty_rows else ""
    print(
        f"Classified {report.rows} rows{empty} in {report.seconds:.1f} s "
        f"({report.rows_per_second:.0f} rows/s); wrote {report.output_path}."
    )
    return 0


def cmd_suggest(args) -> int:
    from engine.classifier import Classifier
    from engine.files import atomic_path
    from engine.suggestions import queue_table, suggest
    from engine.tables import check_columns, read_table

    if Path(args.output).suffix.lower() not in (".csv", ".tsv"):
        raise ValueError(f"Cannot write `{args.output}`: name a .csv or .tsv output file.")
    pool = read_table(args.pool, table_format=table_format_option(args))
    check_columns(pool, [args.text_col], args.pool)
    rows = [i for i, text in enumerate(pool[args.text_col]) if text.strip()]
    if not rows:
        raise ValueError(f"The column {args.text_col!r} of `{args.pool}` has no text in any row.")
    use_threads(args.threads)
    classifier = Classifier.load(args.classifier)
    texts = [pool[args.text_col].iloc[i] for i in rows]
    suggestions, _ = suggest(
        classifier,
        texts,
        strategy=args.strategy,
        seed=args.seed,
        limit=args.n,
        progress=progress_bar("Reading the pool"),
    )
    table = queue_table(pool, suggestions, rows, args.n)
    separator = "\t" if Path(args.output).suffix.lower() == ".tsv" else ","
    with atomic_path(Path(args.output)) as temp:
        table.to_csv(temp, sep=separator, index=False, lineterminator="\n")
    print(
        f"Wrote the first {len(table)} of {len(texts)} texts in {args.strategy} order to "
        f"{args.output}."
    )
    return 0


def use_threads(threads: int | None) -> None:
    """torch threads: --threads, else FEWSHOT_THREADS, else the physical cores (engine.threads)."""
    from engine.threads import apply_threads

    apply_threads(threads)


def table_format_option(args) -> TableFormat:
    """The TableFormat that --encoding, --delimiter and --sheet ask for (None: detect)."""
    from engine.tables import TableFormat

    delimiter = "\t" if args.delimiter == "tab" else args.delimiter
    return TableFormat(encoding=args.encoding, delimiter=delimiter, sheet=args.sheet)


def add_table_options(parser: argparse.ArgumentParser) -> None:
    """--encoding, --delimiter, --sheet: each detected from the file when not given."""
    parser.add_argument(
        "--encoding",
        help="text encoding of a CSV/TSV, e.g. utf-8, utf-16, cp1252, latin-1 (default: detected)",
    )
    parser.add_argument(
        "--delimiter",
        choices=[",", ";", "tab", "\t", "|"],
        metavar="SEP",
        help="column separator of a CSV/TSV: ',' ';' tab or '|' (default: detected)",
    )
    parser.add_argument("--sheet", help="sheet of an XLSX workbook (default: the first)")


def add_model_options(parser: argparse.ArgumentParser, *, meta: bool = True) -> None:
    parser.add_argument("--backbone", help=DEFAULT_BACKBONE_HELP)
    if meta:
        parser.add_argument(
            "--meta",
            type=existing("folder"),
            help="meta-adapter checkpoint folder (default: shipped one)",
        )
    parser.add_argument("--device", type=device, default="auto", help="auto, cpu, cuda or mps")


def build_parser() -> argparse.ArgumentParser:
    from engine.bench import METHOD_NAMES

    parser = argparse.ArgumentParser(
        prog="fewshot",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # --version on one line
    )
    parser.add_argument("--version", action="version", version=version_line("fewshot"))
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="fine-tune a classifier on a table of examples")
    train.add_argument(
        "examples",
        help="CSV, TSV or XLSX with a text and a label column (separator and encoding detected)",
    )
    train.add_argument("--text-col", default="text")
    train.add_argument("--label-col", default="label")
    train.add_argument(
        "-o", "--output", required=True, type=to_write("file"), help="classifier file to write"
    )
    train.add_argument("--max-length", type=TOKENS, default=128, help="tokens per text")
    add_table_options(train)
    add_model_options(train)
    train.set_defaults(run=cmd_train)

    predict = commands.add_parser("predict", help="classify texts with a classifier file")
    predict.add_argument("classifier")
    predict.add_argument("texts", nargs="*", help="texts (default: one per line on stdin)")
    predict.add_argument("--json", action="store_true", help="one JSON object per text")
    predict.set_defaults(run=cmd_predict)

    info = commands.add_parser(
        "info",
        help="describe a classifier file; without one, the installation (versions, device, "
        "backbone, meta-adapter checkpoint)",
    )
    info.add_argument("classifier", nargs="?")
    add_model_options(info, meta=False)
    info.set_defaults(run=cmd_info)
    meta = commands.add_parser("metatrain", help="meta-train adapters and meta-adapters")
    meta.add_argument(
        "--tasks",
        nargs="*",
        type=existing("folder"),
        help="task folders (each with train.jsonl), or folders of them",
    )
    meta.add_argument(
        "--leave-out-family",
        action="append",
        metavar="FAMILY",
        help="meta-train without the tasks of this family (engine/families.py); repeatable",
    )
    meta.add_argument(
        "--unlabeled",
        nargs="*",
        type=existing("path"),
        help="folders or .txt files for SMLMT tasks",
    )
    meta.add_argument("--name", default="my-meta-adapters", help="checkpoint name")
    meta.add_argument(
        "--out", type=to_write("folder"), help="checkpoint folder (default: user data dir / NAME)"
    )
    meta.add_argument("--steps", type=whole_number(1), default=1000, help="outer steps")
    meta.add_argument("--meta-batch", type=whole_number(1), default=4, help="tasks per outer step")
    meta.add_argument(
        "--inner-steps", type=whole_number(1, 1000), default=5, help="S, used again at fine-tuning"
    )
    meta.add_argument("--first-order", action="store_true", help="cheaper, approximate")
    meta.add_argument(
        "--no-meta-adapters",
        action="store_true",
        help="keep meta-adapters at identity (the MAML-Adapters ablation)",
    )
    meta.add_argument(
        "--lambda",
        dest="lam",
        type=real_number(0, 1),
        default=0.5,
        help="probability of a supervised task (else SMLMT)",
    )
    meta.add_argument(
        "--task-sampling",
        choices=["sqrt-size", "family"],
        default="sqrt-size",
        help="draw supervised datasets by sqrt(size), or every task family equally often",
    )
    way, shot, positive = whole_number(2), whole_number(1), whole_number(1)
    meta.add_argument("--n-way", type=way, nargs=2, default=(2, 5), metavar=("MIN", "MAX"))
    meta.add_argument("--k-shot", type=shot, nargs=2, default=(4, 16), metavar=("MIN", "MAX"))
    meta.add_argument("--query", type=positive, default=4, help="query examples per class")
    meta.add_argument("--max-length", type=TOKENS, default=64, help="tokens per text")
    meta.add_argument("--adapter-width", type=WIDTH, default=12)
    meta.add_argument("--meta-width", type=WIDTH, default=16)
    meta.add_argument("--clusters", type=positive, default=300, help="word clusters for SMLMT")
    rate = real_number(0, above=True)
    meta.add_argument("--lr", type=rate, default=1e-3, help="Adam on omega and phi_0")
    meta.add_argument("--alpha-lr", type=rate, default=1e-2, help="Adam on log step sizes")
    meta.add_argument("--checkpoint-every", type=positive, default=25)
    meta.add_argument("--validate-every", type=positive, default=50)
    meta.add_argument("--validation-episodes", type=whole_number(0), default=16)
    meta.add_argument("--seed", type=SEED, default=0)
    meta.add_argument("--threads", type=THREADS, help="CPU threads for torch")
    meta.add_argument("--restart", action="store_true", help="discard a resumable run in --out")
    meta.add_argument(
        "--init",
        metavar="DIR",
        type=existing("folder"),
        help="start from this trained checkpoint (not from scratch)",
    )
    meta.add_argument("--json-progress", action="store_true", help="JSON lines on stdout")
    meta.add_argument("--backbone", help=DEFAULT_BACKBONE_HELP)
    meta.add_argument("--device", type=device, default="auto")
    meta.set_defaults(run=cmd_metatrain)

    bench = commands.add_parser("bench", help="compare few-shot methods on a benchmark suite")
    bench.add_argument(
        "--suite",
        required=True,
        action="append",
        type=existing("folder"),
        help="folder of task folders; repeat for several suites in one run",
    )
    bench.add_argument("--tasks", help="comma-separated task names (default: all)")
    bench.add_argument("--k", type=whole_numbers(1), help="shots per class, e.g. 4,8,16")
    bench.add_argument("--splits", type=whole_numbers(0), help="split ids, e.g. 0-9")
    bench.add_argument(
        "--methods",
        type=names_from(METHOD_NAMES),
        help="comma-separated, from: " + ", ".join(METHOD_NAMES),
    )
    bench.add_argument(
        "--max-eval", type=whole_number(1), help="eval examples per task (seeded sample)"
    )
    bench.add_argument("--max-length", type=TOKENS, default=128)
    bench.add_argument(
        "--maml-meta",
        type=existing("folder"),
        help="checkpoint meta-trained without meta-adapters",
    )
    bench.add_argument("--quick", action="store_true", help="2 tasks, 2 splits, k=4")
    bench.add_argument("--seed", type=SEED, default=0)
    bench.add_argument("--threads", type=THREADS, help="CPU threads for torch")
    bench.add_argument(
        "--out", help="JSON report with every per-split number; an existing one is continued"
    )
    add_model_options(bench)
    bench.set_defaults(run=cmd_bench)

    bench_report = commands.add_parser(
        "bench-report", help="tables of one or more `bench --out` reports, merged"
    )
    bench_report.add_argument(
        "reports", nargs="+", type=existing("file"), help="JSON reports of comparable runs"
    )
    bench_report.add_argument(
        "--splits", type=whole_numbers(0), help="keep only these split ids, e.g. 0-4"
    )
    bench_report.add_argument("--out", help="write the merged JSON report here")
    bench_report.set_defaults(run=cmd_bench_report)
    export = commands.add_parser("export", help="export a classifier file to ONNX")
    export.add_argument("classifier", help="classifier file (.safetensors)")
    export.add_argument(
        "--onnx",
        required=True,
        metavar="OUTDIR",
        type=to_write("folder"),
        help="export folder to write",
    )
    export.add_argument(
        "--int8",
        action="store_true",
        help="also write an int8 model, used by default when predicting",
    )
    export.set_defaults(run=cmd_export)
    classify = commands.add_parser("classify-csv", help="classify every row of a table")
    classify.add_argument("model", help="classifier file (.safetensors) or ONNX export folder")
    classify.add_argument(
        "input",
        type=existing("file"),
        help="CSV, TSV or XLSX file (separator and encoding detected)",
    )
    classify.add_argument(
        "-o", "--output", required=True, type=to_write("file"), help="CSV or TSV file to write"
    )
    classify.add_argument("--text-col", default="text", help="column holding the texts")
    add_table_options(classify)
    classify.add_argument("--batch-size", type=whole_number(1), default=32)
    classify.add_argument(
        "--chunk-rows", type=whole_number(1), default=10_000, help="rows read at a time"
    )
    classify.add_argument("--threads", type=THREADS, help="CPU threads for the predictor")
    classify.set_defaults(run=cmd_classify_csv)
    suggest = commands.add_parser(
        "suggest", help="rank unlabeled texts by which to label next, with suggested labels"
    )
    suggest.add_argument("classifier", help="classifier file (.safetensors)")
    suggest.add_argument("pool", help="CSV, TSV or XLSX file of unlabeled texts")
    suggest.add_argument("--text-col", default="text", help="column holding the texts")
    suggest.add_argument("-n", type=whole_number(1), help="write only the first N of the queue")
    suggest.add_argument(
        "--strategy",
        choices=["uncertainty", "entropy", "diverse", "random"],
        default="uncertainty",
        help="queue order (default: uncertainty, the smallest margin first)",
    )
    suggest.add_argument("--seed", type=SEED, default=0, help="for --strategy random")
    suggest.add_argument(
        "-o", "--output", required=True, type=to_write("file"), help="CSV or TSV file to write"
    )
    add_table_options(suggest)
    suggest.add_argument("--threads", type=THREADS, help="CPU threads for torch")
    suggest.set_defaults(run=cmd_suggest)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = argv
    if getattr(args, "backbone", "") is None:
        from engine.backbone import DEFAULT_BACKBONE

        args.backbone = DEFAULT_BACKBONE
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    signal.signal(signal.SIGTERM, interrupt)  # clean up (temp files) as Ctrl-C does
    try:
        return args.run(args)
    except USER_ERRORS as error:
        print(f"fewshot {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as error:  # a read-only folder, a full disk, a path that is a folder
        print(f"fewshot {args.command}: error: {describe_os_error(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (Cancelled, KeyboardInterrupt):
        print(f"fewshot {args.command}: cancelled", file=sys.stderr)
        return EXIT_CANCELLED


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
