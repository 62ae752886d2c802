"""Inference speed: torch eager vs ONNX fp32 vs ONNX int8 vs the machine's ceiling, and what
int8 costs in accuracy.

    python -m engine.bench.speed_inference [--suite /work/shared/data/dev_suite]
        [--tasks mr sick_e] [--threads 2] [--texts 256] [--eval-size 500] [--seed 0]

For each task a classifier is trained on `TASK_train_0_16.json` (16 examples per class) and
exported; speed is measured on the first task's eval texts at batch 1 and 32 (best of
`--repeats` timed passes after a warm-up pass), accuracy on a seeded sample of each task's
`TASK_eval.json`. The ceiling is the best measured fp32 matmul rate (FLOP/s, same threads; torch
and onnxruntime each measured, since their kernels differ a lot on some CPUs) divided
by the model's FLOPs per text (counted by torch's FlopCounterMode on the unpadded timed texts):
no predictor doing the model's arithmetic in fp32 can beat it. Prints markdown tables, the seed,
versions and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.bench.suite import Examples, read_examples

DEFAULT_SUITE = Path("/work/shared/data/dev_suite")
PREDICTORS = ("torch eager", "ONNX fp32", "ONNX int8")
CEILING = "machine ceiling (fp32 matmul peak)"


def train_and_export(backbone, suite: Path, task: str, folder: Path, max_length: int):
    """(torch Classifier, ONNX fp32, ONNX int8) for `task`, trained on 16 examples per class."""
    from engine.classifier import Classifier
    from engine.onnx import export_onnx
    from engine.onnx_predictor import OnnxClassifier

    train = read_examples(suite / task / f"{task}_train_0_16.json")
    classifier = Classifier(backbone, max_length=max_length).fit(train.texts, train.labels)
    report = export_onnx(classifier, folder, int8=True)
    threads = torch_threads()
    fp32 = OnnxClassifier.load(folder, precision="fp32", threads=threads)
    int8 = OnnxClassifier.load(folder, precision="int8", threads=threads)
    return (classifier, fp32, int8), report


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def texts_per_second(predictor, texts: list, batch_size: int, repeats: int) -> float:
    predictor.predict_proba(texts[: max(batch_size, 8)], batch_size=batch_size)  # warm-up
    return len(texts) / best_seconds(
        lambda: predictor.predict_proba(texts, batch_size=batch_size), repeats
    )


def matmul_flops_per_second(threads: int, size: int = 1024, repeats: int = 5) -> dict[str, float]:
    """Best fp32 matmul rate of each library a predictor here runs on, at `threads`.

    Both count: on AMD CPUs torch's MKL kernels run well below onnxruntime's MLAS ones, so
    torch alone would understate what the machine can do.
    """
    import onnxruntime
    import torch
    from onnx import TensorProto, helper

    a, b = np.random.default_rng(0).standard_normal((2, size, size), dtype=np.float32)
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [size, size]) for n in "AB"]
    output = helper.make_tensor_value_info("C", TensorProto.FLOAT, [size, size])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["A", "B"], ["C"])], "mm", inputs, [output]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    kernels = {
        "torch": lambda: ta @ tb,
        "onnxruntime": lambda: session.run(None, {"A": a, "B": b}),
    }
    for run in kernels.values():
        run()  # warm-up
    return {name: 2 * size**3 / best_seconds(run, repeats) for name, run in kernels.items()}


def best_seconds(run, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def flops_per_text(classifier, texts: list) -> float:
    """The model's FLOPs per text, each text alone (no padding), as torch counts them."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        classifier.predict_proba(texts, batch_size=1)
    return counter.get_total_flops() / len(texts)


def accuracy(predictor, examples: Examples) -> tuple[float, np.ndarray]:
    probabilities = predictor.predict_proba(examples.texts, batch_size=32)
    predicted = np.array(predictor.labels)[probabilities.argmax(1)]
    return float(np.mean(predicted == np.array(examples.labels))), predicted


def speed_table(predictors, texts: list, batch1_texts: int, repeats: int) -> list[str]:
    rates = {
        (name, batch): texts_per_second(
            p, texts[:batch1_texts] if batch == 1 else texts, batch, repeats
        )
        for batch in (1, 32)
        for name, p in zip(PREDICTORS, predictors, strict=True)
    }
    matmul = matmul_flops_per_second(torch_threads())
    peak, flops = max(matmul.values()), flops_per_text(predictors[0], texts)
    for batch in (1, 32):
        rates[(CEILING, batch)] = peak / flops
    lines = [
        "| predictor | batch 1 (texts/s) | x torch | batch 32 (texts/s) | x torch |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name in (*PREDICTORS, CEILING):
        cells = []
        for batch in (1, 32):
            rate = rates[(name, batch)]
            cells += [f"{rate:.1f}", f"{rate / rates[(PREDICTORS[0], batch)]:.2f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    measured = ", ".join(f"{name} {rate / 1e9:.1f}" for name, rate in matmul.items())
    lines.append(
        f"\nCeiling: best fp32 1024x1024 matmul ({measured} GFLOP/s) / {flops / 1e9:.2f} GFLOP "
        f"per text (mean of {len(texts)} texts, unpadded)."
    )
    return lines


def accuracy_rows(task: str, predictors, examples: Examples) -> str:
    results = [accuracy(p, examples) for p in predictors]
    (torch_acc, _), (fp32_acc, fp32_pred), (int8_acc, int8_pred) = results
    agreement = float(np.mean(fp32_pred == int8_pred))
    return (
        f"| {task} | {len(examples.texts)} | {100 * torch_acc:.1f} | {100 * fp32_acc:.1f} | "
        f"{100 * int8_acc:.1f} | {100 * (int8_acc - fp32_acc):+.1f} | {100 * agreement:.1f} |"
    )


def machine_lines(threads: int) -> list[str]:
    import onnxruntime
    import torch
    import transformers

    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").is_file():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return [
        f"CPU: {cpu}, {os.cpu_count()} logical cores; threads used: {threads}; "
        f"load average now: {load}",
        f"Python {platform.python_version()}, torch {torch.__version__}, transformers "
        f"{transformers.__version__}, onnxruntime {onnxruntime.__version__}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=DEFAULT_SUITE)
    parser.add_argument("--tasks", nargs=2, default=["mr", "sick_e"], metavar="TASK")
    parser.add_argument("--threads", type=int, default=2, help="torch and onnxruntime threads")
    parser.add_argument("--texts", type=int, default=256, help="texts timed at batch 32")
    parser.add_argument("--batch1-texts", type=int, default=64, help="texts timed at batch 1")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes; the best is kept")
    parser.add_argument("--eval-size", type=int, default=500, help="eval examples per task")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch

    from engine.backbone import load_backbone

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    backbone = load_backbone(device="cpu")
    started = time.perf_counter()
    tables = {}
    with tempfile.TemporaryDirectory() as workdir:
        for number, task in enumerate(args.tasks):
            predictors, report = train_and_export(
                backbone, args.suite, task, Path(workdir) / task, args.max_length
            )
            evaluation = read_examples(args.suite / task / f"{task}_eval.json").sample(
                args.eval_size, args.seed
            )
            if number == 0:
                speed_texts = (
                    read_examples(args.suite / task / f"{task}_eval.json")
                    .sample(args.texts, args.seed + 1)
                    .texts
                )
                tables["speed"] = speed_table(
                    predictors, speed_texts, args.batch1_texts, args.repeats
                )
                tables["parity"] = report
                meta = predictors[0].meta
                tables["meta"] = f"{meta.name} ({'trained' if meta.trained else 'untrained'})"
            tables.setdefault("accuracy", []).append(accuracy_rows(task, predictors, evaluation))

    print(f"## Inference speed ({args.tasks[0]} eval texts, max length {args.max_length})\n")
    print("\n".join(tables["speed"]))
    report = tables["parity"]
    print(
        f"\nExport check: max |p_onnx - p_torch| = {report.max_prob_diff:.2g} on the probe "
        f"texts; int8 argmax agreement with fp32 on them {report.int8_argmax_agreement:.2f}."
    )
    print("\n## int8 accuracy (classifier trained on TASK_train_0_16)\n")
    print(
        "| task | eval texts | torch acc % | ONNX fp32 acc % | ONNX int8 acc % | "
        "int8 - fp32 (points) | int8 = fp32 labels % |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(tables["accuracy"]))
    print(
        f"\nmeta-adapter checkpoint: {tables['meta']}; seed {args.seed}; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    print("\n".join(machine_lines(args.threads)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
