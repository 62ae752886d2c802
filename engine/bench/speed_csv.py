"""Batch CSV speed and memory: classify_csv vs the raw predictor, for each kind of predictor.

    python -m engine.bench.speed_csv [--rows 1000000] [--predictors int8 fp32 torch]
        [--task stackoverflow] [--threads 2] [--raw-rows 20000] [--seed 0]

A classifier is trained on the dev-suite task's `TASK_train_0_16.json` and exported. Two
CSVs are generated in a temporary folder (id, text sampled from the task's texts, a note
column), one with `--rows` rows and one with a tenth of that. Each predictor then runs in a
fresh subprocess per CSV, which times `predict_proba` on the first `--raw-rows` texts held in
memory (before and after), times `classify_csv` on the whole file, and reports its peak RSS:
constant memory shows as the same peak for both file sizes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.bench.speed_inference import DEFAULT_SUITE, machine_lines, read_examples

PREDICTOR_KINDS = ("int8", "fp32", "torch")


def write_csv(path: Path, rows: int, texts: list[str], seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "note"])
        for i in range(rows):
            writer.writerow([i, rng.choice(texts), "a, quoted note" if i % 7 == 0 else ""])


def prepare(workdir: Path, args) -> dict[str, Path]:
    """Train, save and export the classifier; return the model path for each predictor kind."""
    import torch

    from engine.backbone import load_backbone
    from engine.classifier import Classifier
    from engine.onnx import export_onnx

    torch.manual_seed(args.seed)
    train = read_examples(args.suite / args.task / f"{args.task}_train_0_16.json")
    classifier = Classifier(load_backbone(device="cpu"), max_length=args.max_length)
    classifier.fit(train.texts, train.labels)
    model_file = classifier.save(workdir / "classifier.safetensors")
    folder = export_onnx(classifier, workdir / "onnx", int8=True).folder
    return {"torch": model_file, "fp32": folder, "int8": folder}


def run_child(kind: str, model: Path, table: Path, args) -> dict:
    command = [
        sys.executable,
        "-m",
        "engine.bench.speed_csv",
        "--child",
        kind,
        str(model),
        str(table),
        "--threads",
        str(args.threads),
        "--batch-size",
        str(args.batch_size),
        "--chunk-rows",
        str(args.chunk_rows),
        "--raw-rows",
        str(args.raw_rows),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{kind} on {table.name} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def child(kind: str, model: Path, table: Path, args) -> None:
    """One measurement in a fresh process, printed as a JSON line."""
    import pandas as pd

    from engine.batch import classify_csv, load_predictor

    if kind == "torch":
        import torch

        torch.set_num_threads(args.threads)
        predictor = load_predictor(model)
    else:
        from engine.onnx_predictor import OnnxClassifier

        predictor = OnnxClassifier.load(model, threads=args.threads, precision=kind)
    loaded_mb = peak_rss_mb()
    texts = pd.read_csv(table, nrows=args.raw_rows, dtype=str, keep_default_na=False)["text"]
    texts = texts.tolist()

    def raw_rate() -> float:
        started = time.perf_counter()
        predictor.predict_proba(texts, batch_size=args.batch_size)
        return len(texts) / (time.perf_counter() - started)

    predictor.predict_proba(texts[:64], batch_size=args.batch_size)  # warm-up
    raw_before = raw_rate()
    with tempfile.TemporaryDirectory() as out:
        report = classify_csv(
            table,
            Path(out) / "out.csv",
            text_column="text",
            predictor=predictor,
            chunk_rows=args.chunk_rows,
            batch_size=args.batch_size,
        )
    raw_after = raw_rate()
    print(
        json.dumps(
            {
                "rows": report.rows,
                "csv_rows_per_s": report.rows / report.seconds,
                "csv_seconds": report.seconds,
                "raw_per_s": (raw_before + raw_after) / 2,
                "raw_before": raw_before,
                "raw_after": raw_after,
                "loaded_mb": loaded_mb,
                "peak_mb": peak_rss_mb(),
                "load": os.getloadavg()[0],
            }
        )
    )


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    Linux: VmHWM, which starts afresh at exec; ru_maxrss would carry over the parent's peak.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--predictors", nargs="+", choices=PREDICTOR_KINDS, default=list(PREDICTOR_KINDS)
    )
    parser.add_argument("--suite", type=Path, default=DEFAULT_SUITE)
    parser.add_argument("--task", default="stackoverflow", help="dev-suite task for texts/labels")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--raw-rows", type=int, default=20_000, help="texts timed in memory")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--child", nargs=3, metavar=("KIND", "MODEL", "CSV"), help=argparse.SUPPRESS
    )  # one measurement, run by main() itself
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]), args)
        return 0

    started = time.perf_counter()
    small_rows = max(args.rows // 10, 1)
    args.raw_rows = min(args.raw_rows, small_rows)
    lines = [
        f"| predictor | rows | CSV rows/s | raw texts/s | CSV / raw | peak RSS MB "
        f"(after load) | peak RSS MB at {small_rows:,} rows |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    with tempfile.TemporaryDirectory() as name:
        workdir = Path(name)
        models = prepare(workdir, args)
        eval_texts = read_examples(args.suite / args.task / f"{args.task}_eval.json").texts
        texts = [t if isinstance(t, str) else t[0] for t in eval_texts]
        tables = {rows: workdir / f"rows_{rows}.csv" for rows in (small_rows, args.rows)}
        for rows, path in tables.items():
            write_csv(path, rows, texts, args.seed)
        for kind in args.predictors:
            small = run_child(kind, models[kind], tables[small_rows], args)
            large = run_child(kind, models[kind], tables[args.rows], args)
            ratio = large["csv_rows_per_s"] / large["raw_per_s"]
            lines.append(
                f"| {predictor_name(kind)} | {large['rows']:,} | {large['csv_rows_per_s']:.0f} | "
                f"{large['raw_per_s']:.0f} | {ratio:.2f} | {large['peak_mb']:.0f} "
                f"({large['loaded_mb']:.0f}) | {small['peak_mb']:.0f} |"
            )
            print(lines[-1], json.dumps({"small": small, "large": large}), file=sys.stderr)
    print(
        f"## Batch CSV ({args.task} texts, batch {args.batch_size}, "
        f"chunks of {args.chunk_rows:,} rows)\n"
    )
    print("\n".join(lines))
    print(
        f"\nraw: predict_proba on the first {args.raw_rows:,} texts in memory (mean of a run "
        "before and after the CSV); seed "
        f"{args.seed}; {time.perf_counter() - started:.0f} s in all"
    )
    print("\n".join(machine_lines(args.threads)))
    return 0


def predictor_name(kind: str) -> str:
    return {"torch": "torch (Classifier)", "fp32": "ONNX fp32", "int8": "ONNX int8"}[kind]


if __name__ == "__main__":
    raise SystemExit(main())
