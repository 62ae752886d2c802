"""Predict with an exported classifier folder using onnxruntime and tokenizers only.

This module imports nothing but the standard library, numpy, `tokenizers` and `onnxruntime`,
and nothing from the rest of `engine`: it can be copied next to an export folder and used
where torch and transformers are not installed. (`import engine.onnx_predictor` stays
torch-free too, because `engine/__init__.py` imports its exports lazily.)

The folder is what `engine.onnx.export_onnx` writes:

    model.onnx          fp32 graph: input_ids, attention_mask (, token_type_ids) -> probabilities
    model.int8.onnx     optional dynamically quantised copy
    tokenizer.json      the backbone's fast tokenizer, truncating to max_length
    classifier.json     labels, max length, input names, default model, versions, fingerprints
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Sequence
from enum import Enum
from pathlib import Path

import numpy as np
import onnxruntime
import tokenizers

ONNX_FORMAT_VERSION = 1
MODEL_FILE = "model.onnx"
INT8_MODEL_FILE = "model.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "classifier.json"
OUTPUT_NAME = "probabilities"
# Texts are tokenised and sorted by token count in windows of this many, so batches pad little
# while a long list never holds all its encodings at once.
SORT_WINDOW = 4096

Text = str | tuple[str, str]  # a single text, or a pair for pair tasks


class Precision(str, Enum):
    FP32 = "fp32"
    INT8 = "int8"


class OnnxFormatError(ValueError):
    """An export folder is missing files, is corrupt, or was written by a newer version."""


INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
# classifier.json: field -> (JSON type, check of the value or None, what a valid value is).
EXPORT_FIELDS = {
    "format_version": (int, lambda v: v >= 1, "a whole number, 1 or more"),
    "labels": (list, lambda v: len(v) >= 2 and all(isinstance(x, str) for x in v)
               and len(set(v)) == len(v), "a list of at least two distinct class names"),
    "unsure_below": ((int, float), lambda v: 0 <= v < 1, "a probability from 0 up to (not) 1"),
    "max_length": (int, lambda v: 8 <= v <= 8192, "a whole number of tokens from 8 to 8192"),
    "pad_id": (int, lambda v: 0 <= v < 2**31, "a token id, 0 or more"),
    "input_names": (list, lambda v: v in (list(INPUT_NAMES[:2]), list(INPUT_NAMES)),
                    f"{list(INPUT_NAMES)}, the last only for backbones with segments"),
    "output_name": (str, lambda v: v == OUTPUT_NAME, repr(OUTPUT_NAME)),
    "default_precision": (str, lambda v: v in ("fp32", "int8"), '"fp32" or "int8"'),
    "models": (dict, lambda v: v.get("fp32") == MODEL_FILE and v.get("int8", INT8_MODEL_FILE)
               == INT8_MODEL_FILE and set(v) <= {"fp32", "int8"},
               f'{{"fp32": "{MODEL_FILE}"}} and, if quantised, "int8": "{INT8_MODEL_FILE}"'),
    "opset": (int, lambda v: v >= 1, "an ONNX opset number, 1 or more"),
    "pooling": (str, lambda v: v in ("mean", "cls"), '"mean" or "cls"'),
    "backbone": (str, None, "the backbone's name"),
    "backbone_fingerprint": (str, None, "a fingerprint string"),
    "meta_name": (str, None, "the meta checkpoint's name"),
    "meta_fingerprint": (str, None, "a fingerprint string"),
    "training": (dict, None, "an object describing the training run"),
    "versions": (dict, None, "an object of library versions"),
    "created": (str, None, "a date and time"),
}  # fmt: skip
EXPORT_OPTIONAL = frozenset({"unsure_below", "default_precision"})  # older exports: 0, fp32


class OnnxClassifier:
    """The ONNX twin of `engine.classifier.Classifier`: same `labels`, `predict`, `predict_proba`.

    Build it with `OnnxClassifier.load(folder)`. One onnxruntime session is created at load
    time and reused by every call; it is safe to call from one thread at a time per instance.
    """

    def __init__(
        self,
        session: onnxruntime.InferenceSession,
        tokenizer: tokenizers.Tokenizer,
        config: dict,
        *,
        folder: Path,
        precision: Precision,
    ):
        self.session = session
        self.tokenizer = tokenizer
        self.config = config
        self.folder = folder
        self.precision = precision
        self.labels: list[str] = list(config["labels"])
        self.unsure_below = float(config.get("unsure_below", 0.0))  # older exports: never
        self.max_length: int = int(config["max_length"])
        self.input_names: list[str] = [i.name for i in session.get_inputs()]
        self.pad_id: int = int(config["pad_id"])

    @classmethod
    def load(
        cls,
        folder: str | Path,
        *,
        threads: int | None = None,
        precision: Precision | str | None = None,
    ) -> OnnxClassifier:
        """Open an export folder.

        threads: onnxruntime intra-op threads (None: one per physical core).
        precision: "fp32" or "int8"; None takes the folder's default (int8 when the export
        asked for it).
        """
        folder = Path(folder)
        config = read_export_config(folder)
        precision = Precision(precision or config.get("default_precision", Precision.FP32))
        model_file = INT8_MODEL_FILE if precision is Precision.INT8 else MODEL_FILE
        model_path = folder / model_file
        if not model_path.is_file():
            hint = " Export again with --int8." if precision is Precision.INT8 else ""
            raise OnnxFormatError(f"`{folder}` has no {model_file}.{hint}")
        if threads is not None and threads < 1:
            raise ValueError(f"`threads` must be a positive integer or None, got {threads}.")
        tokenizer = load_tokenizer(folder / TOKENIZER_FILE, int(config["max_length"]))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: warnings go to the user's terminal otherwise
        try:
            session = onnxruntime.InferenceSession(
                str(model_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own untyped errors for bad files
            raise OnnxFormatError(
                f"`{model_path}` cannot be loaded by onnxruntime ({error}). Export it again."
            ) from error
        check_session(session, config, model_path)
        return cls(session, tokenizer, config, folder=folder, precision=precision)

    def predict_proba(self, texts: Text | Sequence[Text], *, batch_size: int = 32) -> np.ndarray:
        """Class probabilities (n, len(labels)) in `labels` order, float32."""
        texts = [texts] if isinstance(texts, (str, tuple)) else list(texts)
        check_text_kinds(texts)
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer, got {batch_size}.")
        probabilities = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        for window in range(0, len(texts), SORT_WINDOW):
            chunk = texts[window : window + SORT_WINDOW]
            encodings = self.tokenizer.encode_batch(chunk)
            order = np.argsort([len(e.ids) for e in encodings], kind="stable")
            for start in range(0, len(order), batch_size):
                chosen = order[start : start + batch_size]
                feed = self._feed([encodings[i] for i in chosen])
                (output,) = self.session.run([OUTPUT_NAME], feed)
                probabilities[window + chosen] = output
        return probabilities

    def predict(self, texts: Text | Sequence[Text], *, batch_size: int = 32) -> list[str] | str:
        """Predicted labels; a single text gives a single label."""
        probabilities = self.predict_proba(texts, batch_size=batch_size)
        predicted = [self.labels[i] for i in probabilities.argmax(1)]
        return predicted[0] if isinstance(texts, (str, tuple)) else predicted

    def _feed(self, encodings: list[tokenizers.Encoding]) -> dict[str, np.ndarray]:
        """Pad a batch of encodings to its longest member: (B, T) int64 arrays by input name."""
        length = max(len(e.ids) for e in encodings)
        input_ids = np.full((len(encodings), length), self.pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(encodings), length), dtype=np.int64)
        token_type_ids = np.zeros((len(encodings), length), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            input_ids[row, :n] = encoding.ids
            attention_mask[row, :n] = 1
            token_type_ids[row, :n] = encoding.type_ids
        arrays = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": token_type_ids,
        }
        return {name: arrays[name] for name in self.input_names}

    def __repr__(self) -> str:
        return (
            f"OnnxClassifier(folder={str(self.folder)!r}, labels={self.labels}, "
            f"precision={self.precision.value!r})"
        )


def read_export_config(folder: Path) -> dict:
    """classifier.json of an export folder, every field checked (OnnxFormatError names it)."""
    if not folder.is_dir():
        raise OnnxFormatError(
            f"`{folder}` is not a folder: pass the folder written by `fewshot export --onnx`."
        )
    missing = [name for name in (CONFIG_FILE, TOKENIZER_FILE) if not (folder / name).is_file()]
    if missing:
        raise OnnxFormatError(
            f"`{folder}` is not an ONNX export folder: {', '.join(missing)} missing. "
            f"It needs {MODEL_FILE}, {TOKENIZER_FILE} and {CONFIG_FILE}."
        )
    path = folder / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise OnnxFormatError(f"`{path}` is not valid JSON ({error}).") from error
    version = config.get("format_version") if isinstance(config, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > ONNX_FORMAT_VERSION:
        raise OnnxFormatError(
            f"`{path}` has format version {version!r}; this program reads up to "
            f"{ONNX_FORMAT_VERSION}. Update Fewshot Studio or export again."
        )
    check_export_fields(config, f"`{path}`")
    if config.get("default_precision", Precision.FP32.value) not in config["models"]:
        raise OnnxFormatError(
            f"`{path}`: the field `default_precision` names a model that `models` lacks."
        )
    return config


def check_export_fields(config: object, where: str) -> dict:
    """`config` as a dict whose every field has the type and range EXPORT_FIELDS says, else
    OnnxFormatError naming `where` and the field. (engine.formats.check_fields does the same
    for the other files; this module imports nothing of the engine, so it has its own.)"""
    if not isinstance(config, dict):
        kind = type(config).__name__
        raise OnnxFormatError(f"{where}: expected a JSON object of fields, got {kind}.")
    extra = sorted(set(config) - set(EXPORT_FIELDS))
    if extra:
        raise OnnxFormatError(f"{where}: unknown field(s) {extra}; not written by this version.")
    for name, (kind, valid, expected) in EXPORT_FIELDS.items():
        if name not in config:
            if name in EXPORT_OPTIONAL:
                continue
            raise OnnxFormatError(f"{where}: the field `{name}` is missing (expected {expected}).")
        value = config[name]
        wrong_type = not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
        if wrong_type or (valid is not None and not valid(value)):
            shown = reprlib.repr(value)
            raise OnnxFormatError(f"{where}: the field `{name}` is {shown}; expected {expected}.")
    return config


def check_session(session: onnxruntime.InferenceSession, config: dict, path: Path) -> None:
    """The model must take the inputs classifier.json names and give one probability per label
    (a folder whose files come from two exports does not)."""
    inputs = [i.name for i in session.get_inputs()]
    outputs = {o.name: list(o.shape) for o in session.get_outputs()}
    classes = outputs.get(OUTPUT_NAME, [None])[-1]
    wrong_size = isinstance(classes, int) and classes != len(config["labels"])
    if inputs != config["input_names"] or OUTPUT_NAME not in outputs or wrong_size:
        raise OnnxFormatError(
            f"`{path}` does not fit its {CONFIG_FILE}: the model takes {inputs} and gives "
            f"{outputs}; {CONFIG_FILE} names {config['input_names']} and "
            f"{len(config['labels'])} labels. Export the classifier again."
        )


def load_tokenizer(path: Path, max_length: int) -> tokenizers.Tokenizer:
    """The saved tokenizer, truncating to `max_length`; padding is done per batch by the caller."""
    try:
        tokenizer = tokenizers.Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises a bare Exception on malformed files
        raise OnnxFormatError(f"`{path}` is not a valid tokenizer file ({error}).") from error
    tokenizer.enable_truncation(max_length)
    tokenizer.no_padding()
    return tokenizer


def check_text_kinds(texts: list) -> None:
    """Refuse lists mixing single texts and pairs, and anything that is neither."""
    pairs = sum(isinstance(t, tuple) for t in texts)
    if pairs and pairs != len(texts):
        raise ValueError("`texts` mixes single texts and text pairs: use one kind per call.")
    for index, text in enumerate(texts):
        parts = text if isinstance(text, tuple) else (text,)
        if not all(isinstance(part, str) for part in parts) or len(parts) > 2:
            raise TypeError(
                f"`texts[{index}]` is {text!r}: expected a string or a (str, str) pair."
            )
