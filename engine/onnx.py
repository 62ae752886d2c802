"""Export a trained classifier to one ONNX graph, check it against torch, optionally quantise.

The graph is the whole pipeline after tokenisation: encoder with meta-adapters and adapters,
pooling, head and softmax, with dynamic batch and sequence axes. The folder it writes is read
by `engine.onnx_predictor.OnnxClassifier`, which needs neither torch nor transformers.

We use the TorchScript exporter (`dynamo=False`): on this model it gives the same graph speed as
the dynamo exporter, matches torch to ~1e-6, and exports in ~1.5 s instead of ~7 s.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import shutil
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.backbone import encode_texts
from engine.classifier import Classifier, NotFittedError
from engine.head import HEAD_BIAS, HEAD_WEIGHT, head_logits
from engine.onnx_predictor import (
    CONFIG_FILE,
    INT8_MODEL_FILE,
    MODEL_FILE,
    ONNX_FORMAT_VERSION,
    OUTPUT_NAME,
    TOKENIZER_FILE,
    OnnxClassifier,
    Precision,
)
from engine.progress import ProgressCallback, ProgressEvent

log = logging.getLogger(__name__)

OPSET = 17  # the first opset with LayerNormalization, which onnxruntime runs as one kernel
PARITY_TOLERANCE = 1e-4  # max abs probability difference accepted between torch and ONNX
EXPORT_STAGES = 4  # trace, verify, quantise, write: the `total` of progress events
# Lengths from one token to past any max_length, so padding and truncation are both exercised.
PROBE_TEXTS = [
    "ok",
    "Fine.",
    "The striker scored twice in the final minutes.",
    "Whisk the eggs with sugar until fluffy, then fold in the flour.",
    "Shares fell sharply after the earnings report, and investors moved their money into "
    "government bonds while the central bank weighed another rise in interest rates.",
    "A quiet afternoon",
    " ".join(["a long rambling sentence about nothing in particular"] * 40),
    "Was it good? Not really; it was, at best, average - and the price: 12.50 EUR!",
]
PROBE_PAIRS = [
    ("A man is playing a guitar.", "Someone plays music."),
    ("The cat sleeps.", " ".join(["The dog is running around the garden"] * 30)),
    ("Two kids are jumping into a pool on a hot summer day.", "Nobody is swimming."),
]


class ExportError(RuntimeError):
    """The exported graph does not reproduce the torch classifier."""


@dataclass
class ExportReport:
    folder: Path
    files: dict[str, int]  # file name -> bytes
    max_prob_diff: float  # fp32 ONNX vs torch on the probe texts
    int8: bool
    int8_argmax_agreement: float | None  # share of probe texts whose int8 label equals fp32's


class ProbabilityGraph(nn.Module):
    """input ids (B, T) -> class probabilities (B, N): the classifier as one traceable module."""

    def __init__(self, classifier: Classifier):
        super().__init__()
        self.encoder = classifier._model
        self.register_buffer("head_weight", classifier._head[HEAD_WEIGHT].detach().clone())
        self.register_buffer("head_bias", classifier._head[HEAD_BIAS].detach().clone())

    def forward(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        features = self.encoder(input_ids, attention_mask, token_type_ids)  # (B, D)
        head = {HEAD_WEIGHT: self.head_weight, HEAD_BIAS: self.head_bias}
        return head_logits(features, head).softmax(-1)  # (B, N)


def export_onnx(
    classifier: Classifier,
    folder: str | Path,
    *,
    int8: bool = False,
    progress: ProgressCallback | None = None,
) -> ExportReport:
    """Write `folder` (model.onnx, tokenizer.json, classifier.json; model.int8.onnx with `int8`).

    The folder appears whole or not at all: it is built in a temporary folder beside it and
    renamed into place, replacing an earlier export there (any other non-empty folder is
    refused with ValueError). Before that, the graph is run with onnxruntime on probe texts
    of many lengths, padded together in one batch, and compared with the torch classifier;
    `ExportError` is raised when any probability differs by `PARITY_TOLERANCE` or more.
    With `int8`, the folder also holds model.int8.onnx and predictions default to it.
    """
    if not classifier.is_fitted:
        raise NotFittedError("Nothing to export: train or load the classifier first.")
    folder = Path(folder)
    if folder.exists() and not is_replaceable(folder):
        raise ValueError(
            f"`folder` {str(folder)!r} exists and is not an earlier ONNX export: choose a new "
            "or empty folder, so nothing else is overwritten."
        )
    report = _progress(progress)
    with building_folder(folder) as build:
        input_names = trace_graph(classifier, build / MODEL_FILE)
        report(1)
        write_tokenizer(classifier, build / TOKENIZER_FILE)
        write_config(classifier, build / CONFIG_FILE, input_names, int8)
        max_diff = check_parity(classifier, build)
        report(2)
        agreement = quantise(classifier, build) if int8 else None
        report(3)
        files = {p.name: p.stat().st_size for p in sorted(build.iterdir())}
    report(4)
    log.info("Exported %s: max prob diff %.2g, int8 agreement %s", folder, max_diff, agreement)
    return ExportReport(folder, files, max_diff, int8, agreement)


def trace_graph(classifier: Classifier, path: Path) -> list[str]:
    """Export the probability graph to `path`; return its input names."""
    graph = ProbabilityGraph(classifier).eval()
    in_training = [name for name, m in graph.named_modules() if m.training]
    if in_training:  # dropout would be traced in and outputs would drift by ~0.3
        raise ExportError(f"Modules still in training mode: {in_training[:3]}.")
    uses_types = classifier.backbone.uses_token_type_ids
    input_names = ["input_ids", "attention_mask"] + (["token_type_ids"] if uses_types else [])
    # The example must contain padding: the trace keeps the mask-building path it sees.
    example = classifier_inputs(classifier, ["short", PROBE_TEXTS[4]], input_names)
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    with sdpa_attention(graph.encoder.encoder), torch.no_grad(), warnings.catch_warnings():
        # Known and harmless here: the TorchScript exporter's deprecation notice, and tracer
        # warnings about shape checks inside transformers that hold for every input shape.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            tuple(example[name] for name in input_names),
            str(path),
            input_names=input_names,
            output_names=[OUTPUT_NAME],
            dynamic_axes={**axes, OUTPUT_NAME: {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    return input_names


def classifier_inputs(classifier: Classifier, texts, names: list[str]) -> dict[str, torch.Tensor]:
    encoded = encode_texts(classifier.backbone, texts, classifier.max_length)
    return {name: encoded[name] for name in names}


@contextmanager
def sdpa_attention(encoder: nn.Module) -> Iterator[None]:
    """Trace with the fast SDPA attention even if the encoder was loaded with eager attention."""
    before = getattr(encoder.config, "_attn_implementation", "sdpa")
    switch = before != "sdpa" and hasattr(encoder, "set_attn_implementation")
    if switch:
        encoder.set_attn_implementation("sdpa")
    try:
        yield
    finally:
        if switch:
            encoder.set_attn_implementation(before)


def write_tokenizer(classifier: Classifier, path: Path) -> None:
    """The backbone's fast tokenizer, truncating to max_length and padding to the longest text."""
    import tokenizers

    hf_tokenizer = classifier.backbone.tokenizer
    tokenizer = tokenizers.Tokenizer.from_str(hf_tokenizer.backend_tokenizer.to_str())
    tokenizer.enable_truncation(classifier.max_length)
    tokenizer.enable_padding(pad_id=pad_id(classifier), pad_token=hf_tokenizer.pad_token)
    tokenizer.save(str(path))


def pad_id(classifier: Classifier) -> int:
    value = classifier.backbone.tokenizer.pad_token_id
    return 0 if value is None else int(value)


def write_config(classifier: Classifier, path: Path, input_names: list[str], int8: bool) -> None:
    import onnx
    import transformers

    config = {
        "format_version": ONNX_FORMAT_VERSION,
        "labels": classifier.labels,
        "unsure_below": float(classifier.unsure_below),
        "max_length": classifier.max_length,
        "pad_id": pad_id(classifier),
        "input_names": input_names,
        "output_name": OUTPUT_NAME,
        "default_precision": (Precision.INT8 if int8 else Precision.FP32).value,
        "models": {"fp32": MODEL_FILE, **({"int8": INT8_MODEL_FILE} if int8 else {})},
        "opset": OPSET,
        "pooling": classifier.backbone.pooling.value,
        "backbone": classifier.backbone.name,
        "backbone_fingerprint": classifier.backbone.fingerprint,
        "meta_name": classifier.meta.name,
        "meta_fingerprint": classifier.meta.fingerprint,
        "training": classifier.training,
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnx": onnx.__version__,
        },
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }
    path.write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")


def probe_texts(classifier: Classifier) -> list[list]:
    """Probe batches: single texts, plus pairs where the backbone tells segments apart."""
    batches: list[list] = [PROBE_TEXTS]
    if classifier.backbone.uses_token_type_ids:
        batches.append(PROBE_PAIRS)
    return batches


def check_parity(classifier: Classifier, folder: Path) -> float:
    """Max abs probability difference between torch and the exported folder on the probes."""
    predictor = OnnxClassifier.load(folder, precision=Precision.FP32)
    worst = 0.0
    for texts in probe_texts(classifier):
        expected = classifier.predict_proba(texts, batch_size=len(texts))
        # One batch for all: short texts get padded next to the longest one.
        got = predictor.predict_proba(texts, batch_size=len(texts))
        worst = max(worst, float(np.abs(expected - got).max()))
    if not worst < PARITY_TOLERANCE:
        raise ExportError(
            f"The ONNX graph differs from the torch classifier by up to {worst:.3g} in "
            f"probability (tolerance {PARITY_TOLERANCE}). Nothing was written. Please report "
            "this with the backbone name and versions of torch, transformers and onnx."
        )
    return worst


def quantise(classifier: Classifier, folder: Path) -> float:
    """Write model.int8.onnx (int8 weights, dynamic activations); argmax agreement with fp32.

    Per-channel weight scales: on a MiniLM classifier for MR they halve the mean probability
    change against fp32 (0.031 -> 0.013) and raise label agreement from 91% to 97%, at the
    same speed and size as per-tensor scales.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with warnings.catch_warnings(), _quiet_logger("root"):
        warnings.simplefilter("ignore")
        quantize_dynamic(
            folder / MODEL_FILE,
            folder / INT8_MODEL_FILE,
            weight_type=QuantType.QInt8,
            per_channel=True,
        )
    fp32 = OnnxClassifier.load(folder, precision=Precision.FP32)
    int8 = OnnxClassifier.load(folder, precision=Precision.INT8)
    agree = [
        fp32.predict_proba(texts).argmax(1) == int8.predict_proba(texts).argmax(1)
        for texts in probe_texts(classifier)
    ]
    return float(np.concatenate(agree).mean())


@contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """onnxruntime's quantiser logs advice at INFO/WARNING on the root logger; keep it out."""
    logger = logging.getLogger(None if name == "root" else name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def is_replaceable(folder: Path) -> bool:
    """True for an empty folder or an earlier export: the only folders we overwrite."""
    if not folder.is_dir():
        return False
    names = {p.name for p in folder.iterdir()}
    return not names or (CONFIG_FILE in names and MODEL_FILE in names)


@contextmanager
def building_folder(folder: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `folder`; swap it into place only if the block succeeds.

    An existing export is renamed aside, the new one renamed in, then the old one deleted
    (directories cannot be renamed over each other everywhere), so an error at any point
    leaves the old export at `folder`, and no half-written folder is ever there.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    unique = f".{folder.name}.{uuid.uuid4().hex[:8]}"
    build = folder.parent / f"{unique}.tmp"
    build.mkdir()  # not mkdtemp: the export keeps the user's usual permissions, not 0700
    old = None
    try:
        yield build
        if folder.exists():
            old = folder.parent / f"{unique}.old"
            os.replace(folder, old)
        try:
            os.replace(build, folder)
        except OSError:
            if old is not None:
                os.replace(old, folder)
            raise
    finally:
        shutil.rmtree(build, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _progress(callback: ProgressCallback | None):
    def report(done: int) -> None:
        if callback is not None:
            callback(ProgressEvent("Exporting to ONNX", done, EXPORT_STAGES))

    return report
