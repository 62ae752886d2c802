"""classifier.json of an ONNX export folder: every field checked, hand-picked and mutated.

Only the reader runs here (no model is exported): the folder holds classifier.json and a
placeholder tokenizer.json. test_onnx.py checks that a real export writes these fields.
The hypothesis test's number of examples comes from the profile (conftest.py).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_formats_fuzz import JSON

from engine.onnx_predictor import (
    CONFIG_FILE,
    TOKENIZER_FILE,
    OnnxFormatError,
    read_export_config,
)

BASE = {
    "format_version": 1,
    "labels": ["cooking", "finance", "sports"],
    "unsure_below": 0.4,
    "max_length": 64,
    "pad_id": 0,
    "input_names": ["input_ids", "attention_mask", "token_type_ids"],
    "output_name": "probabilities",
    "default_precision": "int8",
    "models": {"fp32": "model.onnx", "int8": "model.int8.onnx"},
    "opset": 17,
    "pooling": "mean",
    "backbone": "all-MiniLM-L6-v2",
    "backbone_fingerprint": "0123abcd",
    "meta_name": "shipped",
    "meta_fingerprint": "4567ef01",
    "training": {"examples": 24},
    "versions": {"torch": "2.13", "transformers": "4.50", "onnx": "1.17"},
    "created": "2026-12-01T10:00:00+00:00",
}
DROP = object()


def write(folder, config) -> None:
    text = config if isinstance(config, str) else json.dumps(config, allow_nan=True)
    (folder / CONFIG_FILE).write_text(text, encoding="utf-8")
    (folder / TOKENIZER_FILE).write_text("{}")


def changed(field: str, value) -> dict:
    config = json.loads(json.dumps(BASE))
    if value is DROP:
        del config[field]
    else:
        config[field] = value
    return config


def test_the_fields_of_a_real_export_read_back(tmp_path):
    write(tmp_path, BASE)
    assert read_export_config(tmp_path) == BASE
    older = {k: v for k, v in BASE.items() if k not in ("unsure_below", "default_precision")}
    write(tmp_path, older)  # exports before these fields: never unsure, fp32
    assert read_export_config(tmp_path) == older


BAD = [
    ("labels", DROP, "the field `labels` is missing (expected a list of at least two"),
    ("labels", ["only"], "the field `labels` is ['only']"),
    ("labels", ["a", "a"], "expected a list of at least two distinct class names"),
    ("labels", ["a", 3], "the field `labels` is ['a', 3]"),
    ("max_length", "64", "the field `max_length` is '64'; expected a whole number of tokens"),
    ("max_length", 4, "the field `max_length` is 4"),
    ("max_length", True, "the field `max_length` is True"),
    ("pad_id", -1, "the field `pad_id` is -1; expected a token id"),
    ("pad_id", 1.5, "the field `pad_id` is 1.5"),
    ("unsure_below", 1.0, "the field `unsure_below` is 1.0; expected a probability"),
    ("unsure_below", float("nan"), "the field `unsure_below` is nan"),
    ("unsure_below", "0.5", "the field `unsure_below` is '0.5'"),
    ("input_names", ["input_ids"], "the field `input_names` is ['input_ids']"),
    ("input_names", ["attention_mask", "input_ids"], "the field `input_names`"),
    ("output_name", "logits", "the field `output_name` is 'logits'; expected 'probabilities'"),
    ("default_precision", "fp16", "the field `default_precision` is 'fp16'"),
    ("models", {"fp32": "other.onnx"}, "the field `models` is {'fp32': 'other.onnx'}"),
    ("models", {"fp32": "model.onnx"}, "`default_precision` names a model that `models` lacks"),
    ("opset", 0, "the field `opset` is 0"),
    ("pooling", "max", 'the field `pooling` is \'max\'; expected "mean" or "cls"'),
    ("backbone", None, "the field `backbone` is None"),
    ("training", [], "the field `training` is []"),
    ("versions", DROP, "the field `versions` is missing"),
    ("created", 2026, "the field `created` is 2026"),
    ("format_version", DROP, "the field `format_version` is missing"),
    ("format_version", "1", "the field `format_version` is '1'"),
    ("format_version", 2, "has format version 2; this program reads up to 1"),
    ("surprise", 1, "unknown field(s) ['surprise']"),
]


@pytest.mark.parametrize("field, value, message", BAD)
def test_a_bad_field_is_named_with_what_was_expected(tmp_path, field, value, message):
    write(tmp_path, changed(field, value))
    with pytest.raises(OnnxFormatError) as caught:
        read_export_config(tmp_path)
    assert message in str(caught.value) and CONFIG_FILE in str(caught.value)


@pytest.mark.parametrize("text", ["[]", "3", "null", '"text"', "{", "\xff"])
def test_a_document_that_is_no_object_is_refused(tmp_path, text):
    write(tmp_path, text)
    with pytest.raises(OnnxFormatError, match="classifier.json"):
        read_export_config(tmp_path)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    edits=st.dictionaries(st.sampled_from(sorted(BASE) + ["extra"]), JSON | st.just(DROP)),
    whole=st.none() | JSON,
)
def test_a_mutated_config_is_read_or_refused_clearly(tmp_path, edits, whole):
    config = json.loads(json.dumps(BASE))
    for field, value in edits.items():
        if value is DROP:
            config.pop(field, None)
        else:
            config[field] = value
    write(tmp_path, config if whole is None else whole)
    try:
        read = read_export_config(tmp_path)
    except OnnxFormatError as error:
        assert CONFIG_FILE in str(error)
        event("refused")  # --hypothesis-show-statistics: how many of each outcome
    else:  # what was accepted is what the predictor uses
        event("read")
        assert len(read["labels"]) >= 2 and 8 <= read["max_length"] <= 8192
        assert 0 <= float(read.get("unsure_below", 0.0)) < 1 and read["pad_id"] >= 0
